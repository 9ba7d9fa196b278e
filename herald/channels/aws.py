"""What the AWS providers (SES, SNS) share: one way to build clients, and AWS's error shapes.

Region, credentials and endpoints come from boto3's standard configuration (``AWS_REGION``,
``AWS_ACCESS_KEY_ID``..., ``AWS_ENDPOINT_URL_SESV2``, ``AWS_ENDPOINT_URL_SNS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from herald.channels.base import (
    PermanentSendError,
    TransientSendError,
)

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 10.0

# Codes shared by every AWS API (authentication, throttling, service trouble).
AWS_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "Throttled",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
    }
)
AWS_SERVICE_TROUBLE_CODES = frozenset(
    {
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "InternalServerException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
AWS_AUTH_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AuthorizationError",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidSecurity",
        "OptInRequired",
    }
)


def client_config(
    *,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    max_pool_connections: int = 10,
) -> Config:
    """Short timeouts and a single attempt: Temporal, not botocore, retries."""
    return Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": 1},
        max_pool_connections=max_pool_connections,
        user_agent_extra="herald",
    )


def error_parts(err: ClientError) -> tuple[str, str, int | None, Mapping[str, str]]:
    """The AWS error code, message, HTTP status and response headers of a ``ClientError``."""
    response: Mapping[str, Any] = err.response or {}
    error = response.get("Error") or {}
    metadata = response.get("ResponseMetadata") or {}
    status = metadata.get("HTTPStatusCode")
    code = str(error.get("Code") or (status if status is not None else "Unknown"))
    message = str(error.get("Message") or error.get("message") or "")
    return code, message, status, metadata.get("HTTPHeaders") or {}


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` as seconds (a number of seconds or an HTTP date), when present."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def describe(service: str, code: str, message: str, status: int | None) -> str:
    where = f" (HTTP {status})" if status is not None else ""
    return f"{service} {code}{where}: {message}" if message else f"{service} {code}{where}"


def classify_sdk_error(
    err: Exception, service: str
) -> TransientSendError | PermanentSendError | None:
    """Failures raised by botocore itself, before or instead of an AWS answer.

    Returns None for a ``ClientError`` (the caller classifies AWS's answer); re-raises
    anything that is not a botocore error (a bug, not a sending failure)."""
    if isinstance(err, ClientError):
        return None
    if isinstance(err, BotoConnectionError | HTTPClientError):
        return TransientSendError(
            f"{service} connection problem: {type(err).__name__}: {err}", code=type(err).__name__
        )
    if isinstance(err, NoCredentialsError | PartialCredentialsError):
        return PermanentSendError(
            f"{service}: no usable AWS credentials: {err}",
            recipient_fault=False,
            code=type(err).__name__,
        )
    if isinstance(err, ParamValidationError):
        return PermanentSendError(
            f"{service} request invalid: {err}", recipient_fault=False, code=type(err).__name__
        )
    if isinstance(err, BotoCoreError):
        return TransientSendError(
            f"{service}: {type(err).__name__}: {err}", code=type(err).__name__
        )
    raise err


def aws_client(
    service: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    max_pool_connections: int = 10,
) -> Any:
    """One client for a provider's lifetime: clients are thread-safe, sessions are not."""
    return boto3.session.Session(region_name=region).client(
        service,
        endpoint_url=endpoint_url,
        config=client_config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=max_pool_connections,
        ),
    )
