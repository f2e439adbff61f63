"""``pulsetrace view``: serve the trace viewer for a saved trace on 127.0.0.1."""

from __future__ import annotations

import argparse
import io
import sys
import threading
from typing import Optional, Tuple

from ..model import Trace, read_any_trace
from ..model.native import MAGIC, parse_trace, read_file
from ..model.page_reader import looks_like_page, page_trace_bytes
from ..progress import Progress
from ..server import Route, RouteServer, ServerError
from ..viewer_page import served_page
from ..writers.html import embedded_heatmap
from ..writers.native import NativeWriter
from .base import CLIError, Command
from .reading import reading

TRACE_PATH = "/trace"


class ViewCommand(Command):
    """Open a trace in the viewer: timeline, flamegraph and function table, in the browser.

    `pulsetrace view TRACE` serves the viewer on 127.0.0.1 (a free port unless --port is given),
    prints its URL and serves until Ctrl-C; --open also opens it in the default browser. TRACE is a
    native .pulse file or Chrome Trace Event JSON (plain or gzipped), including JSON written by other
    tools, or a standalone .html page written by pulsetrace. Only this trace and the viewer are
    served, and only to this machine.
    """

    name = "view"

    def prepare_parser(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "trace", help="the trace to show (.pulse, .html, or Chrome JSON: .json, .json.gz)"
        )
        parser.add_argument(
            "--port", type=_port, default=0, metavar="N",
            help="serve on this port of 127.0.0.1 (default: a free one)",
        )  # fmt: skip
        parser.add_argument("--open", action="store_true", help="open the viewer in the default web browser")

    def run(self, args: argparse.Namespace) -> int:
        native, trace = _native_bytes(args.trace)
        # A trace with line statistics gets the Heatmap tab, as in its standalone page.
        with Progress(f"preparing {args.trace}", sys.stderr):
            page = served_page(TRACE_PATH, embedded_heatmap(trace))
        server = RouteServer(args.port)
        server.add("/", Route("text/html; charset=utf-8", body=lambda request: page))
        server.add(TRACE_PATH, Route("application/octet-stream", body=lambda request: native))
        try:
            server.start()
        except ServerError as exc:
            raise CLIError(str(exc), 1) from None
        try:  # from here on, Ctrl-C is the normal way out
            sys.stdout.write(f"pulsetrace: serving {args.trace} at {server.url} (Ctrl-C to stop)\n")
            sys.stdout.flush()
            if args.open:
                import webbrowser  # only here: it imports subprocess, which the run command must not

                webbrowser.open(server.url)
            _wait_forever()
        except KeyboardInterrupt:
            sys.stderr.write("pulsetrace: stopped\n")
        finally:
            server.stop()
        return 0


def _native_bytes(path: str) -> Tuple[bytes, Trace]:
    """The trace as native bytes, checked to be a readable trace before anything is served: a native
    file as it is, Chrome JSON converted here so that the browser only ever decodes one format; and
    the trace as read."""
    with reading(path):
        name, data = read_file(path)
        if looks_like_page(data):
            data = page_trace_bytes(data, name)
        if data.startswith(MAGIC):
            return data, parse_trace(data, name)  # the whole file is checked, not just its magic
        trace = read_any_trace(path)
        buffer = io.BytesIO()
        NativeWriter().write(trace, buffer)
        return buffer.getvalue(), trace


def _wait_forever(stop: Optional[threading.Event] = None) -> None:
    """Block until Ctrl-C (KeyboardInterrupt) without burning a CPU."""
    event = stop or threading.Event()
    while not event.wait(3600):
        pass


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("a port is a number from 0 to 65535")
    return value
