"""Search attributes Herald sets for ops in the Temporal UI. Opaque IDs only, never contacts."""

from temporalio.common import SearchAttributeKey

LOAN_STATUS = SearchAttributeKey.for_keyword("LoanStatus")
DUE_AT = SearchAttributeKey.for_datetime("DueAt")
NEXT_REMINDER_AT = SearchAttributeKey.for_datetime("NextReminderAt")
BORROWER_ID = SearchAttributeKey.for_keyword("BorrowerId")

ALL_KEYS = (LOAN_STATUS, DUE_AT, NEXT_REMINDER_AT, BORROWER_ID)
