"""A channel's failover chain: its providers tried in order, as the worker and a test send
(``herald test``) both do."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from temporalio.exceptions import CancelledError

from herald.channels.base import (
    FAILURE_MESSAGE_LIMIT,
    OutgoingMessage,
    PermanentSendError,
    Provider,
    Receipt,
    SendError,
    TransientSendError,
    bounded_text,
)
from herald.channels.failures import classify_failure


def send_through_chain(
    chain: Sequence[Provider],
    message: OutgoingMessage,
    *,
    walk_chain: bool,
    on_failure: Callable[[Provider, SendError], None] | None = None,
) -> Receipt:
    """Try ``chain`` in order; the first provider's receipt that accepts the message.

    A provider's own permanent failure (auth, unverified sender, region not enabled) moves
    on at once; a recipient's (invalid number, opted out) stops the chain: no other provider
    would do better. A transient failure of the first provider stops the chain unless
    ``walk_chain`` (the worker retries the first provider alone for a few attempts).
    ``on_failure`` hears each provider's classified failure.
    """
    if not chain:
        raise PermanentSendError(f"no {message.channel.value} provider configured")
    transient: list[TransientSendError] = []
    failures: list[str] = []
    for index, provider in enumerate(chain):
        try:
            return provider.send(message)
        except CancelledError:
            raise
        except Exception as exc:
            err = classify_failure(exc)
            failures.append(f"{provider.name}: {err.reason}")
            if on_failure is not None:
                on_failure(provider, err)
            if isinstance(err, PermanentSendError):
                if err.recipient_fault:
                    raise PermanentSendError(
                        bounded_text("; ".join(failures), FAILURE_MESSAGE_LIMIT),
                        recipient_fault=True,
                        code=err.code,
                    ) from err
                continue
            assert isinstance(err, TransientSendError)
            transient.append(err)
            if index == 0 and not walk_chain:
                break
    if transient:
        delays = [e.retry_after for e in transient if e.retry_after]
        raise TransientSendError(
            bounded_text("; ".join(failures), FAILURE_MESSAGE_LIMIT),
            retry_after=min(delays) if delays else None,
        )
    raise PermanentSendError(
        bounded_text("; ".join(failures), FAILURE_MESSAGE_LIMIT), recipient_fault=False
    )
