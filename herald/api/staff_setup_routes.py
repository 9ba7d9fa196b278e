"""Groups and admin templates in bulk: several at once, all checked before any is written.
Each route is one call of the service layer
(:class:`herald.service.staff_setup.StaffSetupService`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from herald.api import models as m

if TYPE_CHECKING:
    from starter.client import Herald


class GroupsBody(m.Body):
    model_config = m._examples(
        {
            "groups": [
                {"name": "technical-admins", "display_name": "Technical Admin"},
                {"name": "sales-team", "display_name": "Sales Team", "description": "Sales"},
            ]
        }
    )

    groups: list[dict[str, Any]] = Field(
        description="Each {name, display_name?, description?}; at most 500",
        examples=[[{"name": "accounting", "display_name": "Accounting"}]],
    )


class TemplatesBody(m.Body):
    model_config = m._examples(
        {
            "templates": [
                {
                    "name": "invoice_processed",
                    "locale": "en",
                    "subject": "Invoice {{ number }} processed",
                    "body": "Hello {{ recipient.name }}, invoice {{ number }} is processed.",
                    "short": "Invoice {{ number }} processed",
                }
            ]
        }
    )

    templates: list[dict[str, Any]] = Field(
        description="Each {name, locale, subject, body, short?}, checked as PUT "
        "/v1/templates/{name}/{locale} checks one; at most 500",
        examples=[[{"name": "hello", "locale": "fr", "subject": "Bonjour", "body": "Bonjour"}]],
    )


class GroupsCreated(BaseModel):
    created: list[str] = Field(description="Groups created")
    existing: list[str] = Field(description="Groups that were already there, left unchanged")


class TemplatesLoaded(BaseModel):
    created: list[str] = Field(description="name/locale of the templates created")
    updated: list[str] = Field(description="name/locale of the templates replaced")


def build_staff_setup_router(
    herald: Herald, *, problems: dict[int | str, dict[str, Any]]
) -> APIRouter:
    r = APIRouter(prefix="/v1", responses=problems)

    @r.post("/groups/batch", tags=["groups"], response_model=GroupsCreated)
    async def create_groups(body: GroupsBody) -> GroupsCreated:
        """Create several groups; one refused entry refuses them all."""
        return GroupsCreated(**await herald.create_groups(body.groups))

    @r.post("/templates/batch", tags=["templates"], response_model=TemplatesLoaded)
    async def load_templates(body: TemplatesBody) -> TemplatesLoaded:
        """Create or replace several admin templates; one refused entry refuses them all."""
        return TemplatesLoaded(**await herald.load_templates(body.templates))

    return r
