"""Staff alerts' channels, their Meta templates and their last hours in numbers. Each
route is one call of the service layer
(:class:`herald.service.staff_channels.StaffChannelService`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from herald.api import models as m
from herald.staff_channels_store import TemplateMeta

if TYPE_CHECKING:
    from starter.client import Herald

CHANNELS = "Channels among email, sms, whatsapp, in_app"


class GroupChannelsBody(m.Body):
    model_config = m._examples({"channels": ["whatsapp", "in_app"]})

    channels: list[str] | None = Field(
        description=f"{CHANNELS}, for its members' staff alerts; null or [] clears the choice",
        examples=[["whatsapp", "in_app"]],
    )


class GroupChannels(BaseModel):
    group: str = Field(description="The group")
    channels: list[str] | None = Field(description="Its channels now (null: the default)")


class TemplateOptionsBody(m.Body):
    model_config = m._examples(
        {
            "channels": ["whatsapp", "in_app"],
            "meta_template": "invoice_processed",
            "meta_languages": {"fr": "fr", "en": "en_US"},
            "meta_params": ["{{ recipient.name }}", "{{ number }}"],
            "meta_buttons": [
                {"type": "quick_reply", "text": "seen-{{ number }}"},
                {"type": "url", "text": "invoices/{{ number }}"},
            ],
        }
    )

    channels: list[str] | None = Field(
        default=None, description=f"{CHANNELS}; left out: unchanged", examples=[["whatsapp"]]
    )
    meta_template: str | None = Field(
        default=None,
        description="The Meta template sent outside WhatsApp's 24-hour window",
        examples=["invoice_processed"],
    )
    meta_languages: dict[str, str] | None = Field(
        default=None,
        description="Herald locale -> Meta language code ('*' for any locale)",
        examples=[{"fr": "fr", "en": "en_US"}],
    )
    meta_params: list[str] | None = Field(
        default=None,
        description="The body's {{1}}, {{2}}… as Jinja expressions over the alert's context",
        examples=[["{{ recipient.name }}"]],
    )
    meta_buttons: list[dict[str, Any]] | None = Field(
        default=None,
        description="Each {type: quick_reply|url, text}: the payload, or the URL's suffix (Jinja)",
        examples=[[{"type": "quick_reply", "text": "ok"}]],
    )
    clear: list[str] | None = Field(
        default=None,
        description="Options to empty: channels, meta_template, meta_languages, meta_params, "
        "meta_buttons",
        examples=[["meta_buttons"]],
    )


def build_staff_channel_router(
    herald: Herald, *, require_ops: Any, problems: dict[int | str, dict[str, Any]]
) -> APIRouter:
    r = APIRouter(prefix="/v1", responses=problems)

    @r.put("/groups/{name}/channels", tags=["groups"], response_model=GroupChannels)
    async def set_group_channels(name: str, body: GroupChannelsBody) -> GroupChannels:
        """The channels the group's members' staff alerts go by (after the call's and the
        template's own)."""
        channels = await herald.set_group_channels(name, body.channels)
        return GroupChannels(group=name, channels=channels)

    @r.patch("/templates/{name}/options", tags=["templates"], response_model=TemplateMeta)
    async def set_template_options(name: str, body: TemplateOptionsBody) -> TemplateMeta:
        """An admin template's channels and Meta template, on every locale; options left
        out stay as they are."""
        return await herald.set_template_options(
            name,
            channels=body.channels,
            meta_template=body.meta_template,
            meta_languages=body.meta_languages,
            meta_params=body.meta_params,
            meta_buttons=body.meta_buttons,
            clear=body.clear,
        )

    @r.get("/templates/meta", tags=["templates"], response_model=list[TemplateMeta])
    async def template_meta() -> list[TemplateMeta]:
        """Each template's locale with its channels, Meta template and Meta's review."""
        return await herald.template_meta()

    @r.post(
        "/templates/sync-meta",
        tags=["templates"],
        response_model=list[TemplateMeta],
        dependencies=[Depends(require_ops)],
    )
    async def sync_meta_templates() -> list[TemplateMeta]:
        """Read Meta's message templates onto each mapped admin template (ops key)."""
        return await herald.sync_meta_templates()

    @r.get("/stats/staff", tags=["deliveries"])
    async def staff_stats(
        hours: Annotated[int, Query(description="How far back, in hours", ge=1)] = 24,
    ) -> dict[str, dict[str, dict[str, int]]]:
        """Staff alerts' deliveries sent, pending and failed per template and per group."""
        return await herald.staff_stats(hours)

    return r
