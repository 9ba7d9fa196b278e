"""A provider's receipt (a Twilio status callback here) becomes the application's
``delivery.delivered`` event; with Temporal unreachable it is recorded, for the sweep."""

from __future__ import annotations

from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy import select

from herald import outbound
from herald.api.app import create_app
from herald.db import Delivery, WebhookEvent, utcnow
from tests.api.conftest import bare_herald, serving
from tests.fakes.signing import twilio_signature, twilio_status

TOKEN = "12345678901234567890123456789012"
SID = "SM1f0e8ae6ade43cb3c0ce4525424e404f"


async def test_a_receipt_is_an_event_kept_for_the_sweep_while_temporal_is_down(
    tmp_path: Path,
) -> None:
    herald = bare_herald(tmp_path, twilio_auth_token=SecretStr(TOKEN))
    outbound.subscriptions_changed()
    try:
        now = utcnow()
        with herald.store.session() as s, s.begin():
            s.add(
                Delivery(
                    idempotency_key="k-receipt",
                    workflow_id="loan-L1",
                    notification_id="loan.created",
                    subject_type="loan",
                    subject_id="L1",
                    kind="loan.created",
                    role="borrower",
                    channel="sms",
                    subscriber_id="camille",
                    provider="twilio",
                    recipient="+15558675310",
                    status="sent",
                    attempts=1,
                    sent_at=now,
                    provider_message_id=SID,
                )
            )
        await herald.add_webhook("https://app.example.org/h", events=["delivery.delivered"])
        async with serving(create_app(herald, ready_timeout=60)) as url:
            target = f"{url}/v1/hooks/twilio/status"
            params = twilio_status("delivered", sid=SID)
            async with httpx.AsyncClient(timeout=60) as http:
                response = await http.post(
                    target,
                    data=params,
                    headers={"X-Twilio-Signature": twilio_signature(TOKEN, target, params)},
                )
        assert response.status_code == 200, response.text
        assert response.json()["changed"] == 1
        with herald.store.session() as s:
            (event,) = s.scalars(select(WebhookEvent)).all()
        assert event.type == "delivery.delivered" and event.dispatched_at is None
        data = event.payload["data"]
        assert data["idempotency_key"] == "k-receipt" and data["status"] == "delivered"
    finally:
        herald.close()
