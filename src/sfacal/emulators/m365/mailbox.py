"""Changes to a mailbox's events — shared by the Graph API and the control API's "user edits".

Every change bumps the mailbox's sequence number (which drives delta queries), renews
the change key and tells the notifier, whoever made it. An event has two ids (:mod:`.ids`): its
immutable id never changes; its REST id changes when the user moves it to another calendar
(:meth:`Mailboxes.move`; the calendar it left reports it removed in delta) and, with the
``rest_ids_change_on_update`` knob, on every change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import GraphError, access_denied, bad_request, property_validation_failure
from .events import WRITABLE, check_schema, parse_ext_props, resolve_times, writable_props
from .ids import new_immutable_id, new_rest_id
from .state import Calendar, EmulatorState, Event, Tombstone, User, new_change_key, utcnow

ChangeListener = Callable[[User, str, str, str, str], None]
"""(user, calendar id, immutable event id, REST event id, change type: created | updated | deleted)."""

_TOMBSTONES_KEPT = 50_000


class Mailboxes:
    def __init__(self, state: EmulatorState | None = None) -> None:
        self.listeners: list[ChangeListener] = []
        self.state = state

    def _changed(self, user: User, calendar_id: str, ev: Event, change: str, rest_id: str = "") -> None:
        for listener in self.listeners:
            listener(user, calendar_id, ev.id, rest_id or ev.rest_id, change)

    @staticmethod
    def _new_rest_id(user: User, ev: Event) -> None:
        user.rest_ids.pop(ev.rest_id, None)
        ev.rest_id = new_rest_id(user.id)
        user.rest_ids[ev.rest_id] = ev.id

    @staticmethod
    def _tombstone(user: User, ev: Event, calendar_id: str, rest_id: str) -> None:
        user.tombstones.append(
            Tombstone(ev.id, calendar_id, user.next_seq(), ev.start_utc, ev.end_utc, rest_id)
        )
        if len(user.tombstones) > _TOMBSTONES_KEPT:
            del user.tombstones[:10_000]

    def create(self, user: User, cal: Calendar, body: Any) -> tuple[Event, bool]:
        """Create an event. Returns (event, created); created is False for a transactionId replay."""
        if not cal.can_edit:
            raise access_denied()
        body = check_schema(body, "microsoft.graph.event", ("singleValueExtendedProperties",))
        tx = body.get("transactionId")
        if tx is not None:
            existing_id = user.by_transaction.get(tx)
            existing = user.events.get(existing_id) if existing_id else None
            if existing is not None:
                if existing.create_body == body:
                    return existing, False
                raise GraphError(
                    400,
                    "ErrorDuplicateTransactionId",
                    "Your request can't be completed. The TransactionId specified in the request has already "
                    "been used to create a different event.",
                )
        if not isinstance(body.get("start"), dict) or not isinstance(body.get("end"), dict):
            raise property_validation_failure()
        times = resolve_times(body["start"], body["end"], bool(body.get("isAllDay")))
        ext = parse_ext_props(body.get("singleValueExtendedProperties"))
        now = utcnow()
        props = writable_props(body)
        props.update(
            {
                "start": dict(body["start"]),
                "end": dict(body["end"]),
                "_start_tz": times.start_tz,
                "_end_tz": times.end_tz,
            }
        )
        ev = Event(
            id=new_immutable_id(),
            calendar_id=cal.id,
            props=props,
            start_utc=times.start_utc,
            end_utc=times.end_utc,
            all_day_start=times.all_day_start,
            all_day_end=times.all_day_end,
            ext=ext,
            created=now,
            modified=now,
            change_key=new_change_key(),
            transaction_id=tx,
            create_body=body if tx is not None else None,
            seq=user.next_seq(),
            ical_uid="040000008200E00074C5B7101A82E00800000000"
            + new_change_key().encode().hex().upper()[:32],
            rest_id=new_rest_id(user.id),
        )
        user.events[ev.id] = ev
        user.rest_ids[ev.rest_id] = ev.id
        if tx is not None:
            user.by_transaction[tx] = ev.id
        self._changed(user, cal.id, ev, "created")
        return ev, True

    def update(self, user: User, ev: Event, body: Any) -> Event:
        body = check_schema(body, "microsoft.graph.event", ("singleValueExtendedProperties",))
        if "transactionId" in body and body["transactionId"] != ev.transaction_id:
            raise bad_request(
                "The property 'transactionId' can't be changed after the event is created.",
                code="ErrorInvalidPropertySet",
            )
        start = body.get("start", ev.props.get("start"))
        end = body.get("end", ev.props.get("end"))
        all_day = bool(body["isAllDay"]) if body.get("isAllDay") is not None else ev.all_day_start is not None
        if not isinstance(start, dict) or not isinstance(end, dict):
            raise property_validation_failure()
        times = resolve_times(start, end, all_day)
        ext = dict(ev.ext)
        ext.update(parse_ext_props(body.get("singleValueExtendedProperties")))
        props = dict(ev.props)
        props.update(writable_props(body))
        props.pop("isAllDay", None)
        props.update(
            {"start": dict(start), "end": dict(end), "_start_tz": times.start_tz, "_end_tz": times.end_tz}
        )
        ev.props = props
        ev.start_utc, ev.end_utc = times.start_utc, times.end_utc
        ev.all_day_start, ev.all_day_end = times.all_day_start, times.all_day_end
        ev.ext = ext
        ev.modified = utcnow()
        ev.change_key = new_change_key()
        ev.seq = user.next_seq()
        if self.state is not None and self.state.knobs.rest_ids_change_on_update:
            self._new_rest_id(user, ev)
        self._changed(user, ev.calendar_id, ev, "updated")
        return ev

    def move(self, user: User, ev: Event, cal: Calendar) -> Event:
        """The user moves ``ev`` to the calendar ``cal`` of the same mailbox (as in Outlook).

        The immutable id stays; the REST id, the change key and the last-modified time are new.
        The calendar it left reports it removed (delta, notifications), the one it entered created.
        Moving an event to the calendar it is in changes nothing.
        """
        if cal.id == ev.calendar_id:
            return ev
        if not cal.can_edit:
            raise access_denied()
        left, old_rest = ev.calendar_id, ev.rest_id
        self._tombstone(user, ev, left, old_rest)
        self._new_rest_id(user, ev)
        ev.calendar_id = cal.id
        ev.modified = utcnow()
        ev.change_key = new_change_key()
        ev.seq = user.next_seq()
        self._changed(user, left, ev, "deleted", old_rest)
        self._changed(user, cal.id, ev, "created")
        return ev

    def delete(self, user: User, ev: Event) -> None:
        user.events.pop(ev.id, None)
        user.rest_ids.pop(ev.rest_id, None)
        if ev.transaction_id is not None and user.by_transaction.get(ev.transaction_id) == ev.id:
            del user.by_transaction[ev.transaction_id]
        self._tombstone(user, ev, ev.calendar_id, ev.rest_id)
        self._changed(user, ev.calendar_id, ev, "deleted")


def snapshot(ev: Event) -> dict[str, Any]:
    """Everything stored for an event (control API): ``id`` is the immutable id (what a client that
    asks for immutable ids holds), ``restId`` the current default id."""
    return {
        "id": ev.id,
        "restId": ev.rest_id,
        "calendarId": ev.calendar_id,
        "transactionId": ev.transaction_id,
        "changeKey": ev.change_key,
        "createdDateTime": ev.created.isoformat(),
        "lastModifiedDateTime": ev.modified.isoformat(),
        "startUtc": ev.start_utc.isoformat(),
        "endUtc": ev.end_utc.isoformat(),
        "isAllDay": ev.all_day_start is not None,
        "allDayStart": ev.all_day_start,
        "allDayEnd": ev.all_day_end,
        "properties": {k: v for k, v in ev.props.items() if k in WRITABLE},
        "singleValueExtendedProperties": [{"id": shown, "value": value} for shown, value in ev.ext.values()],
    }
