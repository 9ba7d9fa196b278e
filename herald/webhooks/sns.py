"""Amazon SNS messages delivered over HTTP(S): the envelope, and the proof AWS signed it.

SNS posts a JSON envelope (``Type`` ``Notification``, ``SubscriptionConfirmation`` or
``UnsubscribeConfirmation``) signed with the private key of a certificate it serves at
``SigningCertURL``. :class:`SnsVerifier` checks, cheapest first:

1. the topic is one of ``topic_arns`` (when any is configured);
2. ``Timestamp`` is at most ``max_age`` old and at most 5 minutes ahead (a replay, or a
   clock that cannot be trusted);
3. ``SigningCertURL`` matches the certificate URL pattern (AWS's hosts,
   ``https://sns.<region>.amazonaws.com[.cn]/``): no other URL is ever fetched;
4. the certificate (fetched with a 5 s timeout, at most 64 KB, then kept by URL) is valid
   now;
5. ``Signature`` is the certificate key's RSA PKCS#1 v1.5 signature of AWS's canonical
   string, with SHA-1 (``SignatureVersion`` 1) or SHA-256 (2).

Any failure raises :class:`SignatureError` saying which; an envelope that is not even
well-formed is refused by :func:`parse_envelope` with :class:`ValueError`.
A ``SubscriptionConfirmation`` is confirmed by GETting :func:`confirmation_url`, which must
be on the same hosts as the certificates.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from herald.webhooks import fields
from herald.webhooks.base import SignatureError

# SNS messages are at most 256 KB; the envelope is refused beyond that.
ENVELOPE_LIMIT = 256 * 1024
CERTIFICATE_LIMIT = 64 * 1024
FETCH_TIMEOUT = 5.0
CACHE_SIZE = 32
# A message signed this far ahead of Herald's clock is refused.
FUTURE_SKEW = timedelta(minutes=5)
DEFAULT_CERTIFICATE_URL_PATTERN = r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/"

TYPES = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")
# The fields of AWS's canonical string, in its order ("Subject" only when present).
SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
SIGNED_FIELDS["UnsubscribeConfirmation"] = SIGNED_FIELDS["SubscriptionConfirmation"]
_ENVELOPE_FIELDS = ("Signature", "SignatureVersion", "SigningCertURL", "SigningCertUrl")
_OPTIONAL = frozenset({"Subject", "SigningCertURL", "SigningCertUrl"})
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
# Printable ASCII only, no spaces: nothing else belongs in a URL SNS sends.
_URL = re.compile(r"[\x21-\x7e]{1,2048}")


_SIGNATURE_FIELDS = frozenset({"Signature", "SignatureVersion"})


def parse_envelope(body: bytes) -> dict[str, str]:
    """The SNS envelope posted as ``body``, its signed fields checked to be strings.

    Refused with :class:`ValueError` (one line saying why): a body over 256 KB, not UTF-8,
    not a JSON object, with a NUL, an unknown ``Type``, a missing field the ``Type``
    needs, or a signed field that is not a string; without its signature, with
    :class:`SignatureError`. Fields outside the signature that are
    not strings (``MessageAttributes``) are left out."""
    if len(body) > ENVELOPE_LIMIT:
        raise ValueError(f"SNS message larger than {ENVELOPE_LIMIT} bytes")
    if b"\x00" in body:
        raise ValueError("SNS message: NUL byte")
    try:
        decoded = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("SNS message: not UTF-8") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"SNS message: not JSON ({err.msg})") from None
    except RecursionError:
        raise ValueError("SNS message: nested too deeply") from None
    if not isinstance(decoded, dict):
        raise ValueError(f"SNS message: expected a JSON object, got {type(decoded).__name__}")
    kind = decoded.get("Type")
    if kind not in TYPES:
        raise ValueError(f"SNS message: unknown Type {str(kind)[:40]!r}")
    signed = (*SIGNED_FIELDS[kind], *_ENVELOPE_FIELDS)
    envelope: dict[str, str] = {}
    for name, value in decoded.items():
        if name in signed:
            if not isinstance(value, str):
                raise ValueError(f"SNS message: {name} is not a string")
        elif not isinstance(value, str):
            continue
        fields.refuse_nul(name, "SNS message: a field's name")
        envelope[name] = fields.refuse_nul(value, f"SNS message: {name}")
    for name in signed:
        if name not in envelope and name not in _OPTIONAL:
            if name in _SIGNATURE_FIELDS:  # unsigned: refused as unproven, not as malformed
                raise SignatureError(f"SNS message: {name} missing")
            raise ValueError(f"SNS message: {name} missing")
    if "SigningCertURL" not in envelope and "SigningCertUrl" not in envelope:
        raise SignatureError("SNS message: SigningCertURL missing")
    both = {envelope[name] for name in ("SigningCertURL", "SigningCertUrl") if name in envelope}
    if len(both) > 1:
        raise ValueError("SNS message: SigningCertURL and SigningCertUrl differ")
    fields.iso_time(envelope, "Timestamp", "SNS message")
    return envelope


def canonical_string(message: Mapping[str, str]) -> bytes:
    """What AWS signs: each signed field present as ``Name\\nvalue\\n``, in AWS's order."""
    names = SIGNED_FIELDS.get(message.get("Type", ""))
    if names is None:
        raise SignatureError(f"SNS message of unknown Type {message.get('Type', '')[:40]!r}")
    lines = []
    for name in names:
        if name in message:
            lines.append(f"{name}\n{message[name]}\n")
        elif name != "Subject":
            raise SignatureError(f"SNS message without {name}")
    return "".join(lines).encode("utf-8")


