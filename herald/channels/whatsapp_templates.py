"""WhatsApp templates per notification kind, from a JSON file (``HERALD_WHATSAPP_TEMPLATES``).

WhatsApp only delivers free text inside the 24-hour window after the person last wrote;
reminders need a template approved by Meta. The file maps a kind to that template::

    {
      "loan.reminder_j1": {
        "name": "loan_due_tomorrow",
        "language": {"fr": "fr", "en": "en_US"},
        "parameters": ["{{ recipient.name }}", "{{ loan.item }}", "{{ loan.due_at }}"],
        "twilio_content_sid": "HX0123456789abcdef0123456789abcdef"
      }
    }

Parameters are Jinja expressions over the same context as the templates. Kinds without an
entry are sent as free text (the ``.short.txt`` template).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, field_validator


class TemplateSpec(BaseModel):
    name: str
    language: dict[str, str]  # Herald locale -> Meta language code
    parameters: list[str] = []
    twilio_content_sid: str | None = None

    @field_validator("language", mode="before")
    @classmethod
    def _one_language_for_all(cls, value: object) -> object:
        return {"*": value} if isinstance(value, str) else value


def load_whatsapp_templates(path: Path | None) -> dict[str, TemplateSpec]:
    if path is None:
        return {}
    raw = json.loads(Path(path).read_text("utf-8"))
    return {kind: TemplateSpec.model_validate(spec) for kind, spec in raw.items()}
