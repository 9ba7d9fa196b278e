"""Delivery activities: all of Herald's I/O for sending one notification.

``plan_delivery`` reads the directory and preferences *when the notification is due*,
decides the channels and writes one delivery-log row per channel. ``deliver`` then runs
once per channel: it checks the row first (a row already ``sent`` is never sent again),
renders, calls the provider and records the outcome. Transient provider failures raise a
retryable error (Temporal retries with backoff); permanent ones a non-retryable one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from herald.channels import (
    OutgoingMessage,
    PermanentSendError,
    Provider,
    TransientSendError,
)
from herald.contracts import (
    ChannelDecision,
    ChannelResult,
    ChannelSend,
    DeliveryPlan,
    DeliveryRequest,
    DeliveryStatus,
)
from herald.db import utcnow
from herald.kinds import Channel, kind_info
from herald.preferences import choose_channels
from herald.rendering import Renderer, TemplateError, format_datetime, format_duration, format_time
from herald.settings import Settings
from herald.store import Contact, Store

log = logging.getLogger(__name__)

PERMANENT_ERROR = "PermanentSendError"
TRANSIENT_ERROR = "TransientSendError"


def idempotency_key(request: DeliveryRequest, channel: Channel) -> str:
    return f"{request.workflow_id}|{request.notification_id}|{channel.value}"


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def loan_context(
    data: dict[str, Any], recipient: Contact, borrower: Contact | None, scheduled_at: datetime
) -> dict[str, Any]:
    """The ``loan`` template variable, with instants shown in the recipient's zone and language."""
    tz, loc = recipient.timezone, recipient.locale
    due_at = _parse(data["due_at"])
    returned_at = _parse(data.get("returned_at"))
    assert due_at is not None
    late_seconds: float | None = data.get("late_by_seconds")
    if data.get("alert_number") and late_seconds is None:
        late_seconds = (scheduled_at - due_at).total_seconds()
    return {
        "id": data["loan_id"],
        "item": data["item"],
        "borrower_id": data["borrower_id"],
        "borrower_name": borrower.display_name if borrower else data["borrower_id"],
        "borrowed_at": format_datetime(_parse(data["borrowed_at"]) or due_at, tz, loc),
        "due_at": format_datetime(due_at, tz, loc),
        "due_time": format_time(due_at, tz),
        "returned_at": format_datetime(returned_at, tz, loc) if returned_at else None,
        "late_by": format_duration(late_seconds, loc)
        if late_seconds and late_seconds > 0
        else None,
        "alert_number": data.get("alert_number"),
        "max_alerts": data.get("max_alerts"),
    }


