"""Admin-written templates run in a sandbox: attribute tricks refused, fallback when missing;
and within limits: a render that never ends is killed, huge values are refused before they
are built, output, template size, memory and short texts are capped."""

from __future__ import annotations

import os
import time
import tracemalloc

import pytest
from jinja2.sandbox import SecurityError

from herald.admin_templates import (
    OUTPUT_LIMIT,
    SHORT_LIMIT,
    TEMPLATE_LIMIT,
    AdminTemplateRenderer,
    LimitedSandbox,
    RenderPool,
    fallback_notice,
)
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


# ---------------------------------------------------------------- limits: the worker is safe

LOOP_FOR_EVER = (
    "{% for a in range(100000) %}{% for b in range(100000) %}{% for c in range(100000) %}"
    "{% endfor %}{% endfor %}{% endfor %}"
)
HANG_GUARD = 60.0  # seconds: only so that a broken kill fails the test instead of hanging it


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + HANG_GUARD
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_render_that_never_ends_is_stopped_and_its_process_killed() -> None:
    pool = RenderPool(workers=1)
    try:
        pid = pool.run(os.getpid)  # the one render process
        assert not gone(pid)
        with pytest.raises(TemplateError) as err:
            AdminTemplateRenderer(pool).render("loop", template(LOOP_FOR_EVER), CONTEXT)
        assert "template 'loop' (fr)" in str(err.value) and "stopped" in str(err.value)
        assert wait_gone(pid), f"render process {pid} still alive"
        # The pool replaced it and renders again.
        notice = AdminTemplateRenderer(pool).render("t", template("Corps"), CONTEXT)
        assert notice.body == "Corps"
        replacement = pool.run(os.getpid)
        assert replacement != pid
    finally:
        pool.shutdown()
    assert wait_gone(replacement), "shutdown left a render process behind"


@pytest.mark.parametrize(
    "huge",
    [
        "{{ 'x' * 200000000 }}",
        "{{ 200000000 * 'x' }}",
        "{{ [0] * 200000000 }}",
        "{{ 9 ** 999999999 }}",
        "{{ (10 ** 4000) * (10 ** 4000) }}",
        "{{ '%900000000s' % 'x' }}",
        "{{ '%900000000s'|format('x') }}",
        "{{ '{:>900000000}'.format('x') }}",
        "{{ 'x'|center(900000000) }}",
        "{{ 'x\ny'|indent(900000000) }}",
    ],
)
def test_huge_values_are_refused_before_they_are_built(huge: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(SecurityError, match="refused"):
            LimitedSandbox().from_string(huge).render()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024  # nothing near the value's size was allocated
    with pytest.raises(TemplateError, match="refused by the sandbox"):
        AdminTemplateRenderer().render("huge", template(huge), CONTEXT)


def test_ordinary_arithmetic_still_works() -> None:
    notice = AdminTemplateRenderer().render(
        "t",
        template(
            "{{ '-' * 10 }} {{ 2 ** 10 }} {{ 3 * 4 }} {{ '%05d' % 42 }} {{ '%s!'|format('a') }}"
            " {{ '{:>3}'.format('b') }} [{{ 'c'|center(3) }}]"
        ),
        CONTEXT,
    )
    assert notice.body == "---------- 1024 12 00042 a!   b [ c ]"


def test_output_is_capped_while_rendering() -> None:
    big = "{% for i in range(100000) %}0123456789{% endfor %}"  # a million characters
    with pytest.raises(TemplateError, match=f"body: output over {OUTPUT_LIMIT} characters"):
        AdminTemplateRenderer().render("big", template(big), CONTEXT)


def test_memory_is_capped_in_the_render_process() -> None:
    """Doubling a string (no operator to refuse) runs into the address-space cap."""
    doubling = (
        "{% set ns = namespace(s='x' * 200000) %}"
        "{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}"
    )
    with pytest.raises(TemplateError, match="memory limit"):
        AdminTemplateRenderer().render("greedy", template(doubling), CONTEXT)


def test_an_oversized_template_is_refused_before_it_is_parsed() -> None:
    # Not even valid syntax: a size error (not a syntax error) shows it was never parsed.
    oversized = "{% if %}" * (TEMPLATE_LIMIT // 8 + 1)
    with pytest.raises(TemplateError, match=f"over the limit of {TEMPLATE_LIMIT}") as err:
        AdminTemplateRenderer().check(oversized, "template 't' body")
    assert "line" not in str(err.value)
    # One saved before the limit existed is refused when a notice renders it.
    with pytest.raises(TemplateError, match=f"body: .* over the limit of {TEMPLATE_LIMIT}"):
        AdminTemplateRenderer().render("old", template("x" * (TEMPLATE_LIMIT + 1)), CONTEXT)


def test_a_short_text_over_the_limit_is_refused_not_cut() -> None:
    renderer = AdminTemplateRenderer()
    with pytest.raises(TemplateError, match=f"1001 characters, over the limit of {SHORT_LIMIT}"):
        renderer.check_short("x" * 1001, "template 't' short")
    renderer.check_short("x" * 1000, "template 't' short")
    long_short = "{% for i in range(101) %}0123456789{% endfor %}"
    with pytest.raises(TemplateError, match="renders to 1010 characters.*refused rather than cut"):
        renderer.render("t", template("Corps", short=long_short), CONTEXT)


def test_a_pool_that_was_stopped_starts_afresh() -> None:
    pool = RenderPool(workers=1)
    try:
        first = pool.run(os.getpid)
        pool.shutdown()
        assert wait_gone(first)
        notice = AdminTemplateRenderer(pool).render("t", template("Corps"), CONTEXT)
        second = pool.run(os.getpid)
        assert notice.body == "Corps" and second != first
        # Broken underneath (its processes gone, the pool no longer active): started afresh.
        pool._pool.stop()
        pool._pool.join()
        assert pool.run(os.getpid) not in (first, second)
    finally:
        pool.shutdown()
