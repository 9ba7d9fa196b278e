"""Activities: every piece of I/O the workflows need."""

from activities.delivery import DeliveryActivities

__all__ = ["DeliveryActivities"]
