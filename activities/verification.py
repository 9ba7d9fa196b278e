"""Contact verification's I/O: issue a code and send it through the channel's providers,
check a try, record the outcome (see :mod:`herald.verification`)."""

from __future__ import annotations

import logging

from temporalio import activity
from temporalio.exceptions import ApplicationError

from herald import verification
from herald.channels import OutgoingMessage, Provider, SendError, TransientSendError
from herald.channels.base import FAILURE_MESSAGE_LIMIT, bounded_text
from herald.channels.chain import send_through_chain
from herald.contracts import CHECK_VERIFICATION, FINISH_VERIFICATION, SEND_VERIFICATION
from herald.kinds import Channel
from herald.settings import Settings
from herald.store import Store

log = logging.getLogger(__name__)


class VerificationActivities:
    def __init__(
        self, store: Store, providers: dict[Channel, list[Provider]], settings: Settings
    ) -> None:
        self.store = store
        self.providers = providers
        self.settings = settings

    @activity.defn(name=SEND_VERIFICATION)
    def send_verification(self, verification_id: str) -> None:
        """A new code for the verification, sent to its address (the old one stops
        working). Transient provider failures are retried; the rest fail the send."""
        row, secret = verification.issue_secret(self.store, verification_id)
        contact = self.store.get_contact(row.subscriber_id)
        locale = contact.locale if contact and contact.locale in verification.MESSAGES else "fr"
        words = verification.MESSAGES[locale]
        minutes = max(1, int(self.settings.verification_expiry.total_seconds() // 60))
        fields = {
            "brand": self.settings.brand_name,
            "name": contact.display_name if contact else row.subscriber_id,
            "minutes": minutes,
            "code": secret,
        }
        channel = Channel(row.channel)
        if channel is Channel.EMAIL:
            if self.settings.public_base_url:
                token = verification.link_token(row.id, secret)
                link = f"{self.settings.public_base_url}{verification.CONFIRM_PATH}?token={token}"
                text = words["link"].format(link=link, **fields)
            else:
                text = words["token"].format(**fields)
            subject = words["subject"]
        else:
            text = words["code"].format(**fields)
            subject = words["subject"]
        message = OutgoingMessage(
            channel=channel,
            to=row.address,
            subject=subject,
            text=text,
            html=None,
            key=f"{row.id}#{row.sends}",
            kind="system.verification",
            priority="urgent",
        )
        try:
            receipt = send_through_chain(
                self.providers.get(channel) or [],
                message,
                walk_chain=activity.info().attempt > self.settings.failover_after_attempts,
            )
        except SendError as err:
            transient = isinstance(err, TransientSendError)
            raise ApplicationError(
                bounded_text(err.reason, FAILURE_MESSAGE_LIMIT),
                type="TransientSendError" if transient else "PermanentSendError",
                non_retryable=not transient,
            ) from None
        log.info("verification %s sent via %s", row.id, receipt.provider)

    @activity.defn(name=CHECK_VERIFICATION)
    def check_verification(self, verification_id: str, secret: str) -> bool:
        return verification.check(self.store, verification_id, secret)

    @activity.defn(name=FINISH_VERIFICATION)
    def finish_verification(self, verification_id: str, status: str) -> None:
        verification.finish(self.store, verification_id, status)
