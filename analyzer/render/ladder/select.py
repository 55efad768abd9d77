"""Which segments of a connection are drawn as arrows and which collapse into bands.

Always drawn: numbered handshake/teardown steps, SYN/FIN/RST segments, segments that
changed an endpoint's state, the main segment of an error or warning finding, and
timer-driven retransmissions. Then, up to ``max_arrows``: segments of info findings,
other retransmissions, and ``context`` segments at both ends of each data run. The rest
of each run collapses into one band, unless the run is shorter than ``min_band``.
With ``full`` every segment is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Priority", "Selection", "select_rows"]


@dataclass(frozen=True, slots=True)
class Priority:
    """Per row of one connection (arrays of the connection's length)."""

    structural: np.ndarray   # always drawn
    important: np.ndarray    # errors/warnings, RTOs: drawn first within the cap
    useful: np.ndarray       # info findings, other retransmissions


@dataclass(frozen=True, slots=True)
class Selection:
    """Positions (into the connection's rows) drawn as arrows, and the collapsed runs."""

    drawn: np.ndarray                    # sorted positions
    bands: list[tuple[int, int]]         # [start, stop) runs of positions collapsed


def _context(drawn: np.ndarray, k: int) -> np.ndarray:
    """Positions within ``k`` of a run boundary of not-``drawn`` positions."""
    n = len(drawn)
    out = np.zeros(n, dtype=bool)
    if k <= 0 or n == 0:
        return out
    edges = np.flatnonzero(np.diff(np.concatenate([[1], drawn.astype(np.int8), [1]])))
    for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        out[a:min(a + k, b)] = True
        out[max(b - k, a):b] = True
    return out


def _fill(drawn: np.ndarray, extra: np.ndarray, cap: int) -> np.ndarray:
    """``drawn`` plus the first positions of ``extra`` while the total stays under ``cap``."""
    room = cap - int(drawn.sum())
    cand = np.flatnonzero(extra & ~drawn)
    if room <= 0 or len(cand) == 0:
        return drawn
    out = drawn.copy()
    out[cand[:room]] = True
    return out


def _runs(drawn: np.ndarray, min_band: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Runs of not-drawn positions; runs shorter than ``min_band`` are drawn instead."""
    out = drawn.copy()
    bands: list[tuple[int, int]] = []
    edges = np.flatnonzero(np.diff(np.concatenate([[1], drawn.astype(np.int8), [1]])))
    for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        if b - a < min_band:
            out[a:b] = True
        else:
            bands.append((a, b))
    return out, bands


def select_rows(prio: Priority, *, full: bool, max_arrows: int, context: int,
                min_band: int) -> Selection:
    """Choose the drawn positions of one connection (see the module docstring)."""
    n = len(prio.structural)
    if full or n <= max_arrows:
        return Selection(np.arange(n), [])
    drawn = prio.structural.copy()
    drawn = _fill(drawn, prio.important, max_arrows)
    drawn = _fill(drawn, prio.useful, max_arrows)
    drawn = _fill(drawn, _context(drawn, context), max_arrows)
    drawn, bands = _runs(drawn, min_band)
    return Selection(np.flatnonzero(drawn), bands)
