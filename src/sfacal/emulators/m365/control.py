"""The control API (``/_control/...``): seed the directory, read what is stored, edit as a user, tune knobs.

It lives outside Graph's URL space and needs no token: it is for tests, benchmarks
and the demo, never for the product.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .errors import GraphError
from .mailbox import Mailboxes, snapshot
from .state import Certificate, EmulatorState, Event, User
from .subscriptions import Notifier


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _parse_when(value: Any, default: datetime) -> datetime:
    if value is None:
        return default
    dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class ControlApi:
    def __init__(self, state: EmulatorState, mailboxes: Mailboxes, notifier: Notifier) -> None:
        self.state = state
        self.mailboxes = mailboxes
        self.notifier = notifier

    def routes(self) -> list[Route]:
        r = "/_control"
        return [
            Route(f"{r}/health", self._wrap(self.health), methods=["GET"]),
            Route(f"{r}/reset", self._wrap(self.reset), methods=["POST"]),
            Route(f"{r}/knobs", self._wrap(self.knobs), methods=["GET", "PATCH"]),
            Route(f"{r}/tenants", self._wrap(self.create_tenant), methods=["POST"]),
            Route(f"{r}/apps", self._wrap(self.create_app), methods=["POST"]),
            Route(f"{r}/apps/{{client_id}}", self._wrap(self.update_app), methods=["PATCH"]),
            Route(f"{r}/apps/{{client_id}}/secrets", self._wrap(self.add_secret), methods=["POST"]),
            Route(f"{r}/apps/{{client_id}}/certificates", self._wrap(self.add_certificate), methods=["POST"]),
            Route(f"{r}/users", self._wrap(self.create_user), methods=["POST"]),
            Route(f"{r}/users/{{user}}", self._wrap(self.update_user), methods=["GET", "PATCH"]),
            Route(f"{r}/users/{{user}}/calendars", self._wrap(self.create_calendar), methods=["POST"]),
            Route(
                f"{r}/users/{{user}}/calendars/{{calendar}}",
                self._wrap(self.delete_calendar),
                methods=["DELETE"],
            ),
            Route(f"{r}/users/{{user}}/events", self._wrap(self.user_events), methods=["GET", "POST"]),
            Route(
                f"{r}/users/{{user}}/events/{{event_id}}",
                self._wrap(self.user_event),
                methods=["PATCH", "DELETE"],
            ),
            Route(
                f"{r}/users/{{user}}/events/{{event_id}}/move", self._wrap(self.user_move), methods=["POST"]
            ),
            Route(f"{r}/events", self._wrap(self.all_events), methods=["GET"]),
            Route(f"{r}/journal", self._wrap(self.journal), methods=["GET"]),
            Route(f"{r}/counters", self._wrap(self.counters), methods=["GET"]),
            Route(f"{r}/subscriptions", self._wrap(self.subscriptions), methods=["GET"]),
            Route(f"{r}/subscriptions/{{sid}}/lifecycle", self._wrap(self.lifecycle), methods=["POST"]),
            Route(f"{r}/notifications", self._wrap(self.notifications), methods=["GET"]),
            Route(f"{r}/delta/expire", self._wrap(self.expire_delta), methods=["POST"]),
        ]

    def _wrap(self, fn: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                body: Any = None
                if request.method in ("POST", "PATCH"):
                    raw = await request.body()
                    body = (await request.json()) if raw.strip() else {}
                result = await fn(request, body)
                if isinstance(result, Response):
                    return result
                return JSONResponse(result)
            except ControlError as exc:
                return JSONResponse({"error": exc.message}, status_code=exc.status)
            except GraphError as exc:
                return JSONResponse({"error": exc.message, "code": exc.code}, status_code=exc.status)
            except (KeyError, ValueError, TypeError) as exc:
                return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=400)

        return endpoint

    def _user(self, request: Request) -> User:
        user = self.state.find_user(request.path_params["user"])
        if user is None:
            raise ControlError(404, f"no user {request.path_params['user']!r}")
        return user

    # -- endpoints ------------------------------------------------------------------------------
    async def health(self, request: Request, body: Any) -> Any:
        return {"ok": True, "time": time.time()}

    async def reset(self, request: Request, body: Any) -> Any:
        self.state.reset()
        if body and body.get("knobs") == "defaults":
            from .state import Knobs

            self.state.knobs = Knobs()
        return {"ok": True}

    async def knobs(self, request: Request, body: Any) -> Any:
        if request.method == "PATCH":
            self.state.knobs.update(body or {})
        return self.state.knobs.as_dict()

    async def create_tenant(self, request: Request, body: Any) -> Any:
        domains = body.get("domains") or ([body["domain"]] if body.get("domain") else [])
        tenant = self.state.add_tenant(list(domains), body.get("displayName"), body.get("id"))
        return {"id": tenant.id, "domains": tenant.domains, "displayName": tenant.display_name}

    def _app_json(self, app: Any, new_secrets: list[Any] | None = None) -> dict[str, Any]:
        return {
            "clientId": app.client_id,
            "tenantId": app.tenant_id,
            "displayName": app.display_name,
            "permissions": sorted(app.permissions),
            "secrets": [
                {
                    "keyId": s.key_id,
                    "hint": s.hint,
                    "expires": s.expires.isoformat(),
                    **({"value": s.value} if new_secrets and s in new_secrets else {}),
                }
                for s in app.secrets
            ],
            "certificates": [
                {"keyId": c.key_id, "sha1": c.sha1.hex().upper(), "sha256": c.sha256.hex().upper()}
                for c in app.certificates
            ],
        }

    async def create_app(self, request: Request, body: Any) -> Any:
        tenant = self.state.find_tenant(str(body["tenant"]))
        if tenant is None:
            raise ControlError(404, f"no tenant {body['tenant']!r}")
        perms = body.get("permissions")
        app = self.state.add_app(
            tenant.id,
            client_id=body.get("clientId"),
            display_name=body.get("displayName", "sfacal"),
            permissions=set(perms) if perms is not None else None,
        )
        created = []
        for s in body.get("secrets") or []:
            created.append(
                self.state.add_secret(
                    app,
                    s.get("value"),
                    _parse_when(s.get("expires"), datetime.now(UTC) + timedelta(days=365)),
                )
            )
        for c in body.get("certificates") or []:
            app.certificates.append(Certificate.from_pem(c["pem"] if isinstance(c, dict) else c))
        return self._app_json(app, created)

    def _app(self, request: Request) -> Any:
        app = self.state.apps.get(request.path_params["client_id"].lower())
        if app is None:
            raise ControlError(404, "no such app")
        return app

    async def update_app(self, request: Request, body: Any) -> Any:
        app = self._app(request)
        if "permissions" in body:
            app.permissions = set(body["permissions"])
        if "displayName" in body:
            app.display_name = body["displayName"]
        return self._app_json(app)

    async def add_secret(self, request: Request, body: Any) -> Any:
        app = self._app(request)
        secret = self.state.add_secret(
            app, body.get("value"), _parse_when(body.get("expires"), datetime.now(UTC) + timedelta(days=365))
        )
        return {"keyId": secret.key_id, "value": secret.value, "expires": secret.expires.isoformat()}

    async def add_certificate(self, request: Request, body: Any) -> Any:
        app = self._app(request)
        cert = Certificate.from_pem(body["pem"])
        app.certificates.append(cert)
        return {"keyId": cert.key_id, "sha1": cert.sha1.hex().upper(), "sha256": cert.sha256.hex().upper()}

    def _user_json(self, user: User) -> dict[str, Any]:
        return {
            "id": user.id,
            "userPrincipalName": user.upn,
            "tenantId": user.tenant_id,
            "displayName": user.display_name,
            "hasMailbox": user.has_mailbox,
            "restEnabled": user.rest_enabled,
            "defaultCalendarId": user.default_calendar_id,
            "calendars": [
                {"id": c.id, "name": c.name, "isDefault": c.is_default} for c in user.calendars.values()
            ],
        }

    async def create_user(self, request: Request, body: Any) -> Any:
        tenant = self.state.find_tenant(str(body["tenant"]))
        if tenant is None:
            raise ControlError(404, f"no tenant {body['tenant']!r}")
        upn = str(body["userPrincipalName"])
        if self.state.find_user(upn) is not None:
            raise ControlError(409, f"user {upn!r} exists")
        user = self.state.add_user(
            tenant.id,
            upn,
            user_id=body.get("id"),
            display_name=body.get("displayName"),
            has_mailbox=bool(body.get("hasMailbox", True)),
            rest_enabled=bool(body.get("restEnabled", True)),
        )
        for name in body.get("calendars") or []:
            self.state.add_calendar(user, name)
        return self._user_json(user)

    async def update_user(self, request: Request, body: Any) -> Any:
        user = self._user(request)
        if request.method == "GET":
            return self._user_json(user)
        if "hasMailbox" in body:
            user.has_mailbox = bool(body["hasMailbox"])
        if "restEnabled" in body:
            user.rest_enabled = bool(body["restEnabled"])
        if "displayName" in body:
            user.display_name = str(body["displayName"])
        return self._user_json(user)

    async def create_calendar(self, request: Request, body: Any) -> Any:
        user = self._user(request)
        cal = self.state.add_calendar(user, str(body["name"]), can_edit=bool(body.get("canEdit", True)))
        return {"id": cal.id, "name": cal.name, "isDefault": False, "canEdit": cal.can_edit}

    async def delete_calendar(self, request: Request, body: Any) -> Any:
        """The user deletes a calendar (by id or name) and with it its events, as Outlook does."""
        user = self._user(request)
        wanted = request.path_params["calendar"]
        cal = user.calendars.get(wanted) or next(
            (c for c in user.calendars.values() if c.name == wanted), None
        )
        if cal is None:
            raise ControlError(404, "no such calendar")
        if cal.id == user.default_calendar_id:
            raise ControlError(400, "the default calendar cannot be deleted")
        for ev in [e for e in user.events.values() if e.calendar_id == cal.id]:
            self.mailboxes.delete(user, ev)
        del user.calendars[cal.id]
        return {"ok": True, "id": cal.id}

    async def user_events(self, request: Request, body: Any) -> Any:
        user = self._user(request)
        if request.method == "GET":
            return {"value": [snapshot(e) for e in user.events.values()]}
        cal_id = body.pop("calendarId", None) or user.default_calendar_id
        cal = user.calendars.get(cal_id)
        if cal is None:
            raise ControlError(404, "no such calendar")
        ev, _ = self.mailboxes.create(user, cal, body.get("event", body))
        return snapshot(ev)

    def _event(self, user: User, request: Request) -> Event:
        ev = user.find_event(request.path_params["event_id"])  # either id kind
        if ev is None:
            raise ControlError(404, "no such event")
        return ev

    async def user_event(self, request: Request, body: Any) -> Any:
        user = self._user(request)
        ev = self._event(user, request)
        if request.method == "DELETE":
            self.mailboxes.delete(user, ev)
            return {"ok": True}
        self.mailboxes.update(user, ev, body)
        return snapshot(ev)

    async def user_move(self, request: Request, body: Any) -> Any:
        """The user moves an event to another calendar of the mailbox (by calendar id or name), as
        in Outlook: a new REST id and change key, the same immutable id."""
        user = self._user(request)
        ev = self._event(user, request)
        wanted = str(body["calendar"])
        cal = user.calendars.get(wanted) or next(
            (c for c in user.calendars.values() if c.name == wanted), None
        )
        if cal is None:
            raise ControlError(404, "no such calendar")
        self.mailboxes.move(user, ev, cal)
        return snapshot(ev)

    async def all_events(self, request: Request, body: Any) -> Any:
        wanted = request.query_params.get("user")
        out = []
        for user in self.state.users.values():
            if wanted and user.id != wanted.lower() and user.upn.lower() != wanted.lower():
                continue
            for ev in user.events.values():
                out.append({"user": user.upn, "userId": user.id, **snapshot(ev)})
        return {"value": out}

    async def journal(self, request: Request, body: Any) -> Any:
        since = float(request.query_params.get("since", "0"))
        entries = [e for e in self.state.journal if e["time"] >= since]
        return {"value": entries}

    async def counters(self, request: Request, body: Any) -> Any:
        return self.state.counters.as_dict()

    async def subscriptions(self, request: Request, body: Any) -> Any:
        return {"value": [self.notifier.render(None, s) for s in self.state.subscriptions.values()]}

    async def lifecycle(self, request: Request, body: Any) -> Any:
        sub = self.state.subscriptions.get(request.path_params["sid"])
        if sub is None:
            raise ControlError(404, "no such subscription")
        self.notifier.lifecycle(sub, str(body["event"]))
        return {"ok": True}

    async def notifications(self, request: Request, body: Any) -> Any:
        return {"value": list(self.state.notifications)}

    async def expire_delta(self, request: Request, body: Any) -> Any:
        count = len(self.state.delta_tokens)
        self.state.delta_tokens.clear()
        return {"expired": count}
