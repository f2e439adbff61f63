"""The live view: a local web page that shows a running program's lines, the expression each frame
is executing and every thread's stack, refreshed several times a second.

``pulsetrace.live()`` starts it from inside a program; ``pulsetrace live script.py`` runs a program
under it. This package is itself callable, so that ``pulsetrace.live(...)`` is the function even
after ``import pulsetrace.live``.
"""

from __future__ import annotations

import os
import sys
import types
from types import FrameType
from typing import Any, Optional

from ..pycommand import describe_program
from . import files
from .files import FileSelector
from .session import DEFAULT_PORT, LiveError, LiveSession

_PACKAGE_PREFIX = __name__ + "."
_session: Optional[LiveSession] = None


def _calling_frame() -> Optional[FrameType]:
    """The first frame outside this package: the program's line that called live()."""
    frame: Optional[FrameType] = sys._getframe(1)
    while frame is not None:
        name = str(frame.f_globals.get("__name__", ""))
        if name != __name__ and not name.startswith(_PACKAGE_PREFIX):
            return frame
        frame = frame.f_back
    return None


def live(
    files: Optional[FileSelector] = None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    browser: bool = False,
    daemon: bool = True,
    output: Optional[str] = None,
) -> LiveSession:
    """Start the live view of this program, from the caller's next line on.

    ``files`` chooses the traced files (see ``pulsetrace.files``); by default the calling file and
    every file that contains the comment ``# pulsetrace``. The page is served on ``host:port``
    (``port=0``: a free port; the address is printed on stderr); any host other than loopback
    needs the random token printed with the address. ``browser=True`` opens a tab. With
    ``daemon=True`` the server ends with the program; with ``daemon=False`` the final page stays up
    after the program's end until Ctrl-C. ``output`` names a heatmap report written at exit.
    On 3.12+ every thread is traced, those already running included; before 3.12 the calling
    thread and threads started afterwards.

    Raises LiveError when the view cannot start (the port is in use). A second call returns the
    session already running.
    """
    global _session
    if _session is not None:
        return _session
    frame = _calling_frame()
    if files is None:
        calling_file = frame.f_code.co_filename if frame is not None else ""
        files = _default_selector(calling_file)
    from .report import write_report

    session = LiveSession(
        files,
        host=host,
        port=port,
        open_browser=browser,
        keep_serving=not daemon,
        output=output,
        report_writer=write_report,
        title=describe_program(sys.argv),
    )
    session.start()
    session.finish_at_exit()
    _session = session
    return session


def _default_selector(calling_file: str) -> FileSelector:
    if calling_file and os.path.isfile(calling_file):
        return files.default_for_caller(calling_file)
    return files.marked()


class _CallableModule(types.ModuleType):
    """``pulsetrace.live`` is this package; calling it calls live()."""

    def __call__(self, *args: Any, **kwargs: Any) -> LiveSession:
        return live(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

__all__ = ["LiveError", "LiveSession", "files", "live"]
