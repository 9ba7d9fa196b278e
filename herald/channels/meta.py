"""WhatsApp over Meta's Cloud API (Graph API ``POST /{version}/{phone-number-id}/messages``).

Free text inside the 24-hour customer window, or a pre-approved template (``message.template``)
outside it. Each send is one HTTP request, with a timeout and no automatic retry: Temporal
retries, and the failover chain tries the next provider. The Cloud API has no idempotency
key, so a request that timed out after Meta accepted it can be delivered twice on retry.

Meta answers errors as ``{"error": {"message", "type", "code", "error_subcode",
"error_data": {"details"}, "fbtrace_id"}}``; they are classified by ``code``:

| error | class | whose fault | why |
| --- | --- | --- | --- |
| 131026 message undeliverable | permanent | recipient | not a WhatsApp number, old app, terms not accepted |
| 131047 re-engagement message (outside the 24-hour window) | permanent | recipient | free text needs a reply within 24 h: send a template instead |
| 131030 recipient not in allowed list | permanent | recipient | a test number may only message its allowed list |
| 131021 recipient cannot be sender | permanent | recipient | the address is the business number itself |
| 131050 user stopped marketing messages, 130472 number in an experiment | permanent | recipient | the user or Meta blocks these messages to this number |
| 100 invalid parameter, 131009 parameter value not valid, about `to` | permanent | recipient | the number itself is refused |
| 100 / 131009 about anything else, 131008 required parameter missing | permanent | provider | unknown phone-number id, malformed payload: configuration |
| 131051 unsupported message type | permanent | provider | the payload is wrong for this account: configuration |
| 132000 template parameter count mismatch, 132001 template does not exist | permanent | provider | the template set-up disagrees with Meta's copy |
| 132005, 132007, 132012, 132015, 132016 template too long, policy, format, paused, disabled | permanent | provider | the template must be fixed or re-approved |
| 190 access token expired or invalid, 0 auth exception | permanent | provider | credentials: the next provider is tried until ops renew them |
| 3, 10, 200 capability or permission missing, 131005 access denied | permanent | provider | the app lacks a permission |
| 131031 account locked, 131042 payment issue, 131045 / 133010 number not registered, 368 policy block | permanent | provider | the business account cannot send |
| 130429 rate limit, 131048 spam rate limit, 131056 pair rate limit, 80007 account rate limit | transient | provider (throttling) | Meta asks to slow down; `Retry-After` is honoured |
| 4, 17, 613 app, user or call-count limit | transient | provider (throttling) | as above |
| 1, 2 temporary API errors, 131000 something went wrong, 131016 service unavailable | transient | provider | Meta may succeed later |
| 131057 account in maintenance, 133004 server temporarily unavailable | transient | provider | as above |
| any HTTP 5xx (whatever the code), 408, 429 without a known code | transient | provider | the server is overloaded or down |
| connection refused or reset, timeout | transient | network | the API may come back |
| any other code, or a 4xx without a Graph error body | permanent | provider | unknown: reported with its code and message rather than retried for ever |

``code`` on the raised error is Meta's code as a string. Reasons carry Meta's message and
details, never the token nor the request body.
"""

from __future__ import annotations

import email.utils
import re
import threading
import time
from typing import Any, ClassVar, Literal

import requests
from requests.adapters import HTTPAdapter

from herald.channels.base import (
    OutgoingMessage,
    PermanentSendError,
    Receipt,
    TransientSendError,
)
from herald.kinds import Channel
from herald.settings import Settings

DEFAULT_TIMEOUT = 10.0

Kind = Literal["recipient", "provider", "transient"]

# Meta's error code -> how Herald treats it (see the table above).
META_ERRORS: dict[int, Kind] = {
    # recipient: no other provider can do better
    131026: "recipient",
    131047: "recipient",
    131030: "recipient",
    131021: "recipient",
    131050: "recipient",
    130472: "recipient",
    # provider or configuration: the next provider in the chain is tried
    0: "provider",
    3: "provider",
    10: "provider",
    190: "provider",
    200: "provider",
    368: "provider",
    131005: "provider",
    131008: "provider",
    131031: "provider",
    131042: "provider",
    131045: "provider",
    131051: "provider",
    132000: "provider",
    132001: "provider",
    132005: "provider",
    132007: "provider",
    132012: "provider",
    132015: "provider",
    132016: "provider",
    133010: "provider",
    # transient: throttling
    4: "transient",
    17: "transient",
    613: "transient",
    80007: "transient",
    130429: "transient",
    131048: "transient",
    131056: "transient",
    # transient: Meta-side trouble
    1: "transient",
    2: "transient",
    131000: "transient",
    131016: "transient",
    131057: "transient",
    133004: "transient",
}

# Codes whose fault depends on the parameter they are about.
PARAMETER_ERRORS = frozenset({100, 131009})

# "Invalid parameter 'to'", "Param to must be...", "parameter \"to\"": the recipient number.
_ABOUT_TO = re.compile(r"""\bparam(?:eter)?\s*['"]?to['"]?(?![\w.])|['"]to['"]""", re.IGNORECASE)


