"""Errors only the engine reports (a participant the product does not know, a mailbox that cannot
be resolved). They join the core's registry so a stored log line re-hydrates their hint (L2)."""

from __future__ import annotations

from sfacal.core.errors import ERROR_TYPES, ConfigurationError

__all__ = ["MailboxUnresolvedError", "UnknownParticipantError"]


class UnknownParticipantError(ConfigurationError):
    code = "unknown_participant"
    message_ja = "スケジュールの参加者「{login_id}」に該当する社員が登録されていません。"
    message_en = 'No employee with login ID "{login_id}" is registered for a participant of the schedule.'
    hint_ja = (
        "社員一覧に社員ログインIDが一致する社員を登録してください（JUST.SFA 連携ではユーザー対応表に"
        "JUST.SFA ユーザーIDと Outlook メールアドレスを登録）。登録後、保存済みのスケジュールが連携されます。"
    )
    hint_en = (
        "Register an employee with this login ID (for JUST.SFA, add the JUST.SFA user ID and the "
        "Outlook mail address to the user mapping). The stored schedules are synced once it exists."
    )


class MailboxUnresolvedError(ConfigurationError):
    code = "mailbox_unresolved"
    message_ja = "社員「{login_id}」の連携ユーザーIDを決定できません。"
    message_en = 'The mailbox user ID of employee "{login_id}" cannot be determined.'
    hint_ja = (
        "社員設定で連携ユーザーIDを入力するか、「社員ログインID@ドメイン名」を使う場合は基本設定の"
        "ドメイン名を入力してください。"
    )
    hint_en = (
        "Enter the mailbox user ID in the employee settings, or, with 'login ID @ domain', enter "
        "the domain name in the company settings."
    )


for _cls in (UnknownParticipantError, MailboxUnresolvedError):
    ERROR_TYPES.setdefault(_cls.code, _cls)
