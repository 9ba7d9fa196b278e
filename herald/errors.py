"""Errors shared by the client, the CLI and the worker."""


class HeraldError(Exception):
    """Base class for Herald's own errors."""


class InvalidInput(HeraldError, ValueError):
    """Input refused at the edge: nothing was started or changed."""


class NotFound(HeraldError, LookupError):
    """The loan, subscriber or delivery does not exist."""


class TemplateProblem(HeraldError):
    """A template is missing or refers to an undefined variable."""
