"""Which Bedrock ARNs a role may invoke, for a model id or a system (cross-Region) inference-profile id. Pure.

A foundation-model id (`amazon.titan-embed-text-v2:0`) is invoked in the stack's Region: one ARN,
`arn:<partition>:bedrock:<region>::foundation-model/<id>`.

A system inference profile (`us.anthropic.claude-3-5-haiku-20241022-v1:0`) is a geography prefix plus the model id.
IAM evaluates the call twice: once on the profile ARN in the calling Region, and once on the foundation model in the
Region the request is routed to. So the role needs the profile ARN *and* the foundation-model ARN in every Region the
profile can route to (AWS: "Geographic cross-Region inference", IAM policy requirements). The destination Regions
below are the ones AWS documents per geography; a model may route to fewer, never to Regions outside its geography.
They change as AWS adds Regions: override them with the `bedrock_profile_regions` setting.

The foundation-model grant for a profile carries the condition `bedrock:InferenceProfileArn` = the profile, so the
role can reach those models only through the profile, never directly in another Region.
"""

from __future__ import annotations

from dataclasses import dataclass

# Destination Regions of the system inference profiles, by id prefix (check them against the model's page in the
# Bedrock documentation before deploying in a new geography).
PROFILE_REGIONS: dict[str, tuple[str, ...]] = {
    "us": ("us-east-1", "us-east-2", "us-west-1", "us-west-2"),
    "us-gov": ("us-gov-east-1", "us-gov-west-1"),
    "ca": ("ca-central-1", "ca-west-1"),
    "eu": ("eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2",
           "eu-west-3"),
    "apac": ("ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2", "ap-southeast-1",
             "ap-southeast-2", "ap-southeast-4"),
    "jp": ("ap-northeast-1", "ap-northeast-3"),
    "au": ("ap-southeast-2", "ap-southeast-4"),
}  # fmt: skip
GLOBAL_PREFIX = "global"


@dataclass(frozen=True)
class ModelGrant:
    """The ARNs of one configured model: `direct` may be invoked as they are; `routed` only through `profile`."""

    model_id: str
    foundation_model_id: str
    profile_arn: str = ""
    direct: tuple[str, ...] = ()
    routed: tuple[str, ...] = ()


def split_profile(model_id: str) -> tuple[str, str]:
    """('us', 'anthropic.claude...') for a system profile id; ('', model_id) for a foundation-model id."""
    head, _, rest = model_id.partition(".")
    if rest and (head in PROFILE_REGIONS or head == GLOBAL_PREFIX):
        return head, rest
    return "", model_id


def model_grant(
    model_id: str,
    *,
    partition: str,
    region: str,
    account: str,
    profile_regions: tuple[str, ...] = (),
) -> ModelGrant:
    """The ARNs to allow for `model_id` called from `region` (tokens are fine: they are only concatenated)."""
    geo, foundation = split_profile(model_id)

    def fm(reg: str) -> str:
        return f"arn:{partition}:bedrock:{reg}::foundation-model/{foundation}"

    if not geo:
        return ModelGrant(model_id, foundation, direct=(fm(region),))
    profile = f"arn:{partition}:bedrock:{region}:{account}:inference-profile/{model_id}"
    if geo == GLOBAL_PREFIX:
        # Global profiles route to any commercial Region; AWS documents the Region-less foundation-model ARN for them.
        destinations: tuple[str, ...] = (region, *profile_regions, "")
    else:
        destinations = (region, *(profile_regions or PROFILE_REGIONS[geo]))
    routed = tuple(dict.fromkeys(fm(r) for r in destinations))
    return ModelGrant(model_id, foundation, profile_arn=profile, direct=(profile,), routed=routed)
