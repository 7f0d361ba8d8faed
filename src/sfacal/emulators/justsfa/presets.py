"""A standard schedule table, as a JUST.SFA administrator would set it up for calendar sync.

Mirrors the second manual's example: a data table with a schedule field (スケジュール) whose
calendar heading / location / content are the タイトル, 場所 and 内容 fields, a panel showing
them, and a common filter 参加者で絞り込み ("participants contains [the given user]"). Status,
kind, purpose and business-name select fields are added so the product's S1/S2 rules can be
exercised for JUST.SFA too.
"""

from __future__ import annotations

from typing import Any

from .state import EmulatorState

PURPOSES = [
    "定期訪問",
    "情報提供",
    "商品PR",
    "新規開拓",
    "案件商談",
    "納品",
    "集金",
    "クレーム対応",
    "TEL・FAX・MAIL",
]
BUSINESS_NAMES = ["資料作成", "伝票発行", "会議", "その他"]
DEFAULT_USERS = [
    {"userId": "yamada", "name": "山田 太郎"},
    {"userId": "suzuki", "name": "鈴木 花子"},
    {"userId": "tanaka", "name": "田中 一郎"},
]


def schedule_setup(
    state: EmulatorState,
    tenant: str,
    *,
    users: list[dict[str, Any]] | None = None,
    api_key: str | None = None,
    table_name: str = "スケジュール",
) -> dict[str, Any]:
    """Create (tenant if missing,) users, the schedule table, panel, filter and an API key.

    Returns every identifier the product's JUST.SFA settings (J1) reference.
    """
    with state.lock:
        if tenant not in state.tenants:
            state.create_tenant(tenant)
        for u in users if users is not None else DEFAULT_USERS:
            state.add_user(tenant, str(u["userId"]), str(u.get("name", u["userId"])))

        ids = {
            k: state.new_id("field")
            for k in (
                "key",
                "title",
                "location",
                "content",
                "schedule",
                "status",
                "kind",
                "purpose",
                "business",
                "customer",
                "address",
            )
        }
        fields: list[dict[str, Any]] = [
            {"fieldId": ids["key"], "name": "予定番号", "type": "autonumber"},
            {"fieldId": ids["title"], "name": "タイトル", "type": "text", "maxLength": 120},
            {"fieldId": ids["location"], "name": "場所", "type": "text", "maxLength": 80},
            {"fieldId": ids["content"], "name": "内容", "type": "textarea", "maxLength": 2000},
            {
                "fieldId": ids["schedule"],
                "name": "スケジュール",
                "type": "schedule",
                "calendarTitleField": ids["title"],
                "calendarLocationField": ids["location"],
                "calendarContentField": ids["content"],
            },
            {"fieldId": ids["status"], "name": "状態", "type": "select", "options": ["予定", "実績"]},
            {"fieldId": ids["kind"], "name": "区分", "type": "select", "options": ["商談", "業務"]},
            {"fieldId": ids["purpose"], "name": "商談目的", "type": "select", "options": PURPOSES},
            {"fieldId": ids["business"], "name": "業務名", "type": "select", "options": BUSINESS_NAMES},
            {"fieldId": ids["customer"], "name": "顧客名", "type": "text", "maxLength": 120},
            {"fieldId": ids["address"], "name": "顧客住所", "type": "text", "maxLength": 200},
        ]
        table = state.create_table(tenant, table_name, None, fields)
        panel = state.add_panel(tenant, table.table_id, "スケジュール一覧", None)
        flt = state.add_filter(
            tenant,
            table.table_id,
            "参加者で絞り込み",
            [{"field": ids["schedule"], "op": "contains", "value": None}],
        )
        key = state.create_api_key(
            tenant, "sfacal", [table.table_id], ["read", "add", "edit", "delete"], key=api_key
        )
        return {
            "tenant": tenant,
            "tableId": table.table_id,
            "panelId": panel.panel_id,
            "filterId": flt.filter_id,
            "apiKey": key.key,
            "keyField": ids["key"],
            "titleField": ids["title"],
            "locationField": ids["location"],
            "contentField": ids["content"],
            "scheduleField": ids["schedule"],
            "statusField": ids["status"],
            "kindField": ids["kind"],
            "purposeField": ids["purpose"],
            "businessField": ids["business"],
            "customerField": ids["customer"],
            "addressField": ids["address"],
            "users": [{"userId": u.user_id, "name": u.name} for u in state.tenants[tenant].users.values()],
        }
