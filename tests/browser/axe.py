"""Accessibility checks for browser tests: axe-core (installed from npm by ``make browser-deps``
into tests/browser/js/node_modules, injected into the page by the test) and keyboard reach.

``assert_no_serious_violations(page)`` fails on any serious or critical axe violation;
``assert_keyboard_reaches_every_control(page)`` presses Tab from the top of the page and fails
unless focus reaches every visible link, button and form field.
"""

from __future__ import annotations

from pathlib import Path

import pytest

AXE = Path(__file__).resolve().parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")
CONTROLS = (
    "a[href], button, input:not([type=hidden]), select, textarea, summary, "
    "[tabindex]:not([tabindex='-1'])"
)


def axe_violations(page) -> list[dict]:
    if not AXE.exists():
        pytest.skip("axe-core is not installed (make browser-deps runs npm ci in tests/browser/js)")
    # Evaluated through the DevTools protocol rather than a <script> tag: the pages' Content
    # Security Policy (script-src 'self') rightly refuses inline scripts.
    page.evaluate(AXE.read_text() + "\n;void 0")
    return page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )


def assert_no_serious_violations(page) -> None:
    found = [v for v in axe_violations(page) if v.get("impact") in SERIOUS]
    report = [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"][:5])
        for v in found
    ]
    assert not found, "axe-core found serious or critical violations:\n" + "\n".join(report)


def assert_keyboard_reaches_every_control(page, *, extra_presses: int = 10) -> int:
    """Tab through the page; returns how many controls focus reached (all of them)."""
    total = page.evaluate(
        """(selector) => {
            const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length)
                && !el.closest('details:not([open]) > :not(summary)') && !el.disabled;
            let n = 0;
            document.querySelectorAll(selector).forEach((el) => {
                if (visible(el)) { el.dataset.kbd = String(n++); }
            });
            return n;
        }""",
        CONTROLS,
    )
    page.evaluate(
        "() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }"
    )
    page.locator("body").focus()
    reached: set[str] = set()
    for _ in range(total + extra_presses):
        page.keyboard.press("Tab")
        kbd = page.evaluate("() => document.activeElement && document.activeElement.dataset.kbd")
        if kbd is not None:
            reached.add(kbd)
        if len(reached) == total:
            break
    missing = sorted(set(map(str, range(total))) - reached, key=int)
    labels = [
        page.evaluate(
            "(i) => { const el = document.querySelector(`[data-kbd='${i}']`);"
            " return el.outerHTML.slice(0, 120); }",
            i,
        )
        for i in missing[:10]
    ]
    assert not missing, f"Tab never reached {len(missing)} of {total} controls: {labels}"
    return total
