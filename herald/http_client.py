"""``HttpHerald``: Herald's Python client, over the HTTP API.

The same method names, keyword arguments, result types and exceptions as
:class:`starter.client.Herald`, for applications that reach Herald over the network:

    async with HttpHerald("https://herald.example.org", api_key) as herald:
        started = await herald.start_loan("L1", borrower_id="u42", item="Drill", due_at=due)

Every POST carries an ``Idempotency-Key`` (a fresh one per call unless given), so the
client's own retries, on connection errors and 503 only, never do anything twice.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx
from pydantic import TypeAdapter

from herald.admin_templates import Notice
from herald.contracts import (
    AppliedEvent,
    FollowUpStatus,
    LoanStatus,
    MailboxStatus,
    ManualNotifyResult,
    NotifyResult,
    RepairStatus,
)
from herald.errors import (
    Conflict,
    HeraldError,
    InvalidInput,
    NotFound,
    ProviderFailed,
    Unavailable,
)
from herald.http_base import path_segment as _q
from herald.http_delivery_log import DeliveryLogOverHttp
from herald.http_inbox import InboxOverHttp
from herald.http_notices import NoticesOverHttp
from herald.http_operations import OperationsOverHttp
from herald.http_staff_channels import StaffChannelsOverHttp
from herald.http_staff_setup import StaffSetupOverHttp
from herald.http_subscriber_tokens import SubscriberTokensOverHttp
from herald.http_summary import DailySummaryOverHttp
from herald.http_verification import VerificationOverHttp
from herald.service.base import Started
from herald.store import Contact, GroupInfo, PreferenceSet, TemplateText

T = TypeVar("T")
ATTEMPTS = 3
BACKOFF = 0.5  # seconds, doubled after each failed attempt
_UNSET: Any = object()


def _parse(kind: Any, data: Any) -> Any:
    return TypeAdapter(kind).validate_python(data)


def _instant(value: datetime | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def _error(response: httpx.Response) -> HeraldError:
    try:
        doc = response.json()
        detail = str(doc.get("detail") or doc.get("title"))
    except (ValueError, AttributeError):
        detail = f"HTTP {response.status_code}: {response.text[:200]}"
    status = response.status_code
    if status in (400, 413, 415, 422):
        return InvalidInput(detail)
    if status == 404:
        return NotFound(detail)
    if status == 409:
        return Conflict(detail)
    if status == 503:
        return Unavailable(detail)
    if status == 502:
        return ProviderFailed(detail)
    return HeraldError(detail)


class HttpHerald(
    InboxOverHttp,
    SubscriberTokensOverHttp,
    StaffSetupOverHttp,
    StaffChannelsOverHttp,
    VerificationOverHttp,
    NoticesOverHttp,
    DeliveryLogOverHttp,
    OperationsOverHttp,
    DailySummaryOverHttp,
):
    def __init__(self, url: str, api_key: str | None = None, *, timeout: float = 60.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = timeout
        self._http = httpx.AsyncClient(base_url=url.rstrip("/"), headers=headers, timeout=timeout)

    async def __aenter__(self) -> HttpHerald:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ transport

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        headers: dict[str, str] = {}
        if method == "POST":
            headers["Idempotency-Key"] = idempotency_key or uuid.uuid4().hex
        delay = BACKOFF
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = await self._http.request(
                    method, path, json=json, params=params, headers=headers
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as err:
                # Nothing reached the server: safe to try again.
                if attempt == ATTEMPTS:
                    raise Unavailable(
                        f"cannot reach the Herald API at {self._http.base_url}: {err}"
                    ) from None
            except httpx.TimeoutException:
                # The server may still be working on it: retrying with the same key would
                # only be told so. Check the object's status before calling again.
                raise HeraldError(
                    f"no answer from the Herald API within {self._timeout:g}s to {method} {path}"
                ) from None
            except httpx.HTTPError as err:
                raise HeraldError(f"{method} {path} failed: {type(err).__name__}: {err}") from None
            else:
                if response.status_code != 503 or attempt == ATTEMPTS:
                    if response.status_code >= 400:
                        raise _error(response)
                    return response
            await asyncio.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    async def _get(self, path: str, kind: Any, params: Any = None) -> Any:
        return _parse(kind, (await self._call("GET", path, params=params)).json())

    async def _post(self, path: str, body: Any, kind: Any, key: str | None) -> Any:
        response = await self._call("POST", path, json=body, idempotency_key=key)
        return _parse(kind, response.json())

    # ------------------------------------------------------------------ directory

    async def upsert_subscriber(
        self,
        subscriber_id: str,
        *,
        name: str | None = _UNSET,
        email: str | None = _UNSET,
        phone: str | None = _UNSET,
        whatsapp: str | None = _UNSET,
        locale: str = _UNSET,
        timezone: str = _UNSET,
    ) -> Contact:
        fields = {
            k: v
            for k, v in (
                ("name", name),
                ("email", email),
                ("phone", phone),
                ("whatsapp", whatsapp),
                ("locale", locale),
                ("timezone", timezone),
            )
            if v is not _UNSET
        }
        response = await self._call("PUT", f"/v1/subscribers/{_q(subscriber_id)}", json=fields)
        return _parse(Contact, response.json())

    async def get_subscriber(self, subscriber_id: str) -> Contact:
        return await self._get(f"/v1/subscribers/{_q(subscriber_id)}", Contact)

    async def set_preferences(
        self,
        subscriber_id: str,
        *,
        email: bool | None = None,
        sms: bool | None = None,
        whatsapp: bool | None = None,
        reminders: dict[str, bool] | None = None,
        in_app: bool | None = None,
        categories: dict[str, bool] | None = None,
        quiet_hours: str | None = _UNSET,
        digest: str | None = None,
        digest_at: str | None = None,
        digest_weekday: str | int | None = None,
    ) -> PreferenceSet:
        body: dict[str, Any] = {
            k: v
            for k, v in (
                ("email", email),
                ("sms", sms),
                ("whatsapp", whatsapp),
                ("reminders", reminders),
                ("in_app", in_app),
                ("categories", categories),
                ("digest", digest),
                ("digest_at", digest_at),
                ("digest_weekday", digest_weekday),
            )
            if v is not None
        }
        if quiet_hours is not _UNSET:
            body["quiet_hours"] = quiet_hours
        response = await self._call(
            "PUT", f"/v1/subscribers/{_q(subscriber_id)}/preferences", json=body
        )
        return _parse(PreferenceSet, response.json())

    async def get_preferences(self, subscriber_id: str) -> PreferenceSet:
        return await self._get(f"/v1/subscribers/{_q(subscriber_id)}/preferences", PreferenceSet)

    async def mailbox(self, subscriber_id: str) -> MailboxStatus | None:
        return await self._get(f"/v1/subscribers/{_q(subscriber_id)}/mailbox", MailboxStatus | None)

    # ------------------------------------------------------------------ loans

    async def start_loan(
        self,
        loan_id: str,
        *,
        borrower_id: str,
        item: str,
        due_at: datetime,
        borrowed_at: datetime | None = None,
        manager_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Started:
        body = {
            "loan_id": loan_id,
            "borrower_id": borrower_id,
            "item": item,
            "due_at": _instant(due_at),
            "borrowed_at": _instant(borrowed_at),
            "manager_id": manager_id,
        }
        return self._started(
            await self._call("POST", "/v1/loans", json=body, idempotency_key=idempotency_key)
        )

    async def return_loan(
        self,
        loan_id: str,
        *,
        returned_at: datetime | None = None,
        wait: bool = True,
        idempotency_key: str | None = None,
    ) -> LoanStatus | None:
        body = {"returned_at": _instant(returned_at), "wait": wait}
        response = await self._call(
            "POST", f"/v1/loans/{_q(loan_id)}/return", json=body, idempotency_key=idempotency_key
        )
        return None if response.status_code == 202 else _parse(LoanStatus, response.json())

    async def extend_loan(
        self, loan_id: str, *, due_at: datetime, idempotency_key: str | None = None
    ) -> LoanStatus:
        return await self._post(
            f"/v1/loans/{_q(loan_id)}/extend",
            {"due_at": _instant(due_at)},
            LoanStatus,
            idempotency_key,
        )

    async def cancel_loan(self, loan_id: str, *, idempotency_key: str | None = None) -> None:
        await self._call("POST", f"/v1/loans/{_q(loan_id)}/cancel", idempotency_key=idempotency_key)

    async def loan_status(self, loan_id: str) -> LoanStatus:
        return await self._get(f"/v1/loans/{_q(loan_id)}", LoanStatus)

    async def notify_loan(
        self,
        loan_id: str,
        *,
        kind: str,
        manager: bool = False,
        idempotency_key: str | None = None,
    ) -> ManualNotifyResult:
        return await self._post(
            f"/v1/loans/{_q(loan_id)}/notify",
            {"kind": kind, "manager": manager},
            ManualNotifyResult,
            idempotency_key,
        )

    # ------------------------------------------------------------------ repairs

    async def start_repair(
        self,
        repair_id: str,
        *,
        title: str,
        customer_id: str,
        technician_id: str | None = None,
        link: str | None = None,
        idempotency_key: str | None = None,
    ) -> Started:
        body = {
            "repair_id": repair_id,
            "title": title,
            "customer_id": customer_id,
            "technician_id": technician_id,
            "link": link,
        }
        return self._started(
            await self._call("POST", "/v1/repairs", json=body, idempotency_key=idempotency_key)
        )

    async def repair_event(
        self,
        repair_id: str,
        event_type: str,
        *,
        event_id: str | None = None,
        technician_id: str | None = None,
        reason: str | None = None,
        batch_id: str | None = None,
        batch_size: int | None = None,
        reward_name: str | None = None,
        reward_points: int | None = None,
        wait: bool = True,
        idempotency_key: str | None = None,
    ) -> AppliedEvent | None:
        body = {
            "type": event_type,
            "event_id": event_id,
            "technician_id": technician_id,
            "reason": reason,
            "batch_id": batch_id,
            "batch_size": batch_size,
            "reward_name": reward_name,
            "reward_points": reward_points,
            "wait": wait,
        }
        response = await self._call(
            "POST",
            f"/v1/repairs/{_q(repair_id)}/events",
            json=body,
            idempotency_key=idempotency_key,
        )
        return None if response.status_code == 202 else _parse(AppliedEvent, response.json())

    async def repair_status(self, repair_id: str) -> RepairStatus:
        return await self._get(f"/v1/repairs/{_q(repair_id)}", RepairStatus)

    # ------------------------------------------------------------------ follow-ups

    async def start_followup(
        self,
        followup_id: str,
        *,
        title: str,
        assignee_id: str,
        due_at: datetime,
        customer: str | None = None,
        lead_id: str | None = None,
        manager_ids: list[str] | None = None,
        link: str | None = None,
        idempotency_key: str | None = None,
    ) -> Started:
        body = {
            "followup_id": followup_id,
            "title": title,
            "assignee_id": assignee_id,
            "due_at": _instant(due_at),
            "customer": customer,
            "lead_id": lead_id,
            "manager_ids": manager_ids,
            "link": link,
        }
        return self._started(
            await self._call("POST", "/v1/followups", json=body, idempotency_key=idempotency_key)
        )

    async def complete_followup(
        self,
        followup_id: str,
        *,
        completed_at: datetime | None = None,
        wait: bool = True,
        idempotency_key: str | None = None,
    ) -> FollowUpStatus | None:
        body = {"completed_at": _instant(completed_at), "wait": wait}
        response = await self._call(
            "POST",
            f"/v1/followups/{_q(followup_id)}/complete",
            json=body,
            idempotency_key=idempotency_key,
        )
        return None if response.status_code == 202 else _parse(FollowUpStatus, response.json())

    async def reschedule_followup(
        self, followup_id: str, *, due_at: datetime, idempotency_key: str | None = None
    ) -> FollowUpStatus:
        return await self._post(
            f"/v1/followups/{_q(followup_id)}/reschedule",
            {"due_at": _instant(due_at)},
            FollowUpStatus,
            idempotency_key,
        )

    async def notify_followup(
        self,
        followup_id: str,
        *,
        kind: str,
        manager: bool = False,
        idempotency_key: str | None = None,
    ) -> ManualNotifyResult:
        return await self._post(
            f"/v1/followups/{_q(followup_id)}/notify",
            {"kind": kind, "manager": manager},
            ManualNotifyResult,
            idempotency_key,
        )

    async def reassign_followup(
        self, followup_id: str, *, assignee_id: str, idempotency_key: str | None = None
    ) -> FollowUpStatus:
        return await self._post(
            f"/v1/followups/{_q(followup_id)}/reassign",
            {"assignee_id": assignee_id},
            FollowUpStatus,
            idempotency_key,
        )

    async def cancel_followup(
        self, followup_id: str, *, idempotency_key: str | None = None
    ) -> None:
        await self._call(
            "POST", f"/v1/followups/{_q(followup_id)}/cancel", idempotency_key=idempotency_key
        )

    async def followup_status(self, followup_id: str) -> FollowUpStatus:
        return await self._get(f"/v1/followups/{_q(followup_id)}", FollowUpStatus)

    # ------------------------------------------------------------------ CRM events

    async def lead_event(
        self,
        lead_id: str,
        event_type: str,
        *,
        event_id: str | None = None,
        name: str | None = None,
        company: str | None = None,
        value: str | None = None,
        stage: str | None = None,
        previous_stage: str | None = None,
        fulfilment: str | None = None,
        assignee_id: str | None = None,
        previous_assignee_id: str | None = None,
        changed_by_id: str | None = None,
        manager_ids: list[str] | None = None,
        link: str | None = None,
        occurred_at: datetime | None = None,
        wait: bool = False,
        idempotency_key: str | None = None,
    ) -> Started:
        body = {
            "type": event_type,
            "event_id": event_id,
            "name": name,
            "company": company,
            "value": value,
            "stage": stage,
            "previous_stage": previous_stage,
            "fulfilment": fulfilment,
            "assignee_id": assignee_id,
            "previous_assignee_id": previous_assignee_id,
            "changed_by_id": changed_by_id,
            "manager_ids": manager_ids,
            "link": link,
            "occurred_at": _instant(occurred_at),
            "wait": wait,
        }
        return self._started(
            await self._call(
                "POST",
                f"/v1/leads/{_q(lead_id)}/events",
                json=body,
                idempotency_key=idempotency_key,
            )
        )

    async def user_event(
        self,
        user_id: str,
        event_type: str,
        *,
        event_id: str | None = None,
        role: str | None = None,
        previous_role: str | None = None,
        changed_by_id: str | None = None,
        link: str | None = None,
        occurred_at: datetime | None = None,
        wait: bool = False,
        idempotency_key: str | None = None,
    ) -> Started:
        body = {
            "type": event_type,
            "event_id": event_id,
            "role": role,
            "previous_role": previous_role,
            "changed_by_id": changed_by_id,
            "link": link,
            "occurred_at": _instant(occurred_at),
            "wait": wait,
        }
        return self._started(
            await self._call(
                "POST",
                f"/v1/users/{_q(user_id)}/events",
                json=body,
                idempotency_key=idempotency_key,
            )
        )

    # ------------------------------------------------------------------ staff alerts

    async def notify(
        self,
        template: str,
        *,
        user_ids: list[str] | None = None,
        group_names: list[str] | None = None,
        context: dict[str, Any] | None = None,
        priority: str = "medium",
        channels: list[str] | None = None,
        link: str | None = None,
        request_id: str | None = None,
        wait: bool = False,
        event: str | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[str, NotifyResult | None]:
        body = {
            "template": template,
            "user_ids": user_ids,
            "group_names": group_names,
            "context": context,
            "priority": priority,
            "channels": channels,
            "link": link,
            "request_id": request_id,
            "wait": wait,
            "event": event,
        }
        doc = (
            await self._call("POST", "/v1/notify", json=body, idempotency_key=idempotency_key)
        ).json()
        result = doc.get("result")
        return doc["request_id"], (NotifyResult.model_validate(result) if result else None)

    # ------------------------------------------------------------------ groups

    async def create_group(
        self,
        name: str,
        description: str | None = None,
        *,
        display_name: str | None = None,
        idempotency_key: str | None = None,
    ) -> bool:
        response = await self._call(
            "POST",
            "/v1/groups",
            json={"name": name, "description": description, "display_name": display_name},
            idempotency_key=idempotency_key,
        )
        return bool(response.json()["created"])

    async def add_to_group(
        self, name: str, subscriber_ids: list[str], *, idempotency_key: str | None = None
    ) -> int:
        response = await self._call(
            "POST",
            f"/v1/groups/{_q(name)}/members",
            json={"subscriber_ids": subscriber_ids},
            idempotency_key=idempotency_key,
        )
        return int(response.json()["changed"])

    async def remove_from_group(self, name: str, subscriber_ids: list[str]) -> int:
        response = await self._call(
            "DELETE", f"/v1/groups/{_q(name)}/members", params={"subscriber_id": subscriber_ids}
        )
        return int(response.json()["changed"])

    async def groups(self) -> list[GroupInfo]:
        return await self._get("/v1/groups", list[GroupInfo])

    async def group_members(self, name: str) -> list[str]:
        return list((await self._call("GET", f"/v1/groups/{_q(name)}/members")).json()["members"])

    # ------------------------------------------------------------------ admin templates

    async def set_template(
        self, name: str, *, locale: str, subject: str, body: str, short: str | None = None
    ) -> bool:
        response = await self._call(
            "PUT",
            f"/v1/templates/{_q(name)}/{_q(locale)}",
            json={"subject": subject, "body": body, "short": short},
        )
        return bool(response.json()["created"])

    async def templates(self) -> list[TemplateText]:
        return await self._get("/v1/templates", list[TemplateText])

    async def preview_template(
        self,
        name: str,
        *,
        locale: str = "fr",
        context: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Notice:
        return await self._post(
            f"/v1/templates/{_q(name)}/preview",
            {"locale": locale, "context": context},
            Notice,
            idempotency_key,
        )

    # ------------------------------------------------------------------ outbound webhooks

    async def add_webhook(
        self,
        url: str,
        *,
        events: list[str],
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        body = {"url": url, "events": events, "description": description}
        response = await self._call(
            "POST", "/v1/webhooks", json=body, idempotency_key=idempotency_key
        )
        return dict(response.json())

    async def webhooks(self) -> list[dict[str, Any]]:
        return list((await self._call("GET", "/v1/webhooks")).json())

    async def enable_webhook(
        self, endpoint_id: str, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        return await self._webhook_post(endpoint_id, "enable", idempotency_key)

    async def disable_webhook(
        self, endpoint_id: str, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        return await self._webhook_post(endpoint_id, "disable", idempotency_key)

    async def remove_webhook(self, endpoint_id: str) -> None:
        await self._call("DELETE", f"/v1/webhooks/{_q(endpoint_id)}")

    async def rotate_webhook_secret(
        self, endpoint_id: str, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        return await self._webhook_post(endpoint_id, "rotate-secret", idempotency_key)

    async def webhook_attempts(self, endpoint_id: str, *, limit: int = 50) -> list[dict[str, Any]]:
        response = await self._call(
            "GET", f"/v1/webhooks/{_q(endpoint_id)}/attempts", params={"limit": limit}
        )
        return list(response.json())

    async def test_webhook(
        self, endpoint_id: str, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        return await self._webhook_post(endpoint_id, "test", idempotency_key)

    async def _webhook_post(
        self, endpoint_id: str, action: str, idempotency_key: str | None
    ) -> dict[str, Any]:
        response = await self._call(
            "POST",
            f"/v1/webhooks/{_q(endpoint_id)}/{action}",
            idempotency_key=idempotency_key,
        )
        return dict(response.json())

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _started(response: httpx.Response) -> Started:
        doc = response.json()
        return Started(doc["id"], doc["workflow_id"], doc.get("run_id"), bool(doc["created"]))
