"""The live page in a real browser: a real program under `pulsetrace live`, watched as a person would."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, List

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from viewer_helpers import text_fits  # noqa: E402

from helpers_cli import write  # noqa: E402
from helpers_live import start_live, wait_for  # noqa: E402
from live_programs import GROWING, SECOND, TWO_THREADS  # noqa: E402

TIMEOUT_MS = 15000


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def _count(page: Any, lineno: int) -> int:
    text = page.locator(f"#L{lineno} .hits").text_content() or "0"
    return int(text.replace(",", "") or 0)


def test_watch_a_program_with_two_threads(page: Any, tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", TWO_THREADS)
    stop = tmp_path / "stop"
    live = start_live(["--port", "0", str(program), str(stop)], tmp_path)
    try:
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(live.url)
        # the index: the traced file with live totals, a link to its page
        row = page.locator("table.files tr[data-path]")
        row.first.wait_for()
        assert row.count() == 1  # the project's own file only: no stdlib, no site-packages
        assert page.locator("#status").text_content() == "running"
        page.locator("table.files a", has_text="prog.py").click()
        page.wait_for_url(re.compile(r".*/file/f1(#.*)?$"))

        # the file page is the heatmap's: its rows, self and total time, its metric buttons
        hot = _line_of(program, "total += i % 7")
        page.locator(f"#L{hot} .hits:not(:empty)").wait_for()
        assert page.locator(f"#L{hot} .self").text_content()
        assert page.locator(f"#L{hot} .total").text_content()
        assert page.locator("#bar button.metric").count() == 3
        call = _line_of(program, "crunch(300)")  # the heatmap's callees link, fed by the live numbers
        page.locator(f"#L{call} button.callees").wait_for()
        # hit counts rise on the hot line
        first = _count(page, hot)
        wait_for(lambda: _count(page, hot) > first)
        # heartrate's recency bar on a line hit just now
        bar = page.locator(f"#L{hot} .bar")
        wait_for(lambda: float(bar.evaluate("b => parseFloat(b.style.width) || 0")) > 0)
        # the expression the main thread is executing, highlighted in the source
        waiting = _line_of(program, "time.sleep(0.05)")
        marks = page.locator(f"#L{waiting} mark.exec")
        wait_for(lambda: "".join(marks.all_text_contents()) == "time.sleep(0.05)")

        # the stacks of both named threads, innermost last, entries linking into the file
        options = page.locator("#thread-picker option")
        wait_for(lambda: {"alpha-worker", "beta-worker"} <= set(options.all_text_contents()))
        assert "MainThread (main)" in options.all_text_contents()
        page.select_option("#thread-picker", label="beta-worker")
        frames = page.locator("#stack li")
        wait_for(lambda: any("spin" in text for text in frames.all_text_contents()))
        link = page.locator("#stack li.traced a").last
        href = link.get_attribute("href") or ""
        assert "/file/f1#file=" in href and "&line=" in href, href
        page.click(f"#stack li.traced a[href='{href}']")  # opens the file at that line
        page.locator(f"#L{int(href.rsplit('line=', 1)[1])}.target").wait_for()
        names = page.locator("#stack li .fn").all_text_contents()
        assert names[0] in ("_bootstrap", "Thread._bootstrap") and names[-1] in ("spin", "crunch"), names
        page.select_option("#thread-picker", label="MainThread (main)")
        # the program's own frames only: none of pulsetrace's runner below them
        wait_for(lambda: page.locator("#stack li .fn").all_text_contents() == ["<module>"])

        # pause: the display stops changing while the program goes on; resume: it moves again
        page.click("#pause")
        assert page.locator("#status").text_content() == "paused"
        frozen = _count(page, hot)
        page.wait_for_timeout(800)
        assert _count(page, hot) == frozen
        page.click("#pause")
        wait_for(lambda: _count(page, hot) > frozen)

        # reset: the display's counters start again from zero
        before = _count(page, hot)
        page.click("#reset")
        wait_for(lambda: 0 < _count(page, hot) < before)

        # the end: finished, the final numbers stay on screen
        stop.write_text("")
        page.locator("#status[data-status='finished']").wait_for()
        final = _count(page, hot)
        assert final > 0
        code, out, err = live.finish()
        assert code == 0 and out == "done\n", err
        page.wait_for_timeout(500)
        assert _count(page, hot) == final
        assert page.locator("#stack-note").text_content() == "The program has finished."
    finally:
        live.kill()


def test_a_server_with_a_token_serves_its_page_with_the_token(page: Any, tmp_path: Path) -> None:
    import urllib.error
    import urllib.request

    import pytest

    from pulsetrace.live.files import FileSet, the_file
    from pulsetrace.live.routes import LiveRoutes
    from pulsetrace.live.state import LiveState
    from pulsetrace.model.lines import LineStats
    from pulsetrace.server import RouteServer

    source = write(tmp_path / "shown.py", "x = 1\ny = 2\n")
    stats = LineStats()
    stats.line(str(source), 2).hits = 7
    state = LiveState(lambda: stats, FileSet(the_file(str(source))))
    server = RouteServer(0, "127.0.0.1", token="tok-123")  # as for --host 0.0.0.0
    LiveRoutes(state, server)
    server.start()
    try:
        state.refresh()
        base = f"http://127.0.0.1:{server.port}"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + "/static/live.js", timeout=10)
        assert refused.value.code == 403
        page.goto(base + "/?token=tok-123")
        link = page.locator("table.files a", has_text="shown.py")
        link.wait_for(timeout=TIMEOUT_MS)
        assert link.get_attribute("href") == "/file/f1?token=tok-123"
        link.click()
        page.locator("#L2 .hits", has_text="7").wait_for(timeout=TIMEOUT_MS)
        # a link of the earlier form (#L2) opens the line; "All files" is the live index, token kept
        page.goto(base + "/file/f1?token=tok-123#L2")
        page.locator("#L2.target").wait_for(timeout=TIMEOUT_MS)
        page.click("a.back")
        page.locator("table.files a", has_text="shown.py").wait_for(timeout=TIMEOUT_MS)
        assert page.url == base + "/?token=tok-123"
    finally:
        server.stop()


def _ticks_pass(page: Any, count: int = 3) -> None:
    """Wait until the page has taken in ``count`` more ticks of the server."""
    seen = int(page.evaluate("Number(document.body.dataset.seq || 0)"))
    page.wait_for_function(f"Number(document.body.dataset.seq || 0) >= {seen + count}", timeout=TIMEOUT_MS)


def _row_hits(page: Any, label: str) -> int:
    cells = page.locator(f'table.files tr[data-path$="/{label}"] td')
    return int((cells.nth(3).text_content() or "0").replace(",", ""))


def test_the_index_is_the_heatmap_index_fed_by_ticks(page: Any, tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", GROWING)
    write(tmp_path / "second.py", SECOND)
    later, stop = tmp_path / "later", tmp_path / "stop"
    sources: List[str] = []
    page.on("request", lambda request: sources.append(request.url) if "/api/source/" in request.url else None)
    live = start_live(["--port", "0", str(program), str(later), str(stop)], tmp_path)
    try:
        page.set_default_timeout(TIMEOUT_MS)
        page.set_viewport_size({"width": 1300, "height": 360})  # short: the index scrolls
        page.goto(live.url)
        project = 'section.group[data-group="project"]'
        page.locator(f'{project} tr[data-path$="/prog.py"]').wait_for()
        assert page.locator(f'{project} tr[data-path$="/second.py"]').count() == 0  # not run yet
        assert page.locator("#bar button.metric").count() == 3  # the heatmap's bar
        assert page.locator(f"{project} th", has_text="Recent hits").count() == 1  # the live column
        # the hottest lines show their code: each file's text is read once
        page.locator(".hottest-lines td.snippet", has_text="total += 1").wait_for()

        # the reader's choices: sorted by name, scrolled; then filtered
        page.click(f"{project} button.sort[data-key='label']")
        page.evaluate("window.__row = document.querySelector('tr[data-path$=\"/prog.py\"]')")
        later.write_text("")
        page.locator(f'{project} tr[data-path$="/second.py"]').wait_for()  # appears when it first runs
        first = _row_hits(page, "second.py")
        wait_for(lambda: _row_hits(page, "second.py") > first)  # and its numbers go up, tick by tick
        page.evaluate("window.scrollTo(0, 120)")
        _ticks_pass(page)
        assert page.locator(f"{project} a.file-link").all_inner_texts() == ["prog.py", "second.py"]
        assert page.get_attribute(f"{project} th:has(button[data-key='label'])", "aria-sort") == "ascending"
        assert page.evaluate("window.scrollY") == 120
        # the rows are updated in place, not made again
        assert page.evaluate("document.querySelector('tr[data-path$=\"/prog.py\"]') === window.__row")
        page.fill("#filter", ".py")
        _ticks_pass(page)
        assert page.locator(f"{project} a.file-link").all_inner_texts() == ["prog.py", "second.py"]
        assert page.input_value("#filter") == ".py"
        assert page.evaluate("document.activeElement.id") == "filter"  # the filter box kept its focus

        page.fill("#filter", "second")
        _ticks_pass(page)
        assert page.locator(f"{project} a.file-link").all_inner_texts() == ["second.py"]
        page.fill("#filter", "")
        page.click(f"{project} button.toggle")
        _ticks_pass(page)
        assert page.locator(f"{project} table").count() == 0  # still collapsed
        assert page.get_attribute(f"{project} button.toggle", "aria-expanded") == "false"
        page.click(f"{project} button.toggle")

        # a file's link opens its live page
        on_index = [url.split("/api/source/")[1].split("?")[0] for url in sources]
        assert len(on_index) == len(set(on_index)), sources  # each file's text read once
        page.locator(f"{project} a.file-link", has_text="second.py").click()
        page.wait_for_url(re.compile(r".*/file/f\d+(#.*)?$"))
        page.locator(f"#L{_line_of(tmp_path / 'second.py', 'return sum')} .hits:not(:empty)").wait_for()
        _ticks_pass(page)
        assert len(sources) == len(on_index) + 1, sources  # the file page reads its own file once
        stop.write_text("")
        page.locator("#status[data-status='finished']").wait_for()
        code, out, err = live.finish()
        assert code == 0 and out == "done\n", err
    finally:
        live.kill()


def test_a_seven_digit_hit_count_is_shown_whole(page: Any, tmp_path: Path) -> None:
    program = write(tmp_path / "prog.py", GROWING)
    write(tmp_path / "second.py", SECOND)
    later, stop = tmp_path / "later", tmp_path / "stop"
    live = start_live(["--port", "0", str(program), str(later), str(stop)], tmp_path)
    try:
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(live.url)
        page.locator("table.files a.file-link", has_text="prog.py").click()
        loop = _line_of(program, "total += 1  # the counted loop")
        page.locator(f"#L{loop} .hits", has_text="1,100,000").wait_for()
        assert text_fits(page, f"#L{loop} .hits") == ("1,100,000", True)
        assert text_fits(page, f"#L{loop - 1} .hits") == ("1,100,001", True)
        stop.write_text("")
        later.write_text("")
        code, out, err = live.finish()
        assert code == 0, err
    finally:
        live.kill()
