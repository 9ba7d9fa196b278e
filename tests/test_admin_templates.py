"""Admin-written templates run in a sandbox: attribute tricks refused, fallback when missing."""

from __future__ import annotations

import pytest

from herald.admin_templates import AdminTemplateRenderer, fallback_notice
from herald.rendering import TemplateError
from herald.store import TemplateText

CONTEXT = {"order_id": "C-1", "customer": "Acme", "recipient": {"name": "Ana"}, "items": [1, 2]}


def template(
    body: str, subject: str = "Commande {{ order_id }}", short: str | None = None
) -> TemplateText:
    return TemplateText("t", "fr", subject, body, short)


def test_renders_subject_body_and_short() -> None:
    notice = AdminTemplateRenderer().render(
        "t",
        template("Bonjour {{ recipient.name }}: {{ customer }}", short="*{{ order_id }}*"),
        CONTEXT,
    )
    assert (notice.title, notice.body, notice.short) == (
        "Commande C-1",
        "Bonjour Ana: Acme",
        "*C-1*",
    )


def test_short_defaults_to_title_and_body() -> None:
    notice = AdminTemplateRenderer().render("t", template("Corps"), CONTEXT)
    assert notice.short == "*Commande C-1*\nCorps"


@pytest.mark.parametrize(
    "trick",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ customer.__class__.__base__ }}",
        "{{ recipient.__init__.__globals__ }}",
        "{{ self.__init__.__globals__ }}",
        "{{ lipsum.__globals__['os'] }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ items.append(3) }}",
        "{{ recipient.update({'name': 'x'}) }}",
        "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    ],
)
def test_sandbox_refuses_attribute_tricks_and_mutation(trick: str) -> None:
    with pytest.raises(TemplateError) as err:
        AdminTemplateRenderer().render("evil", template(trick), CONTEXT)
    assert "evil" in str(err.value)
    assert CONTEXT["items"] == [1, 2]  # nothing mutated


def test_undefined_variables_are_errors_naming_the_template() -> None:
    with pytest.raises(TemplateError, match=r"template 't' \(fr\) body: undefined variable"):
        AdminTemplateRenderer().render("t", template("{{ missing }}"), CONTEXT)


def test_missing_template_falls_back_to_the_facts() -> None:
    notice = AdminTemplateRenderer().render("new_order", None, CONTEXT)
    assert notice.title == "New order"
    assert "order_id: C-1" in notice.body and "customer: Acme" in notice.body
    assert "recipient" not in notice.body
    assert fallback_notice("x", {}).body == "X"


def test_syntax_is_checked_when_saving() -> None:
    with pytest.raises(TemplateError, match="line 1"):
        AdminTemplateRenderer().check("{% if %}", "template 't' body")
