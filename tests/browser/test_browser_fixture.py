"""The browser fixture itself: a page runs scripts, and a page error fails the test."""

from __future__ import annotations


def test_page_runs_module_scripts(page, tmp_path):
    html = tmp_path / "p.html"
    html.write_text(
        "<!doctype html><p id=out></p><script type=module>"
        "document.getElementById('out').textContent = [1, 2, 3].map(x => x * 2).join(',');</script>"
    )
    page.goto(html.as_uri())
    page.wait_for_function("document.getElementById('out').textContent !== ''")
    assert page.inner_text("#out") == "2,4,6"
