"""The line heatmap as a standalone HTML page (``-o result.heatmap.html``).

The page lists the recorded files by group (project, standard library, site-packages), shows each
file's source with every line coloured by its time or hits, and links lines to the functions they
called and functions to the lines that called them; see ``reports.heatmap`` for the data and
``reports.heatmap_html`` for the page. A trace recorded without line statistics cannot be written
this way, and the error says how to record one.
"""

from __future__ import annotations

from ..model import Trace
from .output import OutputError
from .registry import Sink, Writer, register


@register
class HeatmapWriter(Writer):
    """Every recorded line's hits and times, coloured cold to hot, as one self-contained HTML file."""

    name = "heatmap"
    extensions = (".heatmap.html",)
    description = "line heatmap: a self-contained HTML page (needs line statistics)"
    needs_lines = True

    def write(self, trace: Trace, stream: Sink) -> None:
        # Imported here: the heatmap needs Pygments, which a traced child process of another
        # interpreter may lack; it only ever writes native files (pulsetrace.childenv).
        from ..reports.heatmap import NoLineStatsError, heatmap_document
        from ..reports.heatmap_html import heatmap_html

        try:
            document = heatmap_document(trace)
        except NoLineStatsError as exc:
            raise OutputError(str(exc)) from None
        stream.write(heatmap_html(document).encode("utf-8", "xmlcharrefreplace"))
