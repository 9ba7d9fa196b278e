"""Activities: every piece of I/O the workflows need."""

from activities.delivery import DeliveryActivities
from activities.verification import VerificationActivities
from activities.webhooks import WebhookActivities

__all__ = ["DeliveryActivities", "VerificationActivities", "WebhookActivities"]
