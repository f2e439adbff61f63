"""One measurement in a fresh process: ``python child.py MODE WORKLOAD SIZE [--no-save]``.

``python child.py --probe MODE`` only checks that MODE works here.

The workload's input is prepared first, then the mode starts, the timer runs around the workload
only, and the mode stops. Peak RSS (ru_maxrss) is read just before start and just after stop, so the
runner can subtract an untraced process's growth over the same section. Saving and counting come
after, untimed as far as the traced section is concerned. CPU time and involuntary context switches
over the section are kept too: on a busy machine they show how much of the wall time was waiting.
The last stdout line is the JSON result.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import tempfile
import time
import traceback
from typing import Any, Dict

import modes
import workloads

RESULT_PREFIX = "PULSETRACE-BENCH-RESULT "


def max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def measure(mode_name: str, workload_name: str, size_key: str, save: bool) -> Dict[str, Any]:
    workload = workloads.load(workload_name)
    prepared = workload.setup(workload.SIZES[size_key])
    mode = modes.BY_NAME[mode_name].build()
    gc.collect()
    rss_before = max_rss_bytes()
    switches_before = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw
    mode.start()
    cpu_started = time.process_time()
    started = time.perf_counter()
    workload.run(prepared)
    ended = time.perf_counter()
    cpu_ended = time.process_time()
    switches = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw - switches_before
    mode.stop()
    stopped = time.perf_counter()
    rss_after_stop = max_rss_bytes()
    with tempfile.TemporaryDirectory(prefix="pulsetrace-bench-") as workdir:
        found: Dict[str, Any] = mode.finish(workdir, save)
    found.update(
        seconds=ended - started,
        cpu_seconds=cpu_ended - cpu_started,
        preempted=switches,  # involuntary context switches: other processes took the CPU
        stop_seconds=stopped - ended,
        rss_before=rss_before,
        rss_after_stop=rss_after_stop,
        rss_after_finish=max_rss_bytes(),
    )
    return found


def probe(mode_name: str) -> Dict[str, Any]:
    """Check that a mode can start, record a few calls, stop and finish (saves included)."""
    mode = modes.BY_NAME[mode_name].build()
    mode.start()
    sorted(str(i) for i in range(10))
    mode.stop()
    with tempfile.TemporaryDirectory(prefix="pulsetrace-bench-") as workdir:
        found: Dict[str, Any] = mode.finish(workdir, True)
        return found


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["--probe"]:
            result = probe(argv[1])
        else:
            save = "--no-save" not in argv
            mode_name, workload_name, size_key = [arg for arg in argv if arg != "--no-save"]
            result = measure(mode_name, workload_name, size_key, save)
        result["ok"] = True
    except BaseException as exc:  # report the reason rather than a bare exit code
        traceback.print_exc()
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip()}
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
