"""Helpers for the Google Calendar connector tests and the contract suite: a running Google
emulator with one Workspace domain and a service account granted domain-wide delegation."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sfacal.calendars.google import GoogleSettings
from sfacal.emulators.google import GoogleEmulatorHandle, running_emulator

_counter = itertools.count(1)


@dataclass
class Google:
    """One emulator project and domain ready for the connector."""

    emu: GoogleEmulatorHandle
    project_id: str
    domain: str

    @property
    def control(self) -> Any:
        return self.emu.control

    def new_user(self, local: str | None = None, **kwargs: Any) -> str:
        email = f"{local or 'user' + str(next(_counter))}@{self.domain}"
        self.control.create_user(email, **kwargs)
        return email

    def new_key(self, **kwargs: Any) -> dict[str, str]:
        return dict(self.control.create_service_account(self.project_id, self.domain, **kwargs))

    def settings(self, key: dict[str, str] | None = None, **overrides: Any) -> GoogleSettings:
        base = GoogleSettings.from_key_text(
            json.dumps(key or self.new_key()),
            domain=self.domain,
            api_base_url=self.emu.api_url,
            ca_bundle=str(self.emu.ca_pem),
            max_backoff_s=1.0,
        )
        return replace(base, **overrides)

    def events(self, email: str) -> list[dict[str, Any]]:
        return list(self.control.events(email))


def start_google(directory: Path, knobs: dict[str, Any] | None = None) -> Iterator[Google]:
    with running_emulator(directory, knobs=knobs) as emu:
        project = emu.control.create_project()
        yield Google(emu, project["project_id"], f"g{next(_counter)}.example.jp")


def graph_like(event: dict[str, Any]) -> dict[str, Any]:
    """A stored Google event in the shape the contract suite reads (Graph's names)."""
    private = (event.get("extendedProperties") or {}).get("private") or {}
    return {
        "id": event["id"],
        "calendarId": event["calendarId"],
        "properties": {
            "subject": event.get("summary", ""),
            "sensitivity": {"default": "normal"}.get(
                event.get("visibility", "default"), event.get("visibility")
            ),
            "showAs": "free" if event.get("transparency") == "transparent" else "busy",
        },
        "singleValueExtendedProperties": [{"value": v} for k, v in private.items() if k == "sfacalTag"],
    }


def google_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """A user's edit written in Graph's names, in Google's."""
    out: dict[str, Any] = {}
    if "subject" in changes:
        out["summary"] = changes["subject"]
    all_day = changes.get("isAllDay")
    for key in ("start", "end"):
        if key in changes:
            value = changes[key]
            if all_day:
                out[key] = {"date": value["dateTime"][:10]}
            else:
                zone = value.get("timeZone", "UTC")
                out[key] = {"dateTime": value["dateTime"], "timeZone": "UTC" if " " in zone else zone}
    return out