def _matching_url(value: str | None, pattern: re.Pattern[str], what: str) -> str:
    if not value:
        raise SignatureError(f"SNS message without {what}")
    if not _URL.fullmatch(value) or not pattern.match(value):
        raise SignatureError(f"{what} outside SNS's hosts: {value[:200]!r}")
    return value


def confirmation_url(
    message: Mapping[str, str], certificate_url_pattern: str = DEFAULT_CERTIFICATE_URL_PATTERN
) -> str:
    """The ``SubscribeURL`` of a verified ``SubscriptionConfirmation``, to GET to confirm.

    It must be on the hosts certificates come from (``certificate_url_pattern`` matches
    their beginning); anything else raises :class:`SignatureError`."""
    if message.get("Type") != "SubscriptionConfirmation":
        raise SignatureError("not a SubscriptionConfirmation")
    return _matching_url(
        message.get("SubscribeURL"), re.compile(certificate_url_pattern), "SubscribeURL"
    )


def fetch_certificate(url: str) -> bytes:
    """The certificate at ``url`` (PEM), over httpx: no redirect, 5 s, at most 64 KB."""
    try:
        with httpx.stream("GET", url, timeout=FETCH_TIMEOUT, follow_redirects=False) as reply:
            if reply.status_code != 200:
                raise SignatureError(f"SNS certificate: HTTP {reply.status_code} from {url}")
            chunks: list[bytes] = []
            size = 0
            for chunk in reply.iter_bytes():
                size += len(chunk)
                if size > CERTIFICATE_LIMIT:
                    raise SignatureError(f"SNS certificate larger than {CERTIFICATE_LIMIT} bytes")
                chunks.append(chunk)
    except httpx.HTTPError as err:
        raise SignatureError(f"SNS certificate unreachable: {type(err).__name__}") from None
    return b"".join(chunks)


class SnsVerifier:
    """Checks that SNS messages are AWS's, fresh, and from the configured topics.

    ``fetch`` gets a certificate's bytes from its URL (:func:`fetch_certificate` by
    default); ``now`` is the clock. Certificates are kept by URL, the last
    :data:`CACHE_SIZE` used; one instance is meant to serve every request (thread-safe)."""

    def __init__(
        self,
        certificate_url_pattern: str,
        max_age: timedelta,
        topic_arns: Sequence[str] = (),
        fetch: Callable[[str], bytes] | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.certificate_url_pattern = certificate_url_pattern
        self._pattern = re.compile(certificate_url_pattern)
        self.max_age = max_age
        self.topic_arns = frozenset(topic_arns)
        self._fetch = fetch or fetch_certificate
        self._now = now or (lambda: datetime.now(UTC))
        self._certificates: OrderedDict[str, x509.Certificate] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, message: Mapping[str, str]) -> None:
        """Return if ``message`` (from :func:`parse_envelope`) is provably AWS's, from an
        accepted topic and fresh; raise :class:`SignatureError` saying why not."""
        topic = message.get("TopicArn", "")
        if self.topic_arns and topic not in self.topic_arns:
            raise SignatureError(f"SNS topic not accepted: {topic[:200]!r}")
        now = fields.aware(self._now(), "now")
        try:
            sent = fields.iso_time(message, "Timestamp", "SNS message")
        except ValueError as err:
            raise SignatureError(str(err)) from None
        if now - sent > self.max_age:
            raise SignatureError(f"SNS message too old (signed {sent.isoformat()}): a replay?")
        if sent - now > FUTURE_SKEW:
            raise SignatureError(f"SNS message signed in the future ({sent.isoformat()})")
        algorithm = _HASHES.get(message.get("SignatureVersion", ""))
        if algorithm is None:
            version = message.get("SignatureVersion", "")[:10]
            raise SignatureError(f"SNS SignatureVersion {version!r} not supported")
        url = _matching_url(
            message.get("SigningCertURL") or message.get("SigningCertUrl"),
            self._pattern,
            "SigningCertURL",
        )
        try:
            signature = base64.b64decode(message.get("Signature", ""), validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError("SNS Signature is not base64") from None
        if not signature:
            raise SignatureError("SNS message without Signature")
        certificate = self._certificate(url)
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise SignatureError("SNS certificate not valid now")
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise SignatureError("SNS certificate without an RSA key")
        try:
            key.verify(signature, canonical_string(message), padding.PKCS1v15(), algorithm())
        except InvalidSignature:
            raise SignatureError("SNS signature does not match the message") from None

    def confirmation_url(self, message: Mapping[str, str]) -> str:
        """:func:`confirmation_url` on this verifier's hosts."""
        return confirmation_url(message, self.certificate_url_pattern)

    def _certificate(self, url: str) -> x509.Certificate:
        with self._lock:
            cached = self._certificates.get(url)
            if cached is not None:
                self._certificates.move_to_end(url)
                return cached
        data = self._fetch(url)  # outside the lock: one slow fetch does not stall the rest
        if len(data) > CERTIFICATE_LIMIT:
            raise SignatureError(f"SNS certificate larger than {CERTIFICATE_LIMIT} bytes")
        try:
            certificate = x509.load_pem_x509_certificate(data)
        except ValueError:
            raise SignatureError("SNS certificate is not a PEM certificate") from None
        with self._lock:
            self._certificates[url] = certificate
            self._certificates.move_to_end(url)
            while len(self._certificates) > CACHE_SIZE:
                self._certificates.popitem(last=False)
        return certificate
