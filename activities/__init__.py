"""Activities: every piece of I/O the workflows need."""

from activities.delivery import DeliveryActivities
from activities.webhooks import WebhookActivities

__all__ = ["DeliveryActivities", "WebhookActivities"]
