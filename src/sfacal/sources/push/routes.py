"""Endpoints of the push API. The work is done in :mod:`.service` and :mod:`.directory`."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Body, Header, P, PathEx, Query, QueryEx, Router, Status
from pydantic import Field

from sfacal.core.errors import InputError
from sfacal.directory.companies.models import BusinessName, Company, Purpose
from sfacal.directory.employees import bulk
from sfacal.directory.employees.models import Employee
from sfacal.sources.push import directory, errors, explained, service
from sfacal.sources.push.auth import request_company
from sfacal.sources.push.bodies import MAX_BATCH_BODY_BYTES, read_json
from sfacal.sources.push.fields import IfMatchValue, LoginId, MasterName, Moment, SourceId, StateValue
from sfacal.sources.push.schemas import (
    MAX_MASTER_ITEMS,
    BatchResponse,
    EmployeeIn,
    EmployeeList,
    EmployeeOut,
    ErrorOut,
    PurposeIn,
    PurposeOut,
    ScheduleExplanation,
    ScheduleIn,
    ScheduleOut,
    ScheduleStatus,
)

schedule_router = Router(tags=["schedules"])
directory_router = Router(tags=["employees and masters"])

# Every operation may answer 401 (token) and 503 (the database cannot take the request now; see
# Retry-After); reads 404 and 422 (a bad path or query value); writes 400, 412, 413 and 422.
_AUTH: dict[int, Any] = {401: ErrorOut, 503: ErrorOut}
_READ: dict[int, Any] = {**_AUTH, 404: ErrorOut, 422: ErrorOut}
_WRITE: dict[int, Any] = {**_AUTH, 400: ErrorOut, 412: ErrorOut, 413: ErrorOut, 422: ErrorOut}

SourceIdPath = PathEx[SourceId, P()]  # type: ignore[valid-type]
LoginIdPath = PathEx[LoginId, P()]  # type: ignore[valid-type]
# Optional header and query parameters are typed without None and default to None: the document
# then says "a string, or absent" (a header or a query value cannot be null).
IF_MATCH = Header(None, alias="If-Match")
DELETED_AT = Query(None, description="When the SFA deleted it; default now.")
STATE = Query(None, description="on, off or forbidden (連携する, 連携しない, 使用禁止)")
MasterList = Annotated[list[PurposeIn], Field(max_length=MAX_MASTER_ITEMS)]
NameList = Annotated[
    list[MasterName], Field(max_length=MAX_MASTER_ITEMS, json_schema_extra={"uniqueItems": True})
]

_BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchRequest"}}},
    }
}


# -- schedules ------------------------------------------------------------------------------------


@schedule_router.post(
    "/schedules:batch",
    response={200: BatchResponse, **_WRITE},
    url_name="batch_schedules",
    summary="Upsert or delete up to 500 schedules",
    description=(
        "Each item is processed on its own and gets its own result (`status` as if sent alone, "
        "`error` naming the field). A bad item never loses the good ones beside it. The response "
        "is 200 whenever the envelope itself is valid."
    ),
    openapi_extra=_BATCH_BODY,
)
def batch_schedules(request: HttpRequest) -> Any:
    company = request_company(request)
    try:
        data = read_json(request, MAX_BATCH_BODY_BYTES)
    except ValueError as exc:
        raise errors.malformed_json() from exc
    items = service.batch_items(data)
    return service.run_batch(company, items, now=timezone.now())


@schedule_router.put(
    "/schedules/{source_id}",
    response={200: ScheduleOut, 201: ScheduleOut, **_WRITE},
    url_name="put_schedule",
    summary="Create or replace a schedule",
    description=(
        "Idempotent: the same content again answers 200 with `outcome: duplicate`. 201 when the "
        "schedule did not exist. `If-Match` (an ETag from an earlier answer), a lower numeric "
        "`version` or an older `updated_at` than the stored state give 412. Unknown participants "
        "are kept (a warning in the answer and the log) and synced once the employee exists. "
        "Refused with 422 besides what the body's schema says: `end` before `start`; `start` and "
        "`end` not both dates or both dates and times (without `all_day`); dates with `all_day: "
        "false` or dates and times with `all_day: true`."
    ),
)
def put_schedule(
    request: HttpRequest,
    source_id: SourceIdPath,
    payload: ScheduleIn,
    response: HttpResponse,
    if_match: IfMatchValue = IF_MATCH,
) -> Any:
    result = service.upsert(
        request_company(request), source_id, payload, if_match=if_match, now=timezone.now()
    )
    if result.etag:
        response["ETag"] = result.etag
    return Status(result.status, result.body)


@schedule_router.delete(
    "/schedules/{source_id}",
    response={204: None, **_WRITE},
    url_name="delete_schedule",
    summary="Delete a schedule (S4)",
    description=(
        "Idempotent: 204 also for an unknown or already deleted schedule (the deletion is "
        "remembered, so an older create arriving later is refused as stale)."
    ),
)
def delete_schedule(
    request: HttpRequest,
    source_id: SourceIdPath,
    updated_at: Moment = DELETED_AT,
    if_match: IfMatchValue = IF_MATCH,
) -> Any:
    service.delete(
        request_company(request), source_id, if_match=if_match, updated_at=updated_at, now=timezone.now()
    )
    return Status(204, None)


@schedule_router.get(
    "/schedules/{source_id}",
    response={200: ScheduleOut, **_READ},
    url_name="get_schedule",
    summary="Read a schedule as stored",
)
def get_schedule(request: HttpRequest, source_id: SourceIdPath, response: HttpResponse) -> Any:
    result = service.read(request_company(request), source_id)
    if result.etag:
        response["ETag"] = result.etag
    return Status(200, result.body)


@schedule_router.get(
    "/schedules/{source_id}/status",
    response={200: ScheduleStatus, **_READ},
    url_name="schedule_status",
    summary="Mirror state per participant and inbox state of the latest change",
)
def schedule_status(request: HttpRequest, source_id: SourceIdPath) -> Any:
    return service.status(request_company(request), source_id)


@schedule_router.get(
    "/schedules/{source_id}/explain",
    response={200: ScheduleExplanation, **_READ},
    url_name="explain_schedule",
    summary="Why the schedule is (or is not) in each participant's calendar",
    description=(
        "For each employee the schedule concerns: the decision the engine makes and why, as a "
        "chain of steps, each with the rule behind it and a message in English and Japanese; the "
        "event as it is written. Computed by the planner the engine runs, so it says what the next "
        "run does."
    ),
)
def explain_schedule(request: HttpRequest, source_id: SourceIdPath) -> Any:
    return explained.explanation(request_company(request), source_id)


# -- employees ------------------------------------------------------------------------------------


def _employee_out(employee: Employee, created: bool = False) -> dict[str, Any]:
    return {
        "login_id": employee.login_id,
        "name": employee.name,
        "email": employee.email,
        "state": employee.state,
        "user_id_mode": employee.user_id_mode,
        "user_id": employee.user_id,
        "calendar_name": employee.calendar_name,
        "sync_start": employee.sync_start.isoformat() if employee.sync_start else None,
        "last_result": employee.last_result,
        "last_error_code": employee.last_error_code,
        "last_synced_at": employee.last_synced_at.isoformat() if employee.last_synced_at else None,
        "created": created,
    }


def _login_id(value: str) -> str:
    try:
        return bulk.check_login_id(value)
    except InputError as exc:
        raise errors.from_input_error(exc) from exc


@directory_router.get(
    "/employees",
    response={200: EmployeeList, **_READ},
    url_name="list_employees",
    summary="List employees",
)
def list_employees(
    request: HttpRequest,
    state: StateValue = STATE,
    limit: QueryEx[int, P(ge=1, le=1000)] = 100,
    offset: QueryEx[int, P(ge=0, le=10_000_000)] = 0,
) -> Any:
    company = request_company(request)
    rows = Employee.objects.filter(company=company).order_by("login_id")
    if state:
        try:
            rows = rows.filter(state=bulk.parse_state(state))
        except InputError as exc:
            raise errors.from_input_error(exc) from exc
    return {"count": rows.count(), "items": [_employee_out(e) for e in rows[offset : offset + limit]]}


@directory_router.get(
    "/employees/{login_id}",
    response={200: EmployeeOut, **_READ},
    url_name="get_employee",
    summary="Read one employee",
)
def get_employee(request: HttpRequest, login_id: LoginIdPath) -> Any:
    company = request_company(request)
    row = Employee.objects.filter(company=company, login_id=_login_id(login_id)).first()
    if row is None:
        raise errors.not_found("employee", "社員", "login_id")
    return _employee_out(row)


@directory_router.put(
    "/employees/{login_id}",
    response={200: EmployeeOut, 201: EmployeeOut, **_WRITE},
    url_name="put_employee",
    summary="Create or update an employee (E1-E4)",
    description=(
        "Fields left out keep their value. Turning `state` on records the sync start (E4): only "
        "schedules registered or updated after it are sent. `state` on with `user_id_mode` "
        "explicit needs a `user_id` (422 naming `user_id`)."
    ),
)
def put_employee(request: HttpRequest, login_id: LoginIdPath, payload: EmployeeIn) -> Any:
    company = request_company(request)
    try:
        change = bulk.EmployeeChange(
            login_id=_login_id(login_id),
            name=payload.name,
            email=payload.email,
            state=bulk.parse_state(payload.state) if payload.state is not None else None,
            user_id_mode=(
                bulk.parse_user_id_mode(payload.user_id_mode) if payload.user_id_mode is not None else None
            ),
            user_id=payload.user_id,
            calendar_name=payload.calendar_name,
        )
    except InputError as exc:
        raise errors.from_input_error(exc) from exc
    try:
        (outcome,) = bulk.apply_employee_changes(company, [change], now=timezone.now())
    except bulk.ChangesInterrupted as exc:  # nothing written: the cause answers (a locked database: 503)
        raise exc.cause from exc
    if outcome.error is not None:
        raise errors.from_input_error(outcome.error)
    assert outcome.employee is not None
    created = outcome.action == "created"
    return Status(201 if created else 200, _employee_out(outcome.employee, created))


# -- masters --------------------------------------------------------------------------------------


def _purposes(company: Company) -> list[dict[str, Any]]:
    return [
        {"name": p.name, "counted_as_visit": p.counted_as_visit}
        for p in Purpose.objects.filter(company=company).order_by("position", "id")
    ]


def _business_names(company: Company) -> list[str]:
    return [b.name for b in BusinessName.objects.filter(company=company).order_by("position", "id")]


@directory_router.get(
    "/masters/purposes",
    response={200: list[PurposeOut], **_AUTH},
    url_name="get_purposes",
    summary="商談目的 master",
)
def get_purposes(request: HttpRequest) -> Any:
    return _purposes(request_company(request))


@directory_router.put(
    "/masters/purposes",
    response={200: list[PurposeOut], **_WRITE},
    url_name="put_purposes",
    summary="Replace the 商談目的 master (C9)",
    description=(
        "The list becomes the master, in this order; purposes not listed are removed. A name that "
        "appears twice is refused (422 naming `[i].name`)."
    ),
)
def put_purposes(request: HttpRequest, payload: Body[MasterList]) -> Any:
    company = request_company(request)
    try:
        directory.replace_purposes(company, [(p.name, p.counted_as_visit) for p in payload])
    except InputError as exc:
        raise errors.from_input_error(exc) from exc
    return _purposes(company)


@directory_router.get(
    "/masters/business-names",
    response={200: list[str], **_AUTH},
    url_name="get_business_names",
    summary="業務名 master",
)
def get_business_names(request: HttpRequest) -> Any:
    return _business_names(request_company(request))


@directory_router.put(
    "/masters/business-names",
    response={200: list[str], **_WRITE},
    url_name="put_business_names",
    summary="Replace the 業務名 master (C9)",
    description=(
        "The list becomes the master, in this order; names not listed are removed. A name that "
        "appears twice is refused (422 naming `[i].name`)."
    ),
)
def put_business_names(request: HttpRequest, payload: Body[NameList]) -> Any:
    company = request_company(request)
    try:
        directory.replace_business_names(company, payload)
    except InputError as exc:
        raise errors.from_input_error(exc) from exc
    return _business_names(company)
