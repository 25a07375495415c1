"""Reading a synthesized CloudFormation template in tests: resources by type, IAM statements per function, values
flattened to strings the way a reviewer reads them (Ref X -> <X>, GetAtt X.Arn -> <X.Arn>, Join -> joined)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


def flat(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value)
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical, attr = value["Fn::GetAtt"]
        return f"<{logical}.{attr}>"
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(flat(p) for p in parts)
    if isinstance(value, dict) and "Fn::Sub" in value:
        return str(value["Fn::Sub"])
    raise ValueError(f"cannot flatten {value!r}")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resources(template: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == rtype}


def one(template: dict[str, Any], rtype: str, **props: Any) -> tuple[str, dict[str, Any]]:
    """The single resource of `rtype` whose properties include `props` (compared flattened)."""

    def fits(r: dict[str, Any]) -> bool:
        have = r.get("Properties", {})
        return all(p in have and flat(have[p]) == flat(v) for p, v in props.items())

    hits = [(k, r) for k, r in resources(template, rtype).items() if fits(r)]
    assert len(hits) == 1, f"expected one {rtype} with {props}, found {[k for k, _ in hits]}"
    return hits[0]


def function(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    return one(template, "AWS::Lambda::Function", FunctionName=name)


@dataclass(frozen=True)
class Statement:
    role: str  # logical id of the role
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: str  # flattened, "" when none

    def matches_action(self, prefix: str) -> bool:
        return any(a.startswith(prefix) for a in self.actions)


def statements(template: dict[str, Any]) -> Iterator[Statement]:
    """Every Allow statement of every role: its policies (AWS::IAM::Policy) and inline policies."""
    for _, policy in resources(template, "AWS::IAM::Policy").items():
        props = policy["Properties"]
        for role in props.get("Roles", []):
            yield from _statements(flat(role).strip("<>"), props["PolicyDocument"])
    for logical, role in resources(template, "AWS::IAM::Role").items():
        for inline in role["Properties"].get("Policies", []):
            yield from _statements(logical, inline["PolicyDocument"])


def _statements(role: str, document: dict[str, Any]) -> Iterator[Statement]:
    for s in document["Statement"]:
        assert s["Effect"] == "Allow", s
        condition = s.get("Condition")
        yield Statement(
            role=role,
            sid=s.get("Sid", ""),
            actions=tuple(as_list(s["Action"])),
            resources=tuple(flat(r) for r in as_list(s["Resource"])),
            condition="" if condition is None else _flat_condition(condition),
        )


def _flat_condition(condition: dict[str, Any]) -> str:
    parts = []
    for op, keys in sorted(condition.items()):
        for key, value in sorted(keys.items()):
            parts.append(f"{op}:{key}={','.join(flat(v) for v in as_list(value))}")
    return ";".join(parts)


def role_of(template: dict[str, Any], function_name: str) -> str:
    _, fn = function(template, function_name)
    return flat(fn["Properties"]["Role"]).strip("<>").removesuffix(".Arn")


def statements_of(template: dict[str, Any], function_name: str) -> list[Statement]:
    role = role_of(template, function_name)
    return [s for s in statements(template) if s.role == role]
