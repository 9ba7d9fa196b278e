"""A staff alert as its admin template's own Meta template (``herald template set NAME
--meta-template``): the parameters and buttons rendered in the admin sandbox over the
alert's context, and refused unless Meta approved that template in that language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from herald import staff_channels_store as meta_store
from herald.admin_templates import AdminTemplateRenderer
from herald.channels.base import PermanentSendError, WhatsAppTemplate
from herald.contracts import DeliveryRequest
from herald.rendering import TemplateError
from herald.store import Store

APPROVED = "APPROVED"


@dataclass(frozen=True)
class StaffTemplate:
    template: WhatsAppTemplate
    admin_template: str
    status: str | None
    rejected_reason: str | None

    def check_approved(self) -> None:
        """A PermanentSendError unless Meta approved it: never sent unapproved."""
        if self.status == APPROVED:
            return
        t = self.template
        if self.status is None:
            why = "its approval was never read from Meta: run herald template sync-meta"
        else:
            why = f"Meta's status is {self.status}"
            if self.rejected_reason:
                why += f" ({self.rejected_reason})"
        raise PermanentSendError(
            f"Meta template {t.name} ({t.language}) of admin template {self.admin_template!r} "
            f"is not approved: {why}; not sent",
            recipient_fault=False,
        )


def staff_template(
    store: Store,
    renderer: AdminTemplateRenderer,
    request: DeliveryRequest,
    locale: str,
    context: dict[str, Any],
) -> StaffTemplate | None:
    """The alert's Meta template, or None when it is no staff alert or its admin template
    maps none (the kind's ``HERALD_WHATSAPP_TEMPLATES`` entry is then used)."""
    if request.subject_type != "staff":
        return None
    name = request.data.get("template")
    meta = meta_store.template_meta(store, name, locale) if isinstance(name, str) else None
    if meta is None or not meta.meta_template:
        return None
    if not meta.language:
        raise PermanentSendError(
            f"admin template {name!r} maps Meta template {meta.meta_template} but no language "
            f"for {meta.locale}: add it with --meta-language",
            recipient_fault=False,
        )
    full = {**(request.data.get("context") or {}), **context}
    where = f"Meta template {meta.meta_template} of {name!r}"
    sources = (*meta.meta_params, *(b["text"] for b in meta.meta_buttons))
    try:
        texts = renderer.render_texts(tuple(sources), full, where) if sources else ()
    except TemplateError as err:
        raise PermanentSendError(str(err), recipient_fault=False) from None
    count = len(meta.meta_params)
    return StaffTemplate(
        template=WhatsAppTemplate(
            name=meta.meta_template,
            language=meta.language,
            parameters=texts[:count],
            buttons=tuple(
                (b["type"], text) for b, text in zip(meta.meta_buttons, texts[count:], strict=True)
            ),
        ),
        admin_template=str(name),
        status=meta.meta_status,
        rejected_reason=meta.meta_rejected_reason,
    )
