"""The ladder's items in reading order, for the sequential backends (text, Mermaid).

Arrows are read at the point where they pass the capture point (capture order); bands and
breaks at their top; the state changes an arrow caused go with that arrow, timer-driven
ones stand alone at their y; TIME_WAIT brackets come after everything they span.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analyzer.render.ladder.model import Arrow, Band, Bracket, Gap, Ladder, StateMark

__all__ = ["Item", "items_in_order"]


@dataclass
class Item:
    y: float
    arrow: Arrow | None = None
    band: Band | None = None
    gap: Gap | None = None
    bracket: Bracket | None = None
    states: list[StateMark] = field(default_factory=list)


def items_in_order(lad: Ladder) -> list[Item]:
    items = [Item(a.y_capture, arrow=a) for a in lad.arrows]
    by_frame = {a.frame: it for a, it in zip(lad.arrows, items, strict=True)}
    for s in lad.states:
        if s.frame in by_frame:
            by_frame[s.frame].states.append(s)
        else:
            items.append(Item(s.y, states=[s]))
    items += [Item(b.y_top, band=b) for b in lad.bands]
    items += [Item(g.y_top, gap=g) for g in lad.gaps]
    items += [Item(b.y_bottom + 1000.0, bracket=b) for b in lad.brackets]
    return sorted(items, key=lambda it: it.y)
