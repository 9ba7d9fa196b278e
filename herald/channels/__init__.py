"""Channel providers, chosen per channel from settings."""

from __future__ import annotations

from herald.channels.base import (
    OutgoingMessage,
    PermanentSendError,
    Provider,
    Receipt,
    SendError,
    TransientSendError,
    WhatsAppTemplate,
)
from herald.channels.devproviders import ConsoleProvider, OutboxProvider
from herald.channels.smtp import SmtpProvider
from herald.kinds import ALL_CHANNELS, Channel
from herald.settings import Settings
from herald.store import Store


def build_provider(
    name: str, channel: Channel, settings: Settings, store: Store | None = None
) -> Provider:
    """One provider by name, configured from settings (credentials from the environment).

    ``store``: the worker's own, for the in-app inbox (else one is opened for it)."""
    if name == "outbox":
        return OutboxProvider(settings.resolved_outbox_dir, settings.email_from)
    if name == "console":
        return ConsoleProvider()
    if name == "smtp":
        return SmtpProvider(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.email_from,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
            use_ssl=settings.smtp_ssl,
            timeout=settings.smtp_timeout,
            reply_to=settings.email_reply_to,
        )
    # Imported on demand: a deployment pays only for the SDKs it uses.
    if name == "ses":
        from herald.channels.ses import SesProvider

        return SesProvider.from_settings(settings)
    if name == "sns":
        from herald.channels.sns import SnsProvider

        return SnsProvider.from_settings(settings)
    if name == "twilio":
        from herald.channels.twilio import TwilioProvider

        return TwilioProvider.from_settings(settings, channel)
    if name == "meta":
        from herald.channels.meta import MetaWhatsAppProvider

        return MetaWhatsAppProvider.from_settings(settings)
    if name == "database":
        from herald.channels.inbox import InboxProvider

        return InboxProvider(store or Store.from_url(settings.resolved_database_url))
    raise ValueError(f"unknown provider {name!r} for {channel.value}")


def build_providers(
    settings: Settings, store: Store | None = None
) -> dict[Channel, list[Provider]]:
    """The failover chain of each configured channel; a channel set to ``none`` is absent."""
    chains: dict[Channel, list[Provider]] = {}
    for channel in ALL_CHANNELS:
        names = settings.provider_chain(channel)
        if names:
            chains[channel] = [build_provider(name, channel, settings, store) for name in names]
    return chains


__all__ = [
    "Channel",
    "ConsoleProvider",
    "OutboxProvider",
    "OutgoingMessage",
    "PermanentSendError",
    "Provider",
    "Receipt",
    "SendError",
    "SmtpProvider",
    "TransientSendError",
    "WhatsAppTemplate",
    "build_provider",
    "build_providers",
]
