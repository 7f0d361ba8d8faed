"""Error bodies in the shapes Microsoft Graph and Microsoft Entra ID (AAD) return them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any


class GraphError(Exception):
    """Raised by handlers; becomes a Graph error response."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def graph_error_body(
    code: str, message: str, request_id: str, client_request_id: str | None
) -> dict[str, Any]:
    """``{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}``."""
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id or request_id,
            },
        }
    }


# -- frequently used Graph errors (codes and texts as Graph/Exchange Online return them) -------------


def item_not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def id_malformed() -> GraphError:
    """A string that cannot be an Exchange id (microsoftgraph/microsoft-graph-docs#2268, #15159)."""
    return GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")


def invalid_user(identifier: str) -> GraphError:
    return GraphError(404, "ErrorInvalidUser", f"The requested user '{identifier}' is invalid.")


def non_existent_mailbox() -> GraphError:
    return GraphError(404, "ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it.")


def mailbox_not_enabled() -> GraphError:
    return GraphError(
        404,
        "MailboxNotEnabledForRESTAPI",
        "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
    )


def access_denied() -> GraphError:
    return GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")


def insufficient_privileges() -> GraphError:
    return GraphError(
        403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
    )


def irresolvable_conflict() -> GraphError:
    return GraphError(
        412,
        "ErrorIrresolvableConflict",
        "The send or update operation could not be performed because the change key passed in the "
        "request does not match the current change key for the item.",
    )


# What Graph's 401 carries: where to get a token for it, and the resource's (Graph's) client id.
# Microsoft: https://learn.microsoft.com/en-us/entra/msal/dotnet/advanced/extract-authentication-parameters
WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'client_id="00000003-0000-0000-c000-000000000000"'
)


def invalid_token(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message, {"WWW-Authenticate": WWW_AUTHENTICATE})


def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    return GraphError(400, code, message)


def request_body_read(message: str) -> GraphError:
    return GraphError(400, "RequestBodyRead", message)


def property_validation_failure() -> GraphError:
    return GraphError(400, "ErrorPropertyValidationFailure", "At least one property failed validation.")


def throttled(message: str, retry_after_s: int) -> GraphError:
    return GraphError(429, "ApplicationThrottled", message, {"Retry-After": str(max(1, retry_after_s))})


def resource_not_found(path: str) -> GraphError:
    return GraphError(
        400,
        "BadRequest",
        f"Resource not found for the segment '{path}'.",
    )


# -- Microsoft Entra ID token endpoint errors -----------------------------------------------------

AAD_MESSAGES: dict[int, str] = {
    90002: (
        "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing "
        "into the correct cloud. Check with your subscription administrator, this may happen if there "
        "are no active subscriptions for the tenant."
    ),
    700016: (
        "Application with identifier '{client_id}' was not found in the directory '{directory}'. This "
        "can happen if the application has not been installed by the administrator of the tenant or "
        "consented to by any user in the tenant. You may have sent your authentication request to the "
        "wrong tenant."
    ),
    7000215: (
        "Invalid client secret provided. Ensure the secret being sent in the request is the client "
        "secret value, not the client secret ID, for a secret added to app '{client_id}'."
    ),
    7000222: (
        "The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to "
        "create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate "
        "credentials for added security: https://aka.ms/certCreds."
    ),
    700027: (
        "Client assertion contains an invalid signature. [Reason - {reason}, Thumbprint of key used by "
        "client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph "
        "to see configured keys for app Id '{client_id}'.]"
    ),
    50012: "{detail}",
    700024: (
        "Client assertion is not within its valid time range. Current time: {now}, assertion valid "
        "from {nbf}, expiry time of assertion {exp}."
    ),
    700023: "Client assertion audience claim does not match Realm issuer.",
    700021: "Client assertion application identifier doesn't match 'client_id' parameter.",
    7000216: "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
    900144: "The request body must contain the following parameter: '{parameter}'.",
    70003: "The app requested an unsupported grant type '{grant_type}'.",
    1002012: (
        "The provided value for scope {scope} is not valid. Client credential flows must have a scope "
        "value with /.default suffixed to the resource identifier (application ID URI)."
    ),
    500011: (
        "The resource principal named {resource} was not found in the tenant named {directory}. This can "
        "happen if the application has not been installed by the administrator of the tenant or "
        "consented to by any user in the tenant. You might have sent your authentication request to "
        "the wrong tenant."
    ),
    50027: "JWT token is invalid or malformed.",
}

AAD_ERROR: dict[int, tuple[int, str]] = {
    90002: (400, "invalid_tenant"),
    700016: (400, "unauthorized_client"),
    7000215: (401, "invalid_client"),
    7000222: (401, "invalid_client"),
    700027: (401, "invalid_client"),
    50012: (401, "invalid_client"),
    700024: (401, "invalid_client"),
    700023: (401, "invalid_client"),
    700021: (401, "invalid_client"),
    7000216: (401, "invalid_client"),
    900144: (400, "invalid_request"),
    70003: (400, "unsupported_grant_type"),
    1002012: (400, "invalid_scope"),
    500011: (400, "invalid_resource"),
    50027: (401, "invalid_client"),
}


def aad_error(code: int, **fields: str) -> tuple[int, dict[str, Any]]:
    """HTTP status and body of an Entra ID token endpoint error."""
    status, error = AAD_ERROR[code]
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    trace_id = str(uuid.uuid4())
    correlation_id = str(uuid.uuid4())
    text = AAD_MESSAGES[code].format(**fields)
    description = (
        f"AADSTS{code}: {text} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {stamp}"
    )
    return status, {
        "error": error,
        "error_description": description,
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }
