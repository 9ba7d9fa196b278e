"""Herald: durable notifications on Temporal."""

__version__ = "0.1.0"
