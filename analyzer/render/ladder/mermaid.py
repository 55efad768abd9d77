"""Ladder → Mermaid ``sequenceDiagram`` (for Markdown), with the same content as the text.

Arrows: ``->>`` a segment, ``-)`` a retransmission, ``-x`` an RST. A segment with an error
or warning finding sits in a coloured ``rect`` block with its notes. State changes are
notes over the endpoint's lifeline: ``[STATE]`` observed, ``(STATE)`` inferred. Collapsed
bands and idle-gap breaks are notes over both lifelines. Characters Mermaid gives a meaning
to (``;``, ``#``, ``<``, ``>``) are written as entity codes.
"""

from __future__ import annotations

from collections.abc import Iterator

from analyzer.render.ladder.labels import T
from analyzer.render.ladder.model import Arrow, Ladder, StateMark
from analyzer.render.ladder.order import Item, items_in_order

__all__ = ["render_mermaid"]

_IDS = {"client": "C", "server": "S"}
_ESCAPES = str.maketrans({"#": "#35;", ";": "#59;", "<": "#lt;", ">": "#gt;"})
_RECT = {"error": "rgba(220, 40, 40, 0.15)", "warning": "rgba(240, 150, 20, 0.18)"}


def escape(text: str) -> str:
    """Mermaid-safe text: entity codes for ``#``, ``;``, ``<``, ``>``, no newlines."""
    return " ".join(text.translate(_ESCAPES).split())


def _state(m: StateMark) -> str:
    return f"[{m.state.text}]" if m.observed else f"({m.state.text})"


def _arrow(a: Arrow) -> Iterator[str]:
    kind = "-x" if a.style == "reset" else "-)" if a.retx is not None else "->>"
    label = " ".join(([a.step.text] if a.step else []) + [f.text for f in a.label])
    time = f"{a.time.text} s " if a.time else ""
    yield f"    {_IDS[a.src]}{kind}{_IDS[a.dst]}: {escape(time + label)}"
    for f in (a.check, a.retx):
        if f is not None:
            yield f"    Note over C,S: {escape(f.text)}"
    for n in a.notes:
        yield f"    Note over C,S: {escape(('⚠ ' if n.style != 'info' else '') + n.field.text)}"


def _item(it: Item) -> Iterator[str]:
    if it.arrow is not None:
        rect = _RECT.get(it.arrow.style)
        if rect:
            yield f"    rect {rect}"
        yield from _arrow(it.arrow)
        if rect:
            yield "    end"
    if it.band is not None:
        yield f"    Note over C,S: {escape(it.band.text.text)}"
    if it.gap is not None:
        yield f"    Note over C,S: ≈ {escape(it.gap.text.text)} ≈"
    for m in it.states:
        yield f"    Note over {_IDS[m.role]}: {escape(_state(m))}"
    if it.bracket is not None:
        yield f"    Note over {_IDS[it.bracket.role]}: {escape(it.bracket.text.text)}"


def render_mermaid(lad: Ladder) -> str:
    """The diagram as Mermaid source (ends with a newline)."""
    t = T[lad.lang]
    lines = ["sequenceDiagram", f"    title {escape(lad.title.text)}",
             f"    participant C as {escape(lad.client.title.text)}",
             f"    participant S as {escape(lad.server.title.text)}",
             f"    Note over C: {escape('[' + lad.client.initial.text + ']')}",
             f"    Note over S: {escape('[' + lad.server.initial.text + ']')}"]
    for it in items_in_order(lad):
        lines.extend(_item(it))
    for n in lad.notes:
        where = f"frame {n.frame}: " if n.frame >= 0 else ""
        lines.append(f"    Note over C,S: {escape(where + n.field.text)}")
    lines.append(f"    Note over C: {escape(t['client'] + ' ' + lad.client.final.text)}")
    lines.append(f"    Note over S: {escape(t['server'] + ' ' + lad.server.final.text)}")
    lines += [f"    %% {escape(f.text)}" for f in lad.legend]
    return "\n".join(lines) + "\n"
