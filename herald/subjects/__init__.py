"""What a notice is about: one module per subject type, each with its own rules.

A :class:`Subject` builds the template variables of its notices (``context``) and says
whether a held notice must not go out any more (``obsolete``): the loan it reminds of was
returned, the follow-up reassigned... The delivery activities ask :func:`subject_for`;
adding a subject type is a new module here, registered with :func:`register`, and nothing
else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from herald.admin_templates import AdminTemplateRenderer
from herald.contracts import DeliveryRequest
from herald.kinds import STALE_WHEN_CLOSED
from herald.rendering import Renderer
from herald.store import Contact, Store

M = TypeVar("M", bound=BaseModel)

UNKNOWN_SUBJECT_ERROR = "UnknownSubject"


class Workflows(Protocol):
    """What a subject may read of the workflow that sent a notice."""

    def running(self, workflow_id: str) -> bool | None:
        """Whether the workflow still runs; ``None`` when Temporal does not know it."""

    def status(self, workflow_id: str, result_type: type[M]) -> M:
        """The workflow's ``status`` query."""


@dataclass
class SubjectEnv:
    """What the delivery activities lend a subject: the directory, the renderers, the
    workflows (only where a Temporal client is at hand) and the full context of another
    notice (a digest renders the notices it collected)."""

    store: Store
    renderer: Renderer
    admin_templates: AdminTemplateRenderer
    context_of: Callable[[DeliveryRequest, Contact], dict[str, Any]]
    workflows: Workflows | None = None
    # An event for the application's webhooks (herald.outbound.publish_sync): type, data
    # and the key that makes a retried activity record it once.
    publish: Callable[..., str | None] | None = None

    def name(self, subscriber_id: str | None, known: Contact | None = None) -> str | None:
        """A person's display name; ``known`` (the recipient, already read) saves a lookup."""
        if not subscriber_id:
            return None
        if known is not None and known.id == subscriber_id:
            return known.display_name
        contact = self.store.get_contact(subscriber_id)
        return contact.display_name if contact else subscriber_id

    def require_workflows(self, why: str) -> Workflows:
        if self.workflows is None:
            raise ApplicationError(
                f"this worker has no Temporal client to {why}", non_retryable=True
            )
        return self.workflows


class Subject:
    """The rules of one subject type. Subclasses set ``type`` and ``variable`` (the name the
    templates know it by) and build that variable in :meth:`context`."""

    type: ClassVar[str]
    variable: ClassVar[str]

    def context(
        self,
        request: DeliveryRequest,
        recipient: Contact,
        base: dict[str, Any],
        env: SubjectEnv,
    ) -> dict[str, Any]:
        """The template variables this subject adds to ``base`` (kind, recipient, brand)."""
        raise NotImplementedError

    def obsolete(self, request: DeliveryRequest, env: SubjectEnv) -> str | None:
        """Why a held notice must not go out any more, if it must not. By default: a
        reminder whose workflow closed while it waited."""
        if request.kind not in STALE_WHEN_CLOSED:
            return None
        return closed(request, env)

    def planned(self, request: DeliveryRequest, env: SubjectEnv) -> None:
        """Called once a notice's channels are decided and before they are logged."""


def closed(request: DeliveryRequest, env: SubjectEnv) -> str | None:
    """Why the notice's workflow can no longer want it sent: closed or unknown."""
    workflows = env.require_workflows("check a held notice's subject")
    what = f"{request.subject_type} {request.subject_id}"
    running = workflows.running(request.workflow_id)
    if running is None:
        return f"{what} is no longer known to Temporal"
    if not running:
        return f"{what} was closed while the notice waited"
    return None


def moved(request: DeliveryRequest, due_at: datetime) -> bool:
    """The subject's due time is no longer the one the notice announced."""
    announced = request.data.get("due_at")
    return isinstance(announced, str) and datetime.fromisoformat(announced) != due_at


_REGISTRY: dict[str, Subject] = {}


def register(subject: Subject) -> Subject:
    """Make ``subject`` the rules of its type; a type is registered once."""
    if subject.type in _REGISTRY and _REGISTRY[subject.type] is not subject:
        raise ValueError(f"subject type {subject.type!r} is already registered")
    _REGISTRY[subject.type] = subject
    return subject


def subject_for(subject_type: str) -> Subject:
    """The rules of ``subject_type``; a permanent error for a type nobody registered (a
    retry would not make it known)."""
    try:
        return _REGISTRY[subject_type]
    except KeyError:
        raise ApplicationError(
            f"unknown subject type {subject_type!r}: known types are "
            f"{', '.join(sorted(_REGISTRY))}",
            type=UNKNOWN_SUBJECT_ERROR,
            non_retryable=True,
        ) from None


def subject_types() -> frozenset[str]:
    return frozenset(_REGISTRY)


# The subjects Herald knows; each module registers itself.
from herald.subjects import (  # noqa: E402
    digest,
    followup,
    lead,
    loan,
    repair,
    staff,
    summary,
    system,
    user,
)

__all__ = [
    "UNKNOWN_SUBJECT_ERROR",
    "Subject",
    "SubjectEnv",
    "Workflows",
    "closed",
    "digest",
    "followup",
    "lead",
    "loan",
    "moved",
    "register",
    "repair",
    "staff",
    "subject_for",
    "subject_types",
    "summary",
    "system",
    "user",
]
