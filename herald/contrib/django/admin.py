"""The outbox in the Django admin: what is pending, sent or failed, and why."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from .models import OutboxItem
from .relay import retry_failed


@admin.register(OutboxItem)
class OutboxItemAdmin(admin.ModelAdmin):  # type: ignore[type-arg,unused-ignore]
    list_display = (
        "id",
        "object_key",
        "method",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "created_at",
        "sent_at",
    )
    list_filter = ("status", "method")
    search_fields = ("object_key", "idempotency_key")
    readonly_fields = ("created_at", "sent_at", "claimed_until", "idempotency_key")
    ordering = ("-id",)
    actions = ["retry"]

    @admin.action(description="Retry the selected failed items")
    def retry(self, request: Any, queryset: Any) -> None:
        count = retry_failed(queryset)
        self.message_user(request, f"{count} failed item(s) queued again.")