def _about_recipient(*texts: str) -> bool:
    return any(_ABOUT_TO.search(text) for text in texts if text)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds: a number of seconds or an HTTP date; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def classify_meta_error(
    http_status: int, payload: object, retry_after: float | None = None
) -> TransientSendError | PermanentSendError:
    """The send error for a non-2xx answer: ``payload`` is the parsed JSON body (or None)."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), int):
        reason = f"Meta Graph API answered HTTP {http_status} without a Graph error body"
        if http_status >= 500 or http_status in (408, 429):
            return TransientSendError(reason, retry_after)
        return PermanentSendError(reason, recipient_fault=False)

    code: int = error["code"]
    message = _text(error.get("message")) or "no message"
    error_data = error.get("error_data")
    details = _text(error_data.get("details")) if isinstance(error_data, dict) else ""
    reason = f"Meta error {code}: {message}"
    if details and details not in message:
        reason += f" ({details})"
    subcode = error.get("error_subcode")
    if isinstance(subcode, int):
        reason += f" [subcode {subcode}]"
    reason += f" [HTTP {http_status}]"

    if code in PARAMETER_ERRORS:
        kind: Kind | None = "recipient" if _about_recipient(message, details) else "provider"
    else:
        kind = META_ERRORS.get(code)
    if http_status >= 500 or (kind is None and http_status in (408, 429)):
        kind = "transient"
    if kind == "transient":
        return TransientSendError(reason, retry_after, code=str(code))
    if kind is None:
        reason = f"unclassified {reason}"
    return PermanentSendError(reason, recipient_fault=kind == "recipient", code=str(code))


def build_payload(message: OutgoingMessage, to: str) -> dict[str, Any]:
    """The JSON body Meta expects for ``message`` sent to ``to`` (digits only)."""
    template = message.template
    if template is None:
        return {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": {"preview_url": False, "body": message.text},
        }
    body: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    components: list[dict[str, Any]] = []
    if template.parameters:
        components.append(
            {
                "type": "body",
                "parameters": [{"type": "text", "text": p} for p in template.parameters],
            }
        )
    for index, (sub_type, value) in enumerate(template.buttons):
        parameter = (
            {"type": "payload", "payload": value}
            if sub_type == "quick_reply"
            else {"type": "text", "text": value}
        )
        components.append(
            {"type": "button", "sub_type": sub_type, "index": str(index), "parameters": [parameter]}
        )
    if components:
        body["components"] = components
    return {"messaging_product": "whatsapp", "to": to, "type": "template", "template": body}


def wa_number(address: str) -> str:
    """``+33 6 12 34 56 78`` -> ``33612345678``: Meta wants E.164 digits without the ``+``."""
    digits = re.sub(r"[\s\-().]", "", address.removeprefix("whatsapp:")).removeprefix("+")
    if not digits.isascii() or not digits.isdigit() or not 6 <= len(digits) <= 15:
        raise PermanentSendError("not a phone number for WhatsApp", recipient_fault=True)
    return digits


class MetaWhatsAppProvider:
    name: ClassVar[str] = "meta"
    channels: ClassVar[frozenset[Channel]] = frozenset({Channel.WHATSAPP})

    def __init__(
        self,
        *,
        access_token: str,
        phone_number_id: str,
        graph_url: str = "https://graph.facebook.com",
        api_version: str = "v21.0",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not access_token or not phone_number_id:
            raise ValueError("Meta WhatsApp needs an access token and a phone number id")
        self._access_token = access_token
        self.phone_number_id = phone_number_id
        self.graph_url = graph_url.rstrip("/")
        self.api_version = api_version.strip("/")
        self.timeout = timeout
        self._local = threading.local()  # one requests.Session per worker thread

    @classmethod
    def from_settings(cls, settings: Settings) -> MetaWhatsAppProvider:
        if settings.meta_access_token is None or not settings.meta_phone_number_id:
            raise ValueError(
                "the meta provider needs HERALD_META_ACCESS_TOKEN and HERALD_META_PHONE_NUMBER_ID"
            )
        return cls(
            access_token=settings.meta_access_token.get_secret_value(),
            phone_number_id=settings.meta_phone_number_id,
            graph_url=settings.meta_graph_url,
            api_version=settings.meta_api_version,
        )

    def __repr__(self) -> str:  # never show the token
        return (
            f"MetaWhatsAppProvider({self.graph_url}/{self.api_version}, "
            f"phone_number_id={self.phone_number_id!r})"
        )

    @property
    def url(self) -> str:
        return f"{self.graph_url}/{self.api_version}/{self.phone_number_id}/messages"

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(max_retries=0)  # Temporal retries, not urllib3
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            self._local.session = session
        return session

    def _scrub(self, text: str) -> str:
        return text.replace(self._access_token, "***")

    def send(self, message: OutgoingMessage) -> Receipt:
        payload = build_payload(message, wa_number(message.to))
        try:
            response = self._session().post(
                self.url,
                json=payload,
                headers={"Authorization": f"Bearer {self._access_token}"},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout as err:
            raise TransientSendError(
                self._scrub(f"Meta Graph API timed out: {type(err).__name__}")
            ) from err
        except requests.ConnectionError as err:
            raise TransientSendError(
                self._scrub(f"Meta Graph API unreachable: {type(err).__name__}: {err}")
            ) from err
        except requests.RequestException as err:
            raise PermanentSendError(
                self._scrub(f"Meta Graph API request failed: {type(err).__name__}: {err}"),
                recipient_fault=False,
            ) from err

        try:
            body: object = response.json()
        except ValueError:
            body = None
        if 200 <= response.status_code < 300:
            # Accepted: never raise from here on, a retry would send the message twice.
            return Receipt(provider=self.name, message_id=_message_id(body))
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        error = classify_meta_error(response.status_code, body, retry_after)
        error.reason = self._scrub(error.reason)
        error.args = (error.reason,)
        raise error


def _message_id(body: object) -> str | None:
    messages = body.get("messages") if isinstance(body, dict) else None
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        wamid = messages[0].get("id")
        return wamid if isinstance(wamid, str) else None
    return None
