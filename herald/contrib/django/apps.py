from __future__ import annotations

from django.apps import AppConfig


class HeraldOutboxConfig(AppConfig):
    name = "herald.contrib.django"
    label = "herald_outbox"
    verbose_name = "Herald outbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system check)
        from .conf import herald_config

        if herald_config().relay_in_process:
            from .relay import start_relay_thread

            start_relay_thread()
