"""Change notifications: ``/subscriptions`` for Outlook events, the validation handshake, delivery, lifecycle."""

from __future__ import annotations

import asyncio
import re
import ssl
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from .errors import GraphError
from .events import check_schema
from .ids import wants_immutable_ids
from .mailbox import Mailboxes
from .service import READ_ROLES, Ctx, GraphResponse, Pipeline
from .state import EmulatorState, Subscription, User
from .timezones import format_offset, parse_local

RESOURCE = re.compile(
    r"^/?(?:users/(?P<uid>[^/]+)|(?P<me>me))(?:/calendar|/calendars/(?P<cid>[^/]+))?/events$", re.IGNORECASE
)
CHANGE_TYPES = {"created", "updated", "deleted"}
LIFECYCLE_EVENTS = {"reauthorizationRequired", "missed", "subscriptionRemoved"}


def _invalid(message: str) -> GraphError:
    return GraphError(400, "InvalidRequest", message)


def _not_found() -> GraphError:
    return GraphError(404, "ResourceNotFound", "The object was not found.")


class Notifier:
    def __init__(
        self, state: EmulatorState, pipeline: Pipeline, mailboxes: Mailboxes, ca_pem: str | None
    ) -> None:
        self.state = state
        self.p = pipeline
        self.ca_pem = ca_pem
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        mailboxes.listeners.append(self.on_change)
        pipeline.add(r"^subscriptions$", {"GET": self.list, "POST": self.create}, mailbox=False)
        pipeline.add(
            r"^subscriptions/(?P<sid>[^/]+)$",
            {"GET": self.get, "PATCH": self.renew, "DELETE": self.delete},
            mailbox=False,
        )
        pipeline.add(r"^subscriptions/(?P<sid>[^/]+)/reauthorize$", {"POST": self.reauthorize}, mailbox=False)

    # -- HTTP client to subscribers -----------------------------------------------------------------
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            ctx = ssl.create_default_context()
            if self.ca_pem:
                ctx.load_verify_locations(cafile=self.ca_pem)
            self._client = httpx.AsyncClient(verify=ctx, trust_env=False, follow_redirects=False)
        return self._client

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- endpoints -------------------------------------------------------------------------------
    def render(self, ctx: Ctx | None, sub: Subscription) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": sub.id,
            "resource": sub.resource,
            "applicationId": sub.app_id,
            "changeType": ",".join(t for t in ("created", "updated", "deleted") if t in sub.change_types),
            "clientState": sub.client_state,
            "notificationUrl": sub.notification_url,
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": sub.lifecycle_url,
            "expirationDateTime": format_offset(sub.expiration),
            "creatorId": sub.app_id,
            "includeResourceData": None,
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }
        if ctx is not None:
            out = {"@odata.context": f"{ctx.req.base_url}/v1.0/$metadata#subscriptions/$entity", **out}
        return out

    def _own(self, ctx: Ctx) -> Subscription:
        sub = self.state.subscriptions.get(ctx.match["sid"])
        if sub is None or sub.app_id != ctx.app_id:
            raise _not_found()
        return sub

    def _expiration(self, value: Any) -> datetime:
        if not isinstance(value, str):
            raise _invalid("expirationDateTime is a required property for subscription creation.")
        try:
            dt, _ = parse_local(value)
        except ValueError as exc:
            raise _invalid(f"Invalid expirationDateTime value '{value}'.") from exc
        dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
        now = datetime.now(UTC)
        limit = self.state.knobs.max_subscription_minutes
        if dt <= now:
            raise _invalid("Subscription expiration must be in the future.")
        if dt > now + timedelta(minutes=limit):
            raise _invalid(f"Subscription expiration can only be {limit} minutes in the future.")
        return dt

    def _check_url(self, url: Any, name: str) -> str:
        if not isinstance(url, str) or not url:
            raise _invalid(f"{name} is a required property for subscription creation.")
        parts = urlsplit(url)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme == "https" or (
            parts.scheme == "http" and loopback and self.state.knobs.allow_http_notification_loopback
        ):
            return url
        raise _invalid(f"Invalid {name} '{url}'. The URL must use the HTTPS scheme.")

    async def _validate_endpoint(self, url: str) -> None:
        token = (
            f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
        )
        sep = "&" if "?" in url else "?"
        try:
            r = await self.client().post(
                f"{url}{sep}validationToken={quote(token, safe='')}",
                headers={"Content-Type": "text/plain; charset=utf-8"},
                content=b"",
                timeout=self.state.knobs.validation_timeout_s,
            )
        except httpx.HTTPError as exc:
            raise _invalid(
                f"Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request. ({type(exc).__name__})"
            ) from exc
        if r.status_code != 200:
            raise _invalid(
                "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request."
            )
        if r.text != token:
            raise _invalid(
                "Subscription validation request failed. Response must exactly match validationToken query parameter."
            )

    async def create(self, ctx: Ctx) -> GraphResponse:
        body = check_schema(ctx.json, "microsoft.graph.subscription")
        if not set(ctx.claims.get("roles") or []) & READ_ROLES:
            raise GraphError(
                403,
                "ExtensionError",
                "Operation: Create; Exception: [Status Code: Forbidden; Reason: Access is denied. Check credentials and try again.]",
            )
        change_types = {c.strip() for c in str(body.get("changeType") or "").split(",") if c.strip()}
        if not change_types or not change_types <= CHANGE_TYPES:
            raise _invalid(f"Invalid 'changeType' attribute: '{body.get('changeType')}'.")
        resource = body.get("resource")
        m = RESOURCE.match(resource) if isinstance(resource, str) else None
        if m is None or not isinstance(resource, str):
            raise _invalid(f"Invalid resource '{resource}'.")
        if m.group("me"):
            raise GraphError(
                400, "BadRequest", "/me request is only valid with delegated authentication flow."
            )
        notification_url = self._check_url(body.get("notificationUrl"), "notificationUrl")
        lifecycle_url = body.get("lifecycleNotificationUrl")
        if lifecycle_url is not None:
            lifecycle_url = self._check_url(lifecycle_url, "lifecycleNotificationUrl")
        client_state = body.get("clientState")
        if client_state is not None and len(client_state) > 128:
            raise _invalid("clientState must not exceed 128 characters.")
        expiration = self._expiration(body.get("expirationDateTime"))
        ctx.match["uid"] = m.group("uid")
        user = self.p.require_user(ctx)
        cid = m.group("cid")
        if cid is not None and cid not in user.calendars:
            raise _invalid(f"Invalid resource '{resource}'.")
        if cid is None and "/calendar/" in resource.lower():
            cid = user.default_calendar_id
        await self._validate_endpoint(notification_url)
        if lifecycle_url and lifecycle_url != notification_url:
            await self._validate_endpoint(lifecycle_url)
        sub = Subscription(
            id=str(uuid.uuid4()),
            app_id=ctx.app_id,
            tenant_id=ctx.tenant_id,
            user_id=user.id,
            calendar_id=cid,
            resource=resource,
            change_types=change_types,
            notification_url=notification_url,
            lifecycle_url=lifecycle_url,
            client_state=client_state,
            expiration=expiration,
            created=datetime.now(UTC),
            immutable_ids=wants_immutable_ids(ctx.req.prefer("IdType")),
        )
        self.state.add_subscription(sub)
        return GraphResponse(201, self.render(ctx, sub))

    async def list(self, ctx: Ctx) -> GraphResponse:
        subs = [self.render(None, s) for s in self.state.subscriptions.values() if s.app_id == ctx.app_id]
        return GraphResponse(
            200, {"@odata.context": f"{ctx.req.base_url}/v1.0/$metadata#subscriptions", "value": subs}
        )

    async def get(self, ctx: Ctx) -> GraphResponse:
        return GraphResponse(200, self.render(ctx, self._own(ctx)))

    async def renew(self, ctx: Ctx) -> GraphResponse:
        sub = self._own(ctx)
        body = check_schema(ctx.json, "microsoft.graph.subscription")
        if "expirationDateTime" in body:
            sub.expiration = self._expiration(body["expirationDateTime"])
        return GraphResponse(200, self.render(ctx, sub))

    async def delete(self, ctx: Ctx) -> GraphResponse:
        sub = self._own(ctx)
        self.state.remove_subscription(sub.id)
        return GraphResponse(204)

    async def reauthorize(self, ctx: Ctx) -> GraphResponse:
        self._own(ctx)
        return GraphResponse(204)

    # -- delivery -------------------------------------------------------------------------------
    def on_change(self, user: User, calendar_id: str, event_id: str, rest_id: str, change: str) -> None:
        now = datetime.now(UTC)
        for sub_id in list(self.state.subscriptions_by_user.get(user.id, ())):
            sub = self.state.subscriptions[sub_id]
            if sub.expiration <= now:
                self.state.remove_subscription(sub.id)
                continue
            if sub.user_id != user.id or change not in sub.change_types:
                continue
            if sub.calendar_id is not None and sub.calendar_id != calendar_id:
                continue
            ev = user.events.get(event_id)
            shown = event_id if sub.immutable_ids else rest_id
            resource = f"Users/{user.id}/Events/{shown}"
            resource_data: dict[str, Any] = {
                "@odata.type": "#Microsoft.Graph.Event",
                "@odata.id": resource,
                "id": shown,
            }
            if ev is not None:
                resource_data["@odata.etag"] = f'W/"{ev.change_key}"'
            item = {
                "subscriptionId": sub.id,
                "subscriptionExpirationDateTime": format_offset(sub.expiration),
                "changeType": change,
                "resource": resource,
                "resourceData": resource_data,
                "clientState": sub.client_state,
                "tenantId": sub.tenant_id,
            }
            self._spawn(self._deliver(sub, sub.notification_url, {"value": [item]}, "change"))

    def lifecycle(self, sub: Subscription, event: str) -> None:
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"unknown lifecycle event {event!r}")
        if not sub.lifecycle_url:
            raise ValueError("the subscription has no lifecycleNotificationUrl")
        item = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": format_offset(sub.expiration),
            "tenantId": sub.tenant_id,
            "clientState": sub.client_state,
            "lifecycleEvent": event,
        }
        if event == "subscriptionRemoved":
            self.state.remove_subscription(sub.id)
        self._spawn(self._deliver(sub, sub.lifecycle_url, {"value": [item]}, event))

    async def _deliver(self, sub: Subscription, url: str, payload: dict[str, Any], kind: str) -> None:
        knobs = self.state.knobs
        for attempt in range(knobs.notification_retries + 1):
            record: dict[str, Any] = {
                "time": time.time(),
                "subscriptionId": sub.id,
                "url": url,
                "kind": kind,
                "attempt": attempt,
                "payload": payload,
            }
            try:
                r = await self.client().post(url, json=payload, timeout=knobs.notification_timeout_s)
                record["status"] = r.status_code
                self.state.notifications.append(record)
                if 200 <= r.status_code < 300:
                    return
            except httpx.HTTPError as exc:
                record["status"] = None
                record["error"] = type(exc).__name__
                self.state.notifications.append(record)
            await asyncio.sleep(0.2 * 2**attempt)
