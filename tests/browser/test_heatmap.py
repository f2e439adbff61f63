"""The heatmap page in a real browser: the file index, one file's coloured lines, callers and
callees, the metric and scale switches, the minimap and permalinks.

The page is made by the real writer (``save(trace, "x.heatmap.html")``) from line statistics that
the test oracle (tests/line_oracle.py) collected while running a real program, and read from
``file://`` as a person would open it; the expected numbers come from the same statistics.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from viewer_helpers import text_fits

from line_oracle import collect
from pulsetrace.reports.heatmap import heatmap_document
from pulsetrace.writers import save

SHAPES = '''\
"""Helpers of the demo program."""


def area(width, height):
    return width * height


def slow_sum(n):
    total = 0
    for i in range(n):
        total += area(i, 2)
    return total
'''

PROGRAM = """\
import json

from shapes import area, slow_sum


def fast():
    return area(3, 4)


def main():
    results = []
    for _ in range(20):
        results.append(slow_sum(300))
    fast()
    return len(json.dumps(results))


main()
"""

TEXTS = '''\
"""Module docstring
spanning <three> lines
"""
NAME = 'x'  # a comment with <b>tags</b>


def greet(who="world"):
    return f"hello {who}" + str(0x1F * 1.5e3)
'''

PROGRAM_TEXT = PROGRAM.replace("import json\n", "import json\n\nimport long_module\nimport texts\n")
FAST_CALL = PROGRAM_TEXT.splitlines().index("    return area(3, 4)") + 1  # where prog.py calls area()

# A long file, so the minimap and scrolling have somewhere to go: its hot loop is at the end.
LONG = "".join(f"v{i} = {i}\n" for i in range(1, 400)) + "for k in range(2000):\n    v1 += k\n"


@pytest.fixture(scope="module")
def heatmap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[str, Dict[str, Any]]]:
    """The page's address and the data it was made from."""
    folder = tmp_path_factory.mktemp("heatmap")
    (folder / "shapes.py").write_text(SHAPES)
    (folder / "long_module.py").write_text(LONG)
    (folder / "texts.py").write_text(TEXTS)
    (folder / "prog.py").write_text(PROGRAM_TEXT)
    trace = collect(str(folder / "prog.py"))
    output = folder / "out.heatmap.html"
    save(trace, output)
    yield output.as_uri(), heatmap_document(trace)


def file_entry(document: Dict[str, Any], label: str) -> Dict[str, Any]:
    return next(entry for entry in document["files"] if entry["label"] == label)


def open_page(page: Any, url: str, fragment: str = "") -> None:
    page.goto(url + fragment)
    page.wait_for_selector("#main table.files, #main .code, #main .note")


def address(page: Any) -> str:
    """The page's address as the page sees it now. `page.url` follows the browser's navigation events,
    which may arrive after a key press or click has returned (seen as a flake in CI)."""
    return str(page.evaluate("location.href"))


def background(page: Any, selector: str) -> Tuple[int, ...]:
    colour = page.eval_on_selector(selector, "node => getComputedStyle(node).backgroundColor")
    return tuple(int(part) for part in re.findall(r"\d+", colour)[:3])


def test_the_index_lists_project_files_by_self_time(page: Any, heatmap: Tuple[str, Dict[str, Any]]) -> None:
    url, document = heatmap
    open_page(page, url)
    project = page.locator('section.group[data-group="project"]')
    labels = project.locator("a.file-link").all_inner_texts()
    expected = sorted((f for f in document["files"] if f["group"] == "project"), key=lambda f: -f["selfNs"])
    assert labels == [f["label"] for f in expected]
    row = project.locator('tr[data-path$="shapes.py"] td')
    shapes = file_entry(document, "shapes.py")
    assert row.nth(2).inner_text() == str(shapes["linesRun"])
    assert row.nth(3).inner_text() == f"{shapes['hits']:,}"
    assert row.nth(7).inner_text() == f"line {shapes['hottestLine']}"
    # the hottest lines of all files, by the chosen metric
    top = max(((f, row) for f in document["files"] for row in f["lines"]), key=lambda item: item[1][2])
    first = page.locator(".hottest-lines tr").first
    assert first.locator("a").inner_text() == f"{top[0]['label']}:{top[1][0]}"
    page.click("button.metric[data-metric='hits']")
    assert page.inner_text(".hottest-lines h2") == "Hottest lines by hits"
    by_hits = max(((f, row) for f in document["files"] for row in f["lines"]), key=lambda item: item[1][1])
    first = page.locator(".hottest-lines tr").first
    assert first.locator("a").inner_text() == f"{by_hits[0]['label']}:{by_hits[1][0]}"
    assert first.locator("td").nth(1).inner_text() == f"{by_hits[1][1]:,}"
    source = {"shapes.py": SHAPES, "long_module.py": LONG, "prog.py": PROGRAM_TEXT}[by_hits[0]["label"]]
    assert first.locator("td.snippet").inner_text().strip() == source.splitlines()[by_hits[1][0] - 1].strip()
    # the standard library was summarised per function, json.dumps among them
    assert "dumps" in page.locator("section.summaries").inner_text()


