"""Each resource of the stack and the properties users and operators depend on."""

from __future__ import annotations

import json

from fakes.cdk_template import flat, function, one, resources

D, V = "ItHelpdesk", "ItHelpdeskVariant"


def test_synthesis_takes_one_pass(synth):
    assert set(synth.templates) == {D, V}
    print(f"synth time: {synth.seconds:.1f} s for both stacks (cdk-nag included)")


# --- API -----------------------------------------------------------------------------------------------------------


def test_slack_events_post_reaches_the_slack_function_through_a_proxy_integration(synth):
    t = synth.template(D)
    api_id, api = one(t, "AWS::ApiGateway::RestApi", Name="it-helpdesk-slack")
    assert api["Properties"]["EndpointConfiguration"]["Types"] == ["REGIONAL"]
    paths = {flat(r["Properties"]["PathPart"]) for r in resources(t, "AWS::ApiGateway::Resource").values()}
    assert paths == {"slack", "events"}
    (method,) = resources(t, "AWS::ApiGateway::Method").values()
    props = method["Properties"]
    assert props["HttpMethod"] == "POST"
    assert props["AuthorizationType"] == "NONE"  # Slack signs; the Lambda verifies (see nag acknowledgement)
    assert props["Integration"]["Type"] == "AWS_PROXY"
    slack_fn, _ = function(t, "it-helpdesk-slack")
    assert f"<{slack_fn}.Arn>" in flat(props["Integration"]["Uri"])
    events_resource, _ = one(t, "AWS::ApiGateway::Resource", PathPart="events")
    assert flat(props["ResourceId"]) == f"<{events_resource}>"
    # API Gateway may invoke the function, for this API only.
    perms = [p["Properties"] for p in resources(t, "AWS::Lambda::Permission").values()
             if p["Properties"]["Principal"] == "apigateway.amazonaws.com"]  # fmt: skip
    assert perms and all(f"<{api_id}>" in flat(p["SourceArn"]) for p in perms)


