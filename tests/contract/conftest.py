"""The calendar contract suite's targets: every calendar connector, ready against its backend.

Each target gives a fresh mailbox per test, a way to open the connector inside the test's event
loop, and a back door into the backend (count the stored events, act as the user in Outlook).
The CalDAV target is a real Radicale server over TLS (``tests/calendars/radicale.py``).
To add a connector, add a parameter to :func:`connector` that builds a :class:`ContractTarget`
(the back door answers in Graph's names; the Google target translates, ``google_helpers``).

The Microsoft 365 emulator runs with id changes switched on (``rest_ids_change_on_update``):
every change gives an event a new default id, so a connector that ever keeps a default id instead
of the immutable one it asks for fails here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from sfacal.calendars.base import CalendarService
from sfacal.calendars.caldav import CalDavCalendar
from sfacal.calendars.google import GoogleCalendar
from sfacal.calendars.msgraph import MicrosoftGraphCalendar
from tests.calendars.google_helpers import Google, google_changes, graph_like, start_google
from tests.calendars.helpers import M365, start_m365
from tests.calendars.radicale import Radicale, start_radicale

T = TypeVar("T")


@dataclass
class ContractTarget:
    name: str
    mailbox: str
    named_calendar: str
    open: Callable[[], contextlib.AbstractAsyncContextManager[CalendarService]]
    stored_events: Callable[[], list[dict[str, Any]]]  # every event of the mailbox, all calendars
    user_delete: Callable[[str], None]  # delete an event as the user would
    user_update: Callable[[str, dict[str, Any]], None]  # edit an event as the user would (Graph JSON)
    user_create: Callable[[dict[str, Any]], str]  # create an untagged event as the user would
    user_move: Callable[[str, str], None]  # move an event to another calendar (by name) as the user would

    def run(self, scenario: Callable[[CalendarService], Awaitable[T]]) -> T:
        async def main() -> T:
            async with self.open() as cal:
                return await scenario(cal)

        return asyncio.run(main())


@pytest.fixture(scope="session")
def contract_m365(tmp_path_factory: pytest.TempPathFactory) -> Iterator[M365]:
    # Graph throttles some items of a large one-mailbox batch (the emulator's batch_throttle), and
    # id changes are switched on (every change gives an event a new default id): the contract holds.
    for m365 in start_m365(tmp_path_factory.mktemp("m365-contract"), knobs={"batch_throttle": True}):
        m365.control.set_knobs(rest_ids_change_on_update=True)
        yield m365


def _graph_target(m365: M365) -> ContractTarget:
    settings = m365.secret_settings()
    upn = m365.new_user(calendars=["SFA予定"])

    @contextlib.asynccontextmanager
    async def open_graph() -> AsyncIterator[CalendarService]:
        async with MicrosoftGraphCalendar.from_settings(settings) as cal:
            yield cal

    def user_create(event: dict[str, Any]) -> str:
        return str(m365.control.user_create_event(upn, event)["id"])

    return ContractTarget(
        name="msgraph",
        mailbox=upn,
        named_calendar="SFA予定",
        open=open_graph,
        stored_events=lambda: m365.events(upn),
        user_delete=lambda event_id: m365.control.user_delete_event(upn, event_id),
        user_update=lambda event_id, changes: m365.control.user_update_event(upn, event_id, changes),
        user_create=user_create,
        user_move=lambda event_id, calendar: m365.control.user_move_event(upn, event_id, calendar),
    )


@pytest.fixture(scope="session")
def contract_radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    with start_radicale(tmp_path_factory.mktemp("radicale-contract")) as server:
        yield server


def _caldav_target(server: Radicale) -> ContractTarget:
    settings = server.settings()
    mailbox = server.new_user(calendars=["SFA予定"])

    @contextlib.asynccontextmanager
    async def open_caldav() -> AsyncIterator[CalendarService]:
        async with CalDavCalendar(settings) as cal:
            yield cal

    return ContractTarget(
        name="caldav",
        mailbox=mailbox,
        named_calendar="SFA予定",
        open=open_caldav,
        stored_events=lambda: server.events(mailbox),
        user_delete=lambda event_id: server.user_delete(mailbox, event_id),
        user_update=lambda event_id, changes: server.user_update(mailbox, event_id, changes),
        user_create=lambda event: server.user_create(mailbox, event),
        user_move=lambda event_id, calendar: server.user_move(mailbox, event_id, calendar),
    )


@pytest.fixture(scope="session")
def contract_google(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Google]:
    # Every answer the connector gets is checked against the Calendar v3 discovery document.
    yield from start_google(tmp_path_factory.mktemp("google-contract"), knobs={"check_responses": True})


def _google_target(google: Google) -> ContractTarget:
    settings = google.settings()
    email = google.new_user(calendars=["SFA予定"])

    @contextlib.asynccontextmanager
    async def open_google() -> AsyncIterator[CalendarService]:
        async with GoogleCalendar.from_settings(settings) as cal:
            yield cal

    def user_create(event: dict[str, Any]) -> str:
        return str(
            google.control.user_create_event(
                email, {"summary": event.get("subject", ""), **google_changes(event)}
            )["id"]
        )

    return ContractTarget(
        name="google",
        mailbox=email,
        named_calendar="SFA予定",
        open=open_google,
        stored_events=lambda: [graph_like(e) for e in google.events(email)],
        user_delete=lambda event_id: google.control.user_delete_event(email, event_id),
        user_update=lambda event_id, changes: google.control.user_update_event(
            email, event_id, google_changes(changes)
        ),
        user_create=user_create,
        user_move=lambda event_id, calendar: google.control.user_move_event(email, event_id, calendar),
    )


@pytest.fixture(params=["msgraph", "caldav", "google"])
def connector(request: pytest.FixtureRequest) -> ContractTarget:
    if request.param == "msgraph":
        return _graph_target(request.getfixturevalue("contract_m365"))
    if request.param == "caldav":
        return _caldav_target(request.getfixturevalue("contract_radicale"))
    if request.param == "google":
        return _google_target(request.getfixturevalue("contract_google"))
    raise AssertionError(f"unknown connector {request.param}")
