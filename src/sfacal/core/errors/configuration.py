"""Configuration errors: an administrator must change a setting (credentials, mailboxes, calendars)."""

from __future__ import annotations

from .base import SfacalError

# --------------------------------------------------------------------------------------------
# Configuration: a person must change a setting.


class ConfigurationError(SfacalError):
    code = "configuration_error"
    message_ja = "設定に誤りがあります。"
    message_en = "A setting is wrong."
    hint_ja = "スケジュール連携の基本設定と社員設定を見直し、「登録して接続をテスト」で確認してください。"
    hint_en = 'Review the company sync settings and employee settings, then use "Save and test".'


class CredentialError(ConfigurationError):
    code = "credential_error"
    message_ja = "Microsoft 365 への認証に失敗しました。"
    message_en = "Authentication with Microsoft 365 failed."
    hint_ja = (
        "基本設定の共通認証情報（クライアントID、証明書またはクライアントシークレット、ドメイン名、"
        "トークンエンドポイント）が Azure ポータルの「アプリの登録」と一致しているか確認してください。"
    )
    hint_en = (
        "Check that the shared credentials (client ID, certificate or client secret, domain, token "
        'endpoint) match the app in the Azure portal under "App registrations".'
    )


class AppNotFoundError(CredentialError):
    code = "app_not_found"
    message_ja = "Azure AD にアプリケーションが見つかりません（AADSTS700016 / AADSTS70001）。"
    message_en = "The application was not found in Azure AD (AADSTS700016 / AADSTS70001)."
    hint_ja = (
        "クライアントIDが誤っている可能性があります。Azure ポータル › アプリの登録 › 対象アプリ › 概要の"
        "「アプリケーション (クライアント) ID」をコピーして基本設定のクライアントIDに貼り付け、"
        "トークンエンドポイントのテナントがそのアプリを登録したテナントであることも確認してください。"
    )
    hint_en = (
        "The client ID is probably wrong. Copy the 'Application (client) ID' from Azure portal › App "
        "registrations › your app › Overview into the client ID setting, and check that the token "
        "endpoint names the tenant where the app is registered."
    )


class InvalidSignatureError(CredentialError):
    code = "invalid_signature"
    message_ja = "証明書の署名を Azure AD が受け付けませんでした（AADSTS700027 / AADSTS50012）。"
    message_en = "Azure AD rejected the certificate signature (AADSTS700027 / AADSTS50012)."
    hint_ja = (
        "Azure AD にアップロードした証明書と異なる証明書ファイル（.pfx）を指定している可能性があります。"
        "Azure ポータル › アプリの登録 › 証明書とシークレット › 証明書 の拇印と、アップロードした .pfx の"
        "証明書が同じものか確認し、必要なら .cer を再アップロードしてください。"
    )
    hint_en = (
        "The .pfx file is probably not the certificate uploaded to Azure AD. Compare the thumbprint "
        "under Azure portal › App registrations › Certificates & secrets › Certificates with the "
        ".pfx certificate and upload the matching .cer again if needed."
    )


class PfxUnreadableError(CredentialError):
    code = "pfx_unreadable"
    message_ja = "証明書ファイル（.pfx）を読み込めませんでした。"
    message_en = "The certificate file (.pfx) could not be read."
    hint_ja = (
        "証明書ファイルの形式が違う（PKCS#12 の .pfx ではない）か、証明書ファイルのパスワードが"
        "誤っている可能性があります。秘密キーを含めて .pfx 形式でエクスポートし直し、"
        "エクスポート時に設定したパスワードを入力してください。"
    )
    hint_en = (
        "The file is not a PKCS#12 .pfx, or the password is wrong. Export the certificate again as "
        ".pfx including the private key, and enter the password chosen during the export."
    )


