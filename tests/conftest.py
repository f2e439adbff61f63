"""Shared fixtures: the core under test (every available core and backend), expected failures for
the known gaps of a core (corpus.harness.KNOWN_GAPS), and a guard that fails any test leaving a
tracer, profile hook or tool id behind."""

from __future__ import annotations

import signal
import sys
from typing import Callable, Iterator

import pytest

import pulsetrace
import pulsetrace.tracer
from corpus.harness import CoreChoice, core_choices, gap_reason, leaked_state


def pytest_configure(config: pytest.Config) -> None:
    """A suite started in the background by a non-interactive shell (``pytest &``) inherits SIGINT
    ignored, and so would every process it starts: Ctrl-C tests (pulsetrace view, live, run) would
    wait in vain. A handler here is reset to the default in every child at exec, as at a terminal."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(params=core_choices(), ids=lambda choice: choice.id)
def core(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> CoreChoice:
    """The core under test; also selected through the environment, for Tracer() without arguments."""
    choice: CoreChoice = request.param
    monkeypatch.setenv("PULSETRACE_CORE", choice.core)
    monkeypatch.setenv("PULSETRACE_BACKEND", choice.backend)
    return choice


@pytest.fixture
def known_gap(request: pytest.FixtureRequest, core: CoreChoice) -> Callable[..., bool]:
    """known_gap(*names): mark the test an expected failure if one of the gaps applies to this core;
    returns whether one did. Call it after the assertions that must hold anyway."""

    def mark(*names: str) -> bool:
        reason = gap_reason(core, *names)
        if reason:
            request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
        return bool(reason)

    return mark


@pytest.fixture(autouse=True)
def nothing_left_behind() -> Iterator[None]:
    """Fail a test that leaves a tracer running (and stop it), or leaves a hook or tool id behind."""
    yield
    problems = leaked_state()
    if not problems:
        return
    tracer = pulsetrace.running_tracer()
    if tracer is not None and tracer.running:
        tracer.stop()
    pulsetrace.tracer._running = None
    sys.setprofile(None)
    import threading

    threading.setprofile(None)  # type: ignore[arg-type]
    pytest.fail("the test left state behind: " + "; ".join(problems))
