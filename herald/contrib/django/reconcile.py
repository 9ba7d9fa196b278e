"""Repair the drift between the application's loans and Herald's.

``HERALD["OPEN_LOANS"]`` names a callable returning the application's open loans as dicts
(``loan_id``, ``borrower_id``, ``item``, ``due_at`` and optionally ``borrowed_at`` and
``manager_id``). An open loan Herald does not know is started; a loan Herald has as active
that is no longer open here (known from the outbox, or listed by the optional
``HERALD["CLOSED_LOANS"]`` callable as dicts with ``loan_id`` and ``returned_at``, or
``cancelled: True``) is returned. Repairs go through the outbox, so they keep their place
behind anything still pending for the same loan, and are then delivered.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.utils.module_loading import import_string

from herald.errors import HeraldError, NotFound

from . import enqueue
from .conf import HeraldConfig, herald_config
from .models import OutboxItem
from .relay import DrainReport, Relay
from .transport import Transport, transport_from_settings

RUNNING = ("ACTIVE", "OVERDUE")


@dataclass
class ReconcileResult:
    lines: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    delivery: DrainReport | None = None

    @property
    def summary(self) -> str:
        text = (
            f"started {len(self.started)}, returned {len(self.returned)}, "
            f"cancelled {len(self.cancelled)}, not checked {len(self.unchecked)}"
        )
        return f"{text}; {self.delivery}" if self.delivery is not None else text


def _state(status: Any) -> str:
    state = status.get("state") if isinstance(status, dict) else getattr(status, "state", None)
    return str(getattr(state, "value", state))


def _key() -> str:
    return f"reconcile-{uuid.uuid4().hex}"


def reconcile(
    transport: Transport | None = None,
    *,
    apply: bool = True,
    config: HeraldConfig | None = None,
) -> ReconcileResult:
    config = config or herald_config()
    if not config.open_loans:
        raise HeraldError('HERALD["OPEN_LOANS"] is not set: name a callable returning open loans')
    if transport is not None:
        return _reconcile(transport, apply, config)
    own = transport_from_settings(config)
    try:
        return _reconcile(own, apply, config)
    finally:
        own.close()


def _reconcile(transport: Transport, apply: bool, config: HeraldConfig) -> ReconcileResult:
    assert config.open_loans is not None
    result = ReconcileResult()
    items = OutboxItem.objects.using(config.database)
    in_flight = set(
        items.filter(status=OutboxItem.Status.PENDING).values_list("object_key", flat=True)
    )

    def status_of(loan_id: str) -> Any:
        try:
            return transport.call("loan_status", {"loan_id": loan_id}, idempotency_key=_key())
        except NotFound:
            return None

    open_loans = {str(loan["loan_id"]): dict(loan) for loan in import_string(config.open_loans)()}
    for loan_id, loan in open_loans.items():
        if f"loan:{loan_id}" in in_flight:
            continue  # a hand-off is on its way: not drift
        try:
            status = status_of(loan_id)
        except (HeraldError, TimeoutError) as err:
            result.unchecked.append(loan_id)
            result.lines.append(f"could not check loan {loan_id}: {err}")
            continue
        if status is None:
            result.started.append(loan_id)
            result.lines.append(f"start loan {loan_id}: open here, unknown to Herald")
            if apply:
                fields = {k: v for k, v in loan.items() if k != "loan_id" and v is not None}
                enqueue.start_loan(loan_id, idempotency_key=_key(), using=config.database, **fields)
        elif _state(status) not in RUNNING:
            result.lines.append(
                f"loan {loan_id} is open here but {_state(status).lower()} in Herald: left alone"
            )

    closed: dict[str, dict[str, Any]] = {}
    if config.closed_loans:
        closed = {str(loan["loan_id"]): dict(loan) for loan in import_string(config.closed_loans)()}
    known = {
        key.split(":", 1)[1]
        for key in items.filter(
            method="start_loan", status=OutboxItem.Status.SENT, object_key__startswith="loan:"
        ).values_list("object_key", flat=True)
    }
    for loan_id in sorted((known | set(closed)) - set(open_loans)):
        if f"loan:{loan_id}" in in_flight:
            continue
        try:
            status = status_of(loan_id)
        except (HeraldError, TimeoutError) as err:
            result.unchecked.append(loan_id)
            result.lines.append(f"could not check loan {loan_id}: {err}")
            continue
        if status is None or _state(status) not in RUNNING:
            continue
        info = closed.get(loan_id, {})
        if info.get("cancelled"):
            result.cancelled.append(loan_id)
            result.lines.append(f"cancel loan {loan_id}: cancelled here, active in Herald")
            if apply:
                enqueue.cancel_loan(loan_id, idempotency_key=_key(), using=config.database)
        else:
            result.returned.append(loan_id)
            result.lines.append(f"return loan {loan_id}: returned here, active in Herald")
            if apply:
                enqueue.return_loan(
                    loan_id,
                    returned_at=info.get("returned_at"),
                    idempotency_key=_key(),
                    using=config.database,
                )
    if apply and (result.started or result.returned or result.cancelled):
        result.delivery = Relay(transport, config=config).drain()
    return result
