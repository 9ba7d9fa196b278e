"""The HTTP API: each route translates one request into one call of the same
:class:`~starter.client.Herald` object, and its answer (or refusal) back into HTTP.

Rules and limits are Herald's: a route never checks a value itself.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from herald.admin_templates import Notice
from herald.api import models as m
from herald.api.brand_routes import build_brand_router
from herald.api.cors import BrowserCors
from herald.api.delivery_log_routes import build_delivery_log_router
from herald.api.feedback_routes import build_feedback_router
from herald.api.gate import LOOPBACK_PRINCIPAL, MAX_BODY, Gate, Principal
from herald.api.idempotency import IdempotencyStore
from herald.api.inbox_routes import build_inbox_router
from herald.api.keys import ApiKeys
from herald.api.me_routes import build_me_routers
from herald.api.notice_routes import build_notice_router
from herald.api.ops_routes import build_metrics_router, build_ops_router
from herald.api.problems import MEDIA_TYPE, ProblemError, from_exception, problem_body
from herald.api.provider_hooks import build_provider_hooks
from herald.api.staff_channel_routes import build_staff_channel_router
from herald.api.staff_setup_routes import build_staff_setup_router
from herald.api.stats_routes import build_stats_router
from herald.api.summary_routes import build_summary_router
from herald.api.verification_routes import build_verification_router
from herald.api.webhook_routes import webhook_announcer, webhook_router
from herald.codec_server import LOOPBACK
from herald.console import build_console
from herald.contracts import (
    AppliedEvent,
    FollowUpStatus,
    LoanStatus,
    MailboxStatus,
    ManualNotifyResult,
    RepairStatus,
)
from herald.errors import HeraldError
from herald.settings import Settings
from herald.store import Contact, GroupInfo, PreferenceSet, TemplateText
from herald.web import build_ui_router

if TYPE_CHECKING:
    from starter.client import Herald, Started

# How long /readyz waits for each part.
READY_TIMEOUT = 3.0
_PROBLEM = {"model": m.Problem, "content": {MEDIA_TYPE: {}}}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {**_PROBLEM, "description": description}
    for status, description in (
        (400, "Malformed request (body not JSON, bad header)"),
        (401, "No, unknown or revoked API key"),
        (403, "The key's scope does not allow this route"),
        (404, "Unknown object or route"),
        (409, "Conflicting state, or the same Idempotency-Key still in progress"),
        (413, "Body over the limit"),
        (415, "Body not sent as application/json"),
        (422, "Invalid input: the one-line reason, and the field when known"),
        (503, "Temporal, a worker or the database unreachable; see Retry-After"),
    )
}
IDEMPOTENCY_DOC = (
    " Send an `Idempotency-Key` header to make a retry safe: the same key and body within "
    "24 hours answer the first response again (`Idempotent-Replayed: true`)."
)


class ApiRefused(Exception):
    """The API cannot be served as asked (no key, bound beyond the loopback)."""


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


def principal(request: Request) -> Principal:
    found = getattr(request.state, "principal", None)
    return found if isinstance(found, Principal) else LOOPBACK_PRINCIPAL


def require_ops(request: Request) -> Principal:
    who = principal(request)
    if who.scope != "ops":
        raise ProblemError(403, "forbidden", f"API key {who.name!r} has scope app; this needs ops")
    return who


def _started(response: Response, started: Started, location: str) -> m.StartedOut:
    response.status_code = 201 if started.created else 200
    response.headers["Location"] = location
    return m.StartedOut(
        id=started.id,
        workflow_id=started.workflow_id,
        run_id=started.run_id,
        created=started.created,
    )


def _recorded(business_id: str) -> Response:
    """202: recorded without waiting for a worker (a response, so not the route's model)."""
    return JSONResponse(m.Recorded(id=business_id).model_dump(), status_code=202)


def _given(body: m.Body, *names: str) -> dict[str, Any]:
    """The fields the client sent, to pass on only those (unset keeps a value)."""
    return {n: getattr(body, n) for n in names if n in body.model_fields_set}


def build_router(herald: Herald) -> APIRouter:
    r = APIRouter(prefix="/v1", responses=PROBLEMS)

    # ------------------------------------------------------------ subscribers

    @r.put("/subscribers/{subscriber_id}", tags=["subscribers"], response_model=Contact)
    async def upsert_subscriber(subscriber_id: str, body: m.SubscriberBody) -> Contact:
        """Create or update a person; fields left out keep their value."""
        fields = _given(body, "name", "email", "phone", "whatsapp", "locale", "timezone")
        return await herald.upsert_subscriber(subscriber_id, **fields)

    @r.get("/subscribers/{subscriber_id}", tags=["subscribers"], response_model=Contact)
    async def get_subscriber(subscriber_id: str) -> Contact:
        return await herald.get_subscriber(subscriber_id)

    @r.put(
        "/subscribers/{subscriber_id}/preferences",
        tags=["subscribers"],
        response_model=PreferenceSet,
    )
    async def set_preferences(subscriber_id: str, body: m.PreferencesBody) -> PreferenceSet:
        """Change the toggles given; the others keep their value."""
        return await herald.set_preferences(subscriber_id, **_given(body, *m.PREFERENCE_FIELDS))

    @r.get(
        "/subscribers/{subscriber_id}/preferences",
        tags=["subscribers"],
        response_model=PreferenceSet,
    )
    async def get_preferences(subscriber_id: str) -> PreferenceSet:
        return await herald.get_preferences(subscriber_id)

    @r.get(
        "/subscribers/{subscriber_id}/mailbox",
        tags=["subscribers"],
        response_model=MailboxStatus | None,
    )
    async def mailbox(subscriber_id: str) -> MailboxStatus | None:
        """What waits for the person's quiet hours or digest; null when nothing does."""
        return await herald.mailbox(subscriber_id)

    # ------------------------------------------------------------ loans

    @r.post(
        "/loans",
        tags=["loans"],
        status_code=201,
        response_model=m.StartedOut,
        responses={200: {"model": m.StartedOut, "description": "Already running: unchanged"}},
        description="Start the loan's workflow (201); a running loan answers 200 with "
        "`created: false`." + IDEMPOTENCY_DOC,
    )
    async def start_loan(body: m.StartLoanBody, response: Response) -> m.StartedOut:
        started = await herald.start_loan(
            body.loan_id,
            borrower_id=body.borrower_id,
            item=body.item,
            due_at=body.due_at,
            borrowed_at=body.borrowed_at,
            manager_id=body.manager_id,
        )
        return _started(response, started, f"/v1/loans/{started.id}")

    @r.get("/loans/{loan_id}", tags=["loans"], response_model=LoanStatus)
    async def loan_status(loan_id: str) -> LoanStatus:
        return await herald.loan_status(loan_id)

    @r.post(
        "/loans/{loan_id}/return",
        tags=["loans"],
        response_model=LoanStatus,
        responses={202: {"model": m.Recorded, "description": "Recorded (wait: false)"}},
    )
    async def return_loan(
        loan_id: str, body: m.ReturnLoanBody | None = None
    ) -> LoanStatus | Response:
        """Returned: reminders stop, the thank-you goes out."""
        body = body or m.ReturnLoanBody()
        status = await herald.return_loan(loan_id, returned_at=body.returned_at, wait=body.wait)
        if status is None:
            return _recorded(loan_id)
        return status

    @r.post("/loans/{loan_id}/extend", tags=["loans"], response_model=LoanStatus)
    async def extend_loan(loan_id: str, body: m.ExtendBody) -> LoanStatus:
        return await herald.extend_loan(loan_id, due_at=body.due_at)

    @r.post(
        "/loans/{loan_id}/notify",
        tags=["loans"],
        response_model=ManualNotifyResult,
        description="Send one of the loan's notices now, by hand: a new delivery each time, "
        "logged as sent by hand; the reminders stay as planned." + IDEMPOTENCY_DOC,
    )
    async def notify_loan(loan_id: str, body: m.NotifyLoanBody) -> ManualNotifyResult:
        return await herald.notify_loan(loan_id, kind=body.kind, manager=body.manager)

    @r.post("/loans/{loan_id}/cancel", tags=["loans"], response_model=m.Recorded)
    async def cancel_loan(loan_id: str) -> m.Recorded:
        """Stop without any message."""
        await herald.cancel_loan(loan_id)
        return m.Recorded(id=loan_id)

    # ------------------------------------------------------------ repairs

    @r.post(
        "/repairs",
        tags=["repairs"],
        status_code=201,
        response_model=m.StartedOut,
        responses={200: {"model": m.StartedOut, "description": "Already running: unchanged"}},
        description="Start the repair's workflow (201); a running one answers 200."
        + IDEMPOTENCY_DOC,
    )
    async def start_repair(body: m.StartRepairBody, response: Response) -> m.StartedOut:
        started = await herald.start_repair(
            body.repair_id,
            title=body.title,
            customer_id=body.customer_id,
            technician_id=body.technician_id,
            link=body.link,
        )
        return _started(response, started, f"/v1/repairs/{started.id}")

    @r.get("/repairs/{repair_id}", tags=["repairs"], response_model=RepairStatus)
    async def repair_status(repair_id: str) -> RepairStatus:
        return await herald.repair_status(repair_id)

    @r.post(
        "/repairs/{repair_id}/events",
        tags=["repairs"],
        response_model=AppliedEvent,
        responses={202: {"model": m.Recorded, "description": "Recorded (wait: false)"}},
    )
    async def repair_event(repair_id: str, body: m.RepairEventBody) -> AppliedEvent | Response:
        applied = await herald.repair_event(
            repair_id,
            body.type,
            event_id=body.event_id,
            technician_id=body.technician_id,
            reason=body.reason,
            batch_id=body.batch_id,
            batch_size=body.batch_size,
            reward_name=body.reward_name,
            reward_points=body.reward_points,
            wait=body.wait,
        )
        if applied is None:
            return _recorded(repair_id)
        return applied

    # ------------------------------------------------------------ follow-ups

    @r.post(
        "/followups",
        tags=["follow-ups"],
        status_code=201,
        response_model=m.StartedOut,
        responses={200: {"model": m.StartedOut, "description": "Already running: unchanged"}},
        description="Start the follow-up's workflow (201); a running one answers 200."
        + IDEMPOTENCY_DOC,
    )
    async def start_followup(body: m.StartFollowUpBody, response: Response) -> m.StartedOut:
        started = await herald.start_followup(
            body.followup_id,
            title=body.title,
            assignee_id=body.assignee_id,
            due_at=body.due_at,
            customer=body.customer,
            lead_id=body.lead_id,
            manager_ids=body.manager_ids,
            link=body.link,
        )
        return _started(response, started, f"/v1/followups/{started.id}")

    @r.get("/followups/{followup_id}", tags=["follow-ups"], response_model=FollowUpStatus)
    async def followup_status(followup_id: str) -> FollowUpStatus:
        return await herald.followup_status(followup_id)

    @r.post(
        "/followups/{followup_id}/complete",
        tags=["follow-ups"],
        response_model=FollowUpStatus,
        responses={202: {"model": m.Recorded, "description": "Recorded (wait: false)"}},
    )
    async def complete_followup(
        followup_id: str, body: m.CompleteBody | None = None
    ) -> FollowUpStatus | Response:
        body = body or m.CompleteBody()
        status = await herald.complete_followup(
            followup_id, completed_at=body.completed_at, wait=body.wait
        )
        if status is None:
            return _recorded(followup_id)
        return status

    @r.post(
        "/followups/{followup_id}/reschedule", tags=["follow-ups"], response_model=FollowUpStatus
    )
    async def reschedule_followup(followup_id: str, body: m.RescheduleBody) -> FollowUpStatus:
        return await herald.reschedule_followup(followup_id, due_at=body.due_at)

    @r.post("/followups/{followup_id}/reassign", tags=["follow-ups"], response_model=FollowUpStatus)
    async def reassign_followup(followup_id: str, body: m.ReassignBody) -> FollowUpStatus:
        return await herald.reassign_followup(followup_id, assignee_id=body.assignee_id)

    @r.post(
        "/followups/{followup_id}/notify",
        tags=["follow-ups"],
        response_model=ManualNotifyResult,
        description="Send one of the follow-up's notices now, by hand (followup.due_tomorrow, "
        "followup.overdue): a new delivery each time, logged as sent by hand; the reminders "
        "stay as planned." + IDEMPOTENCY_DOC,
    )
    async def notify_followup(followup_id: str, body: m.NotifyFollowUpBody) -> ManualNotifyResult:
        return await herald.notify_followup(followup_id, kind=body.kind, manager=body.manager)

    @r.post("/followups/{followup_id}/cancel", tags=["follow-ups"], response_model=m.Recorded)
    async def cancel_followup(followup_id: str) -> m.Recorded:
        await herald.cancel_followup(followup_id)
        return m.Recorded(id=followup_id)

    # ------------------------------------------------------------ CRM events

    @r.post(
        "/leads/{lead_id}/events",
        tags=["crm"],
        status_code=201,
        response_model=m.StartedOut,
        responses={200: {"model": m.StartedOut, "description": "Already received: nothing sent"}},
    )
    async def lead_event(lead_id: str, body: m.LeadEventBody, response: Response) -> m.StartedOut:
        started = await herald.lead_event(
            lead_id,
            body.type,
            **body.model_dump(exclude={"type"}),
        )
        return _started(response, started, f"/v1/leads/{lead_id}")

    @r.post(
        "/users/{user_id}/events",
        tags=["crm"],
        status_code=201,
        response_model=m.StartedOut,
        responses={200: {"model": m.StartedOut, "description": "Already received: nothing sent"}},
    )
    async def user_event(user_id: str, body: m.UserEventBody, response: Response) -> m.StartedOut:
        started = await herald.user_event(
            user_id,
            body.type,
            **body.model_dump(exclude={"type"}),
        )
        return _started(response, started, f"/v1/users/{user_id}")

    # ------------------------------------------------------------ staff alerts

    @r.post(
        "/notify",
        tags=["staff alerts"],
        status_code=202,
        response_model=m.NotifyOut,
        responses={200: {"model": m.NotifyOut, "description": "Sent and waited for (wait: true)"}},
    )
    async def notify(body: m.NotifyBody, response: Response) -> m.NotifyOut:
        """Send an admin template to people and whole groups (one delivery per person and
        channel); the same ``request_id`` twice sends once."""
        request_id, result = await herald.notify(
            body.template,
            user_ids=body.user_ids,
            group_names=body.group_names,
            context=body.context,
            priority=body.priority,
            channels=body.channels,
            link=body.link,
            request_id=body.request_id,
            wait=body.wait,
            event=body.event,
        )
        if result is not None:
            response.status_code = 200
        return m.NotifyOut(
            request_id=request_id,
            workflow_id=f"notify-{request_id}",
            result=result.model_dump(mode="json") if result is not None else None,
        )

    # ------------------------------------------------------------ groups

    @r.post(
        "/groups",
        tags=["groups"],
        status_code=201,
        response_model=m.GroupCreated,
        responses={200: {"model": m.GroupCreated, "description": "Already exists"}},
    )
    async def create_group(body: m.GroupBody, response: Response) -> m.GroupCreated:
        created = await herald.create_group(
            body.name, body.description, display_name=body.display_name
        )
        response.status_code = 201 if created else 200
        return m.GroupCreated(name=body.name, created=created)

    @r.get("/groups", tags=["groups"], response_model=list[GroupInfo])
    async def groups() -> list[GroupInfo]:
        return await herald.groups()

    @r.get("/groups/{name}/members", tags=["groups"], response_model=m.GroupMembers)
    async def group_members(name: str) -> m.GroupMembers:
        return m.GroupMembers(group=name, members=await herald.group_members(name))

    @r.post("/groups/{name}/members", tags=["groups"], response_model=m.MembersChanged)
    async def add_to_group(name: str, body: m.MembersBody) -> m.MembersChanged:
        changed = await herald.add_to_group(name, body.subscriber_ids)
        return m.MembersChanged(group=name, changed=changed)

    @r.delete("/groups/{name}/members", tags=["groups"], response_model=m.MembersChanged)
    async def remove_from_group(
        name: str,
        subscriber_id: Annotated[list[str], Query(description="Repeat for each person to remove")],
    ) -> m.MembersChanged:
        changed = await herald.remove_from_group(name, subscriber_id)
        return m.MembersChanged(group=name, changed=changed)

    # ------------------------------------------------------------ templates

    @r.put(
        "/templates/{name}/{locale}",
        tags=["templates"],
        status_code=201,
        response_model=m.TemplateSaved,
        responses={200: {"model": m.TemplateSaved, "description": "Replaced"}},
    )
    async def set_template(
        name: str, locale: str, body: m.TemplateBody, response: Response
    ) -> m.TemplateSaved:
        created = await herald.set_template(
            name, locale=locale, subject=body.subject, body=body.body, short=body.short
        )
        response.status_code = 201 if created else 200
        return m.TemplateSaved(name=name, locale=locale, created=created)

    @r.get("/templates", tags=["templates"], response_model=list[TemplateText])
    async def templates() -> list[TemplateText]:
        return await herald.templates()

    @r.post("/templates/{name}/preview", tags=["templates"], response_model=Notice)
    async def preview_template(name: str, body: m.PreviewBody) -> Notice:
        return await herald.preview_template(name, locale=body.locale, context=body.context)

    # ------------------------------------------------------------ API keys

    @r.get(
        "/api-keys",
        tags=["ops"],
        response_model=list[m.ApiKeyOut],
        dependencies=[Depends(require_ops)],
    )
    async def api_keys() -> list[m.ApiKeyOut]:
        """The API keys, by name, scope and public prefix (never a secret); ops only."""
        rows = await asyncio.to_thread(ApiKeys(herald.store).list)
        return [
            m.ApiKeyOut(
                name=k.name,
                scope=k.scope,  # type: ignore[arg-type]
                prefix=k.prefix,
                created_at=k.created_at,
                revoked_at=k.revoked_at,
                last_used_at=k.last_used_at,
            )
            for k in rows
        ]

    return r


async def readiness(herald: Herald, within: float = READY_TIMEOUT) -> dict[str, str]:
    """Each part Herald needs and whether it answers within ``within`` seconds."""
    timeout = within

    async def temporal() -> str:
        client = await herald.temporal()
        await client.workflow_service.get_system_info(
            GetSystemInfoRequest(), timeout=timedelta(seconds=timeout)
        )
        return "ok"

    def database() -> str:
        with herald.store.session() as s:
            s.execute(text("SELECT 1"))
        return "ok"

    async def check(part: Any) -> str:
        try:
            return await asyncio.wait_for(part, timeout)
        except TimeoutError:
            return f"no answer within {timeout:g} s"
        except Exception as err:  # noqa: BLE001 - reported, not raised
            problem = from_exception(err)
            return problem.detail if problem else f"{type(err).__name__}"

    temporal_state, database_state = await asyncio.gather(
        check(temporal()), check(asyncio.to_thread(database))
    )
    return {"temporal": temporal_state, "database": database_state}


def _problem_response(err: ProblemError) -> Response:
    return Response(
        problem_body(err.status, err.slug, err.detail, err.field),
        status_code=err.status,
        media_type=MEDIA_TYPE,
        headers=err.headers,
    )


def create_app(
    herald: Herald,
    settings: Settings | None = None,
    *,
    host: str = "127.0.0.1",
    max_body: int = MAX_BODY,
    ready_timeout: float = READY_TIMEOUT,
) -> FastAPI:
    """The API over ``herald``, to be served on ``host``.

    With no active API key, requests need none, but only on the loopback: beyond it,
    :class:`ApiRefused` is raised here rather than serve the world without keys."""
    settings = settings or herald.settings
    keys = ApiKeys(herald.store)
    loopback = is_loopback(host)
    if not loopback and not keys.any_active():
        raise ApiRefused(
            f"no API key exists: create one ('herald api-key create NAME') before serving on "
            f"{host}, or serve on 127.0.0.1"
        )
    app = FastAPI(
        title="Herald",
        version="1",
        summary="Durable notifications on Temporal",
        description="Every operation of Herald's Python client, over HTTP. Authenticate with "
        "`Authorization: Bearer <key>` (`herald api-key create NAME`). Errors are RFC 9457 "
        "`application/problem+json`." + IDEMPOTENCY_DOC,
        redoc_url=None,
    )

    @app.exception_handler(ProblemError)
    async def on_problem(_: Request, err: ProblemError) -> Response:
        return _problem_response(err)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, err: RequestValidationError) -> Response:
        errors = list(err.errors())
        first = errors[0] if errors else {}
        loc = [str(p) for p in first.get("loc", ())]
        where = loc[0] if loc else "body"
        if loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:]
        field = ".".join(loc) or None
        if first.get("type") == "json_invalid":
            reason = (first.get("ctx") or {}).get("error", "invalid JSON")
            return _problem_response(
                ProblemError(400, "malformed-body", f"the body is not valid JSON: {reason}")
            )
        content_type = request.headers.get("content-type", "")
        if where == "body" and field is None and "json" not in content_type:
            return _problem_response(
                ProblemError(
                    415,
                    "unsupported-media-type",
                    "send the body as a JSON object with Content-Type: application/json",
                )
            )
        message = str(first.get("msg", "invalid request"))
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        detail = f"{field}: {message}{more}" if field else f"{message}{more}"
        slug = "invalid-body" if where == "body" else "invalid-parameter"
        return _problem_response(ProblemError(422, slug, detail, field=field))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_: Request, err: StarletteHTTPException) -> Response:
        slug = {400: "malformed-body", 404: "not-found", 405: "method-not-allowed"}.get(
            err.status_code, "invalid-input"
        )
        detail = "no such route" if err.status_code == 404 else str(err.detail)
        problem = ProblemError(err.status_code, slug, detail, headers=dict(err.headers or {}))
        return _problem_response(problem)

    async def on_herald(_: Request, err: Exception) -> Response:
        problem = from_exception(err)
        if problem is None:  # not one of Herald's: the gate logs it and answers 500
            raise err
        return _problem_response(problem)

    app.add_exception_handler(HeraldError, on_herald)
    app.add_exception_handler(OperationalError, on_herald)
    app.add_exception_handler(InterfaceError, on_herald)

    @app.get("/healthz", tags=["health"], response_model=m.Health)
    async def healthz() -> m.Health:
        """The process is up (checks nothing else)."""
        return m.Health(status="ok")

    @app.get(
        "/readyz",
        tags=["health"],
        response_model=m.Readiness,
        responses={503: {"model": m.Readiness, "description": "A part is unreachable"}},
    )
    async def readyz() -> Response:
        """Temporal and the database each answer within a few seconds."""
        checks = await readiness(herald, ready_timeout)
        ok = all(v == "ok" for v in checks.values())
        doc = m.Readiness(status="ok" if ok else "unavailable", checks=checks)
        return JSONResponse(
            doc.model_dump(),
            status_code=200 if ok else 503,
            headers=None if ok else {"Retry-After": "5"},
        )

    app.include_router(build_router(herald))
    app.include_router(build_brand_router(settings))
    app.include_router(build_verification_router(herald, problems=PROBLEMS))
    app.include_router(build_inbox_router(herald, problems=PROBLEMS))
    app.include_router(build_summary_router(herald, problems=PROBLEMS))
    app.include_router(build_staff_setup_router(herald, problems=PROBLEMS))
    app.include_router(
        build_staff_channel_router(herald, require_ops=require_ops, problems=PROBLEMS)
    )
    app.include_router(build_feedback_router(herald, require_ops=require_ops, problems=PROBLEMS))
    app.include_router(
        build_delivery_log_router(herald, require_ops=require_ops, problems=PROBLEMS)
    )
    app.include_router(build_notice_router(herald, require_ops=require_ops, problems=PROBLEMS))
    app.include_router(build_stats_router(herald, require_ops=require_ops, problems=PROBLEMS))
    app.include_router(build_provider_hooks(herald, settings, announce=webhook_announcer(herald)))
    app.include_router(webhook_router(herald, require_ops=require_ops, problems=PROBLEMS))
    app.include_router(build_ops_router(herald, require_ops=require_ops, problems=PROBLEMS))
    app.include_router(build_metrics_router(herald, principal=principal))
    for router in build_me_routers(herald, settings, problems=PROBLEMS):
        app.include_router(router)
    app.include_router(build_ui_router(settings))
    app.mount("/console", build_console(herald, settings))
    app.add_middleware(
        Gate,
        keys=keys,
        idempotency=IdempotencyStore(herald.store),
        loopback_only=loopback,
        max_body=max_body,
        metrics_token=(
            settings.metrics_token.get_secret_value() if settings.metrics_token else None
        ),
    )
    app.add_middleware(BrowserCors, origins=settings.cors_origins)  # outside the gate
    app.state.settings = settings
    return app
