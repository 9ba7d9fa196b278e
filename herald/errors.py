"""Errors shared by the service layer, its front doors (client, CLI, HTTP API) and the worker."""


class HeraldError(Exception):
    """Base class for Herald's own errors."""


class InvalidInput(HeraldError, ValueError):
    """Input refused at the edge: nothing was started or changed."""


class Conflict(InvalidInput):
    """The object's state forbids the change: it has ended, or its id was used already."""


class NotFound(HeraldError, LookupError):
    """The loan, subscriber or delivery does not exist."""


class Unavailable(HeraldError):
    """Temporal, a worker or the database cannot be reached now: the same call may succeed
    later (calls keyed by a business id or request id are safe to repeat)."""


class TemplateProblem(HeraldError):
    """A template is missing or refers to an undefined variable."""
