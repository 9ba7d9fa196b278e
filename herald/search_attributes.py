"""Search attributes Herald sets for ops in the Temporal UI. Opaque IDs only, never contacts."""

from temporalio.common import SearchAttributeKey

# Loans
LOAN_STATUS = SearchAttributeKey.for_keyword("LoanStatus")
DUE_AT = SearchAttributeKey.for_datetime("DueAt")
NEXT_REMINDER_AT = SearchAttributeKey.for_datetime("NextReminderAt")
BORROWER_ID = SearchAttributeKey.for_keyword("BorrowerId")

# Repairs
REPAIR_STATUS = SearchAttributeKey.for_keyword("RepairStatus")
TECHNICIAN_ID = SearchAttributeKey.for_keyword("TechnicianId")
CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")

# CRM follow-ups
FOLLOWUP_STATUS = SearchAttributeKey.for_keyword("FollowUpStatus")
ASSIGNEE_ID = SearchAttributeKey.for_keyword("AssigneeId")

ALL_KEYS = (
    LOAN_STATUS,
    DUE_AT,
    NEXT_REMINDER_AT,
    BORROWER_ID,
    REPAIR_STATUS,
    TECHNICIAN_ID,
    CUSTOMER_ID,
    FOLLOWUP_STATUS,
    ASSIGNEE_ID,
)
