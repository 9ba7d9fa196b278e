"""Staff alerts' channel choices, Meta templates and numbers, at the store and service
layer (no Temporal): the precedence of channels, the options' checks, Meta's review read
from the fake Graph API, the refusal of an unapproved template at send, the stats."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from herald import staff_channels_store as meta_store
from herald.channels.base import OutgoingMessage, PermanentSendError
from herald.channels.meta import build_payload
from herald.channels.staff_whatsapp import staff_template
from herald.contracts import DeliveryRequest, NotifyInput, Role
from herald.db import Delivery, utcnow
from herald.errors import InvalidInput, NotFound
from herald.kinds import Channel
from herald.service import Herald
from herald.settings import Settings
from herald.staff_routing import staff_routing
from tests.api.conftest import bare_herald
from tests.fakes.meta_graph import (  # noqa: F401  (fixture)
    TOKEN,
    WABA_ID,
    FakeGraph,
    meta_graph_fixture,
)
from workflows.staff import _channels


@pytest.fixture
async def herald(tmp_path: Path, meta_graph: FakeGraph) -> Any:
    h = bare_herald(
        tmp_path,
        meta_access_token=SecretStr(TOKEN),
        meta_waba_id=WABA_ID,
        meta_graph_url=meta_graph.url,
        staff_channels="email",
    )
    await h.set_template("invoice", locale="fr", subject="Facture {{ n }}", body="Facture {{ n }}")
    await h.set_template("invoice", locale="en", subject="Invoice {{ n }}", body="Invoice {{ n }}")
    for person in ("ana", "ben"):
        await h.upsert_subscriber(person, name=person.title())
    yield h
    h.close()


def test_the_deployment_setting_reads_a_comma_list() -> None:
    assert Settings(staff_channels="whatsapp, in_app").staff_channels == [
        Channel.WHATSAPP,
        Channel.IN_APP,
    ]
    assert Settings().staff_channels is None  # the priority route, as before
    with pytest.raises(ValueError):
        Settings(staff_channels="pigeon")


async def test_channels_follow_the_call_then_template_then_group_then_deployment(
    herald: Herald,
) -> None:
    await herald.create_group("sales")
    await herald.create_group("technical-admins")
    assert await herald.set_group_channels("sales", ["whatsapp", "in_app"]) == [
        "whatsapp",
        "in_app",
    ]
    await herald.set_group_channels("technical-admins", "in_app")  # type: ignore[arg-type]
    store, settings = herald.store, herald.settings

    routing = staff_routing(store, settings, "invoice", ["sales"], None)
    n = NotifyInput(request_id="r", template="invoice", **routing)
    assert _channels(n, ["sales"]) == [Channel.WHATSAPP, Channel.IN_APP]  # the group's
    assert _channels(n, []) == [Channel.EMAIL]  # named directly: the deployment's
    assert n.admin_channels == [Channel.IN_APP]  # the technical admins' group's

    await herald.set_template_options("invoice", channels=["sms"])
    n = NotifyInput(
        request_id="r",
        template="invoice",
        **staff_routing(store, settings, "invoice", ["sales"], None),
    )
    assert _channels(n, ["sales"]) == [Channel.SMS]  # the template's, over the group's

    wanted = [Channel.IN_APP]
    n = NotifyInput(
        request_id="r",
        template="invoice",
        **staff_routing(store, settings, "invoice", ["sales"], wanted),
    )
    assert _channels(n, ["sales"]) == [Channel.IN_APP]  # the call's, over all

    no_default = Settings(**{**settings.model_dump(), "staff_channels": None})
    await herald.set_template_options("invoice", clear=["channels"])
    n = NotifyInput(
        request_id="r", template="invoice", **staff_routing(store, no_default, "invoice", [], None)
    )
    assert _channels(n, []) is None  # nothing chosen: the priority route

    assert await herald.set_group_channels("sales", []) is None
    with pytest.raises(NotFound):
        await herald.set_group_channels("nobody", ["sms"])
    with pytest.raises(InvalidInput, match="unknown channel"):
        await herald.set_group_channels("sales", ["pigeon"])


async def test_template_options_are_checked_and_kept_on_every_locale(herald: Herald) -> None:
    meta = await herald.set_template_options(
        "invoice",
        meta_template="invoice_done",
        meta_languages={"fr": "fr", "en": "en_US"},
        meta_params=["{{ recipient.name }}", "{{ n }}"],
        meta_buttons=[
            {"type": "quick_reply", "text": "seen-{{ n }}"},
            {"type": "url", "text": "i/{{ n }}"},
        ],
    )
    assert meta.meta_template == "invoice_done" and meta.meta_status is None
    rows = {m.locale: m for m in await herald.template_meta()}
    assert rows["en"].language == "en_US" and rows["fr"].language == "fr"
    assert rows["en"].meta_params == ["{{ recipient.name }}", "{{ n }}"]
    for bad, match in (
        ({"meta_template": "Invoice Done"}, "lowercase"),
        ({"meta_languages": "fr=french!"}, "not a code"),
        ({"meta_params": ["{{ unclosed"]}, "line 1"),
        ({"meta_buttons": [{"type": "call", "text": "x"}]}, "quick_reply or url"),
        ({"clear": ["subject"]}, "cannot clear"),
    ):
        with pytest.raises(InvalidInput, match=match):
            await herald.set_template_options("invoice", **bad)
    with pytest.raises(NotFound):
        await herald.set_template_options("nothing", meta_template="x")
    assert (
        await herald.set_template_options("invoice", meta_languages="fr=fr,en=en_GB")
    ).meta_template


async def test_sync_reads_meta_approved_pending_and_rejected(
    herald: Herald, meta_graph: FakeGraph
) -> None:
    await herald.set_template_options(
        "invoice", meta_template="invoice_done", meta_languages={"fr": "fr", "en": "en_US"}
    )
    await herald.set_template("order", locale="fr", subject="C", body="C")
    await herald.set_template_options("order", meta_template="new_order", meta_languages="fr")
    await herald.set_template("plain", locale="fr", subject="P", body="P")
    meta_graph.add_template("invoice_done", "fr", "APPROVED")
    meta_graph.add_template("invoice_done", "en_US", "REJECTED", "INVALID_FORMAT")
    for i in range(120):  # more than one page
        meta_graph.add_template(f"other_{i}", "fr", "APPROVED")
    meta_graph.add_template("new_order", "fr", "PENDING")
    rows = await herald.sync_meta_templates()
    found = {(r.name, r.locale): (r.meta_status, r.meta_rejected_reason) for r in rows}
    assert found == {
        ("invoice", "en"): ("REJECTED", "INVALID_FORMAT"),
        ("invoice", "fr"): ("APPROVED", None),
        ("order", "fr"): ("PENDING", None),
    }
    gets = [r for r in meta_graph.requests if r.method == "GET"]
    assert len(gets) == 2 and gets[0].path.startswith(f"/v21.0/{WABA_ID}/message_templates")
    # A new Meta template forgets the old review until the next sync.
    await herald.set_template_options("order", meta_template="order_v2")
    assert {(m.name, m.meta_status) for m in await herald.template_meta()} >= {("order", None)}
    meta_graph.token = "another"
    with pytest.raises(Exception, match="HTTP 401"):
        await herald.sync_meta_templates()


async def test_sync_needs_the_waba_id(tmp_path: Path) -> None:
    h = bare_herald(tmp_path)
    with pytest.raises(InvalidInput, match="HERALD_META_WABA_ID"):
        await h.sync_meta_templates()
    h.close()


def _request(template: str = "invoice") -> DeliveryRequest:
    return DeliveryRequest(
        workflow_id="notify-r",
        notification_id=f"{template}/ana",
        kind="staff.notice",
        role=Role.STAFF,
        subscriber_id="ana",
        subject_type="staff",
        subject_id="r",
        scheduled_at=utcnow(),
        data={"template": template, "context": {"n": "F-9"}, "groups": ["sales"]},
    )


async def test_the_meta_template_is_rendered_and_refused_unless_approved(
    herald: Herald, meta_graph: FakeGraph
) -> None:
    await herald.set_template_options(
        "invoice",
        meta_template="invoice_done",
        meta_languages={"fr": "fr", "en": "en_US"},
        meta_params=["{{ recipient.name }}", "{{ n }}"],
        meta_buttons=[
            {"type": "quick_reply", "text": "seen-{{ n }}"},
            {"type": "url", "text": "i/{{ n }}"},
        ],
    )
    from herald.admin_templates import AdminTemplateRenderer

    renderer = AdminTemplateRenderer()
    context = {"recipient": {"name": "Ana"}}
    found = staff_template(herald.store, renderer, _request(), "en", context)
    assert found is not None
    assert found.template.language == "en_US"
    assert found.template.parameters == ("Ana", "F-9")
    assert found.template.buttons == (("quick_reply", "seen-F-9"), ("url", "i/F-9"))
    with pytest.raises(PermanentSendError, match="never read from Meta"):
        found.check_approved()
    meta_graph.add_template("invoice_done", "fr", "APPROVED")
    meta_graph.add_template("invoice_done", "en_US", "REJECTED", "TAG_CONTENT_MISMATCH")
    await herald.sync_meta_templates()
    rejected = staff_template(herald.store, renderer, _request(), "en", context)
    assert rejected is not None
    with pytest.raises(PermanentSendError, match="REJECTED.*TAG_CONTENT_MISMATCH"):
        rejected.check_approved()
    approved = staff_template(herald.store, renderer, _request(), "fr", context)
    assert approved is not None
    approved.check_approved()
    payload = build_payload(
        OutgoingMessage(
            channel=Channel.WHATSAPP,
            to="+33",
            subject="s",
            text="t",
            html=None,
            key="k",
            template=approved.template,
        ),
        "33612345678",
    )
    components = payload["template"]["components"]
    assert components[1] == {
        "type": "button",
        "sub_type": "quick_reply",
        "index": "0",
        "parameters": [{"type": "payload", "payload": "seen-F-9"}],
    }
    assert components[2]["parameters"] == [{"type": "text", "text": "i/F-9"}]
    assert staff_template(herald.store, renderer, _request("unmapped"), "fr", context) is None


async def test_staff_stats_count_per_template_and_group(herald: Herald) -> None:
    now = utcnow()
    rows = [
        ("invoice", "ana", "sent", ["sales"], now),
        ("invoice", "ben", "permanently_failed", ["sales", "night"], now),
        ("invoice", "ana", "pending", [], now),
        ("order", "ben", "read", ["night"], now),
        ("order", "ana", "skipped", ["night"], now),
        ("order", "ana", "sent", ["night"], now - timedelta(hours=30)),
    ]
    with herald.store.session() as s, s.begin():
        for i, (template, who, status, groups, at) in enumerate(rows):
            s.add(
                Delivery(
                    idempotency_key=f"k{i}",
                    workflow_id="w",
                    notification_id=f"{template}/{who}",
                    subject_type="staff",
                    subject_id="r",
                    kind="staff.notice",
                    role="staff",
                    channel="whatsapp",
                    subscriber_id=who,
                    status=status,
                    created_at=at,
                    request={"data": {"template": template, "groups": groups}},
                )
            )
    stats = await herald.staff_stats()
    assert stats["templates"] == {
        "invoice": {"sent": 1, "pending": 1, "failed": 1},
        "order": {"sent": 1, "pending": 0, "failed": 0},
    }
    assert stats["groups"] == {
        "-": {"sent": 0, "pending": 1, "failed": 0},
        "night": {"sent": 1, "pending": 0, "failed": 1},
        "sales": {"sent": 1, "pending": 0, "failed": 1},
    }
    assert (await herald.staff_stats(48))["templates"]["order"]["sent"] == 2
    with pytest.raises(InvalidInput):
        await herald.staff_stats(0)
    assert meta_store.staff_stats(herald.store, now + timedelta(hours=1))["templates"] == {}


async def test_failure_alerts_of_any_subject_follow_the_technical_admins_choice(
    herald: Herald,
) -> None:
    from herald.staff_routing import admin_channels

    assert admin_channels(herald.store, herald.settings) == [Channel.EMAIL]  # the deployment's
    await herald.create_group("technical-admins")
    await herald.set_group_channels("technical-admins", ["whatsapp", "in_app"])
    assert admin_channels(herald.store, herald.settings) == [Channel.WHATSAPP, Channel.IN_APP]
    no_default = Settings(**{**herald.settings.model_dump(), "staff_channels": None})
    await herald.set_group_channels("technical-admins", None)
    assert admin_channels(herald.store, no_default) is None  # the urgent route
