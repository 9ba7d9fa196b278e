"""Digests: the notices a person's mailbox collected, each rendered short, as of now."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from herald.channels import PermanentSendError
from herald.contracts import DeliveryRequest, DeliveryStatus
from herald.kinds import kind_info
from herald.rendering import TemplateError, format_datetime
from herald.store import Contact
from herald.subjects import Subject, SubjectEnv, register

log = logging.getLogger(__name__)

# Items listed one by one in a digest; the rest are counted.
DIGEST_LISTED = 50


class Digest(Subject):
    type = "digest"
    variable = "digest"

    def context(
        self, request: DeliveryRequest, recipient: Contact, base: dict[str, Any], env: SubjectEnv
    ) -> dict[str, Any]:
        d = request.data
        tz, loc = recipient.timezone, recipient.locale
        items: list[dict[str, Any]] = []
        for entry in d["items"][:DIGEST_LISTED]:
            item = DeliveryRequest.model_validate(entry)
            try:
                rendered = env.renderer.render(
                    item.kind, loc, env.context_of(item, recipient), email=False
                )
                subject, short = rendered.subject, rendered.short
            except (TemplateError, PermanentSendError, KeyError, ValueError) as err:
                # One broken notice must not cost the person the whole digest.
                log.warning(
                    "digest %s: %s not rendered: %s", request.notification_id, item.kind, err
                )
                subject, short = kind_info(item.kind).description, ""
            items.append(
                {
                    "kind": item.kind,
                    "subject": subject,
                    "short": short,
                    "priority": item.priority or kind_info(item.kind).priority,
                    "at": format_datetime(item.scheduled_at, tz, loc),
                    "link": item.data.get("link"),
                }
            )
        start = d.get("period_start")
        end = datetime.fromisoformat(d["period_end"])
        return {
            "digest": {
                "period": d["period"],
                "period_start": format_datetime(
                    datetime.fromisoformat(start) if start else end, tz, loc
                ),
                "period_end": format_datetime(end, tz, loc),
                "count": len(d["items"]),
                "items": items,
                "more": max(len(d["items"]) - DIGEST_LISTED, 0),
            }
        }

    def planned(self, request: DeliveryRequest, env: SubjectEnv) -> None:
        """The collected notices' rows are settled: they went out in this digest."""
        env.store.settle_held(
            request.data.get("held_keys", []),
            status=DeliveryStatus.DIGESTED,
            note=f"sent in digest {request.notification_id}",
        )


register(Digest())
