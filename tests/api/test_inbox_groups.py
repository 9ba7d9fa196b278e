"""The inbox's filters, unread-again, archive and restore, groups with display names and in bulk,
admin templates loaded in bulk, and alerts addressed by event: the same answers from the
service layer and over HTTP (a Herald without Temporal: none of this needs it)."""

from __future__ import annotations

from typing import Any

import pytest

from herald.errors import InvalidInput
from herald.http_client import HttpHerald
from herald.store import Store
from tests.api.conftest import Api


def fill(store: Store) -> dict[str, int]:
    store.upsert_subscriber("ana", name="Ana")
    store.upsert_subscriber("ben", name="Ben")
    ids = {}
    for key, who, kind, title in (
        ("lead", "ana", "lead.created", "New lead: Acme"),
        ("loan", "ana", "loan.reminder_j1", "Drill due tomorrow"),
        ("won", "ana", "lead.won", "Lead won: 100% of the deal"),
        ("ben", "ben", "lead.created", "New lead: Initech"),
    ):
        ids[key] = store.add_inbox(
            delivery_key=key,
            subscriber_id=who,
            kind=kind,
            title=title,
            body="…",
            priority="medium",
            link=None,
        )
    return ids


async def test_the_inbox_filters_answer_the_same_over_http(bare_api: Api) -> None:
    ids = fill(bare_api.herald.store)
    direct = bare_api.herald
    async with HttpHerald(bare_api.url, timeout=60) as herald:
        await herald.mark_read("ana", [ids["loan"]])
        for query in (
            {"category": "leads"},
            {"read": True},
            {"read": False, "category": "loans"},
            {"search": "ACME"},
            {"search": "100%"},
            {"unread_only": True},
        ):
            assert await herald.inbox("ana", **query) == await direct.inbox("ana", **query)
        leads = await herald.inbox("ana", category="leads")
        assert [n["title"] for n in leads] == ["Lead won: 100% of the deal", "New lead: Acme"]
        assert {n["category"] for n in leads} == {"leads"}
        assert [n["id"] for n in await herald.inbox("ana", read=True)] == [ids["loan"]]
        assert [n["id"] for n in await herald.inbox("ana", search="acme")] == [ids["lead"]]


async def test_unread_again_and_archive_touch_only_the_persons_own(bare_api: Api) -> None:
    ids = fill(bare_api.herald.store)
    async with HttpHerald(bare_api.url, timeout=60) as herald:
        assert await herald.mark_read("ana") == 3
        done = await herald.mark_unread("ana", [ids["lead"], ids["ben"], 424242])
        assert done == {"subscriber_id": "ana", "changed": 1, "unknown": [ids["ben"], 424242]}
        assert await herald.unread_count("ana") == 1
        assert await herald.unread_count("ben") == 1  # Ben's: untouched by Ana's call

        done = await herald.archive("ana", [ids["lead"], ids["ben"]])
        assert done == {"subscriber_id": "ana", "changed": 1, "unknown": [ids["ben"]]}
        assert await herald.unread_count("ana") == 0  # the archived unread one is not counted
        assert ids["lead"] not in [n["id"] for n in await herald.inbox("ana")]
        [archived] = await herald.inbox("ana", archived=True)
        assert archived["id"] == ids["lead"] and archived["archived"]
        assert archived["archived_at"] is not None
        assert (await herald.archive("ana"))["changed"] == 2
        assert await herald.inbox("ana") == []
        assert len(await herald.inbox("ana", archived=True)) == 3
        assert len(await herald.inbox("ben")) == 1

        # Restored: back in the list and, unread, in the count; Ben's stays his.
        done = await herald.unarchive("ana", [ids["lead"], ids["ben"], 424242])
        assert done == {"subscriber_id": "ana", "changed": 1, "unknown": [ids["ben"], 424242]}
        assert [n["id"] for n in await herald.inbox("ana")] == [ids["lead"]]
        assert await herald.unread_count("ana") == 1
        assert (await herald.unarchive("ana", [ids["lead"]]))["changed"] == 0
        assert (await herald.unarchive("ana"))["changed"] == 2
        assert await herald.inbox("ana", archived=True) == []
        assert await herald.inbox("ana") == await bare_api.herald.inbox("ana")
        assert len(await herald.inbox("ana")) == 3


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda h: h.inbox("ana", category="gossip"), "unknown category"),
        (lambda h: h.inbox("ana", search="x" * 201), "the limit is 200"),
        (lambda h: h.inbox("ana", search="two\nlines"), "must be one line"),
        (lambda h: h.inbox("ana", read=True, unread_only=True), "not both"),
        (lambda h: h.mark_unread("ana", []), "at least one notification id"),
        (lambda h: h.mark_unread("ana", [0]), "notification id"),
        (lambda h: h.archive("ana", []), "at least one notification id"),
        (lambda h: h.archive("nobody", None), "nobody"),
        (lambda h: h.unarchive("ana", []), "at least one notification id"),
        (lambda h: h.unarchive("ana", [-3]), "notification id"),
        (lambda h: h.unarchive("nobody", None), "nobody"),
    ],
)
async def test_refused_inbox_calls_say_why_in_one_line(
    bare_api: Api, call: Any, message: str
) -> None:
    fill(bare_api.herald.store)
    async with HttpHerald(bare_api.url, timeout=60) as herald:
        for h in (bare_api.herald, herald):
            with pytest.raises((InvalidInput, LookupError), match=message) as err:
                await call(h)
            assert "\n" not in str(err.value)


