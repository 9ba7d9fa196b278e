"""How applications talk to Herald: the async client, its sync facade and the CLI."""

from starter.client import Herald, LoanStarted, Started
from starter.sync import SyncHerald

__all__ = ["Herald", "LoanStarted", "Started", "SyncHerald"]
