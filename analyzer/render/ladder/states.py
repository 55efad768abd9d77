"""State annotations on the lifelines and the TIME_WAIT 2·MSL brackets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analyzer.pdutil import records
from analyzer.render.ladder.labels import T, fmt_seconds
from analyzer.render.ladder.model import Arrow, Band, Bracket, Field, Role, StateMark
from analyzer.render.ladder.select import Selection
from analyzer.result import AnalysisResult

__all__ = ["brackets", "state_marks"]


def _band_y(frame: int, bands: Sequence[Band]) -> float | None:
    for b in bands:
        if b.first_frame <= frame <= b.last_frame:
            return (b.y_top + b.y_bottom) / 2
    return None


def state_marks(tr: pd.DataFrame, arrows: Sequence[Arrow], bands: Sequence[Band],
                sel: Selection, rows: np.ndarray, cols: dict[str, np.ndarray],
                timer_y: dict[int, float], lang: str) -> list[StateMark]:
    """One mark per transition: at the sender's end of the arrow that caused it when the
    endpoint sent it, at the arrival end when it received it, at its time for a timer."""
    by_frame = {a.frame: a for a in arrows}
    out = []
    for i, r in enumerate(records(tr)):
        role: Role = "server" if str(r["endpoint"]) == "server" else "client"
        at = int(r["at_frame"])
        y: float | None
        if at < 0:
            y = timer_y.get(i)
        elif at in by_frame:
            a = by_frame[at]
            y = a.y_send if a.src == role else a.y_arrive
        else:
            y = _band_y(at, bands)
        if y is None:
            continue
        out.append(StateMark(role, y, Field("state", str(r["to_state"])), bool(r["observed"]),
                             int(r["frame"]), str(r["cause"])))
    return out


def brackets(result: AnalysisResult, conn_id: int, states: Sequence[StateMark],
             height: float, lang: str) -> list[Bracket]:
    """TIME_WAIT of either endpoint: from entry to its end (or past the capture's end)."""
    tw = result.timing.time_wait
    mine = tw[tw["conn_id"].to_numpy() == conn_id] if len(tw) else tw
    t = T[lang]
    out = []
    for r in records(mine):
        role: Role = "server" if str(r["endpoint"]) == "server" else "client"
        entry = [s.y for s in states if s.role == role and s.state.value == "TIME_WAIT"]
        if not entry:
            continue
        text = t["tw"].format(msl=fmt_seconds(float(r["expected_s"])))
        end = str(r["end"])
        shown = (int(r["end_ns"]) - int(r["enter_ns"])) / 1e9
        if end == "capture_end":
            text += t["tw_open"].format(t=fmt_seconds(shown))
        elif end == "expired":
            text += t["tw_expired"].format(t=fmt_seconds(shown))
        else:
            why = t["why_reuse"] if end == "reuse" else t["why_rst"]
            text += t["tw_until"].format(why=why, t=fmt_seconds(shown))
        out.append(Bracket(role, entry[0], height - 0.8, end == "capture_end",
                           Field("bracket", text)))
    return out
