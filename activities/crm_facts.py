"""The CRM facts' I/O: the follow-up and CRM event workflows record what changed, the daily
summary workflow reads a person's facts and setting (see :mod:`herald.crm_facts` and
:mod:`herald.daily_summary`)."""

from __future__ import annotations

import logging

from temporalio import activity

from herald import crm_store
from herald.crm_facts import (
    RECORD_FOLLOWUP,
    RECORD_LEAD_ASSIGNMENT,
    FollowUpFact,
    LeadAssignmentFact,
)
from herald.daily_summary import GATHER_DAILY_SUMMARY, Gathered, GatherInput, assemble
from herald.store import Store

log = logging.getLogger(__name__)


class CrmFactsActivities:
    def __init__(self, store: Store) -> None:
        self.store = store

    @activity.defn(name=RECORD_FOLLOWUP)
    def record_followup(self, fact: FollowUpFact) -> None:
        crm_store.record_followup(self.store, fact)

    @activity.defn(name=RECORD_LEAD_ASSIGNMENT)
    def record_lead_assignment(self, fact: LeadAssignmentFact) -> bool:
        kept = crm_store.record_lead_assignment(self.store, fact)
        if not kept:
            log.info(
                "lead %s: assignment to %s by event %s is older than the one known; kept that",
                fact.lead_id,
                fact.assignee_id,
                fact.event_id,
            )
        return kept

    @activity.defn(name=GATHER_DAILY_SUMMARY)
    def gather_daily_summary(self, inp: GatherInput) -> Gathered:
        """The person's setting as it stands, and their summary for ``inp.window``."""
        followups, leads = crm_store.summary_candidates(self.store, inp.subscriber_id, inp.window)
        return Gathered(
            setting=crm_store.summary_setting(self.store, inp.subscriber_id),
            facts=assemble(inp.subscriber_id, inp.window, followups, leads),
        )
