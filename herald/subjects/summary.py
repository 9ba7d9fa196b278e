"""The personal daily summary: the ``summary`` variable, each follow-up and lead formatted
for the person's language and time zone. A summary is news whenever it arrives."""

from __future__ import annotations

from typing import Any

from herald.contracts import DeliveryRequest
from herald.crm_facts import FollowUpFact, LeadAssignmentFact
from herald.daily_summary import DailySummaryFacts
from herald.rendering import format_date, format_datetime, format_duration, format_time
from herald.store import Contact
from herald.subjects import Subject, SubjectEnv, register


class DailySummary(Subject):
    type = "daily_summary"
    variable = "summary"

    def context(
        self, request: DeliveryRequest, recipient: Contact, base: dict[str, Any], env: SubjectEnv
    ) -> dict[str, Any]:
        facts = DailySummaryFacts.model_validate(request.data)
        tz, loc = recipient.timezone, recipient.locale
        now = facts.window.at

        def followup(f: FollowUpFact) -> dict[str, Any]:
            late = (now - f.due_at).total_seconds()
            return {
                "id": f.followup_id,
                "title": f.title,
                "customer": f.customer,
                "lead_id": f.lead_id,
                "due_at": format_datetime(f.due_at, tz, loc),
                "due_time": format_time(f.due_at, tz),
                "overdue_by": format_duration(late, loc) if late > 0 else None,
                "completed_at": format_datetime(f.completed_at, tz, loc)
                if f.completed_at
                else None,
                "link": f.link,
            }

        def lead(a: LeadAssignmentFact) -> dict[str, Any]:
            return {
                "id": a.lead_id,
                "name": a.name or a.lead_id,
                "company": a.company,
                "assigned_at": format_datetime(a.assigned_at, tz, loc),
                "link": a.link,
            }

        parts = {
            "due": ([followup(f) for f in facts.due], facts.due_count),
            "overdue": ([followup(f) for f in facts.overdue], facts.overdue_count),
            "completed": ([followup(f) for f in facts.completed], facts.completed_count),
            "leads": ([lead(a) for a in facts.leads], facts.leads_count),
        }
        summary: dict[str, Any] = {
            "day": format_date(facts.window.day, loc),
            "at": format_datetime(now, tz, loc),
            "since": format_datetime(facts.window.since, tz, loc),
            "total": sum(count for _, count in parts.values()),
            "more": {name: count - len(items) for name, (items, count) in parts.items()},
        }
        for name, (items, count) in parts.items():
            summary[name] = items
            summary[f"{name}_count"] = count
        return {"summary": summary}


register(DailySummary())
