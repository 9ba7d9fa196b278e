"""SMS and WhatsApp through Twilio's Messages API (the official ``twilio`` SDK).

One class serves both channels; the registry builds one instance per channel. WhatsApp
addresses get the ``whatsapp:`` prefix; a message carrying a :class:`WhatsAppTemplate`
with a ``twilio_content_sid`` is sent through the Content API (``ContentSid`` +
``ContentVariables``) instead of a free-text ``Body``. The SDK never retries (Temporal
owns retries) and its requests time out after 10 s.

| error | class | whose fault | why |
| --- | --- | --- | --- |
| connection refused, reset, DNS failure, timeout | transient | — | Twilio or the network may come back |
| HTTP 429 (and 408), Twilio 20429 *Too Many Requests* | transient, honours `Retry-After` | — | throttled: slow down and try again |
| HTTP 5xx (500, 502, 503, 504...) | transient, honours `Retry-After` | — | Twilio-side failure |
| 21211 *Invalid 'To' Phone Number* | permanent | recipient | the number does not exist or is malformed |
| 21610 *Attempt to send to unsubscribed recipient* | permanent | recipient | the recipient replied STOP: only they can undo it |
| 21614 *'To' number is not a valid mobile number* | permanent | recipient | a landline cannot receive SMS |
| 63016 *outside the allowed window* (WhatsApp) | permanent | recipient | no message from the recipient in 24 h: only an approved template may be sent |
| 20003 *Authenticate* (HTTP 401) | permanent | provider | wrong Account SID or Auth Token |
| 21212 *Invalid 'From' Phone Number*, 21606 *'From' is not a valid message-capable number* | permanent | provider | the sender is not ours or cannot send there |
| 21408 *Permission to send an SMS has not been enabled for the region* | permanent | provider | geographic permissions of the account |
| 63007 *could not find a Channel with the specified From address* (WhatsApp) | permanent | provider | the WhatsApp sender is not set up |
| template without a `twilio_content_sid` (WhatsApp) | permanent | provider | not registered at Twilio: another provider may send it |
| any other 4xx | permanent | provider | a request Twilio refuses (code and message kept) |

Provider-fault errors let a failover chain try the next provider; recipient-fault errors
stop the chain (another provider would be refused too). The Twilio error code is kept on
the error (``code="21211"``). Twilio's Messages API has no idempotency key: a request
that times out after Twilio accepted it may be sent twice on retry.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

from herald.channels.base import (
    OutgoingMessage,
    PermanentSendError,
    Receipt,
    TransientSendError,
)
from herald.kinds import Channel

if TYPE_CHECKING:
    from herald.settings import Settings

_logger = logging.getLogger(__name__)  # unused by the SDK here: nothing is logged

DEFAULT_BASE_URL = "https://api.twilio.com"
WHATSAPP_PREFIX = "whatsapp:"
# Where Twilio posts status changes, under HERALD_PUBLIC_BASE_URL (see herald/api/provider_hooks.py).
STATUS_CALLBACK_PATH = "/v1/hooks/twilio/status"

# Twilio error codes (https://www.twilio.com/docs/api/errors) and whose fault they are.
RECIPIENT_FAULT_CODES: dict[int, str] = {
    21211: "invalid 'To' number",
    21610: "recipient unsubscribed (STOP)",
    21614: "'To' number is not a mobile number",
    63016: "outside the WhatsApp 24-hour window: a template is required",
}
PROVIDER_FAULT_CODES: dict[int, str] = {
    20003: "authentication refused",
    21212: "invalid 'From' number",
    21606: "'From' number cannot send this message",
    21408: "region not enabled for this account",
    63007: "WhatsApp sender not configured",
}
TRANSIENT_CODES: dict[int, str] = {
    20429: "too many requests",
}
TRANSIENT_STATUSES = frozenset({408, 425, 429})


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def _reason(code: int | None, status: int, text: str) -> str:
    prefix = "Unable to create record: "  # added by the SDK to every failed create
    text = text[len(prefix) :] if text.startswith(prefix) else text
    label = f"Twilio error {code}" if code is not None else "Twilio error"
    return f"{label} (HTTP {status}): {text}".strip()


def classify_twilio_error(
    err: Exception, *, retry_after: float | None = None
) -> TransientSendError | PermanentSendError:
    """Transient or permanent, and whose fault, from a Twilio SDK or ``requests`` error.

    ``retry_after`` is the response's ``Retry-After`` (seconds), which the SDK's exceptions
    do not carry; it is passed on to transient errors."""
    if isinstance(err, TwilioRestException | TwilioServiceException):
        status = int(err.status)
        code = int(err.code) if str(err.code).isdigit() else None
        if code == status:  # the SDK's stand-in when the body had no Twilio code
            code = None
        if isinstance(err, TwilioServiceException):
            text = f"{err.title}: {err.detail}" if err.detail else str(err.title)
        else:
            text = str(err.msg)
        reason = _reason(code, status, text)
        code_str = str(code) if code is not None else None
        if code in RECIPIENT_FAULT_CODES:
            return PermanentSendError(reason, recipient_fault=True, code=code_str)
        if code in PROVIDER_FAULT_CODES:
            return PermanentSendError(reason, recipient_fault=False, code=code_str)
        if code in TRANSIENT_CODES or status in TRANSIENT_STATUSES or status >= 500:
            return TransientSendError(reason, retry_after, code=code_str)
        return PermanentSendError(reason, recipient_fault=False, code=code_str)
    if isinstance(err, requests.RequestException):
        return TransientSendError(f"Twilio unreachable: {type(err).__name__}: {err}")
    raise err


class _HttpClient(HttpClient):
    """The SDK's HTTP client, made for Temporal activities: no retries, a short timeout,
    one ``requests`` session per thread (sessions are not documented as thread-safe), and
    the last response kept per thread so that ``Retry-After`` can be read after an error."""

    def __init__(self, timeout: float) -> None:
        super().__init__(logger=_logger, is_async=False, timeout=timeout)
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(max_retries=0)  # Temporal owns retries
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            self._local.session = session
        return session

    @property
    def last_response(self) -> Response | None:
        """The response to the last request made by the current thread."""
        return getattr(self._local, "response", None)

    def forget_last_response(self) -> None:
        self._local.response = None

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        self._local.response = None
        raw = self._session().request(
            method.upper(),
            uri,
            params=params,  # type: ignore[arg-type]
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout if timeout is not None else self.timeout,
            allow_redirects=allow_redirects,
        )
        response = Response(int(raw.status_code), raw.text, raw.headers)
        self._local.response = response
        return response


class TwilioProvider:
    name: ClassVar[str] = "twilio"
    channels: ClassVar[frozenset[Channel]] = frozenset({Channel.SMS, Channel.WHATSAPP})

    def __init__(
        self,
        *,
        channel: Channel,
        account_sid: str,
        auth_token: str,
        sender: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        status_callback: str | None = None,
    ) -> None:
        """``sender``: an E.164 number (``+33...``) or a Messaging Service SID (``MG...``).
        ``status_callback``: the URL Twilio posts each status change of a message to."""
        if channel not in self.channels:
            raise ValueError(f"Twilio cannot send {channel.value}")
        if not account_sid or not auth_token:
            raise ValueError("Twilio needs an account SID and an auth token")
        if not sender:
            raise ValueError(f"Twilio needs a {channel.value} sender")
        self.channel = channel
        self.account_sid = account_sid
        self.sender = sender
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.status_callback = status_callback
        self._http = _HttpClient(timeout)
        client = Client(account_sid, auth_token, http_client=self._http)
        if self.base_url != DEFAULT_BASE_URL:
            # Region and edge (TWILIO_REGION, TWILIO_EDGE) rewrite host names: not ours.
            client.edge = client.region = None
            client.api.base_url = self.base_url
        # Resolved once here: the SDK builds these lazily, which is not thread-safe.
        self._messages: Any = client.api.v2010.accounts(account_sid).messages

    @classmethod
    def from_settings(cls, settings: Settings, channel: Channel) -> TwilioProvider:
        sender = (
            settings.twilio_whatsapp_from if channel == Channel.WHATSAPP else settings.twilio_from
        )
        if not settings.twilio_account_sid or settings.twilio_auth_token is None:
            raise ValueError("Twilio needs HERALD_TWILIO_ACCOUNT_SID and HERALD_TWILIO_AUTH_TOKEN")
        if not sender:
            variable = "WHATSAPP_FROM" if channel == Channel.WHATSAPP else "FROM"
            raise ValueError(f"Twilio {channel.value} needs HERALD_TWILIO_{variable}")
        return cls(
            channel=channel,
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token.get_secret_value(),
            sender=sender,
            base_url=settings.twilio_api_base_url,
            status_callback=f"{settings.public_base_url}{STATUS_CALLBACK_PATH}"
            if settings.public_base_url
            else None,
        )

    def __repr__(self) -> str:  # never show the auth token
        return (
            f"TwilioProvider({self.channel.value}, account={self.account_sid}, "
            f"sender={self.sender}, base_url={self.base_url})"
        )

    def _address(self, number: str) -> str:
        if self.channel == Channel.WHATSAPP and not number.startswith(WHATSAPP_PREFIX):
            return WHATSAPP_PREFIX + number
        return number

    def _params(self, message: OutgoingMessage) -> dict[str, str]:
        params = {"to": self._address(message.to)}
        if self.sender.startswith("MG"):
            params["messaging_service_sid"] = self.sender
        else:
            params["from_"] = self._address(self.sender)
        if self.status_callback:
            params["status_callback"] = self.status_callback
        template = message.template if self.channel == Channel.WHATSAPP else None
        if template is None:
            params["body"] = message.text
        elif template.twilio_content_sid:
            params["content_sid"] = template.twilio_content_sid
            params["content_variables"] = json.dumps(
                {str(i): value for i, value in enumerate(template.parameters, start=1)},
                ensure_ascii=False,
            )
        else:
            raise PermanentSendError(
                f"WhatsApp template {template.name!r} has no Twilio Content SID",
                recipient_fault=False,
            )
        return params

    def send(self, message: OutgoingMessage) -> Receipt:
        params = self._params(message)
        self._http.forget_last_response()
        try:
            created = self._messages.create(**params)
        except Exception as err:
            response = self._http.last_response
            headers = response.headers if response is not None and response.headers else {}
            raise classify_twilio_error(
                err, retry_after=parse_retry_after(headers.get("Retry-After"))
            ) from err
        return Receipt(provider=self.name, message_id=created.sid)
