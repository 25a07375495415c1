"""One fake clock for every test: a monotonic reading and a `sleep` that advance together without waiting (for
retry code), and the same instant read as UTC (`utc`, for the stores' `clock` parameter)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

WALL_START = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: float = 1000.0, *, wall_start: datetime = WALL_START) -> None:
        self.start = start
        self.now = start
        self.wall_start = wall_start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float = 0.0, **delta: float) -> str:
        """Move on by `seconds` plus a `timedelta(**delta)` (minutes=5, days=8); returns the new `stamp`."""
        self.now += seconds + timedelta(**delta).total_seconds()
        return self.stamp

    def utc(self) -> datetime:
        return self.wall_start + timedelta(seconds=self.now - self.start)

    @property
    def stamp(self) -> str:
        """`utc()` as the stores write it: ISO 8601 to the second, with a Z."""
        return self.utc().isoformat(timespec="seconds").replace("+00:00", "Z")