class ThumbprintMismatchError(CredentialError):
    code = "thumbprint_mismatch"
    message_ja = "証明書の拇印が一致しません（AADSTS50064: Credential validation failed）。"
    message_en = "The certificate thumbprint does not match (AADSTS50064: credential validation failed)."
    hint_ja = (
        "拇印が誤っている可能性があります。.pfx の証明書から取得した拇印（base64Thumbprint.txt の内容、"
        "または Azure ポータルの証明書一覧に表示される16進の拇印）を基本設定の拇印に貼り付けてください。"
    )
    hint_en = (
        "The thumbprint is probably wrong. Paste the thumbprint of the .pfx certificate (the "
        "base64Thumbprint.txt content, or the hex thumbprint shown in the Azure portal's "
        "certificate list) into the thumbprint setting."
    )


class TenantNotFoundError(CredentialError):
    code = "tenant_not_found"
    message_ja = "テナントが見つかりません（AADSTS90002）。"
    message_en = "The tenant was not found (AADSTS90002)."
    hint_ja = (
        "OAuth 2.0 トークンエンドポイントが誤っている可能性があります。Azure ポータル › アプリの登録 › "
        "エンドポイント の「OAuth 2.0 トークン エンドポイント」をコピーして貼り付けてください"
        "（例: https://login.microsoftonline.com/<テナントID>/oauth2/v2.0/token）。"
    )
    hint_en = (
        "The OAuth 2.0 token endpoint is probably wrong. Copy 'OAuth 2.0 token endpoint' from Azure "
        "portal › App registrations › Endpoints "
        "(e.g. https://login.microsoftonline.com/<tenant id>/oauth2/v2.0/token)."
    )


class SecretInvalidError(CredentialError):
    code = "secret_invalid"
    message_ja = "クライアントシークレットが正しくありません（AADSTS7000215）。"
    message_en = "The client secret is invalid (AADSTS7000215)."
    hint_ja = (
        "シークレットの「ID」ではなく「値」を入力しているか確認してください。値は作成直後にしか表示されない"
        "ため、分からない場合は Azure ポータル › アプリの登録 › 証明書とシークレット で新しいクライアント"
        "シークレットを作成し、その値を基本設定に登録してください。"
    )
    hint_en = (
        "Check that you entered the secret's Value, not its Secret ID. The value is shown only right "
        "after creation: if unsure, create a new client secret under Azure portal › App registrations "
        "› Certificates & secrets and save its value here."
    )


class SecretExpiredError(CredentialError):
    code = "secret_expired"
    message_ja = "クライアントシークレットの有効期限が切れています（AADSTS7000222）。"
    message_en = "The client secret has expired (AADSTS7000222)."
    hint_ja = (
        "Azure ポータル › アプリの登録 › 証明書とシークレット で新しいクライアントシークレットを作成し、"
        "その値と有効期限を基本設定に登録してください。"
    )
    hint_en = (
        "Create a new client secret under Azure portal › App registrations › Certificates & secrets "
        "and save its value and expiry date in the company settings."
    )


class ClockSkewError(CredentialError):
    code = "clock_skew"
    message_ja = "クライアント アサーションが有効期間外です（AADSTS700024）。サーバーの時刻がずれている可能性があります。"
    message_en = (
        "The client assertion is outside its valid time range (AADSTS700024): the server clock is "
        "probably wrong."
    )
    hint_ja = (
        "証明書認証では、サーバーの時刻で有効期間を付けたアサーションを送ります。サーバーの時刻を確認し、"
        "NTP（chrony、systemd-timesyncd など）で正しい時刻に同期してください（timedatectl で"
        "「System clock synchronized: yes」と表示されること）。仮想マシンではホストとの時刻同期も確認してください。"
    )
    hint_en = (
        "With certificate authentication the assertion carries a validity period taken from the "
        "server clock. Check the server clock and keep it synchronised with NTP (chrony, "
        "systemd-timesyncd; timedatectl should show 'System clock synchronized: yes'). On a virtual "
        "machine also check its time sync with the host."
    )


