"""Errors shared by the service layer, its front doors (client, CLI, HTTP API) and the worker."""


class HeraldError(Exception):
    """Base class for Herald's own errors."""


class InvalidInput(HeraldError, ValueError):
    """Input refused at the edge: nothing was started or changed."""


class Conflict(InvalidInput):
    """Refused because of the object's state, not the input's shape: the loan, repair or
    follow-up has ended, or the id was already used by one that ended."""


class NotFound(HeraldError, LookupError):
    """The loan, subscriber or delivery does not exist."""


class Unavailable(HeraldError):
    """Temporal, a worker or the database cannot be reached now: the same call may succeed
    later (calls keyed by a business id or request id are safe to repeat)."""


class TemplateProblem(HeraldError):
    """A template is missing or refers to an undefined variable."""


class ProviderFailed(HeraldError):
    """Every provider of a channel refused or failed a message; the reason is each one's
    classified failure (``twilio: invalid number``)."""


class TokenRefused(HeraldError):
    """A subscriber token that is missing, malformed, forged, expired or not Herald's: the
    browser's routes answer 401 and the page asks its application for a new token."""
