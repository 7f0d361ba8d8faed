"""The control API (``/_control``): set up projects, service accounts, delegation and users, act as
a user in Google Calendar (create, edit, delete, move), read what is stored, turn knobs.

Not part of Google's API; tests, the benchmark and the demo use it through :mod:`.client`.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .api import CalendarApi
from .state import Calendar, EmulatorState, Project, ServiceAccount, User

__all__ = ["ControlApi"]


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class ControlApi:
    def __init__(self, state: EmulatorState, api: CalendarApi) -> None:
        self.state = state
        self.api = api

    def routes(self) -> list[Route]:
        p = "/_control"
        return [
            Route(p + "/health", self.health, methods=["GET"]),
            Route(p + "/reset", self.reset, methods=["POST"]),
            Route(p + "/knobs", self.knobs, methods=["GET", "PATCH"]),
            Route(p + "/counters", self.counters, methods=["GET"]),
            Route(p + "/journal", self.journal, methods=["GET"]),
            Route(p + "/projects", self.create_project, methods=["POST"]),
            Route(p + "/projects/{project_id}", self.update_project, methods=["PATCH"]),
            Route(p + "/service-accounts", self.create_account, methods=["POST"]),
            Route(p + "/service-accounts/{email}", self.update_account, methods=["PATCH"]),
            Route(p + "/users", self.create_user, methods=["POST"]),
            Route(p + "/users/{email}/events", self.user_events, methods=["GET", "POST"]),
            Route(p + "/users/{email}/events/{event_id}", self.user_event, methods=["PATCH", "DELETE"]),
            Route(p + "/users/{email}/events/{event_id}/move", self.user_move, methods=["POST"]),
            Route(p + "/expire-sync-tokens", self.expire_sync_tokens, methods=["POST"]),
        ]

    async def health(self, request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    async def reset(self, request: Request) -> JSONResponse:
        self.state.reset()
        return JSONResponse({"ok": True})

    async def knobs(self, request: Request) -> JSONResponse:
        if request.method == "PATCH":
            try:
                with self.state.lock:
                    self.state.knobs.update(await request.json())
            except (KeyError, TypeError, ValueError) as exc:
                return _bad(f"unknown or invalid knob: {exc}")
        return JSONResponse(self.state.knobs.to_dict())

    async def counters(self, request: Request) -> JSONResponse:
        return JSONResponse(dict(self.state.counters))

    async def journal(self, request: Request) -> JSONResponse:
        return JSONResponse(list(self.state.journal))

    async def create_project(self, request: Request) -> JSONResponse:
        data = await request.json()
        number = str(100000000000 + secrets.randbelow(10**11))
        project = Project(str(data.get("project_id") or f"sfacal-{number[-6:]}"), number)
        with self.state.lock:
            self.state.projects[project.project_id] = project
        return JSONResponse({"project_id": project.project_id, "number": project.number})

    async def update_project(self, request: Request) -> JSONResponse:
        data = await request.json()
        with self.state.lock:
            project = self.state.projects.get(request.path_params["project_id"])
            if project is None:
                return _bad("no such project", 404)
            project.api_enabled = bool(data.get("api_enabled", project.api_enabled))
        return JSONResponse({"project_id": project.project_id, "api_enabled": project.api_enabled})

    async def create_account(self, request: Request) -> JSONResponse:
        """A service account and one key: answers the key file as the Cloud console downloads it."""
        data = await request.json()
        project_id = str(data.get("project_id", ""))
        if project_id not in self.state.projects:
            return _bad("no such project", 404)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public_pem = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        name = str(data.get("name") or "sfacal-" + secrets.token_hex(3))
        email = f"{name}@{project_id}.iam.gserviceaccount.com"
        client_id = str(10**20 + secrets.randbelow(10**20))
        key_id = secrets.token_hex(20)
        account = ServiceAccount(
            email,
            client_id,
            project_id,
            key_id,
            public_pem,
            str(data.get("domain", "")).lower(),
            set(data.get("delegated_scopes", [])),
        )
        with self.state.lock:
            self.state.accounts[email] = account
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "type": "service_account",
                "project_id": project_id,
                "private_key_id": key_id,
                "private_key": private_pem,
                "client_email": email,
                "client_id": client_id,
                "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                "token_uri": base + "/token",
                "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
                "client_x509_cert_url": base + "/robot/v1/metadata/x509/" + email,
                "universe_domain": "googleapis.com",
            }
        )

    async def update_account(self, request: Request) -> JSONResponse:
        data = await request.json()
        with self.state.lock:
            account = self.state.accounts.get(request.path_params["email"])
            if account is None:
                return _bad("no such service account", 404)
            if "delegated_scopes" in data:
                account.delegated_scopes = set(data["delegated_scopes"])
            if "key_revoked" in data:
                account.key_revoked = bool(data["key_revoked"])
        return JSONResponse({"client_email": account.client_email, "client_id": account.client_id})

    async def create_user(self, request: Request) -> JSONResponse:
        data = await request.json()
        email = str(data.get("email", "")).lower()
        if "@" not in email:
            return _bad("email is required")
        zone = str(data.get("time_zone") or "Asia/Tokyo")
        user = User(email)
        user.calendars[email] = Calendar(email, email, True, time_zone=zone)
        for name in data.get("calendars", []):
            cid = base64.b32hexencode(secrets.token_bytes(10)).decode().lower() + "@group.calendar.google.com"
            user.calendars[cid] = Calendar(cid, name, False, time_zone=zone)
        for name in data.get("read_only_calendars", []):
            cid = base64.b32hexencode(secrets.token_bytes(10)).decode().lower() + "@group.calendar.google.com"
            user.calendars[cid] = Calendar(cid, name, False, access_role="reader", time_zone=zone)
        with self.state.lock:
            self.state.users[email] = user
        return JSONResponse({"email": email, "calendars": {c.summary: c.id for c in user.calendars.values()}})

    def _user(self, request: Request) -> User | None:
        return self.state.users.get(request.path_params["email"].lower())

    def _find(self, user: User, event_id: str) -> tuple[Calendar, dict[str, Any]] | None:
        for calendar in user.calendars.values():
            event = calendar.events.get(event_id)
            if event is not None and event["status"] != "cancelled":
                return calendar, event
        return None

    async def user_events(self, request: Request) -> JSONResponse:
        user = self._user(request)
        if user is None:
            return _bad("no such user", 404)
        if request.method == "POST":
            data = await request.json()
            calendar_name = data.get("calendar")
            with self.state.lock:
                calendar = (
                    next((c for c in user.calendars.values() if c.summary == calendar_name), user.primary)
                    if calendar_name
                    else user.primary
                )
                made = self.api._insert(calendar, dict(data["event"]), {})
            return JSONResponse(made.body, status_code=made.status)
        with self.state.lock:
            out = [
                {**event, "calendarId": c.id, "calendarName": c.summary}
                for c in user.calendars.values()
                for event in c.events.values()
                if event["status"] != "cancelled"
            ]
        return JSONResponse(out)

    async def user_event(self, request: Request) -> JSONResponse:
        user = self._user(request)
        if user is None:
            return _bad("no such user", 404)
        changes = await request.json() if request.method == "PATCH" else {}
        with self.state.lock:
            found = self._find(user, request.path_params["event_id"])
            if found is None:
                return _bad("no such event", 404)
            calendar, event = found
            if request.method == "DELETE":
                self.api._cancel(calendar, event)
                return JSONResponse({"ok": True})
            made = self.api._write(calendar, event, changes, {}, patch=True)
        return JSONResponse(made.body, status_code=made.status)

    async def user_move(self, request: Request) -> JSONResponse:
        user = self._user(request)
        if user is None:
            return _bad("no such user", 404)
        data = await request.json()
        with self.state.lock:
            found = self._find(user, request.path_params["event_id"])
            target = next((c for c in user.calendars.values() if c.summary == data.get("calendar")), None)
            if found is None or target is None:
                return _bad("no such event or calendar", 404)
            made = self.api._move(found[0], target, found[1], {})
        return JSONResponse(made.body, status_code=made.status)

    async def expire_sync_tokens(self, request: Request) -> JSONResponse:
        with self.state.lock:
            count = len(self.state.sync_tokens)
            self.state.sync_tokens.clear()
        return JSONResponse({"expired": count})
