"""Figures → inline SVG text for the HTML report (no external assets, no scripts)."""

from __future__ import annotations

import io
import re

from markupsafe import Markup
from matplotlib.figure import Figure

__all__ = ["inline_svg"]

_HEAD = re.compile(r"^.*?(?=<svg)", re.S)
_ACTIVE = re.compile(r"<\s*(script|foreignObject|iframe)|\son\w+\s*=|javascript:", re.I)


def inline_svg(fig: Figure, title: str = "") -> Markup:
    """The figure as an ``<svg>`` element to put straight into HTML.

    Text stays text (``svg.fonttype`` none: selectable, searchable, drawn with the page's
    fonts); matplotlib escapes it as XML. As a second line of defence the result is
    refused if it contains anything active (script, event handler, javascript: URL).
    """
    import matplotlib

    from analyzer.render.ladder.mpl import quiet_fonts

    buf = io.StringIO()
    with quiet_fonts(), matplotlib.rc_context({"svg.fonttype": "none",
                                               "svg.hashsalt": "synack"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "synack"})
    svg = _HEAD.sub("", buf.getvalue(), count=1)
    if _ACTIVE.search(svg):
        raise ValueError("refusing to inline an SVG with active content")
    svg = svg.replace("<svg ", '<svg role="img" class="figure" ', 1)
    if title:
        from markupsafe import escape

        svg = svg.replace(">", f"><title>{escape(title)}</title>", 1)
    return Markup(svg)
