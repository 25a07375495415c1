"""Reading typed settings from an environment mapping (pure). Every package's `config.py` uses these.

Each reader takes the mapping explicitly (never `os.environ` at import time) and raises `ConfigError` naming the
variable and the accepted values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from core.errors import ConfigError

Env = Mapping[str, str]


def text(env: Env, name: str, default: str = "") -> str:
    value = env.get(name, "").strip()
    return value or default


def _number(env: Env, name: str, default: float, lo: float, hi: float, kind: type) -> Any:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a {'whole ' if kind is int else ''}number") from exc
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{name}={raw!r} is not a finite number")
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={raw!r} must be between {lo} and {hi}")
    return value


def number(env: Env, name: str, default: float, lo: float, hi: float) -> float:
    return float(_number(env, name, default, lo, hi, float))


def optional_number(env: Env, name: str, lo: float, hi: float) -> float | None:
    return number(env, name, lo, lo, hi) if text(env, name) else None


def whole(env: Env, name: str, default: int, lo: int, hi: int) -> int:
    return int(_number(env, name, default, lo, hi, int))


def choice(env: Env, name: str, default: str, choices: tuple[str, ...]) -> str:
    value = text(env, name, default).lower()
    if value not in choices:
        raise ConfigError(f"{name}={value!r} must be one of: {', '.join(choices)}")
    return value


def flag(env: Env, name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} must be true or false")


def whole_choice(env: Env, name: str, default: int, choices: tuple[int, ...]) -> int:
    value = whole(env, name, default, min(choices), max(choices))
    if value not in choices:
        raise ConfigError(f"{name}={value} must be one of: {', '.join(map(str, choices))}")
    return value


def csv(env: Env, name: str, default: str = "") -> tuple[str, ...]:
    return tuple(part.strip() for part in text(env, name, default).split(",") if part.strip())
