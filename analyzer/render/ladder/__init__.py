"""Annotated sequence (ladder) diagrams of one TCP connection.

Two steps: a **layout model** (pure data, no drawing) built from an AnalysisResult, then
**backends** that draw it — matplotlib (SVG/PNG/PDF), text (terminal) and Mermaid — so
all three show the same content and tests check the model, not pixels.

>>> lad = build_ladder(result, conn_id=0)                # doctest: +SKIP
>>> print(render_text(lad))                              # doctest: +SKIP
>>> save(lad, "conn0.svg", "svg")                        # doctest: +SKIP
>>> render(lad, "mermaid")                               # doctest: +SKIP

The model (``analyzer.render.ladder.model``)
--------------------------------------------
:class:`Ladder` holds two :class:`Lifeline` (client at x=0, server at x=1: title, initial
and final state), and, all with ``y`` in text rows growing downwards:

* ``arrows`` — :class:`Arrow` per drawn segment: ``frame``, ``src`` ("client"/"server"),
  ``y_send`` → ``y_arrive`` (slanted as seen from the capture point), ``y_capture``,
  ``t_s``; texts ``label`` (flags, seq, ack, len, win, opts), ``step`` ("1/3", "2/4+3/4"),
  ``check`` ("ack = client ISN+1 ✓"), ``retx`` ("RTO #2 432 ms ×2.0"), ``notes``
  (findings' short notes) and a ``style`` (normal, error, warning, retransmission, reset).
* ``states`` — :class:`StateMark` where an endpoint's state changed, ``observed`` or
  inferred, at the sender's end of the arrow that caused it (observed) or its arrival end.
* ``bands`` — :class:`Band`: collapsed data runs ("… 1,204 data segments, 1.4 MB, 3
  retransmissions, 2.31 s …"); none with ``full=True``.
* ``gaps`` — :class:`Gap`: breaks of the time axis for long idle gaps ("idle 6.66 s").
* ``brackets`` — :class:`Bracket`: TIME_WAIT with its 2·MSL, open-ended past the capture.
* ``notes`` (diagram-level: how it ended, findings on collapsed segments) and ``legend``.

Every text is a :class:`Field` (``kind``, ``value``, ``label``, ``blank``; drawn as
``field.text``), never a plain string, so callers can change texts without touching a
backend. Kinds are listed in ``FIELD_KINDS``: flags, seq, ack, len, win, opts, step,
check, state, time, retx, note, band, gap, bracket, title, legend, ending.

Blanking (worksheets)
---------------------
``lad.blanked({"seq", "ack", "state"})`` returns a copy whose fields of those kinds draw
as ``seq=____`` / ``____`` while keeping ``value`` (the answer key); ``keep=`` spares some
(``keep=lambda f: f.kind == "seq" and f.value == "0"``). ``lad.map_fields(fn)`` is the
general hook: ``fn(Field) -> Field`` rewrites any text (translate, shorten, number the
blanks). ``lad.iter_fields()`` lists every field (e.g. to build the answer key). A
student sheet is then ``save(build_ladder(r, c).blanked({...}), "sheet.pdf", "pdf")``.

Building options: ``full`` (no collapsing), ``raw`` (raw seq/ack instead of relative),
``lang`` ("en"/"zh"), and :class:`LayoutOptions` (arrow cap, context kept around bands,
row spacing, break threshold; see ``geometry``).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from analyzer.render.ladder.build import build_ladder
from analyzer.render.ladder.geometry import LayoutOptions
from analyzer.render.ladder.marks import Marks, marks
from analyzer.render.ladder.mermaid import render_mermaid
from analyzer.render.ladder.model import (
    BLANK,
    FIELD_KINDS,
    Arrow,
    Band,
    Bracket,
    Field,
    Gap,
    Ladder,
    Lifeline,
    Note,
    StateMark,
)
from analyzer.render.ladder.text import render_text

__all__ = [
    "BLANK", "FIELD_KINDS", "FORMATS", "Arrow", "Band", "Bracket", "Field", "Gap", "Ladder",
    "LayoutOptions", "Lifeline", "Marks", "Note", "StateMark", "build_ladder", "marks",
    "render", "render_mermaid", "render_text", "save",
]

FORMATS = ("svg", "png", "pdf", "txt", "mermaid")


def render(lad: Ladder, fmt: str) -> str | bytes:
    """The diagram in ``fmt``: text for txt/mermaid/svg, bytes for png/pdf."""
    if fmt == "txt":
        return render_text(lad)
    if fmt == "mermaid":
        return render_mermaid(lad)
    import io

    from analyzer.render.ladder.mpl import save as mpl_save

    buf = io.BytesIO()
    mpl_save(lad, buf, fmt)
    data = buf.getvalue()
    return data.decode("utf-8") if fmt == "svg" else data


def save(lad: Ladder, target: str | Path | IO[Any], fmt: str = "svg") -> None:
    """Write the diagram to a path or stream in any of FORMATS."""
    out = render(lad, fmt)
    if isinstance(target, (str, Path)):
        mode = "w" if isinstance(out, str) else "wb"
        with open(target, mode, encoding="utf-8" if mode == "w" else None) as f:
            f.write(out)
    else:
        target.write(out)