async def test_groups_with_display_names_one_or_several_at_once(bare_api: Api) -> None:
    async with HttpHerald(bare_api.url, timeout=60) as herald:
        assert await herald.create_group("it", "The IT desk", display_name="IT Desk")
        done = await herald.create_groups(
            [
                {"name": "technical-admins", "display_name": "Technical Admin"},
                {"name": "sales-team", "display_name": "Sales Team", "description": "Sales"},
                {"name": "it"},
            ]
        )
        assert done == {"created": ["technical-admins", "sales-team"], "existing": ["it"]}
        shown = {g.name: g.display_name for g in await herald.groups()}
        assert shown == {
            "it": "IT Desk",
            "sales-team": "Sales Team",
            "technical-admins": "Technical Admin",
        }
        assert await herald.groups() == await bare_api.herald.groups()

        # One refused entry: none is created.
        for h in (herald, bare_api.herald):
            with pytest.raises(InvalidInput, match="group 2: invalid group name"):
                await h.create_groups([{"name": "accounting"}, {"name": "bad name!"}])
            with pytest.raises(InvalidInput, match="unknown field 'colour'"):
                await h.create_groups([{"name": "accounting", "colour": "red"}])
            with pytest.raises(InvalidInput, match="given twice"):
                await h.create_groups([{"name": "accounting"}, {"name": "accounting"}])
        assert "accounting" not in {g.name for g in await herald.groups()}


TEMPLATES = [
    {
        "name": "invoice_processed",
        "locale": "en",
        "subject": "Invoice {{ number }} processed",
        "body": "Hello {{ recipient.name }}, invoice {{ number }} is processed.",
        "short": "Invoice {{ number }}",
    },
    {"name": "invoice_processed", "locale": "fr", "subject": "Facture {{ number }}", "body": "…"},
]


async def test_admin_templates_load_all_or_nothing(bare_api: Api) -> None:
    async with HttpHerald(bare_api.url, timeout=60) as herald:
        assert await herald.set_template("welcome", locale="fr", subject="Bienvenue", body="…")
        done = await herald.load_templates(
            [*TEMPLATES, {"name": "welcome", "locale": "fr", "subject": "Salut", "body": "…"}]
        )
        assert done == {
            "created": ["invoice_processed/en", "invoice_processed/fr"],
            "updated": ["welcome/fr"],
        }
        assert await herald.templates() == await bare_api.herald.templates()
        assert {t.subject for t in await herald.templates()} >= {"Salut", "Facture {{ number }}"}

        broken = {"name": "broken", "locale": "en", "subject": "x", "body": "{% if %}"}
        for h in (herald, bare_api.herald):
            with pytest.raises(InvalidInput, match="template 2: .*broken"):
                await h.load_templates([{**TEMPLATES[0], "subject": "changed"}, broken])
            with pytest.raises(InvalidInput, match="template 1: unsupported locale"):
                await h.load_templates([{**TEMPLATES[0], "locale": "de"}])
            with pytest.raises(InvalidInput, match="given twice"):
                await h.load_templates([TEMPLATES[0], TEMPLATES[0]])
            with pytest.raises(InvalidInput, match="at least one template"):
                await h.load_templates([])
        names = {t.name for t in await herald.templates()}
        assert "broken" not in names
        assert "changed" not in {t.subject for t in await herald.templates()}


async def test_an_alert_by_event_needs_the_event_mapped(bare_api: Api) -> None:
    async with HttpHerald(bare_api.url, timeout=60) as herald:
        for h in (herald, bare_api.herald):
            with pytest.raises(InvalidInput, match="HERALD_EVENT_GROUPS"):
                await h.notify("hello", event="invoice.processed")
            with pytest.raises(InvalidInput, match="not both"):
                await h.notify("hello", event="invoice.processed", group_names=["accounting"])
