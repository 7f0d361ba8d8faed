"""Knobs of the emulator (failure injection, write caps) and the validation of knob values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .model import PERMISSIONS, ValueError400


@dataclass
class Knobs:
    latency_ms: float = 0.0
    fail_rate_429: float = 0.0
    fail_rate_503: float = 0.0
    fail_rate_reset: float = 0.0  # connection dropped mid-response
    # statuses answered to the next API requests, in order; 0 drops the connection mid-response
    fail_next: list[int] = field(default_factory=list)
    max_records_per_write: int = 100
    api_writes_fire_webhooks: bool = True
    seed: int | None = None


def parse_permissions(permissions: Any) -> set[str]:
    """``read``/``add``/``edit``/``delete`` (閲覧/追加/編集/削除); ``write`` means the last three."""
    if not isinstance(permissions, list):
        raise ValueError400("INVALID_PARAMETER", "permissions must be a list")
    perms: set[str] = set()
    for p in permissions:
        if p == "write":
            perms |= {"add", "edit", "delete"}
        elif p in PERMISSIONS:
            perms.add(p)
        else:
            raise ValueError400(
                "INVALID_PARAMETER", f"permission '{p}' is not one of {PERMISSIONS} or 'write'"
            )
    return perms


_MAXIMA = {
    "latency_ms": 600_000,
    "timeout": 600,
    "minute_seconds": 86_400 * 366,
    "day_seconds": 86_400 * 3660,
}


def coerce_knob(name: str, current: Any, value: Any) -> Any:
    def bad() -> ValueError400:
        return ValueError400("INVALID_PARAMETER", f"knob '{name}': bad value {value!r}", target=name)

    if name == "fail_next":
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and (v == 0 or 400 <= v <= 599) for v in value
        ):
            raise bad()
        return list(value)
    if name == "retry_delays":
        if not isinstance(value, list) or not all(
            isinstance(v, int | float) and 0 <= v <= 3600 for v in value
        ):
            raise bad()
        return [float(v) for v in value]
    if name == "scope":
        if value not in ("tenant", "key"):
            raise bad()
        return value
    if name in ("day_seconds", "seed", "ca_file"):
        if value is None:
            return None
    if isinstance(current, bool) or name in ("verify", "api_writes_fire_webhooks"):
        if not isinstance(value, bool):
            raise bad()
        return value
    if name == "ca_file":
        if not isinstance(value, str):
            raise bad()
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad()
    if name.startswith("fail_rate") and not 0 <= value <= 1:
        raise bad()
    if value < 0 or (name in ("minute_seconds", "day_seconds", "timeout") and value <= 0):
        raise bad()
    if name in _MAXIMA and value > _MAXIMA[name]:
        raise bad()
    if name in ("per_minute", "per_day", "max_records_per_write", "max_attempts", "seed"):
        if int(value) != value:
            raise bad()
        return int(value)
    return float(value)