def test_sorting_filtering_and_collapsing(page: Any, heatmap: Tuple[str, Dict[str, Any]]) -> None:
    url, document = heatmap
    open_page(page, url)
    project = 'section.group[data-group="project"]'
    labels = sorted(f["label"] for f in document["files"] if f["group"] == "project")
    assert labels == ["long_module.py", "prog.py", "shapes.py", "texts.py"]
    page.click(f"{project} button.sort[data-key='label']")
    assert page.locator(f"{project} a.file-link").all_inner_texts() == labels
    page.click(f"{project} button.sort[data-key='label']")
    assert page.locator(f"{project} a.file-link").all_inner_texts() == labels[::-1]
    page.click(f"{project} button.sort[data-key='hits']")
    by_hits = sorted((f for f in document["files"] if f["group"] == "project"), key=lambda f: -f["hits"])
    assert page.locator(f"{project} a.file-link").all_inner_texts() == [f["label"] for f in by_hits]
    page.fill("#filter", "SHAP")
    assert page.locator(f"{project} a.file-link").all_inner_texts() == ["shapes.py"]
    page.fill("#filter", "no such thing")
    assert page.locator(".note.none").inner_text() == "Nothing matches the filter."
    page.fill("#filter", "")
    page.click(f"{project} button.toggle")
    assert page.locator(f"{project} table").count() == 0
    assert page.get_attribute(f"{project} button.toggle", "aria-expanded") == "false"
    page.click(f"{project} button.toggle")
    assert page.locator(f"{project} a.file-link").count() == len(labels)


def test_a_file_shows_every_line_coloured_cold_to_hot(page: Any, heatmap: Tuple[str, Dict[str, Any]]) -> None:
    url, document = heatmap
    open_page(page, url)
    page.click("a.file-link >> text=shapes.py")
    page.wait_for_selector(".code")
    shapes = file_entry(document, "shapes.py")
    rows = {row[0]: row for row in shapes["lines"]}
    assert address(page).endswith("#file=" + re.sub("/", "%2F", shapes["path"]))
    assert page.locator(".code .row:not(.head)").count() == len(SHAPES.splitlines())
    assert page.inner_text("#L5 .hits") == f"{rows[5][1]:,}"
    assert page.inner_text("#L11 .src") == "        total += area(i, 2)"
    assert page.inner_text("#L2 .hits") == ""  # a blank line never runs
    hottest = shapes["hottestLine"]
    hot = background(page, f"#L{hottest} .src")
    cold = background(page, "#L1 .src")  # the docstring line ran once, quickly
    assert hot[0] > 200 and hot[2] < 100  # red
    assert cold[2] > 200 and cold[0] < 240  # pale blue
    # by hits, the loop line (10,020 hits) is the hottest one
    page.click("button.metric[data-metric='hits']")
    assert page.get_attribute("button.metric[data-metric='hits']", "aria-pressed") == "true"
    most = max(shapes["lines"], key=lambda row: row[1])[0]
    assert background(page, f"#L{most} .src") == (220, 38, 38)
    page.click("button.metric[data-metric='self']")


