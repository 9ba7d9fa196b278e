"""E-mail through Amazon SES (API v2, ``SendEmail`` with a raw MIME message).

The MIME message comes from :func:`herald.channels.email.build_email`, so the text and HTML
parts, Reply-To and custom headers are the same as with SMTP; it is serialised with 7-bit
transfer encodings (base64 bodies, RFC 2047 headers), as SES asks for raw messages.
Region, credentials and endpoint come from boto3's standard configuration (``AWS_REGION``,
``AWS_ACCESS_KEY_ID``..., ``AWS_ENDPOINT_URL_SESV2``). botocore makes a single attempt
with short timeouts: Temporal owns the retries.

| error | class | whose fault | why |
| --- | --- | --- | --- |
| connection refused, DNS failure, connect or read timeout, connection closed (`EndpointConnectionError`, `ConnectTimeoutError`, `ReadTimeoutError`, `ConnectionClosedError`) | transient | — | the network or SES may come back |
| `TooManyRequestsException` (429), `Throttling`, `ThrottlingException` | transient | — | sending rate exceeded: retry later, honouring `Retry-After` when given |
| `LimitExceededException` | transient | — | a sending quota is exhausted for now (it resets) |
| any HTTP 5xx, `InternalFailure`, `InternalError`, `ServiceUnavailable`, HTTP 408/429, `RequestTimeout` | transient | — | SES-side trouble |
| `MessageRejected` naming the sender, "not verified" or "authority to send from" | permanent | provider | the From identity is not verified (or the account is still in the sandbox): another provider can send it |
| `MessageRejected` (any other message) | permanent | recipient | SES refuses this message or recipient (content rejected, address refused) |
| `BadRequestException`, `InvalidParameterValue` | permanent | recipient | the request is invalid for this message, in practice a malformed recipient address |
| `MailFromDomainNotVerifiedException`, `MailFromDomainNotVerified` | permanent | provider | the custom MAIL FROM domain is not verified: the account is misconfigured |
| `AccountSuspendedException`, `SendingPausedException`, `AccountSendingPausedException`, `ConfigurationSetSendingPausedException` | permanent | provider | sending is suspended or paused for the account or configuration set |
| `NotFoundException`, `ConfigurationSetDoesNotExist` | permanent | provider | the configuration set (`HERALD_SES_CONFIGURATION_SET`) does not exist in this region |
| `AccessDeniedException`, `AccessDenied`, `UnrecognizedClientException`, `InvalidClientTokenId`, `InvalidSignatureException`, `SignatureDoesNotMatch`, `ExpiredToken`, `ExpiredTokenException`, `IncompleteSignature`, `OptInRequired` | permanent | provider | the credentials or IAM policy do not allow sending |
| no credentials found (`NoCredentialsError`, `PartialCredentialsError`) | permanent | provider | nothing to sign with: ops must configure credentials |
| request refused by botocore's own validation (`ParamValidationError`) | permanent | provider | this provider cannot express the request |
| any other 4xx error code | permanent | provider | an unknown refusal: the next provider may succeed where SES cannot |
| any other botocore error | transient | — | unclassified SDK trouble (e.g. credential provider unreachable) |
"""

from __future__ import annotations

from email.utils import parseaddr
from typing import TYPE_CHECKING, Any, ClassVar

from botocore.exceptions import (
    ClientError,
)

from herald.channels.aws import (
    AWS_AUTH_CODES,
    AWS_SERVICE_TROUBLE_CODES,
    AWS_THROTTLING_CODES,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    aws_client,
    classify_sdk_error,
    describe,
    error_parts,
    retry_after_seconds,
)
from herald.channels.base import (
    OutgoingMessage,
    PermanentSendError,
    Receipt,
    TransientSendError,
)
from herald.channels.email import build_email
from herald.kinds import Channel

if TYPE_CHECKING:
    from herald.settings import Settings

SES_TRANSIENT_CODES = AWS_THROTTLING_CODES | AWS_SERVICE_TROUBLE_CODES | {"LimitExceededException"}
SES_PROVIDER_CODES = AWS_AUTH_CODES | {
    "MailFromDomainNotVerifiedException",
    "MailFromDomainNotVerified",
    "AccountSuspendedException",
    "SendingPausedException",
    "AccountSendingPausedException",
    "ConfigurationSetSendingPausedException",
    "NotFoundException",
    "ConfigurationSetDoesNotExist",
}
SES_RECIPIENT_CODES = frozenset({"BadRequestException", "InvalidParameterValue"})


def classify_ses_error(
    err: Exception, *, sender: str | None = None
) -> TransientSendError | PermanentSendError:
    """Map a boto3 failure of ``sesv2.send_email`` to a transient or permanent error.

    ``sender`` (the From address) tells a rejected sender identity from a rejected message."""
    sdk = classify_sdk_error(err, "SES")
    if sdk is not None:
        return sdk
    assert isinstance(err, ClientError)
    code, message, status, headers = error_parts(err)
    reason = describe("SES", code, message, status)
    if (
        code in SES_TRANSIENT_CODES
        or status in (408, 429)
        or (status is not None and status >= 500)
    ):
        return TransientSendError(reason, retry_after_seconds(headers), code=code)
    if code == "MessageRejected":
        return PermanentSendError(
            reason, recipient_fault=not _sender_rejected(message, sender), code=code
        )
    if code in SES_RECIPIENT_CODES:
        return PermanentSendError(reason, recipient_fault=True, code=code)
    # SES_PROVIDER_CODES and any other refusal: this provider cannot send, another may.
    return PermanentSendError(reason, recipient_fault=False, code=code)


def _sender_rejected(message: str, sender: str | None) -> bool:
    text = message.lower()
    if "not verified" in text or "authority to send from" in text:
        return True
    address = parseaddr(sender or "")[1].lower()
    return bool(address) and address in text


class SesProvider:
    name: ClassVar[str] = "ses"
    channels: ClassVar[frozenset[Channel]] = frozenset({Channel.EMAIL})

    def __init__(
        self,
        *,
        sender: str,
        reply_to: str | None = None,
        configuration_set: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_pool_connections: int = 10,
        client: Any = None,
    ) -> None:
        self.sender, self.reply_to = sender, reply_to
        self.from_address = parseaddr(sender)[1] or sender
        self.configuration_set = configuration_set
        self.client = client or aws_client(
            "sesv2",
            region=region,
            endpoint_url=endpoint_url,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=max_pool_connections,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> SesProvider:
        return cls(
            sender=settings.email_from,
            reply_to=settings.email_reply_to,
            configuration_set=settings.ses_configuration_set,
            max_pool_connections=max(10, settings.max_concurrent_activities),
        )

    def __repr__(self) -> str:  # region and endpoint only: never credentials
        meta = self.client.meta
        return (
            f"SesProvider(region={meta.region_name!r}, endpoint={meta.endpoint_url!r}, "
            f"sender={self.from_address!r}, configuration_set={self.configuration_set!r})"
        )

    def send(self, message: OutgoingMessage) -> Receipt:
        mime = build_email(message, sender=self.sender, reply_to=self.reply_to)
        raw = mime.as_bytes(policy=mime.policy.clone(cte_type="7bit", linesep="\r\n"))
        request: dict[str, Any] = {
            # The bare address: the display name travels in the MIME From header.
            "FromEmailAddress": self.from_address,
            "Destination": {"ToAddresses": [message.to]},
            "Content": {"Raw": {"Data": raw}},
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        try:
            response = self.client.send_email(**request)
        except Exception as err:
            raise classify_ses_error(err, sender=self.sender) from err
        return Receipt(provider=self.name, message_id=response.get("MessageId"))
