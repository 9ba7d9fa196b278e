"""The console's pages over HTTP on a real server: resending a failed delivery from the
Failures page (a new attempt, logged as its resend, sent once through the local SMTP
server), a test send reaching that server, every built-in kind previewed in both
languages and every format, admin templates checked before they are saved, and the
dashboard showing the service layer's figures."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from herald.console.auth import COOKIE
from herald.service.delivery_log import FORMATS, LOCALES
from herald.template_samples import BUILT_IN_KINDS
from tests.conftest import eventually
from tests.console.conftest import PASSWORD, Console, csrf_of, post_form, sign_in
from tests.workflows.test_loan_workflow import BORROWER_EMAIL, Desk, start


def failed_created_row(desk: Desk, loan_id: str) -> dict[str, object]:
    rows = [
        r
        for r in desk.rows(loan_id)
        if r["kind"] == "loan.created" and r["status"] == "permanently_failed"
    ]
    return rows[0] if rows else {}


async def test_a_failed_delivery_is_resent_from_the_failures_page_once(
    desk: Desk, desk_console: Console
) -> None:
    desk.smtp.handler.refuse(BORROWER_EMAIL, "550 5.1.1 Mailbox unavailable", times=1)
    await start(desk, "L-console", timedelta(hours=30))
    original = await eventually(lambda: failed_created_row(desk, "L-console"))
    failed_id = int(str(original["id"]))

    async with desk_console.client() as http:
        await sign_in(http, desk_console.ops_key)
        page = await http.get("/console/failures")
        assert page.status_code == 200
        row = re.search(rf'<tr id="delivery-{failed_id}">(.*?)</tr>', page.text, re.S)
        assert row, page.text
        assert BORROWER_EMAIL in row.group(1) and "smtp" in row.group(1)
        assert "Mailbox unavailable" in row.group(1) and "loan.created" in row.group(1)
        assert f'action="/console/failures/{failed_id}/resend"' in row.group(1)

        done = await http.post(
            f"/console/failures/{failed_id}/resend", data={"csrf": csrf_of(page)}
        )
        assert done.status_code == 303 and done.headers["location"] == "/console/failures"

        def resend_row() -> dict[str, object]:
            found = [r for r in desk.rows("L-console") if "|resend-" in str(r["idempotency_key"])]
            return found[0] if found and found[0]["status"] == "sent" else {}

        resent = await eventually(resend_row)
        assert resent["idempotency_key"] == f"{original['idempotency_key']}|resend-1"
        assert resent["note"] == f"resend of delivery {failed_id} by console (key:console-ops)"
        await eventually(lambda: len(desk.smtp.handler.to(BORROWER_EMAIL)) == 1)

        after = await http.get("/console/failures")
        assert f"Delivery #{failed_id} resent as delivery #{resent['id']}" in after.text
        row = re.search(rf'<tr id="delivery-{failed_id}">(.*?)</tr>', after.text, re.S)
        assert row and f"Resent as #{resent['id']} (Sent)" in row.group(1)
        assert "/resend" not in row.group(1)  # no second button

        # Sent again by hand (a stale page): refused, nothing sent.
        again = await http.post(
            f"/console/failures/{failed_id}/resend", data={"csrf": csrf_of(after)}
        )
        assert again.status_code == 303
        shown = await http.get("/console/failures")
        assert f"Delivery #{failed_id} was not resent" in shown.text
        assert "already resent as delivery" in shown.text
        missing = await post_form(http, "/console/failures", "/console/failures/999999/resend")
        assert missing.status_code == 303
        assert "no delivery 999999" in (await http.get("/console/failures")).text
        bad = await post_form(http, "/console/failures", "/console/failures/nope/resend")
        assert bad.status_code == 400
    assert len(desk.smtp.handler.to(BORROWER_EMAIL)) == 1
    emails = [r for r in desk.rows("L-console") if r["channel"] == "email"]
    assert [r["status"] for r in emails] == ["permanently_failed", "sent"]
    await desk.cancel("L-console")


async def test_a_test_send_reaches_the_smtp_server_and_shows_the_providers_answer(
    desk: Desk, desk_console: Console
) -> None:
    async with desk_console.client() as http:
        await sign_in(http, desk_console.ops_key)
        form = await http.get("/console/test-send")
        assert "smtp" in form.text  # the e-mail chain shown
        sent = await http.post(
            "/console/test-send",
            data={"csrf": csrf_of(form), "channel": "email", "address": "Ops@Example.org "},
        )
        assert sent.status_code == 303 and sent.headers["location"] == "/console/test-send"
        (mail,) = await eventually(lambda: desk.smtp.handler.to("Ops@example.org"))
        result = await http.get("/console/test-send")
        assert "Sent through smtp." in result.text
        message_id = re.search(r'id="message-id">([^<]*)<', result.text)
        assert message_id and message_id.group(1) == html.escape(mail.message["Message-ID"])
        # Shown once: a reload shows the form alone and sends nothing.
        assert "Sent through" not in (await http.get("/console/test-send")).text

        refused = await post_form(
            http, "/console/test-send", "/console/test-send", channel="email", address="nope"
        )
        assert refused.status_code == 303
        assert "Refused:" in (await http.get("/console/test-send")).text

        desk.smtp.handler.refuse("bounce@example.org", "550 5.1.1 No such user")
        await post_form(
            http,
            "/console/test-send",
            "/console/test-send",
            channel="email",
            address="bounce@example.org",
        )
        failed = await http.get("/console/test-send")
        assert "Not sent:" in failed.text and "No such user" in failed.text

        off = await post_form(
            http, "/console/test-send", "/console/test-send", channel="sms", address="+33612345678"
        )
        assert off.status_code == 303
        assert "no sms provider configured" in (await http.get("/console/test-send")).text
    assert len(desk.smtp.handler.messages) == 1


async def test_every_kind_previews_in_both_languages_and_every_format(
    bare_console: Console,
) -> None:
    herald = bare_console.herald
    async with bare_console.client() as http:
        await sign_in(http, PASSWORD)
        index = await http.get("/console/templates")
        for kind in BUILT_IN_KINDS:
            assert f"/console/templates/kinds/{kind}?" in index.text
        for kind in BUILT_IN_KINDS:
            for locale in LOCALES:
                for format in FORMATS:
                    page = await http.get(
                        f"/console/templates/kinds/{kind}",
                        params={"locale": locale, "format": format},
                    )
                    assert page.status_code == 200, (kind, locale, format)
                    doc = await herald.preview_kind(kind, locale=locale, format=format)
                    subject = re.search(r'id="preview-subject">([^<]*)<', page.text)
                    assert subject and html.unescape(subject.group(1)) == doc["subject"]
                    if format == "html":
                        assert "<iframe" in page.text
                    else:
                        body = re.search(r'id="preview-body">(.*?)</pre>', page.text, re.S)
                        assert body and html.unescape(body.group(1)) == doc["body"]
                frame = await http.get(
                    f"/console/templates/kinds/{kind}/frame", params={"locale": locale}
                )
                assert frame.status_code == 200
                expected = await herald.preview_kind(kind, locale=locale, format="html")
                assert frame.text == expected["body"]
                assert frame.headers["content-security-policy"].startswith("sandbox;")
        missing = await http.get("/console/templates/kinds/loan.nothing")
        assert missing.status_code == 404 and "Page not found" in missing.text


async def test_admin_templates_are_checked_before_they_are_saved_and_previewed(
    bare_console: Console,
) -> None:
    herald = bare_console.herald
    async with bare_console.client(headers={"Accept-Language": "fr"}) as http:
        await sign_in(http, PASSWORD)
        broken = await post_form(
            http,
            "/console/templates",
            "/console/templates/admin",
            name="invoice-processed",
            locale="fr",
            subject="Facture {{ invoice }",
            body="Bonjour",
        )
        assert broken.status_code == 422
        assert "Non enregistré" in broken.text and "line 1" in broken.text
        assert "Facture {{ invoice }" in broken.text  # the form keeps what was typed
        assert await herald.templates() == []

        created = await post_form(
            http,
            "/console/templates",
            "/console/templates/admin",
            name="invoice-processed",
            locale="fr",
            subject="Facture {{ invoice }} traitée",
            body="Bonjour {{ recipient.name }},\nla facture {{ invoice }} est traitée.",
        )
        assert created.status_code == 303
        assert created.headers["location"] == "/console/templates/admin/invoice-processed?locale=fr"
        page = await http.get(
            "/console/templates/admin/invoice-processed",
            params={"locale": "fr", "context": '{"invoice": "F-1042"}'},
        )
        assert "Modèle invoice-processed (fr) créé." in page.text
        assert 'id="preview-subject">Facture F-1042 traitée<' in page.text
        assert "la facture F-1042 est traitée." in page.text
        no_data = await http.get("/console/templates/admin/invoice-processed?locale=fr")
        assert "undefined variable" in no_data.text
        not_json = await http.get(
            "/console/templates/admin/invoice-processed",
            params={"locale": "fr", "context": "[1]"},
        )
        assert "must be a JSON object" in not_json.text
        english = await http.get("/console/templates/admin/invoice-processed?locale=en")
        assert "Pas encore de version anglais" in english.text

        edited = await post_form(
            http,
            "/console/templates/admin/invoice-processed?locale=fr",
            "/console/templates/admin/invoice-processed",
            locale="fr",
            subject="Facture {{ invoice }} payée",
            body="Payée.",
            short="{% for %}",
        )
        assert edited.status_code == 422 and "short" in edited.text
        (saved,) = await herald.templates()
        assert saved.subject == "Facture {{ invoice }} traitée"
        edited = await post_form(
            http,
            "/console/templates/admin/invoice-processed?locale=fr",
            "/console/templates/admin/invoice-processed",
            locale="fr",
            subject="Facture {{ invoice }} payée",
            body="Payée.",
            short="",
        )
        assert edited.status_code == 303
        (saved,) = await herald.templates()
        assert (saved.subject, saved.short) == ("Facture {{ invoice }} payée", None)
        unknown = await http.get("/console/templates/admin/nobody")
        assert unknown.status_code == 404


async def test_the_dashboard_shows_the_service_layers_figures(
    desk: Desk, desk_console: Console
) -> None:
    await start(desk, "L-dash", timedelta(hours=30))
    await eventually(lambda: desk.sent("L-dash") == ["loan.created"])
    doc = await desk.herald.dashboard()
    day = doc["windows"]["24h"]
    assert day["by_channel"]["email"]["by_status"]["sent"] == 1
    async with desk_console.client() as http:
        await sign_in(http, desk_console.ops_key)
        page = await http.get("/console/")
        assert page.status_code == 200
        assert f'<p class="kpi-value">{day["total"]}</p>' in page.text
        assert "<svg" in page.text and "<table" in page.text
        assert "<code>loan.created</code>" in page.text
        week = await http.get("/console/?window=7d")
        assert 'aria-current="true">Last 7 days' in week.text
        assert (await http.get("/console/?window=bogus")).status_code == 200
        http.cookies.delete(COOKIE)
        assert (await http.get("/console/")).status_code == 303
    await desk.cancel("L-dash")


@pytest.mark.parametrize("path", ["/console/static/console.css"])
async def test_the_stylesheet_is_served_without_a_session(bare_console: Console, path: str) -> None:
    async with bare_console.client() as http:
        sheet = await http.get(path)
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/css")
    assert "set-cookie" not in sheet.headers
