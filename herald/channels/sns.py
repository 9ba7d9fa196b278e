"""SMS through Amazon SNS (``Publish`` to a phone number).

Each message is published with the ``AWS.SNS.SMS.SMSType`` attribute
(``HERALD_SNS_SMS_TYPE``) and, when ``HERALD_SNS_SENDER_ID`` is set, ``AWS.SNS.SMS.SenderID``.
Region, credentials and endpoint come from boto3's standard configuration (``AWS_REGION``,
``AWS_ACCESS_KEY_ID``..., ``AWS_ENDPOINT_URL_SNS``). botocore makes a single attempt with
short timeouts: Temporal owns the retries.

Publishing to a number that replied STOP is *accepted* by SNS (the delivery then fails
in SNS's delivery logs, "Phone number is opted out"): the publish call cannot tell.
``OptedOut`` is still classified below for the operations that do return it.

| error | class | whose fault | why |
| --- | --- | --- | --- |
| connection refused, DNS failure, connect or read timeout, connection closed (`EndpointConnectionError`, `ConnectTimeoutError`, `ReadTimeoutError`, `ConnectionClosedError`) | transient | — | the network or SNS may come back |
| `Throttled` (429), `Throttling`, `ThrottlingException`, `TooManyRequestsException`, `KMSThrottling` | transient | — | request rate exceeded: retry later, honouring `Retry-After` when given |
| any HTTP 5xx, `InternalError`, `InternalFailure`, `ServiceUnavailable`, HTTP 408/429, `RequestTimeout` | transient | — | SNS-side trouble |
| `InvalidParameter`, `ParameterValueInvalid`, `InvalidParameterValue`, `ValidationException` | permanent | recipient | the phone number is not a valid E.164 number (or the text cannot be sent) |
| the same codes naming `SenderID`, `SMSType`, `MessageAttribute` or `OriginationNumber` | permanent | provider | Herald's SMS settings are refused: another provider can send it |
| `OptedOut` | permanent | recipient | the number opted out of SMS from this account |
| `AuthorizationError`, `AccessDenied`, `AccessDeniedException`, `InvalidClientTokenId`, `SignatureDoesNotMatch`, `UnrecognizedClientException`, `InvalidSecurity`, `ExpiredToken`, `IncompleteSignature`, `OptInRequired` | permanent | provider | the credentials or IAM policy do not allow publishing |
| `KMSDisabled`, `KMSInvalidState`, `KMSNotFound`, `KMSOptInRequired`, `KMSAccessDenied`, `NotFound`, `EndpointDisabled` | permanent | provider | the account's SNS resources are misconfigured |
| no credentials found (`NoCredentialsError`, `PartialCredentialsError`) | permanent | provider | nothing to sign with: ops must configure credentials |
| request refused by botocore's own validation (`ParamValidationError`) | permanent | provider | this provider cannot express the request |
| any other 4xx error code | permanent | provider | an unknown refusal: the next provider may succeed where SNS cannot |
| any other botocore error | transient | — | unclassified SDK trouble (e.g. credential provider unreachable) |
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from botocore.exceptions import ClientError

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
from herald.kinds import Channel

if TYPE_CHECKING:
    from herald.settings import Settings

SMS_TYPE_ATTRIBUTE = "AWS.SNS.SMS.SMSType"
SENDER_ID_ATTRIBUTE = "AWS.SNS.SMS.SenderID"

SNS_TRANSIENT_CODES = AWS_THROTTLING_CODES | AWS_SERVICE_TROUBLE_CODES | {"KMSThrottling"}
SNS_INVALID_CODES = frozenset(
    {"InvalidParameter", "ParameterValueInvalid", "InvalidParameterValue", "ValidationException"}
)
SNS_RECIPIENT_CODES = frozenset({"OptedOut"})
SNS_PROVIDER_CODES = AWS_AUTH_CODES | {
    "KMSDisabled",
    "KMSInvalidState",
    "KMSNotFound",
    "KMSOptInRequired",
    "KMSAccessDenied",
    "NotFound",
    "EndpointDisabled",
}
# An invalid parameter naming one of these is about Herald's settings, not the recipient.
_PROVIDER_PARAMETERS = ("senderid", "smstype", "messageattribute", "originationnumber")


def classify_sns_error(err: Exception) -> TransientSendError | PermanentSendError:
    """Map a boto3 failure of ``sns.publish`` to a transient or permanent error."""
    sdk = classify_sdk_error(err, "SNS")
    if sdk is not None:
        return sdk
    assert isinstance(err, ClientError)
    code, message, status, headers = error_parts(err)
    reason = describe("SNS", code, message, status)
    if (
        code in SNS_TRANSIENT_CODES
        or status in (408, 429)
        or (status is not None and status >= 500)
    ):
        return TransientSendError(reason, retry_after_seconds(headers), code=code)
    if code in SNS_INVALID_CODES:
        compact = message.lower().replace(" ", "").replace(".", "")
        about_settings = any(name in compact for name in _PROVIDER_PARAMETERS)
        return PermanentSendError(reason, recipient_fault=not about_settings, code=code)
    if code in SNS_RECIPIENT_CODES:
        return PermanentSendError(reason, recipient_fault=True, code=code)
    # SNS_PROVIDER_CODES and any other refusal: this provider cannot send, another may.
    return PermanentSendError(reason, recipient_fault=False, code=code)


class SnsProvider:
    name: ClassVar[str] = "sns"
    channels: ClassVar[frozenset[Channel]] = frozenset({Channel.SMS})

    def __init__(
        self,
        *,
        sms_type: str = "Transactional",
        sender_id: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_pool_connections: int = 10,
        client: Any = None,
    ) -> None:
        self.sms_type, self.sender_id = sms_type, sender_id
        self.client = client or aws_client(
            "sns",
            region=region,
            endpoint_url=endpoint_url,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=max_pool_connections,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> SnsProvider:
        return cls(
            sms_type=settings.sns_sms_type,
            sender_id=settings.sns_sender_id,
            max_pool_connections=max(10, settings.max_concurrent_activities),
        )

    def __repr__(self) -> str:  # region and endpoint only: never credentials
        meta = self.client.meta
        return (
            f"SnsProvider(region={meta.region_name!r}, endpoint={meta.endpoint_url!r}, "
            f"sms_type={self.sms_type!r}, sender_id={self.sender_id!r})"
        )

    def message_attributes(self) -> dict[str, dict[str, str]]:
        attributes = {SMS_TYPE_ATTRIBUTE: {"DataType": "String", "StringValue": self.sms_type}}
        if self.sender_id:
            attributes[SENDER_ID_ATTRIBUTE] = {"DataType": "String", "StringValue": self.sender_id}
        return attributes

    def send(self, message: OutgoingMessage) -> Receipt:
        try:
            response = self.client.publish(
                PhoneNumber=message.to,
                Message=message.text,
                MessageAttributes=self.message_attributes(),
            )
        except Exception as err:
            raise classify_sns_error(err) from err
        return Receipt(provider=self.name, message_id=response.get("MessageId"))
