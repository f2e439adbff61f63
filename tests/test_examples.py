"""The bundled examples, run through the real command line the way the README shows them."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from helpers_cli import assert_same_run, cores_available, run_pulsetrace, run_python

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FLAGS = ["--log-print", "--log-exceptions", "--log-gc", "--log-args", "--log-retval"]


@pytest.mark.parametrize("core", cores_available())
def test_custom_events_example(core: str, tmp_path: Path) -> None:
    program = str(EXAMPLES / "custom_events.py")
    plain = run_python([program], tmp_path)
    traced = run_pulsetrace(["run", *FLAGS, "-o", "custom.json", program], tmp_path, core=core)
    assert_same_run(plain, traced)  # the same output, whether traced or not
    events = json.loads((tmp_path / "custom.json").read_text())["traceEvents"]
    kinds = Counter((e["ph"], e.get("cat")) for e in events)
    assert kinds[("i", "instant")] == 1  # "race start"
    assert kinds[("C", "counter")] == 5  # one sample per step
    assert kinds[("X", "span")] == 10  # five "step" spans, five "tick" calls
    assert kinds[("N", "object")] == 2 and kinds[("O", "object")] == 2 + 2 * 5
    assert kinds[("i", "log")] == 1 and kinds[("i", "print")] == 1
    assert kinds[("X", "gc")] >= 1
    by_name = {e["name"]: e for e in events if e["ph"] == "i"}
    assert by_name["race start"]["s"] == "p" and by_name["race start"]["args"] == {"bodies": 2}
    assert by_name["ValueError"]["args"]["message"] == "hare left the track at 16.0"
    assert by_name["print"]["args"]["text"] == "finished: snail at 2.5, hare at 4.0"
    snapshots = [e["args"]["snapshot"] for e in events if e["ph"] == "O"]
    assert {"position": "16.0", "speed": "4.0"} in snapshots
    checks = [e for e in events if e["ph"] == "X" and e["name"].startswith("check (")]
    assert checks and all(e["args"]["args"].startswith("body=<") for e in checks)
    assert not [e for e in events if e["name"].startswith("housekeeping (")]  # @ignore_function