def test_source_is_highlighted_line_by_line(page: Any, heatmap: Tuple[str, Dict[str, Any]]) -> None:
    url, document = heatmap
    open_page(page, url, f"#file={file_entry(document, 'texts.py')['path']}")
    assert page.locator(".code .row:not(.head)").count() == len(TEXTS.splitlines())

    def spans(line: int) -> List[Tuple[str, str]]:
        found = page.eval_on_selector_all(
            f"#L{line} .src span", "nodes => nodes.map(n => [n.className, n.textContent])"
        )
        return [tuple(pair) for pair in found]

    # Pygments' classes: the docstring spans three lines, each line's piece is a docstring (sd);
    # "<three>" is text, not markup
    assert spans(1) == [("sd", '"""Module docstring')]
    assert spans(2) == [("sd", "spanning <three> lines")]
    assert spans(3) == [("sd", '"""')]
    assert spans(4) == [("s1", "'x'"), ("c1", "# a comment with <b>tags</b>")]
    assert spans(7) == [("k", "def"), ("nf", "greet"), ("s2", '"world"')]
    assert spans(8) == [
        ("k", "return"), ("sa", "f"), ("s2", '"hello '), ("si", "{"), ("si", "}"), ("s2", '"'),
        ("nb", "str"), ("mh", "0x1F"), ("mf", "1.5e3"),
    ]
    # the theme colours them, in light and dark mode: keyword, string and comment each differently
    # (the comment in italics), and differently in each mode (on a row that did not run)
    assert theme_colours(page)[2][1] == "italic"
    light = theme_colours(page)
    page.emulate_media(color_scheme="dark")
    dark = theme_colours(page)
    page.emulate_media(color_scheme="light")
    for colours in (light, dark):
        assert len({colour for colour, _ in colours}) == 3
    assert all(a[0] != b[0] for a, b in zip(light, dark))
    assert page.inner_text("#L8 .src") == TEXTS.splitlines()[7]


def theme_colours(page: Any) -> List[List[str]]:
    """The colour and font style the theme gives a keyword, a string and a comment of a source row."""
    found: List[List[str]] = page.evaluate(
        """() => {
            const row = document.createElement("div");
            row.className = "row";
            row.innerHTML = '<span class="src"><span class="k">if</span><span class="s2">"a"</span>' +
                '<span class="c1"># c</span></span>';
            document.querySelector(".code").append(row);
            const styles = [...row.querySelectorAll(".src span")].map((span) => {
                const style = getComputedStyle(span);
                return [style.color, style.fontStyle];
            });
            row.remove();
            return styles;
        }"""
    )
    return found


def test_heat_relative_to_all_files(page: Any, heatmap: Tuple[str, Dict[str, Any]]) -> None:
    url, document = heatmap
    # the file whose hottest line is the coolest: on the all-files scale that line is no longer red
    coolest = min(document["files"], key=lambda f: max(row[2] for row in f["lines"]))
    open_page(page, url, f"#file={coolest['path']}")
    own_scale = background(page, f"#L{coolest['hottestLine']} .src")
    assert own_scale == (220, 38, 38)  # the hottest line of its own file
    page.select_option("#scale", "all")
    assert background(page, f"#L{coolest['hottestLine']} .src") != own_scale


def test_callees_and_callers_lead_to_each_other(page: Any, heatmap: Tuple[str, Dict[str, Any]]) -> None:
    url, document = heatmap
    shapes = file_entry(document, "shapes.py")
    open_page(page, url, f"#file={shapes['path']}")
    # on any row the buttons stay readable: their text is never the hot rows' white
    colours = page.eval_on_selector_all(".row button", "nodes => nodes.map(n => getComputedStyle(n).color)")
    assert colours and "rgb(255, 255, 255)" not in colours
    page.click("#L11 button.callees")
    popover = page.locator(".popover")
    assert popover.locator(".popover-title").inner_text() == "Calls made by line 11"
    assert re.fullmatch(r"area shapes\.py:4\s+6,000×\s+\S+ \S+s", popover.locator("tr").inner_text().strip())
    page.keyboard.press("Escape")
    assert page.locator(".popover").count() == 0
    page.click("#L4 button.callers")  # area() is called from shapes.py:11 and from prog.py
    assert page.inner_text(".popover-title") == "Callers of area (line 4)"
    callers = page.locator(".popover a").all_inner_texts()
    assert callers == ["shapes.py:11", f"prog.py:{FAST_CALL}"]  # most time first
    page.click(f".popover a >> text=prog.py:{FAST_CALL}")
    page.wait_for_selector(f"#L{FAST_CALL}.target")
    assert address(page).endswith(f"&line={FAST_CALL}") and "prog.py" in page.inner_text(".crumbs")
    assert page.locator(".popover").count() == 0
    page.go_back()
    page.wait_for_selector(".crumbs >> text=shapes.py")


