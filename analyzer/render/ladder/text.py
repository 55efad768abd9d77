"""Ladder → plain text for terminals (same content as the drawing, one line per arrow).

Columns: capture time, the client's state changes, the lane with the arrow and its label,
the server's state changes. Observed states are written ``[STATE]``, inferred ones
``(STATE)``. Under an arrow: its ack check, retransmission mark and findings' notes.
Widths are measured in terminal cells (Chinese characters take two).
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.cells import cell_len

from analyzer.render.ladder.labels import T
from analyzer.render.ladder.model import Arrow, Ladder, StateMark
from analyzer.render.ladder.order import Item, items_in_order

__all__ = ["render_text"]

_TIME_W = 11
_STATE_W = 15
_MIN_LANE, _MAX_LANE = 44, 96
_MARK = {"error": "✗", "warning": "!", "info": "i", "retransmission": "↻"}


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = max(width - cell_len(text), 0)
    return " " * gap + text if right else text + " " * gap


def _clip(text: str, width: int) -> str:
    if cell_len(text) <= width:
        return text
    out = ""
    for ch in text:
        if cell_len(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


def _label(a: Arrow) -> str:
    parts = ([a.step.text] if a.step else []) + [f.text for f in a.label]
    return " ".join(parts)


def _state(marks: list[StateMark]) -> str:
    return " ".join(f"[{m.state.text}]" if m.observed else f"({m.state.text})" for m in marks)


class _Text:
    def __init__(self, lad: Ladder) -> None:
        self.lad = lad
        widths = [cell_len(_label(a)) + 8 for a in lad.arrows]
        self.lane = min(max([_MIN_LANE, *widths]), _MAX_LANE)
        states = [cell_len(f"({m.state.text})") for m in lad.states if m.role == "client"]
        self.left = max([_STATE_W, cell_len(lad.client.title.text), *states])

    def row(self, time: str, left: str, lane: str, right: str) -> str:
        return (_pad(time, _TIME_W - 1, right=True) + " " + _pad(left, self.left, right=True)
                + " " + lane + " " + right).rstrip()

    def arrow_lane(self, a: Arrow) -> str:
        inner = self.lane - 2
        label = _clip(_label(a), inner - 6)
        if a.src == "client":
            body = f"── {label} " + "─" * max(inner - cell_len(label) - 5, 1) + "▶"
        else:
            body = "◀" + "─" * max(inner - cell_len(label) - 5, 1) + f" {label} ──"
        return f"│{body}│"

    def inside(self, text: str, mark: str = " ") -> str:
        """A line inside the lane; a longer note runs on past the server's lifeline."""
        inner = self.lane - 2
        body = f"   {mark} {text}"
        return "│" + (_pad(body, inner) + "│" if cell_len(body) <= inner else body)

    def arrow(self, a: Arrow, marks: list[StateMark]) -> Iterator[str]:
        left = _state([m for m in marks if m.role == "client"])
        right = _state([m for m in marks if m.role == "server"])
        yield self.row(a.time.text if a.time else "", left, self.arrow_lane(a), right)
        for f, mark in ((a.check, " "), (a.retx, "↻")):
            if f is not None:
                yield self.row("", "", self.inside(f.text, mark), "")
        for n in a.notes:
            yield self.row("", "", self.inside(n.field.text, _MARK.get(n.style, "!")), "")

    def item(self, it: Item) -> Iterator[str]:
        if it.arrow is not None:
            yield from self.arrow(it.arrow, it.states)
        elif it.band is not None:
            yield self.row("", "", "┆" + _pad(_clip(f"  {it.band.text.text}", self.lane - 2),
                                              self.lane - 2) + "┆", "")
        elif it.gap is not None:
            text = f"  ≈ {it.gap.text.text} ≈"
            yield self.row("", "", "≈" + _pad(text, self.lane - 2) + "≈", "")
        elif it.states:
            yield self.row("", _state([m for m in it.states if m.role == "client"]),
                           self.inside(""), _state([m for m in it.states if m.role == "server"]))
        elif it.bracket is not None:
            side = T[self.lad.lang][it.bracket.role]
            yield self.row("", "", f"┗ {side}: {it.bracket.text.text}", "")

    def lines(self) -> Iterator[str]:
        lad = self.lad
        yield lad.title.text
        yield ""
        yield self.row("t (s)", lad.client.title.text, " " * self.lane, lad.server.title.text)
        yield self.row("", f"[{lad.client.initial.text}]",
                       "│" + " " * (self.lane - 2) + "│", f"[{lad.server.initial.text}]")
        for it in items_in_order(lad):
            yield from self.item(it)
        yield self.row("", f"{lad.client.final.text}", "│" + " " * (self.lane - 2) + "│",
                       f"{lad.server.final.text}")
        for n in lad.notes:
            yield f"{_MARK.get(n.style, '!')} " + (f"frame {n.frame}: " if n.frame >= 0 else "") \
                + n.field.text
        yield ""
        yield from (f.text for f in lad.legend)


def render_text(lad: Ladder) -> str:
    """The diagram as text lines (ends with a newline)."""
    return "\n".join(_Text(lad).lines()) + "\n"
