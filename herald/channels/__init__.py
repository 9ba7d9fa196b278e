"""Channel providers, chosen per channel from settings."""

from __future__ import annotations

from herald.channels.base import (
    OutgoingMessage,
    PermanentSendError,
    Provider,
    Receipt,
    SendError,
    TransientSendError,
)
from herald.channels.devproviders import ConsoleProvider, OutboxProvider
from herald.channels.smtp import SmtpProvider
from herald.kinds import Channel
from herald.settings import Settings


def build_providers(settings: Settings) -> dict[Channel, Provider]:
    """The provider for each configured channel; a channel set to ``none`` is absent."""
    providers: dict[Channel, Provider] = {}
    names = {
        Channel.EMAIL: settings.email_provider,
        Channel.SMS: settings.sms_provider,
        Channel.WHATSAPP: settings.whatsapp_provider,
    }
    for channel, name in names.items():
        if name == "none":
            continue
        if name == "outbox":
            providers[channel] = OutboxProvider(settings.resolved_outbox_dir, settings.email_from)
        elif name == "console":
            providers[channel] = ConsoleProvider()
        elif name == "smtp":
            providers[channel] = SmtpProvider(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.email_from,
                username=settings.smtp_username,
                password=settings.smtp_password.get_secret_value()
                if settings.smtp_password
                else None,
                starttls=settings.smtp_starttls,
                use_ssl=settings.smtp_ssl,
                timeout=settings.smtp_timeout,
                reply_to=settings.email_reply_to,
            )
        else:  # pragma: no cover - settings validation forbids it
            raise ValueError(f"unknown provider {name!r} for {channel}")
    return providers


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
    "build_providers",
]
