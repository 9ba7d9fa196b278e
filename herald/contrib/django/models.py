"""The outbox: one row per hand-off to Herald, written in the application's transaction."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

ERROR_LIMIT = 1000


class OutboxItem(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    id = models.BigAutoField(primary_key=True)
    # A starter.client.Herald method name and its keyword arguments as JSON (datetimes as
    # ISO 8601 text with their offset).
    method = models.CharField(max_length=64)
    arguments = models.JSONField(default=dict)
    # Items of one object ("loan:L1") are delivered in the order they were written.
    object_key = models.CharField(max_length=255)
    idempotency_key = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=ERROR_LIMIT, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "outbox item"
        indexes = [
            models.Index(fields=["status", "id"], name="herald_outbox_status_id"),
            models.Index(fields=["object_key", "id"], name="herald_outbox_object_id"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.object_key} ({self.status})"