def test_prod_stage_is_throttled_and_access_logged_without_bodies(synth):
    t = synth.template(D)
    _, stage = one(t, "AWS::ApiGateway::Stage", StageName="prod")
    props = stage["Properties"]
    (settings,) = props["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == 50 and settings["ThrottlingBurstLimit"] == 100
    assert settings["LoggingLevel"] == "ERROR" and settings["DataTraceEnabled"] is False
    log_group, _ = one(t, "AWS::Logs::LogGroup", LogGroupName="/aws/apigateway/it-helpdesk-slack-access")
    assert flat(props["AccessLogSetting"]["DestinationArn"]) == f"<{log_group}.Arn>"
    fields = json.loads(props["AccessLogSetting"]["Format"])
    assert {"requestId", "status", "ip"} <= set(fields) and "requestBody" not in fields
    # The account-wide role API Gateway needs for logs: created (default) and kept on stack deletion.
    (account,) = resources(t, "AWS::ApiGateway::Account").values()
    assert account["DeletionPolicy"] == "Retain"
    assert not resources(synth.template(V), "AWS::ApiGateway::Account")  # api_gateway_cloudwatch_role=false
    one(synth.template(V), "AWS::ApiGateway::RestApi", Name="it-helpdesk-slack-legacy")


# --- Lambda ----------------------------------------------------------------------------------------------------------


def test_functions_runtime_architecture_memory_timeout_and_handlers(synth):
    t = synth.template(D)
    expected = {
        "it-helpdesk-slack": ("handler.lambda_handler", 1024, 60),
        "it-helpdesk-worker": ("handler.worker_handler", 1024, 60),
        "it-helpdesk-ingest": ("handler.ingest_handler", 1024, 900),
        "it-helpdesk-sweep": ("handler.sweep_handler", 256, 120),
        "it-helpdesk-digest": ("handler.digest_handler", 512, 300),
    }
    assert len(resources(t, "AWS::Lambda::Function")) == len(expected)
    for name, (handler, memory, timeout) in expected.items():
        _, fn = function(t, name)
        p = fn["Properties"]
        assert (p["Handler"], p["MemorySize"], p["Timeout"]) == (handler, memory, timeout), name
        assert p["Runtime"] == "python3.13" and p["Architectures"] == ["arm64"], name
        group, lg = one(t, "AWS::Logs::LogGroup", LogGroupName=f"/aws/lambda/{name}")
        assert flat(p["LoggingConfig"]["LogGroup"]) == f"<{group}>"
        assert lg["Properties"]["RetentionInDays"] == 30
    v = synth.template(V)
    assert {flat(f["Properties"]["FunctionName"]) for f in resources(v, "AWS::Lambda::Function").values()} == {
        "helpdesk-v-slack", "helpdesk-v-ingest", "helpdesk-v-sweep", "helpdesk-v-digest"}  # fmt: skip
    _, fn = function(v, "helpdesk-v-slack")
    assert fn["Properties"]["Handler"] == "handler.lambda_handler"
    assert fn["Properties"]["Runtime"] == "python3.12" and fn["Properties"]["Architectures"] == ["x86_64"]
    _, lg = one(v, "AWS::Logs::LogGroup", LogGroupName="/aws/lambda/helpdesk-v-slack")
    assert lg["Properties"]["RetentionInDays"] == 90


def test_a_burst_queues_for_a_bounded_worker_and_ingest_never_runs_twice_at_once(synth):
    t = synth.template(D)
    reserved = {flat(f["Properties"]["FunctionName"]): f["Properties"].get("ReservedConcurrentExecutions")
                for f in resources(t, "AWS::Lambda::Function").values()}  # fmt: skip
    # The receiver is never reserved: a throttled ack would be an error in Slack.
    assert reserved == {"it-helpdesk-slack": None, "it-helpdesk-worker": 10, "it-helpdesk-ingest": 1,
                        "it-helpdesk-sweep": None, "it-helpdesk-digest": None}  # fmt: skip
    v = synth.template(V)
    v_reserved = {flat(f["Properties"]["FunctionName"]): f["Properties"].get("ReservedConcurrentExecutions")
                  for f in resources(v, "AWS::Lambda::Function").values()}  # fmt: skip
    # One Slack function acks and answers: reserving it would throttle the acks too.
    assert v_reserved == {"helpdesk-v-slack": None, "helpdesk-v-ingest": 1, "helpdesk-v-sweep": None,
                          "helpdesk-v-digest": None}  # fmt: skip


def test_worker_concurrency_is_a_setting(tmp_path):
    from app import build_app

    app = build_app({"bundle": "stub", "worker_concurrency": "25", "stack_name": "Sized"}, outdir=str(tmp_path),
                    env={})  # fmt: skip
    stack = app.node.find_child("Sized")
    assert stack.resolve(stack.functions.worker.function.node.default_child.reserved_concurrent_executions) == 25
    unbounded = build_app({"bundle": "stub", "worker_concurrency": "0", "stack_name": "Unbounded"},
                          outdir=str(tmp_path / "u"), env={})  # fmt: skip
    worker = unbounded.node.find_child("Unbounded").functions.worker.function.node.default_child
    assert worker.reserved_concurrent_executions is None


def test_failed_async_invocations_go_to_the_encrypted_dead_letter_queue(synth):
    t = synth.template(D)
    dlq, queue = one(t, "AWS::SQS::Queue", QueueName="it-helpdesk-failed-invocations")
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 86400
    configs = {flat(c["Properties"]["FunctionName"]): c["Properties"]
               for c in resources(t, "AWS::Lambda::EventInvokeConfig").values()}  # fmt: skip
    assert len(configs) == 5
    retries = {}
    for fn_ref, props in configs.items():
        assert flat(props["DestinationConfig"]["OnFailure"]["Destination"]) == f"<{dlq}.Arn>"
        assert props["MaximumEventAgeInSeconds"] == 3600
        retries[fn_ref] = props["MaximumRetryAttempts"]
    by_name = {name: retries[f"<{function(t, name)[0]}>"] for name in
               ("it-helpdesk-slack", "it-helpdesk-worker", "it-helpdesk-ingest", "it-helpdesk-sweep",
                "it-helpdesk-digest")}  # fmt: skip
    # The worker is retried: its dedupe claim drops a retry of a finished answer and redoes an unfinished one.
    assert by_name == {"it-helpdesk-slack": 0, "it-helpdesk-worker": 2, "it-helpdesk-ingest": 1,
                       "it-helpdesk-sweep": 0, "it-helpdesk-digest": 0}  # fmt: skip
    outputs = t["Outputs"]
    assert flat(outputs["FailedInvocationsQueueUrl"]["Value"]) == f"<{dlq}>"


def test_schedules_send_the_documented_events(synth):
    t = synth.template(D)
    ingest, _ = function(t, "it-helpdesk-ingest")
    sweep, _ = function(t, "it-helpdesk-sweep")
    dlq, _ = one(t, "AWS::SQS::Queue", QueueName="it-helpdesk-failed-invocations")
    rules = {r["Properties"]["ScheduleExpression"]: r["Properties"] for r in resources(t, "AWS::Events::Rule").values()}
    assert set(rules) == {"rate(1 hour)", "cron(15 3 * * ? *)", "rate(15 minutes)", "cron(0 8 ? * MON *)"}
    expected = {"rate(1 hour)": (ingest, {"full": False}), "cron(15 3 * * ? *)": (ingest, {"full": True}),
                "rate(15 minutes)": (sweep, {})}  # fmt: skip
    for expr, (fn, payload) in expected.items():
        (target,) = rules[expr]["Targets"]
        assert flat(target["Arn"]) == f"<{fn}.Arn>"
        assert json.loads(target["Input"]) == payload
        assert flat(target["DeadLetterConfig"]["Arn"]) == f"<{dlq}.Arn>"
    v_rules = {
        r["Properties"]["ScheduleExpression"] for r in resources(synth.template(V), "AWS::Events::Rule").values()
    }
    assert v_rules == {"rate(1 hour)", "rate(15 minutes)", "cron(0 8 ? * MON *)"}  # full_ingest_schedule=off


# --- data ----------------------------------------------------------------------------------------------------------


def test_index_bucket_is_versioned_encrypted_private_tls_only_and_retained(synth):
    t = synth.template(D)
    (bucket,) = resources(t, "AWS::S3::Bucket").values()
    p = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert p["VersioningConfiguration"] == {"Status": "Enabled"}
    assert p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert p["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True
    }  # fmt: skip
    (rule,) = p["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    (policy,) = resources(t, "AWS::S3::BucketPolicy").values()
    denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert {"false"} == {s["Condition"].get("Bool", {}).get("aws:SecureTransport") for s in denies
                         if "Bool" in s["Condition"]}  # fmt: skip
    assert any("s3:TlsVersion" in json.dumps(s["Condition"]) for s in denies)
    one(synth.template(V), "AWS::S3::Bucket", BucketName="acme-helpdesk-index")


def test_tickets_table_keys_indexes_pitr_and_retention(synth):
    t = synth.template(D)
    _, table = one(t, "AWS::DynamoDB::Table", TableName="it-helpdesk-tickets")
    p = table["Properties"]
    assert table["DeletionPolicy"] == "Retain" and p["DeletionProtectionEnabled"] is True
    assert p["KeySchema"] == [{"AttributeName": "ticket_id", "KeyType": "HASH"}]
    assert p["BillingMode"] == "PAY_PER_REQUEST"
    assert p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    gsis = {g["IndexName"]: ([k["AttributeName"] for k in g["KeySchema"]], g["Projection"]["ProjectionType"])
            for g in p["GlobalSecondaryIndexes"]}  # fmt: skip
    assert gsis == {"by_requester": (["requester_id", "created_at"], "ALL"),
                    "by_status": (["status", "created_at"], "ALL")}  # fmt: skip


def test_adopt_mode_references_the_existing_tickets_table_without_creating_it(synth):
    v = synth.template(V)
    names = {r["Properties"].get("TableName") for r in resources(v, "AWS::DynamoDB::Table").values()}
    assert names == {"helpdesk-v-events", "helpdesk-v-interactions"}  # not the tickets table
    _, fn = function(v, "helpdesk-v-slack")
    assert fn["Properties"]["Environment"]["Variables"]["TICKETS_TABLE"] == "it-helpdesk-tickets"


def test_dedupe_table_expires_items_through_ttl(synth):
    _, table = one(synth.template(D), "AWS::DynamoDB::Table", TableName="it-helpdesk-slack-events")
    p = table["Properties"]
    assert p["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert p["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["DeletionPolicy"] == "Retain"


def test_secrets_are_created_empty_and_retained_or_referenced_by_arn(synth):
    t = synth.template(D)
    secrets = {r["Properties"]["Name"]: r for r in resources(t, "AWS::SecretsManager::Secret").values()}
    assert set(secrets) == {"it-helpdesk/slack", "it-helpdesk/confluence"}
    for secret in secrets.values():
        assert "SecretString" not in secret["Properties"] and "GenerateSecretString" not in secret["Properties"]
        assert secret["DeletionPolicy"] == "Retain"
    assert not resources(synth.template(V), "AWS::SecretsManager::Secret")


def test_ses_identity_is_optional(synth):
    assert not resources(synth.template(D), "AWS::SES::EmailIdentity")
    one(synth.template(V), "AWS::SES::EmailIdentity", EmailIdentity="acme.example")


# --- monitoring ----------------------------------------------------------------------------------------------------


def test_alarms_cover_errors_throttles_ingest_dlq_api_and_bedrock_and_notify_the_topic(synth):
    t = synth.template(D)
    topic, _ = one(t, "AWS::SNS::Topic", TopicName="it-helpdesk-alarms")
    _, sub = one(t, "AWS::SNS::Subscription", Endpoint="ops@example.com")
    assert sub["Properties"]["Protocol"] == "email"
    alarms = {a["Properties"]["AlarmName"]: a["Properties"] for a in resources(t, "AWS::CloudWatch::Alarm").values()}
    assert set(alarms) == {
        "it-helpdesk-slack-errors", "it-helpdesk-worker-errors", "it-helpdesk-sweep-errors",
        "it-helpdesk-ingest-failed", "it-helpdesk-worker-backlog",
        "it-helpdesk-slack-throttles", "it-helpdesk-ingest-throttles", "it-helpdesk-sweep-throttles",
        "it-helpdesk-dlq-not-empty", "it-helpdesk-api-5xx", "it-helpdesk-bedrock-throttling",
        "it-helpdesk-digest-errors",
    }  # fmt: skip
    for name, a in alarms.items():
        assert [flat(x) for x in a["AlarmActions"]] == [f"<{topic}>"], name
        assert a["TreatMissingData"] == "notBreaching", name
    assert (alarms["it-helpdesk-api-5xx"]["Namespace"], alarms["it-helpdesk-api-5xx"]["MetricName"]) == (
        "AWS/ApiGateway", "5XXError")  # fmt: skip
    assert alarms["it-helpdesk-ingest-failed"]["Period"] == 3600
    assert alarms["it-helpdesk-dlq-not-empty"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    bedrock = alarms["it-helpdesk-bedrock-throttling"]
    assert (bedrock["Namespace"], bedrock["MetricName"]) == ("ITHelpdesk", "BedrockThrottles")
    assert bedrock["Statistic"] == "Sum" and bedrock["Threshold"] == 5
    assert bedrock["Dimensions"] == [{"Name": "service", "Value": "it-helpdesk"}]
    assert not resources(synth.template(V), "AWS::SNS::Subscription")  # no alarm_email
    # The worker is throttled on purpose in a burst: its alarm is on how long questions wait, not on throttles.
    backlog = alarms["it-helpdesk-worker-backlog"]
    assert (backlog["MetricName"], backlog["Statistic"], backlog["Threshold"]) == ("AsyncEventAge", "Maximum", 300000)
    v_alarms = {a["Properties"]["AlarmName"] for a in resources(synth.template(V), "AWS::CloudWatch::Alarm").values()}
    assert {"helpdesk-v-slack-errors", "helpdesk-v-slack-throttles"} <= v_alarms
    assert not {a for a in v_alarms if "worker" in a}