def test_permalinks_open_a_line_and_say_so(page: Any, heatmap: Tuple[str, Dict[str, Any]]) -> None:
    url, document = heatmap
    long_module = file_entry(document, "long_module.py")
    open_page(page, url, f"#file={long_module['path']}&line=380")
    target = page.locator("#L380")
    assert "target" in (target.get_attribute("class") or "")
    box = target.bounding_box()
    assert box is not None and 0 < box["y"] < 800
    page.click("#L12 a.ln")
    assert address(page).endswith("&line=12")
    page.wait_for_selector("#L12.target")
    # a file that recorded nothing, and a damaged address, say so instead of failing
    open_page(page, url, "#file=%2Fnot%2Frecorded.py")
    assert page.inner_text(".note.missing").startswith("No lines were recorded in /not/recorded.py.")
    page.click(".note.missing a")
    page.wait_for_selector("table.files")


def test_the_minimap_shows_the_hot_end_and_scrolls_there(
    page: Any, heatmap: Tuple[str, Dict[str, Any]]
) -> None:
    url, document = heatmap
    long_module = file_entry(document, "long_module.py")
    open_page(page, url, f"#file={long_module['path']}")
    assert page.evaluate("window.scrollY") == 0
    box = page.locator("canvas.minimap").bounding_box()
    assert box is not None and box["height"] > 600
    # the loop at the end of the file is the hottest part: the bottom of the strip is red, the middle pale
    colours = page.evaluate(
        """() => { const c = document.querySelector('canvas.minimap'), g = c.getContext('2d');
                   const at = y => Array.from(g.getImageData(c.width / 2, y, 1, 1).data.slice(0, 3));
                   const bottom = [1, 2, 3, 4, 5, 6].map(k => at(c.height - k));
                   return { bottom, middle: at(c.height / 2) }; }"""
    )
    reddest = min(colours["bottom"], key=lambda rgb: rgb[2])
    assert reddest[0] > 200 and reddest[2] < 60, colours
    assert colours["middle"][2] > 200, colours
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 3)
    page.wait_for_function("window.scrollY > 1000")
    last = page.locator("#L401").bounding_box()
    assert last is not None and 0 < last["y"] < 800


def test_damaged_data_is_a_message_on_the_page(
    page: Any, heatmap: Tuple[str, Dict[str, Any]], tmp_path: Path
) -> None:
    url, _ = heatmap
    text = Path(url.replace("file://", "")).read_text(encoding="utf-8")
    start = text.index('id="heatmap-data">') + len('id="heatmap-data">')
    broken = tmp_path / "broken.heatmap.html"
    broken.write_text(
        text[:start] + '{"files": 3}' + text[text.index("</script>", start) :], encoding="utf-8"
    )
    page.goto(broken.as_uri())
    page.wait_for_selector(".note.error")
    assert (
        page.inner_text(".note.error")
        == "This heatmap cannot be shown: the heatmap data is missing or damaged."
    )


def test_new_data_redraws_the_view_in_place(page: Any, heatmap: Tuple[str, Dict[str, Any]]) -> None:
    """What the live view will do: hand the page a newer document; the file shown stays, numbers change."""
    url, document = heatmap
    shapes = file_entry(document, "shapes.py")
    open_page(page, url, f"#file={shapes['path']}")
    page.evaluate(
        """path => {
             const data = structuredClone(window.pulsetraceHeatmap.data);
             const file = data.files.find(f => f.path === path);
             file.lines = file.lines.map(([line, hits, own, total]) => [line, hits * 2, own * 2, total * 2]);
             window.pulsetraceHeatmap.update(data);
           }""",
        shapes["path"],
    )
    rows = {row[0]: row for row in shapes["lines"]}
    expected = f"{rows[5][1] * 2:,}"
    # The page draws a file's rows in blocks (the ones near the view first), so the new numbers may
    # land a frame after update() returns: wait for them, then check.
    page.wait_for_function(
        "expected => document.querySelector('#L5 .hits')?.textContent === expected", arg=expected
    )
    assert page.inner_text("#L5 .hits") == expected
    assert "shapes.py" in page.inner_text(".crumbs")


