"""The OpenAPI document: valid, every operation there, every request body with examples."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from tests.api.conftest import Api

# (method, path, scope): the API's whole surface.
ROUTES = {
    ("put", "/v1/subscribers/{subscriber_id}", "app"),
    ("get", "/v1/subscribers/{subscriber_id}", "app"),
    ("put", "/v1/subscribers/{subscriber_id}/preferences", "app"),
    ("get", "/v1/subscribers/{subscriber_id}/preferences", "app"),
    ("get", "/v1/subscribers/{subscriber_id}/mailbox", "app"),
    ("put", "/v1/subscribers/{subscriber_id}/daily-summary", "app"),
    ("get", "/v1/subscribers/{subscriber_id}/daily-summary", "app"),
    ("get", "/v1/subscribers/{subscriber_id}/inbox", "app"),
    ("get", "/v1/subscribers/{subscriber_id}/inbox/unread-count", "app"),
    ("post", "/v1/subscribers/{subscriber_id}/inbox/read", "app"),
    ("post", "/v1/subscribers/{subscriber_id}/inbox/unread", "app"),
    ("post", "/v1/subscribers/{subscriber_id}/inbox/archive", "app"),
    ("post", "/v1/subscribers/{subscriber_id}/inbox/unarchive", "app"),
    ("post", "/v1/loans", "app"),
    ("get", "/v1/loans/{loan_id}", "app"),
    ("post", "/v1/loans/{loan_id}/return", "app"),
    ("post", "/v1/loans/{loan_id}/extend", "app"),
    ("post", "/v1/loans/{loan_id}/cancel", "app"),
    ("post", "/v1/loans/{loan_id}/notify", "app"),
    ("post", "/v1/repairs", "app"),
    ("get", "/v1/repairs/{repair_id}", "app"),
    ("post", "/v1/repairs/{repair_id}/events", "app"),
    ("post", "/v1/followups", "app"),
    ("get", "/v1/followups/{followup_id}", "app"),
    ("post", "/v1/followups/{followup_id}/complete", "app"),
    ("post", "/v1/followups/{followup_id}/reschedule", "app"),
    ("post", "/v1/followups/{followup_id}/reassign", "app"),
    ("post", "/v1/followups/{followup_id}/cancel", "app"),
    ("post", "/v1/followups/{followup_id}/notify", "app"),
    ("post", "/v1/leads/{lead_id}/events", "app"),
    ("post", "/v1/users/{user_id}/events", "app"),
    ("post", "/v1/notify", "app"),
    ("post", "/v1/repairs/events", "app"),
    ("post", "/v1/notices", "app"),
    ("post", "/v1/notices/dry-run", "app"),
    ("post", "/v1/notices/{request_id}/cancel", "app"),
    ("post", "/v1/groups", "app"),
    ("post", "/v1/groups/batch", "app"),
    ("get", "/v1/groups", "app"),
    ("get", "/v1/groups/{name}/members", "app"),
    ("post", "/v1/groups/{name}/members", "app"),
    ("delete", "/v1/groups/{name}/members", "app"),
    ("put", "/v1/templates/{name}/{locale}", "app"),
    ("get", "/v1/templates", "app"),
    ("post", "/v1/templates/batch", "app"),
    ("post", "/v1/templates/{name}/preview", "app"),
    ("put", "/v1/groups/{name}/channels", "app"),
    ("patch", "/v1/templates/{name}/options", "app"),
    ("get", "/v1/templates/meta", "app"),
    ("post", "/v1/templates/sync-meta", "ops"),
    ("get", "/v1/stats/staff", "app"),
    ("get", "/v1/stats/dashboard", "ops"),
    ("get", "/v1/deliveries/problems", "ops"),
    ("get", "/v1/deliveries", "app (one subject) / ops (all)"),
    ("get", "/v1/api-keys", "ops"),
    ("get", "/v1/suppressions", "ops"),
    ("post", "/v1/suppressions", "ops"),
    ("post", "/v1/suppressions/lift", "ops"),
    ("get", "/v1/subscribers/{subscriber_id}/whatsapp-window", "app"),
    ("get", "/v1/deliveries/{delivery_id}/events", "ops"),
    ("post", "/v1/deliveries/{delivery_id}/resend", "ops"),
    ("get", "/v1/sms-spending", "ops"),
    ("get", "/v1/deliveries/summary", "app (one subject) / ops (all)"),
    ("get", "/v1/kinds/{kind}/preview", "app"),
    ("post", "/v1/test-sends", "ops"),
    ("post", "/v1/hooks/ses", "public (SNS signature)"),
    ("post", "/v1/hooks/twilio/status", "public (X-Twilio-Signature)"),
    ("post", "/v1/hooks/twilio/inbound", "public (X-Twilio-Signature)"),
    ("get", "/v1/hooks/meta", "public (hub.verify_token)"),
    ("post", "/v1/hooks/meta", "public (X-Hub-Signature-256)"),
    ("post", "/v1/webhooks", "ops"),
    ("get", "/v1/webhooks", "ops"),
    ("post", "/v1/webhooks/{endpoint_id}/enable", "ops"),
    ("post", "/v1/webhooks/{endpoint_id}/disable", "ops"),
    ("delete", "/v1/webhooks/{endpoint_id}", "ops"),
    ("post", "/v1/webhooks/{endpoint_id}/rotate-secret", "ops"),
    ("post", "/v1/webhooks/{endpoint_id}/test", "ops"),
    ("get", "/v1/webhooks/{endpoint_id}/attempts", "ops"),
    ("get", "/v1/brand/logo", "public"),
    ("get", "/v1/verifications/confirm", "public (the e-mail's link)"),
    ("post", "/v1/subscribers/{subscriber_id}/verifications", "app"),
    ("get", "/v1/verifications/{verification_id}", "app"),
    ("post", "/v1/verifications/{verification_id}/confirm", "app"),
    ("post", "/v1/verifications/{verification_id}/resend", "app"),
    ("get", "/v1/ops/objects/{kind}", "ops"),
    ("get", "/v1/ops/objects/{kind}/{object_id}", "ops"),
    ("post", "/v1/ops/objects/{kind}/{object_id}/send-now", "ops"),
    ("get", "/v1/ops/schedules", "ops"),
    ("get", "/v1/ops/health", "ops"),
    ("get", "/metrics", "ops, or HERALD_METRICS_TOKEN"),
    ("post", "/v1/subscribers/{subscriber_id}/token", "app"),
    ("get", "/v1/me/profile", "subscriber token"),
    ("get", "/v1/me/inbox", "subscriber token"),
    ("get", "/v1/me/inbox/unread-count", "subscriber token"),
    ("post", "/v1/me/inbox/read", "subscriber token"),
    ("post", "/v1/me/inbox/unread", "subscriber token"),
    ("post", "/v1/me/inbox/archive", "subscriber token"),
    ("post", "/v1/me/inbox/unarchive", "subscriber token"),
    ("get", "/v1/me/inbox/stream", "subscriber token (or ?token=)"),
    ("get", "/v1/me/preferences", "subscriber token"),
    ("put", "/v1/me/preferences", "subscriber token"),
    ("get", "/healthz", "public"),
    ("get", "/readyz", "public"),
}


def _schema(doc: dict[str, Any], ref_or_schema: dict[str, Any]) -> dict[str, Any]:
    schema = ref_or_schema
    for part in ("anyOf", "oneOf"):  # an optional body: the model or null
        if part in schema:
            schema = next(s for s in schema[part] if s.get("type") != "null")
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[1]
        return dict(doc["components"]["schemas"][name])
    return schema


async def test_the_document_is_valid_and_complete_with_examples(bare_api: Api) -> None:
    async with bare_api.http() as http:
        doc = (await http.get("/openapi.json")).json()
        page = await http.get("/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()
    validate(doc)
    operations = {
        (method, path)
        for path, item in doc["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch")
    }
    assert operations == {(method, path) for method, path, _ in ROUTES}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            body = op.get("requestBody")
            if body is None:
                continue
            schema = _schema(doc, body["content"]["application/json"]["schema"])
            assert schema.get("examples"), f"{method} {path} has no request example"
            for name, prop in schema.get("properties", {}).items():
                assert prop.get("description") or name == "wait", f"{method} {path}: {name}"
            if method != "get" and path.startswith("/v1"):
                assert "422" in op["responses"] and "503" in op["responses"]
