"""Least privilege, statement by statement, and no secret in a Lambda environment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fakes.cdk_template import Statement, flat, function, one, resources, role_of, statements, statements_of
from helpdesk_cdk.config import is_secret_name

D, V = "ItHelpdesk", "ItHelpdeskVariant"
DATA_PREFIXES = ("bedrock:", "dynamodb:", "s3:", "ses:", "secretsmanager:", "lambda:", "sqs:", "logs:")
# The only wildcards a data action may carry, each acknowledged in cdk/helpdesk_cdk/nag.py with its reason.
ALLOWED_WILDCARD = re.compile(r".*(/index/\*|-\?\?\?\?\?\?)$")
# Actions IAM defines without a resource type, so only Resource "*" works; each must stand alone in its statement.
RESOURCELESS = {"bedrock:Rerank"}
P, R, A = "<AWS::Partition>", "<AWS::Region>", "<AWS::AccountId>"
# The DynamoDB calls the code makes: tickets get/put/update and GSI queries, dedupe get/put/update.
TICKETS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
DEDUPE = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
SWEEP_TICKETS = ("dynamodb:GetItem", "dynamodb:UpdateItem")
LOGS = ("logs:CreateLogStream", "logs:PutLogEvents")
DLQ = ("sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl")
CHAT = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")


def key(s: Statement) -> tuple[frozenset[str], tuple[str, ...], str]:
    return frozenset(s.actions), tuple(sorted(s.resources)), s.condition


def ids(t: dict) -> dict[str, str]:
    """Logical ids of the resources policies point at."""
    (bucket,) = resources(t, "AWS::S3::Bucket")
    out = {"bucket": bucket}
    out["dlq"], _ = one(t, "AWS::SQS::Queue")
    for k, r in resources(t, "AWS::DynamoDB::Table").items():
        out[r["Properties"]["TableName"]] = k
    for k, r in resources(t, "AWS::SecretsManager::Secret").items():
        out[r["Properties"]["Name"]] = k
    for k, r in resources(t, "AWS::Logs::LogGroup").items():
        out[r["Properties"]["LogGroupName"]] = k
    return out


def expected_default(t: dict) -> dict[str, set]:
    i = ids(t)
    fm = f"arn:{P}:bedrock:{{}}::foundation-model/"
    titan = (fm.format(R) + "amazon.titan-embed-text-v2:0",)
    profile = f"arn:{P}:bedrock:{R}:{A}:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"
    routed = tuple(sorted(fm.format(r) + "anthropic.claude-3-5-haiku-20241022-v1:0"
                          for r in (R, "us-east-1", "us-east-2", "us-west-1", "us-west-2")))  # fmt: skip
    table = (f"<{i['it-helpdesk-tickets']}.Arn>",)
    table_indexes = (f"<{i['it-helpdesk-tickets']}.Arn>/index/*",)
    dedupe = (f"<{i['it-helpdesk-slack-events']}.Arn>",)
    ses = tuple(sorted(f"arn:{P}:ses:{R}:{A}:identity/{x}"
                       for x in ("helpdesk-bot@example.com", "example.com", "it-support@example.com")))  # fmt: skip
    from_sender = "StringEquals:ses:FromAddress=helpdesk-bot@example.com"
    bucket, objects = f"<{i['bucket']}.Arn>", f"<{i['bucket']}.Arn>/index/*"

    def base(name: str) -> set:
        logs = (frozenset(LOGS), (f"<{i[f'/aws/lambda/{name}']}.Arn>",), "")
        return {logs, (frozenset(DLQ), (f"<{i['dlq']}.Arn>",), "")}

    slack_secret = (
        frozenset({"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}),
        (f"<{i['it-helpdesk/slack']}>",),
        "",
    )
    return {
        # The receiver only acks and hands the work to the worker.
        "it-helpdesk-slack": base("it-helpdesk-slack")
        | {
            slack_secret,
            (frozenset({"lambda:InvokeFunction"}), (f"arn:{P}:lambda:{R}:{A}:function:it-helpdesk-worker",), ""),
        },
        "it-helpdesk-worker": base("it-helpdesk-worker")
        | {
            (frozenset({"s3:ListBucket"}), (bucket,), ""),
            (frozenset({"s3:GetObject"}), (objects,), ""),
            (frozenset({"bedrock:InvokeModel"}), titan, ""),
            (frozenset(CHAT), (profile,), ""),
            (frozenset(CHAT), routed, f"StringEquals:bedrock:InferenceProfileArn={profile}"),
            (frozenset(TICKETS), table, ""),
            (frozenset({"dynamodb:Query"}), table_indexes, ""),
            (frozenset(DEDUPE), dedupe, ""),
            (frozenset({"dynamodb:UpdateItem"}), (f"<{i['it-helpdesk-interactions']}.Arn>",), ""),
            (frozenset({"ses:SendEmail"}), ses, from_sender),
            slack_secret,
        },
        "it-helpdesk-ingest": base("it-helpdesk-ingest")
        | {
            (frozenset({"s3:ListBucket"}), (bucket,), ""),
            (frozenset({"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"}), (objects,), ""),
            (frozenset({"bedrock:InvokeModel"}), titan, ""),
            (
                frozenset({"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}),
                (f"<{i['it-helpdesk/confluence']}>",),
                "",
            ),
        },
        "it-helpdesk-sweep": base("it-helpdesk-sweep")
        | {
            (frozenset(SWEEP_TICKETS), table, ""),
            (frozenset({"dynamodb:Query"}), table_indexes, ""),
            (frozenset({"ses:SendEmail"}), ses, from_sender),
        },
    }


@pytest.mark.parametrize("name", ["it-helpdesk-slack", "it-helpdesk-worker", "it-helpdesk-ingest", "it-helpdesk-sweep"])
def test_each_function_holds_exactly_the_expected_statements(synth, name):
    t = synth.template(D)
    got = {key(s) for s in statements_of(t, name)}
    expected = expected_default(t)[name]
    assert got - expected == set(), f"unexpected permissions for {name}"
    assert expected - got == set(), f"missing permissions for {name}"


LOGS_AND_QUEUE = {*LOGS, *DLQ}
SEND = {"ses:SendEmail"}
READ_SECRET = {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
READ_INDEX = {"s3:ListBucket", "s3:GetObject"}
CHAT_ACTIONS = {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}
ANSWERER = {*LOGS_AND_QUEUE, *READ_INDEX, *CHAT_ACTIONS, *TICKETS, "dynamodb:Query", *DEDUPE, *SEND, *READ_SECRET}
INGEST = {*LOGS_AND_QUEUE, *READ_INDEX, "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
          "bedrock:InvokeModel", *READ_SECRET}  # fmt: skip
SWEEP = {*LOGS_AND_QUEUE, *SWEEP_TICKETS, "dynamodb:Query", *SEND}
DIGEST = {*LOGS_AND_QUEUE, "dynamodb:Query", "bedrock:InvokeModel", *SEND}  # interactions by day, gaps, email
EXPECTED_ACTIONS = {
    D: {
        "it-helpdesk-slack": {*LOGS_AND_QUEUE, *READ_SECRET, "lambda:InvokeFunction"},
        "it-helpdesk-worker": ANSWERER,
        "it-helpdesk-ingest": INGEST,
        "it-helpdesk-sweep": SWEEP,
        "it-helpdesk-digest": DIGEST,
    },
    V: {  # one Slack function that acks and answers (lazy self-invocation), with a guardrail and a rerank model
        "helpdesk-v-slack": {
            *ANSWERER,
            "lambda:InvokeFunction",
            "bedrock:ApplyGuardrail",
            "bedrock:Rerank",
            "bedrock:Retrieve",
        },
        "helpdesk-v-ingest": INGEST,
        "helpdesk-v-sweep": SWEEP,
        "helpdesk-v-digest": {*DIGEST, *READ_SECRET},  # digest_channel set: it posts with the bot token
    },
}


@pytest.mark.parametrize("stack", [D, V])
def test_each_function_is_granted_exactly_these_actions_and_no_more(synth, stack):
    t = synth.template(stack)
    names = {flat(f["Properties"]["FunctionName"]) for f in resources(t, "AWS::Lambda::Function").values()}
    assert names == set(EXPECTED_ACTIONS[stack])
    for name, expected in EXPECTED_ACTIONS[stack].items():
        granted = {a for s in statements_of(t, name) for a in s.actions}
        assert granted - expected == set(), f"{name} gained {sorted(granted - expected)}"
        assert expected - granted == set(), f"{name} lost {sorted(expected - granted)}"
    for name in EXPECTED_ACTIONS[stack]:  # never the broad DynamoDB grant again
        granted = {a for s in statements_of(t, name) for a in s.actions}
        assert not granted & {"dynamodb:Scan", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}, name


@pytest.mark.parametrize("stack", [D, V])
def test_no_wildcard_resource_or_action_on_data_model_email_or_secret_actions(synth, stack):
    checked = 0
    for s in statements(synth.template(stack)):
        if not any(s.matches_action(p) for p in DATA_PREFIXES):
            continue
        checked += 1
        assert not any(a.endswith("*") for a in s.actions), s
        if set(s.actions) <= RESOURCELESS:
            assert s.resources == ("*",), s
            continue
        assert not set(s.actions) & RESOURCELESS, f"{s}: a resource-less action shares a statement"
        for resource in s.resources:
            assert resource != "*", s
            assert ("*" not in resource and "?" not in resource) or ALLOWED_WILDCARD.fullmatch(resource), s
    assert checked > 20


@pytest.mark.parametrize("stack", [D, V])
def test_no_managed_full_access_policy_and_no_managed_policy_on_any_lambda_role(synth, stack):
    t = synth.template(stack)
    functions = resources(t, "AWS::Lambda::Function").values()
    lambda_roles = {role_of(t, flat(f["Properties"]["FunctionName"])) for f in functions}
    for logical, role in resources(t, "AWS::IAM::Role").items():
        managed = [flat(m) for m in role["Properties"].get("ManagedPolicyArns", [])]
        assert not any("FullAccess" in m for m in managed), logical
        if logical in lambda_roles:
            assert managed == [], logical
        else:  # the API Gateway logging role
            assert managed == [f"arn:{P}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"]


def test_inference_profile_grants_the_profile_and_its_foundation_models_in_every_routed_region(synth):
    v = synth.template(V)
    profile = f"arn:{P}:bedrock:{R}:{A}:inference-profile/eu.anthropic.claude-3-7-sonnet-20250219-v1:0"
    for name in ("helpdesk-v-slack",):
        chat = [s for s in statements_of(v, name) if "bedrock:InvokeModelWithResponseStream" in s.actions]
        direct = [s for s in chat if not s.condition]
        routed = [s for s in chat if s.condition]
        assert [d.resources for d in direct] == [(profile,)]
        (r,) = routed
        regions = {re.search(r":bedrock:(<AWS::Region>|[a-z0-9-]+)::", res).group(1) for res in r.resources}
        assert {"eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1", R} <= regions
        assert all(res.endswith("::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0") for res in r.resources)
        assert r.condition == f"StringEquals:bedrock:InferenceProfileArn={profile}"
        guard = [s for s in statements_of(v, name) if "bedrock:ApplyGuardrail" in s.actions]
        assert [g.resources for g in guard] == [(f"arn:{P}:bedrock:{R}:{A}:guardrail/abc123xyz",)]
    ingest = statements_of(v, "helpdesk-v-ingest")
    assert not [s for s in ingest if "bedrock:InvokeModelWithResponseStream" in s.actions]


def test_variant_grants_adopted_table_indexes_secrets_by_arn_and_lazy_self_invocation(synth):
    v = synth.template(V)
    table = f"arn:{P}:dynamodb:{R}:{A}:table/it-helpdesk-tickets"
    for name in ("helpdesk-v-slack", "helpdesk-v-sweep"):
        items = [s.resources for s in statements_of(v, name)
                 if "dynamodb:UpdateItem" in s.actions and any("tickets" in r for r in s.resources)]  # fmt: skip
        queries = [s.resources for s in statements_of(v, name) if s.actions == ("dynamodb:Query",)]
        assert (items, queries) == ([(table,)], [(f"{table}/index/*",)]), name
    slack_secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:helpdesk/slack-AbC123"
    conf_secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:helpdesk/confluence-??????"
    names = ("helpdesk-v-slack", "helpdesk-v-ingest", "helpdesk-v-sweep")
    reads = {n: [s.resources for s in statements_of(v, n) if "secretsmanager:GetSecretValue" in s.actions]
             for n in names}  # fmt: skip
    # with gap_space, the one that answers also reads the Confluence secret (drafts from "Mark resolved")
    assert reads == {"helpdesk-v-slack": [(slack_secret,), (conf_secret,)], "helpdesk-v-ingest": [(conf_secret,)],
                     "helpdesk-v-sweep": []}  # fmt: skip
    invoke = [s.resources for s in statements_of(v, "helpdesk-v-slack") if "lambda:InvokeFunction" in s.actions]
    assert invoke == [(f"arn:{P}:lambda:{R}:{A}:function:helpdesk-v-slack",)]
    objects = [s for s in statements_of(v, "helpdesk-v-ingest") if "s3:PutObject" in s.actions]
    assert len(objects[0].resources) == 1 and objects[0].resources[0].endswith(".Arn>/prod/index/*")


def test_without_gap_space_no_slack_function_reads_the_confluence_secret(synth):
    t = synth.template("ItHelpdesk")
    for name in ("it-helpdesk-slack", "it-helpdesk-worker"):
        reads = [r for s in statements_of(t, name) if "secretsmanager:GetSecretValue" in s.actions for r in s.resources]
        assert reads and not [r for r in reads if "onfluence" in str(r)], (name, reads)


def test_rerank_model_is_the_only_model_rerank_may_invoke(synth):
    v = synth.template(V)
    arn = "arn:aws:bedrock:eu-central-1::foundation-model/amazon.rerank-v1:0"
    slack = statements_of(v, "helpdesk-v-slack")
    assert [s.resources for s in slack if s.actions == ("bedrock:Rerank",)] == [("*",)]
    invoke = [s for s in slack if "bedrock:InvokeModel" in s.actions and arn in s.resources]
    assert [(s.actions, s.resources, s.condition) for s in invoke] == [(("bedrock:InvokeModel",), (arn,), "")]
    env = function(v, "helpdesk-v-slack")[1]["Properties"]["Environment"]["Variables"]
    assert env["HELPDESK_RERANK_MODEL_ARN"] == arn
    t = synth.template(D)  # no rerank model: neither the grant nor the variable
    for name in ("it-helpdesk-slack", "it-helpdesk-worker"):
        assert not [s for s in statements_of(t, name) if "bedrock:Rerank" in s.actions]
        assert "HELPDESK_RERANK_MODEL_ARN" not in function(t, name)[1]["Properties"]["Environment"]["Variables"]


def test_knowledge_base_retrieve_is_granted_only_when_set_and_only_on_that_knowledge_base(synth):
    t = synth.template(D)  # no knowledge base: neither the grant nor the variables, anywhere
    for name in EXPECTED_ACTIONS[D]:
        assert not [s for s in statements_of(t, name) if "bedrock:Retrieve" in s.actions], name
        env = function(t, name)[1]["Properties"]["Environment"]["Variables"]
        assert {"HELPDESK_RETRIEVER", "HELPDESK_KNOWLEDGE_BASE_ID"}.isdisjoint(env), name
    v = synth.template(V)
    retrieve = [s for name in EXPECTED_ACTIONS[V] for s in statements_of(v, name) if "bedrock:Retrieve" in s.actions]
    assert [(s.actions, s.resources, s.condition) for s in retrieve] == [
        (("bedrock:Retrieve",), (f"arn:{P}:bedrock:{R}:{A}:knowledge-base/KBVARIANT1",), "")
    ]
    assert retrieve[0] in statements_of(v, "helpdesk-v-slack")  # the function that answers, no other
    env = function(v, "helpdesk-v-slack")[1]["Properties"]["Environment"]["Variables"]
    assert (env["HELPDESK_RETRIEVER"], env["HELPDESK_KNOWLEDGE_BASE_ID"]) == ("bedrock-kb", "KBVARIANT1")
    for name in ("helpdesk-v-ingest", "helpdesk-v-sweep", "helpdesk-v-digest"):
        assert "HELPDESK_RETRIEVER" not in function(v, name)[1]["Properties"]["Environment"]["Variables"], name


# --- environment -----------------------------------------------------------------------------------------------------

SECRET_VALUE = re.compile(r"xox[abposr]-|xapp-|-----BEGIN|AKIA[0-9A-Z]{16}|ATATT3|\bghp_")


@pytest.mark.parametrize("stack", [D, V])
def test_no_plain_environment_variable_carries_a_secret(synth, stack):
    for logical, fn in resources(synth.template(stack), "AWS::Lambda::Function").items():
        env = fn["Properties"]["Environment"]["Variables"]
        for name, value in env.items():
            assert not is_secret_name(name), f"{logical}: {name} looks like a secret; use Secrets Manager"
            assert not SECRET_VALUE.search(flat(value)), f"{logical}: {name} holds a credential-looking value"
        assert {"SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "CONFLUENCE_TOKEN"}.isdisjoint(env)


def test_environment_contract_of_each_function(synth):
    t = synth.template(D)
    i = ids(t)
    env = {n: function(t, n)[1]["Properties"]["Environment"]["Variables"]
           for n in ("it-helpdesk-slack", "it-helpdesk-ingest", "it-helpdesk-sweep")}  # fmt: skip
    slack, ingest, sweep = env["it-helpdesk-slack"], env["it-helpdesk-ingest"], env["it-helpdesk-sweep"]
    assert flat(slack["HELPDESK_INDEX"]) == f"s3://<{i['bucket']}>/index" == flat(ingest["HELPDESK_INDEX"])
    assert slack["HELPDESK_EMBEDDER"] == ingest["HELPDESK_EMBEDDER"] == "bedrock"
    assert slack["HELPDESK_ANSWERER"] == "bedrock" and "HELPDESK_ANSWERER" not in ingest
    assert slack["HELPDESK_BEDROCK_CHAT_MODEL"] == "us.anthropic.claude-3-5-haiku-20241022-v1:0"
    assert slack["HELPDESK_BEDROCK_EMBED_MODEL"] == "amazon.titan-embed-text-v2:0"
    assert slack["HELPDESK_EMBED_DIMENSIONS"] == "256"
    assert flat(slack["SLACK_SECRET_ARN"]) == f"<{i['it-helpdesk/slack']}>"
    assert flat(ingest["CONFLUENCE_SECRET_ARN"]) == f"<{i['it-helpdesk/confluence']}>"
    assert (ingest["CONFLUENCE_URL"], ingest["CONFLUENCE_SPACES"]) == ("https://acme.atlassian.net/wiki", "IT")
    assert flat(slack["HELPDESK_DEDUPE_TABLE"]) == f"<{i['it-helpdesk-slack-events']}>"
    for e in (slack, sweep):
        assert flat(e["TICKETS_TABLE"]) == f"<{i['it-helpdesk-tickets']}>"
        assert (e["HELPDESK_EMAIL_BACKEND"], e["HELPDESK_IT_EMAIL"], e["HELPDESK_SENDER_EMAIL"]) == (
            "ses", "it-support@example.com", "helpdesk-bot@example.com")  # fmt: skip
    for e in env.values():
        assert e["HELPDESK_HOME"] == "/tmp/helpdesk"
        assert (e["POWERTOOLS_SERVICE_NAME"], e["POWERTOOLS_METRICS_NAMESPACE"]) == ("it-helpdesk", "ITHelpdesk")
    # The receiver hands answers to the worker, which has the same environment without that pointer.
    assert slack["HELPDESK_SLACK_WORKER_FUNCTION"] == "it-helpdesk-worker"
    worker = function(t, "it-helpdesk-worker")[1]["Properties"]["Environment"]["Variables"]
    assert {k: flat(v) for k, v in worker.items()} == {
        k: flat(v) for k, v in slack.items() if k != "HELPDESK_SLACK_WORKER_FUNCTION"
    }
    v_slack = function(synth.template(V), "helpdesk-v-slack")[1]["Properties"]["Environment"]["Variables"]
    assert "HELPDESK_SLACK_WORKER_FUNCTION" not in v_slack  # no worker: Bolt re-invokes the function itself
    assert (v_slack["HELPDESK_GUARDRAIL_ID"], v_slack["HELPDESK_GUARDRAIL_VERSION"]) == ("abc123xyz", "3")
    assert v_slack["HELPDESK_IT_GROUP"] == "S0123ITOPS" and v_slack["HELPDESK_CONFIDENCE_THRESHOLD"] == "0.7"
    assert flat(v_slack["HELPDESK_INDEX"]).endswith("/prod/index")
    drafts = {k: v_slack.get(k) for k in ("HELPDESK_GAP_SPACE", "HELPDESK_GAP_PARENT_ID", "CONFLUENCE_URL")}
    assert drafts == {"HELPDESK_GAP_SPACE": "ITKB", "HELPDESK_GAP_PARENT_ID": "98765",
                      "CONFLUENCE_URL": "https://acme.atlassian.net/wiki"}  # fmt: skip
    assert "helpdesk/confluence" in flat(v_slack["CONFLUENCE_SECRET_ARN"])
    assert "HELPDESK_GAP_SPACE" not in worker and "CONFLUENCE_SECRET_ARN" not in worker


# --- the DynamoDB calls the code makes are the ones granted --------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
DYNAMO_OPS = ("get_item", "put_item", "update_item", "delete_item", "query", "scan", "batch_write_item",
              "batch_get_item", "transact_write_items", "transact_get_items", "describe_table", "create_table",
              "update_table", "update_time_to_live")  # fmt: skip
# Table setup (`helpdesk tickets init-table`, create_table for local DynamoDB) and the unfiltered
# `helpdesk tickets list` run from a workstation, never in a Lambda.
WORKSTATION_ONLY = {"create_table", "describe_table", "update_table", "update_time_to_live", "scan"}
TABLE_OF_MODULE = {
    "assistant/tickets/dynamodb.py": "it-helpdesk-tickets",
    "assistant/slack/dynamo_store.py": "it-helpdesk-slack-events",
    "assistant/interactions/dynamodb.py": "it-helpdesk-interactions",
}


def dynamo_calls(path: Path) -> set[str]:
    """Client methods a module calls (`client.put_item(...)`, `self.client.get_item`) or names (`_call("query")`)."""
    ops = "|".join(DYNAMO_OPS)
    return {a or b for a, b in re.findall(rf"""\.({ops})\b|["']({ops})["']""", path.read_text())}


def iam_action(op: str) -> str:
    return "dynamodb:" + "".join(part.capitalize() for part in op.split("_"))


def test_every_dynamodb_call_a_lambda_makes_is_granted_on_its_table(synth):
    t = synth.template(D)
    i = ids(t)
    packages = ("assistant", "ingest", "index_store", "core", "helpdesk")
    sources = [p for pkg in packages for p in (ROOT / pkg).rglob("*.py")]
    modules = {str(p.relative_to(ROOT)) for p in sources if "dynamodb" in p.read_text() and dynamo_calls(p)}
    assert modules <= set(TABLE_OF_MODULE), f"a new DynamoDB module: add it to TABLE_OF_MODULE: {modules}"
    checked = 0
    for module, table in TABLE_OF_MODULE.items():
        path = ROOT / module
        if not path.exists():
            continue
        arn = f"<{i[table]}.Arn>"
        granted = {a for s in statements(t) if any(r == arn or r.startswith(arn + "/index/") for r in s.resources)
                   for a in s.actions}  # fmt: skip
        needed = {iam_action(op) for op in dynamo_calls(path) - WORKSTATION_ONLY}
        assert needed - granted == set(), f"{module} calls {sorted(needed - granted)}, which no function may call"
        checked += 1
    assert checked >= 2