def test_refresh_draws_only_the_changed_rows_again(page: Any, heatmap: Tuple[str, Dict[str, Any]]) -> None:
    """The live view's next snapshot: rows whose numbers changed are drawn again in place, the others
    stay the same elements, an open popover and the marked line stay."""
    url, document = heatmap
    prog = file_entry(document, "prog.py")
    open_page(page, url, f"#file={prog['path']}&line={FAST_CALL}")
    page.click(f"#L{FAST_CALL} button.callees")
    rows = {row[0]: row for row in prog["lines"]}
    most = max(row[1] for row in prog["lines"])
    changed, same = [line for line in sorted(rows) if rows[line][1] + 1 < most][:2]  # no new maximum
    redrawn = page.evaluate(
        """([path, changed, same]) => {
             window.__same = document.getElementById(`L${same}`);
             const data = structuredClone(window.pulsetraceHeatmap.data);
             const file = data.files.find(f => f.path === path);
             const more = ([line, hits, own, total]) => [line, hits + 1, own, total];
             file.lines = file.lines.map((row) => row[0] === changed ? more(row) : row);
             file.hits += 1;
             return window.pulsetraceHeatmap.refresh(data);
           }""",
        [prog["path"], changed, same],
    )
    assert redrawn == [changed]  # the heat scales did not move: one row
    assert page.inner_text(f"#L{changed} .hits") == f"{rows[changed][1] + 1:,}"
    assert page.evaluate(f"document.getElementById('L{same}') === window.__same")
    assert page.locator(".popover.callees").count() == 1
    assert page.locator(f"#L{FAST_CALL}.target").count() == 1
    assert f"{prog['hits'] + 1:,} hits" in page.inner_text(".file-stats")


def test_keys_step_through_the_hot_lines(page: Any, heatmap: Tuple[str, Dict[str, Any]]) -> None:
    url, document = heatmap
    shapes = file_entry(document, "shapes.py")
    open_page(page, url, f"#file={shapes['path']}")
    # half-way up the log scale: a tenth and more of the hottest line's self time (99 v / max >= 9)
    top = max(row[2] for row in shapes["lines"])
    hot = [row[0] for row in shapes["lines"] if 99 * row[2] >= 9 * top]
    assert shapes["hottestLine"] in hot
    visited = []
    for key in ["n"] * (len(hot) + 1) + ["p", "p"]:
        page.keyboard.press(key)
        line = int(address(page).rsplit("&line=", 1)[1])
        assert page.locator(".row.target").get_attribute("id") == f"L{line}"
        visited.append(line)
    assert visited == [*hot, hot[0], hot[-1], hot[-2] if len(hot) > 1 else hot[0]]
    page.go_back()  # stepping did not add to the history: back leaves the file
    assert page.url == "about:blank"


def test_odd_file_names_keep_working_permalinks(page: Any, tmp_path: Path) -> None:
    script = tmp_path / "main script & co #1.py"
    script.write_text("total = 0\nfor i in range(50):\n    total += i\n")
    output = tmp_path / "odd.heatmap.html"
    save(collect(str(script)), output)
    page.goto(output.as_uri())
    page.click("a.file-link >> text=main script & co #1.py")
    page.wait_for_selector(".code")
    page.click("#L3 a.ln")
    page.wait_for_selector("#L3.target")
    link = address(page)
    page.goto("about:blank")
    page.goto(link)  # the permalink, opened afresh
    page.wait_for_selector("#L3.target")
    assert page.inner_text(".crumbs .path") == "main script & co #1.py"
    assert page.inner_text("#L3 .hits") == "50"


def test_number_columns_fit_the_widest_number(page: Any, heatmap: Tuple[str, Dict[str, Any]]) -> None:
    """A count of millions and a time of thousands of seconds are shown whole, not cut off or spilling
    into the next column (the columns grow to the widest number shown)."""
    url, document = heatmap
    shapes = file_entry(document, "shapes.py")
    open_page(page, url, f"#file={shapes['path']}")
    width = page.eval_on_selector("#L5 .hits", "cell => cell.clientWidth")
    page.evaluate(
        """path => {
             const data = structuredClone(window.pulsetraceHeatmap.data);
             const file = data.files.find(f => f.path === path);
             file.lines = file.lines.map(([line, hits, own, total]) =>
               line === 5 ? [line, 12345678, 1234.5e9, 12345.6e9] : [line, hits, own, total]);
             window.pulsetraceHeatmap.refresh(data);
           }""",
        shapes["path"],
    )
    page.wait_for_function("document.querySelector('#L5 .hits')?.textContent === '12,345,678'")
    for column, text in (("hits", "12,345,678"), ("self", "1,235 s"), ("total", "12,346 s")):
        assert text_fits(page, f"#L5 .{column}") == (text, True), column
    # the head row's columns stay over their numbers
    right = "node => node.getBoundingClientRect().right"
    head, cell = page.eval_on_selector(".row.head .hits", right), page.eval_on_selector("#L5 .hits", right)
    assert abs(head - cell) < 1
    assert page.eval_on_selector("#L5 .hits", "cell => cell.clientWidth") > width
