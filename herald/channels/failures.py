"""One answer to "can a retry fix this?" for anything that fails while sending a message.

Transient, so Temporal retries with backoff, only for what a retry can fix:

| failure | why |
| --- | --- |
| connection refused, reset, timed out, host or network unreachable, DNS failure | the network may come back |
| disk full, quota exceeded | space may be freed |
| SMTP connect failure, server disconnected, 4xx reply | the server asks to try later |
| HTTP 5xx or 429 from a provider | the provider is down or throttling |
| database unreachable, connection dropped, pool exhausted | the database may come back |

Everything else is permanent and recorded on the delivery row in one attempt: a header that
refuses a newline, an address a server cannot take, a file name or a value too long, bad data
refused by the database, a provider's 4xx, a template bug, and any exception nobody expected.
Retrying those for hours only hides them.
"""

from __future__ import annotations

import errno
import smtplib
import socket
import ssl

import jinja2
import requests
from sqlalchemy import exc as sa_exc

from herald.channels.base import (
    FAILURE_MESSAGE_LIMIT,
    PermanentSendError,
    SendError,
    TransientSendError,
    bounded_text,
)
from herald.rendering import TemplateError

# OSError numbers a retry can fix; every other file-system error (name too long, permission
# denied, no such directory) is configuration or data, and permanent.
TRANSIENT_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.EHOSTDOWN,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.ENETRESET,
        errno.EPIPE,
        errno.EAGAIN,
    }
)


def describe(exc: BaseException) -> str:
    """``Type: message``, bounded (an exception's text can be megabytes). The delivery row
    keeps a shorter cut of it."""
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a broken __str__ must not hide the failure
        text = "(message could not be read)"
    name = type(exc).__name__
    return bounded_text(f"{name}: {text}" if text else name, FAILURE_MESSAGE_LIMIT)


def _retry_after(headers: object) -> float | None:
    value = getattr(headers, "get", lambda _k: None)("Retry-After")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _http(status: int, reason: str, retry_after: float | None = None) -> SendError:
    if status == 429 or status >= 500:
        return TransientSendError(reason, retry_after=retry_after, code=str(status))
    return PermanentSendError(reason, recipient_fault=False, code=str(status))


def classify_failure(exc: BaseException) -> SendError:
    """The failure as a :class:`TransientSendError` or a :class:`PermanentSendError` with a
    bounded, readable reason. Unknown exceptions are permanent."""
    from herald.channels.smtp import classify_smtp_error

    if isinstance(exc, SendError):
        exc.reason = bounded_text(exc.reason, FAILURE_MESSAGE_LIMIT)
        return exc
    if isinstance(exc, TemplateError):  # names the template and the variable already
        return PermanentSendError(bounded_text(str(exc), FAILURE_MESSAGE_LIMIT))
    if isinstance(exc, jinja2.TemplateError):
        return PermanentSendError(describe(exc))
    if isinstance(exc, smtplib.SMTPException):
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return PermanentSendError(describe(exc), recipient_fault=False)
        return classify_failure(classify_smtp_error(exc))
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return _http(exc.response.status_code, describe(exc), _retry_after(exc.response.headers))
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return TransientSendError(describe(exc))
    transient = _transient_library_error(exc)
    if transient is not None:
        return transient
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return TransientSendError(describe(exc))
    if isinstance(
        exc,
        sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.DisconnectionError
        | sa_exc.TimeoutError,
    ):
        return TransientSendError(describe(exc))
    if isinstance(exc, OSError):
        return _os_error(exc)
    # ValueError (a header with a newline), UnicodeError, DataError, IntegrityError, and
    # whatever nobody expected: a retry sends the same message into the same failure.
    return PermanentSendError(describe(exc), recipient_fault=False)


def _os_error(exc: OSError) -> SendError:
    if isinstance(exc, ssl.SSLError):
        # A dropped TLS connection may work next time; a certificate refused will not.
        dropped = isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError)
        return (TransientSendError if dropped else PermanentSendError)(describe(exc))
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror | socket.herror):
        return TransientSendError(describe(exc))
    if exc.errno in TRANSIENT_ERRNOS:
        return TransientSendError(describe(exc))
    return PermanentSendError(describe(exc), recipient_fault=False)


def _transient_library_error(exc: BaseException) -> SendError | None:
    """Connection failures and HTTP statuses of the provider SDKs (boto3, twilio)."""
    # Imported here: a deployment that never meets them does not pay for loading the SDKs.
    from botocore import exceptions as boto
    from twilio.base.exceptions import TwilioRestException

    if isinstance(exc, boto.ConnectionError | boto.HTTPClientError):
        return TransientSendError(describe(exc))
    if isinstance(exc, boto.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(status, int):
            return _http(status, describe(exc))
    if isinstance(exc, TwilioRestException) and isinstance(exc.status, int):
        return _http(exc.status, describe(exc))
    return None