class DeliveryActivities:
    """Bound to a store, a renderer and the configured providers; registered on the worker."""

    def __init__(
        self,
        store: Store,
        providers: dict[Channel, Provider],
        settings: Settings,
        renderer: Renderer | None = None,
    ) -> None:
        self.store = store
        self.providers = providers
        self.settings = settings
        self.renderer = renderer or Renderer()

    # ---------------------------------------------------------------- plan

    @activity.defn(name="plan_delivery")
    def plan_delivery(self, request: DeliveryRequest) -> DeliveryPlan:
        kind = kind_info(request.kind)
        contact = self.store.get_contact(request.subscriber_id)
        decisions: list[ChannelDecision] = []
        if contact is None:
            decisions = [
                ChannelDecision(
                    channel=ch,
                    idempotency_key=idempotency_key(request, ch),
                    status=DeliveryStatus.SKIPPED,
                    reason=f"unknown subscriber {request.subscriber_id!r}",
                )
                for ch in Channel
            ]
        else:
            prefs = self.store.get_preferences(request.subscriber_id)
            for choice in choose_channels(kind, contact, prefs, frozenset(self.providers)):
                decisions.append(
                    ChannelDecision(
                        channel=choice.channel,
                        idempotency_key=idempotency_key(request, choice.channel),
                        status=DeliveryStatus.PENDING if choice.send else DeliveryStatus.SKIPPED,
                        recipient=choice.address,
                        reason=choice.reason,
                    )
                )
        self.store.record_decisions(request, decisions)
        return DeliveryPlan(decisions=decisions)

    # ---------------------------------------------------------------- send

    @activity.defn(name="deliver")
    def deliver(self, send: ChannelSend) -> ChannelResult:
        key = send.idempotency_key
        row = self.store.get_delivery(key)
        if row is None:
            raise ApplicationError(f"no delivery row for {key}", non_retryable=True)
        if row.status == DeliveryStatus.SENT:
            # Already accepted by a provider (an earlier attempt got that far): never twice.
            return ChannelResult(
                channel=send.channel,
                status=DeliveryStatus.SENT,
                provider=row.provider,
                provider_message_id=row.provider_message_id,
                sent_at=row.sent_at,
            )
        attempt = activity.info().attempt
        request = send.request
        try:
            message = self._compose(send, recipient_address=row.recipient)
            provider = self.providers.get(send.channel)
            if provider is None:
                raise PermanentSendError(f"no {send.channel.value} provider configured")
            receipt = provider.send(message)
        except TransientSendError as err:
            self.store.update_delivery(
                key,
                status=DeliveryStatus.FAILED.value,
                attempts=attempt,
                error=err.reason,
                provider=self._provider_name(send.channel),
            )
            log.warning("transient failure %s (attempt %d): %s", key, attempt, err.reason)
            raise ApplicationError(
                err.reason,
                type=TRANSIENT_ERROR,
                next_retry_delay=timedelta(seconds=err.retry_after) if err.retry_after else None,
            ) from None
        except (PermanentSendError, TemplateError) as err:
            reason = err.reason if isinstance(err, PermanentSendError) else str(err)
            self.store.update_delivery(
                key,
                status=DeliveryStatus.PERMANENTLY_FAILED.value,
                attempts=attempt,
                error=reason,
                provider=self._provider_name(send.channel),
            )
            log.warning("permanent failure %s: %s", key, reason)
            raise ApplicationError(reason, type=PERMANENT_ERROR, non_retryable=True) from None
        sent_at = utcnow()
        self.store.update_delivery(
            key,
            status=DeliveryStatus.SENT.value,
            attempts=attempt,
            provider=receipt.provider,
            provider_message_id=receipt.message_id,
            sent_at=sent_at,
            error=None,
        )
        log.info("sent %s %s via %s", request.kind, send.channel.value, receipt.provider)
        return ChannelResult(
            channel=send.channel,
            status=DeliveryStatus.SENT,
            provider=receipt.provider,
            provider_message_id=receipt.message_id,
            sent_at=sent_at,
        )

    def _provider_name(self, channel: Channel) -> str | None:
        provider = self.providers.get(channel)
        return provider.name if provider else None

    def _compose(self, send: ChannelSend, *, recipient_address: str | None) -> OutgoingMessage:
        request = send.request
        # Fresh from the directory: a name or language changed since the loan began is used.
        contact = self.store.get_contact(request.subscriber_id)
        if contact is None:
            raise PermanentSendError(f"unknown subscriber {request.subscriber_id!r}")
        address = recipient_address or contact.address(send.channel)
        if not address:
            raise PermanentSendError(
                f"subscriber {contact.id!r} has no {send.channel.value} address"
            )
        rendered = self.renderer.render(
            request.kind, contact.locale, self._context(request, contact)
        )
        if send.channel is Channel.EMAIL:
            return OutgoingMessage(
                channel=send.channel,
                to=address,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                key=send.idempotency_key,
            )
        return OutgoingMessage(
            channel=send.channel,
            to=address,
            subject=rendered.subject,
            text=rendered.short,
            html=None,
            key=send.idempotency_key,
        )

    def _context(self, request: DeliveryRequest, contact: Contact) -> dict[str, Any]:
        s = self.settings
        context: dict[str, Any] = {
            "kind": request.kind,
            "color": kind_info(request.kind).color,
            "role": request.role.value,
            "recipient": {
                "id": contact.id,
                "name": contact.display_name,
                "locale": contact.locale,
                "timezone": contact.timezone,
            },
            "brand": {
                "name": s.brand_name,
                "logo_url": s.brand_logo_url,
                "color": s.brand_color,
                "footer": s.brand_footer,
            },
        }
        if request.subject_type == "loan":
            borrower_id = request.data.get("borrower_id")
            borrower = (
                contact
                if borrower_id == contact.id
                else self.store.get_contact(borrower_id)
                if borrower_id
                else None
            )
            context["loan"] = loan_context(request.data, contact, borrower, request.scheduled_at)
        return context
