"""Time → y: where each arrow starts and ends, where the time axis is broken.

An arrow is slanted from its send to its arrival as seen from the capture point: a segment
captured at ``t`` left the client at ``t - d_c`` and reached the server at ``t + d_s``
(and the other way round), where ``d_c`` and ``d_s`` are the one-way delays between the
capture point and each endpoint, estimated as half the smallest round trip the capture
shows on that side (handshake and ACK samples of ``result.timing.rtt``). The capture point
sits at ``x = d_c / (d_c + d_s)`` between the lifelines.

All send, capture, arrival and band events are sorted by time and placed down the page on a real
time scale (``rows_per_s``) with a floor of ``min_sep`` rows between consecutive events
(so labels never overlap); inside a collapsed band events only take their floor. A gap
that would take more than ``max_step`` rows becomes a break of ``gap_rows`` rows, marked
with its duration. The scale is chosen so that the
90th percentile of the gaps between events takes ``max_step / 2`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Event", "LayoutOptions", "Placed", "place_events", "rows_per_second"]


@dataclass(frozen=True, slots=True)
class LayoutOptions:
    """Knobs of the layout (rows are lines of label text)."""

    max_arrows: int = 60      # drawn arrows before the data phase collapses into bands
    context: int = 3          # segments kept at each end of a collapsed run
    min_band: int = 4         # shorter runs are drawn, not collapsed
    min_sep: float = 1.0      # rows between consecutive events
    max_step: float = 6.0     # a longer gap becomes a break
    gap_rows: float = 2.0     # height of a break
    band_rows: float = 2.0    # height of a collapsed band
    note_rows: float = 0.9    # extra room under an arrow per line of notes
    head_rows: float = 3.0    # lifeline titles and initial states
    tail_rows: float = 2.5    # final states and the end of brackets


@dataclass(slots=True)
class Event:
    """Something placed on the time axis."""

    t_ns: float
    min_before: float         # rows required since the previous event
    breakable: bool = True    # False inside a band: its height is fixed
    extra_after: float = 0.0  # more rows before the next event (notes under an arrow)
    band: int = 0             # +1 opens a collapsed band, -1 closes it
    y: float = 0.0


@dataclass(slots=True)
class Placed:
    """Events with their y, and the breaks (y_top, y_bottom, seconds) between them."""

    events: list[Event]
    breaks: list[tuple[float, float, float]] = field(default_factory=list)
    end: float = 0.0


def rows_per_second(times_ns: np.ndarray, opts: LayoutOptions) -> float:
    """The time scale: the 90th percentile gap between events takes ``max_step / 2`` rows."""
    t = np.sort(np.asarray(times_ns, dtype=np.float64))
    dt = np.diff(t)
    dt = dt[dt > 0]
    if len(dt) == 0:
        return 1.0
    p90 = float(np.quantile(dt, 0.9)) / 1e9
    return (opts.max_step / 2) / max(p90, 1e-9)


def place_events(events: list[Event], opts: LayoutOptions, scale: float) -> Placed:
    """Give every event its y (in place, sorted by time, ties in list order)."""
    order = sorted(range(len(events)), key=lambda i: (events[i].t_ns, i))
    out = Placed(events)
    y = opts.head_rows
    prev: Event | None = None
    open_bands = 0
    for i in order:
        ev = events[i]
        inside = open_bands > 0
        open_bands += ev.band
        if prev is None:
            ev.y = y
            prev = ev
            continue
        dt_s = max(ev.t_ns - prev.t_ns, 0.0) / 1e9
        step = 0.0 if inside else dt_s * scale
        if inside:
            y += ev.min_before + prev.extra_after
        elif ev.breakable and step > opts.max_step:
            top = y + opts.min_sep / 2
            out.breaks.append((top, top + opts.gap_rows, dt_s))
            y += opts.gap_rows + opts.min_sep
        else:
            y += max(ev.min_before + prev.extra_after, step if ev.breakable else 0.0)
        ev.y = y
        prev = ev
    out.end = y
    return out