class CertificateExpiredError(CredentialError):
    code = "certificate_expired"
    message_ja = "証明書の有効期限が切れています（期限: {expires_at}）。"
    message_en = "The certificate has expired (expired: {expires_at})."
    hint_ja = (
        "新しい証明書を作成して .cer を Azure ポータル › アプリの登録 › 証明書とシークレット に"
        "アップロードし、.pfx・パスワード・拇印を基本設定に登録し直してください。"
    )
    hint_en = (
        "Create a new certificate, upload its .cer under Azure portal › App registrations › "
        "Certificates & secrets, then save the new .pfx, password and thumbprint here."
    )


class AccessDeniedError(ConfigurationError):
    code = "access_denied"
    message_ja = "予定表へのアクセスが拒否されました（403 ErrorAccessDenied）。"
    message_en = "Access to the calendar was denied (403 ErrorAccessDenied)."
    hint_ja = (
        "Azure AD アプリケーションにアクセス許可が設定されていない状態です。Azure ポータル › アプリの登録 › "
        "API のアクセス許可 で Microsoft Graph のアプリケーションの許可「Calendars.ReadWrite」を追加し、"
        "「管理者の同意を与えます」を実行してください。Exchange のアプリケーションアクセスポリシーで"
        "対象メールボックスが制限されていないかも確認してください。"
    )
    hint_en = (
        "The app lacks permission. In Azure portal › App registrations › API permissions add the "
        "Microsoft Graph application permission 'Calendars.ReadWrite' and click 'Grant admin "
        "consent'. Also check that no Exchange application access policy excludes this mailbox."
    )


class MailboxError(ConfigurationError):
    code = "mailbox_error"
    message_ja = "メールボックス {mailbox} を利用できません。"
    message_en = "The mailbox {mailbox} cannot be used."
    hint_ja = "社員設定（または個人オプション設定）の連携ユーザーIDと連携先カレンダーを確認してください。"
    hint_en = "Check the employee's mailbox user ID and target calendar in the employee settings."


class MailboxNotFoundError(MailboxError):
    code = "mailbox_not_found"
    message_ja = (
        "メールボックス {mailbox} が存在しません（The SMTP address has no mailbox associated with it.）。"
    )
    message_en = "The mailbox {mailbox} does not exist (The SMTP address has no mailbox associated with it.)."
    hint_ja = (
        "ユーザーIDが誤っている可能性があります。社員設定、または個人オプション設定のスケジュール連携設定で"
        "連携ユーザーID（「社員ログインID@ドメイン名」を使う場合は基本設定のドメイン名）を確認し、"
        "Microsoft 365 管理センターでそのユーザーに Exchange Online のライセンスがあるか確認してください。"
    )
    hint_en = (
        "The user ID is probably wrong. Check the mailbox user ID in the employee settings or the "
        "personal sync settings (with 'login ID @ domain', the domain in the company settings), and "
        "check in the Microsoft 365 admin center that the user has an Exchange Online licence."
    )


class MailboxNotRestEnabledError(MailboxError):
    code = "mailbox_not_rest_enabled"
    message_ja = "メールボックス {mailbox} は REST API に対応していません（MailboxNotEnabledForRESTAPI）。"
    message_en = "The mailbox {mailbox} is not enabled for the REST API (MailboxNotEnabledForRESTAPI)."
    hint_ja = (
        "オンプレミスの Exchange にあるメールボックス、非アクティブ・共有・ライセンスのないメールボックスは"
        "連携できません。Microsoft 365 管理センターでユーザーに Exchange Online のライセンスを割り当て、"
        "メールボックスが Exchange Online にあることを確認してください。"
    )
    hint_en = (
        "Mailboxes hosted on-premises, inactive, or without a licence cannot be used. Assign an "
        "Exchange Online licence in the Microsoft 365 admin center and make sure the mailbox lives in "
        "Exchange Online."
    )


class CalendarNotFoundError(MailboxError):
    code = "calendar_not_found"
    message_ja = "メールボックス {mailbox} に予定表「{calendar}」がありません。"
    message_en = 'The mailbox {mailbox} has no calendar named "{calendar}".'
    hint_ja = (
        "連携先カレンダーの名前を確認してください。Outlook で予定表の名前が変更・削除されていないか確認し、"
        "社員設定（または個人オプション設定）で連携先カレンダーを選び直してください。"
        "空欄にすると既定の予定表に連携します。"
    )
    hint_en = (
        "Check the target calendar name: it may have been renamed or deleted in Outlook. Choose the "
        "target calendar again in the employee (or personal) settings; leave it empty to use the "
        "default calendar."
    )


class CalendarReadOnlyError(MailboxError):
    code = "calendar_read_only"
    message_ja = "メールボックス {mailbox} の予定表「{calendar}」は編集できません（canEdit: false）。"
    message_en = 'The calendar "{calendar}" of the mailbox {mailbox} cannot be edited (canEdit: false).'
    hint_ja = (
        "他の人から共有された予定表や祝日・誕生日の予定表など、編集できない予定表が連携先に選ばれています。"
        "社員設定（または個人オプション設定）で編集できる予定表を選び直すか（空欄にすると既定の予定表）、"
        "予定表の所有者にこのメールボックスへの編集権限を付与してもらってください。"
    )
    hint_en = (
        "The target is a calendar that cannot be edited (a calendar shared by someone else, a "
        "holiday or birthday calendar). Choose an editable calendar in the employee (or personal) "
        "settings (empty = the default calendar), or have the calendar's owner give this mailbox "
        "edit rights."
    )


class UnknownParticipantError(ConfigurationError):
    """A participant of a schedule has no employee (kept; synced once the employee exists)."""

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


class AppNotConfiguredError(ConfigurationError):
    """C6: the company's Microsoft 365 app is not set up yet (a required setting is empty)."""

    code = "app_not_configured"
    message_ja = "Microsoft 365 の共通認証情報が設定されていません（{setting}）。"
    message_en = "The Microsoft 365 app is not set up yet ({setting} is empty)."
    hint_ja = (
        "システム設定 › スケジュール連携 › 基本設定の共通認証情報（クライアントID、証明書またはクライアント"
        "シークレット、トークンエンドポイント）を入力し、「登録して接続をテスト」で確認してください。"
    )
    hint_en = (
        "Enter the shared credentials (client ID, certificate or client secret, token endpoint) in the "
        'company settings and use "Save and test".'
    )


class MailboxUnresolvedError(ConfigurationError):
    """E2: neither an explicit user ID nor "login ID @ domain" gives the employee's mailbox."""

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


class AddressNotAllowedError(ConfigurationError):
    """An administrator-entered URL leads to an address the server does not connect to (SSRF rule,
    :mod:`sfacal.core.addresses`): refused before any connection is opened, whatever the port, so the
    answer says nothing about what listens there."""

    code = "address_not_allowed"
    message_ja = "接続先 {host} は社内またはローカルのネットワークのアドレスのため、接続しませんでした。"
    message_en = "{host} leads to a private or local network address, so sfacal did not connect to it."
    hint_ja = (
        "接続先の URL（プッシュ API の書き戻し先 URL、JUST.SFA のテナント・接続先URL、OAuth 2.0 トークン"
        "エンドポイント、Microsoft Graph の URL）には、インターネット上の公開アドレスに名前解決されるホスト名を"
        "入力してください。社内ネットワーク上の受信側などに接続する必要がある場合は、サーバーの運用担当者が"
        "環境変数 SFACAL_ALLOW_PRIVATE_URLS に許可するアドレス範囲（例: 10.20.0.0/16）を設定してサービスを"
        "再起動します（運用ガイド docs/operations.md の「Outbound address rule」）。"
    )
    hint_en = (
        "Enter URLs (the push API's write-back callback URL, the JUST.SFA tenant or API base URL, the "
        "OAuth 2.0 token endpoint, the Microsoft Graph URL) whose host name resolves to a public "
        "internet address. If the server must reach a receiver on the company network, the operator "
        "sets the allowed address ranges (e.g. 10.20.0.0/16) in the environment variable "
        'SFACAL_ALLOW_PRIVATE_URLS and restarts the service (operations guide docs/operations.md, "Outbound '
        'address rule").'
    )
