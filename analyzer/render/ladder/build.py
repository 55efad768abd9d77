"""AnalysisResult + connection id → :class:`~analyzer.render.ladder.model.Ladder`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analyzer.checks.context import context
from analyzer.pdutil import records
from analyzer.render.ladder.fields import SegmentText, scaled_windows
from analyzer.render.ladder.geometry import Event, LayoutOptions, place_events, rows_per_second
from analyzer.render.ladder.labels import T, fmt_bytes, fmt_seconds
from analyzer.render.ladder.marks import marks
from analyzer.render.ladder.model import (
    Arrow,
    Band,
    Field,
    Gap,
    Ladder,
    Lifeline,
    Note,
    Role,
    Style,
)
from analyzer.render.ladder.notes import HALF_OPEN_CHECKS, SKIP_ON_ARROW, finding_note
from analyzer.render.ladder.select import Priority, Selection, select_rows
from analyzer.render.ladder.states import brackets, state_marks
from analyzer.result import AnalysisResult
from analyzer.schema import FIN, RST, SYN

__all__ = ["build_ladder", "conn_findings", "one_way_delays"]

_SEVERITY_STYLE: dict[str, Style] = {"error": "error", "warning": "warning", "info": "info"}


def conn_findings(result: AnalysisResult, conn_id: int) -> pd.DataFrame:
    fd = result.findings
    return fd[fd["conn_id"].to_numpy() == conn_id] if len(fd) else fd


def one_way_delays(result: AnalysisResult, conn_id: int) -> tuple[float, float]:
    """(d_c, d_s) in ns: capture point ↔ client and capture point ↔ server (0 if unknown)."""
    rtt = result.timing.rtt
    mine = rtt[rtt["conn_id"].to_numpy() == conn_id] if len(rtt) else rtt
    out = []
    for direction in ("s2c", "c2s"):
        legs = mine.loc[mine["direction"] == direction, "leg_ms"].to_numpy(dtype=float) \
            if len(mine) else np.zeros(0)
        legs = legs[np.isfinite(legs) & (legs >= 0)]
        out.append(float(legs.min()) * 1e6 / 2 if len(legs) else 0.0)
    return out[0], out[1]


class _Builder:
    def __init__(self, result: AnalysisResult, conn_id: int, full: bool, raw: bool,
                 lang: str, opts: LayoutOptions) -> None:
        self.result, self.conn, self.full, self.lang, self.opts = result, conn_id, full, \
            lang, opts
        self.t = T[lang]
        ctx = context(result)
        self.rows = ctx.conn_rows(conn_id)
        self.cols = result.columns
        self.srv = result.flows.from_server
        self.marks = marks(result)
        self.fd = conn_findings(result, conn_id)
        self.tr = ctx.conn_transitions(conn_id)
        retx = self.marks.retx
        mine = retx[retx["conn_id"].to_numpy() == conn_id] if len(retx) else retx
        self.retx: dict[int, dict[str, Any]] = {int(r["row"]): r
                                                for r in records(mine)}
        self.text = SegmentText(self.cols, result.flows.rel_seq, result.flows.rel_ack,
                                self.srv, self.marks, raw, lang)
        self.t0 = int(self.cols["ts_ns"][self.rows[0]]) if len(self.rows) else 0

    # --- which rows become arrows --------------------------------------------------------
    def priority(self) -> Priority:
        rows, cols = self.rows, self.cols
        frames = cols["frame"][rows]
        flags = cols["flags"][rows].astype(np.int64)
        moved = np.isin(frames, self.tr["at_frame"].to_numpy())
        structural = (self.marks.step[rows] != 0) | ((flags & (SYN | FIN | RST)) != 0) | moved
        sev = self.fd["severity"].astype(str).to_numpy() if len(self.fd) else np.zeros(0, str)
        fr = self.fd["frame"].to_numpy() if len(self.fd) else np.zeros(0, np.int64)
        checks = self.fd["check"].astype(str).to_numpy() if len(self.fd) else np.zeros(0, str)
        drawn_checks = ~np.isin(checks, list(SKIP_ON_ARROW))
        bad = np.isin(frames, fr[(sev != "info") & drawn_checks])
        timer = np.array([r in self.retx and bool(self.retx[r]["timer"])
                          for r in rows.tolist()], dtype=bool) if self.retx else \
            np.zeros(len(rows), bool)
        retx = np.isin(rows, np.fromiter(self.retx, dtype=np.int64, count=len(self.retx)))
        info = np.isin(frames, fr[(sev == "info") & drawn_checks])
        return Priority(structural, bad | timer, info | retx)

    def select(self) -> Selection:
        o = self.opts
        return select_rows(self.priority(), full=self.full, max_arrows=o.max_arrows,
                           context=o.context, min_band=o.min_band)

    # --- the whole diagram ---------------------------------------------------------------
    def build(self) -> Ladder:
        sel = self.select()
        d_c, d_s = one_way_delays(self.result, self.conn)
        ts = self.cols["ts_ns"]
        notes_at = self.notes_by_frame()
        sends, caps, arrives = [], [], []
        events: list[Event] = []
        for p in sel.drawn.tolist():
            r = int(self.rows[p])
            from_srv = bool(self.srv[r])
            d_from, d_to = (d_s, d_c) if from_srv else (d_c, d_s)
            t = float(ts[r])
            extra = len(notes_at.get(int(self.cols["frame"][r]), ())) + \
                (r in self.retx) + (int(self.marks.check_ok[r]) >= 0)
            sends.append(Event(t - d_from, self.opts.min_sep))
            caps.append(Event(t, 0.0))
            arrives.append(Event(t + d_to, self.opts.min_sep,
                                 extra_after=extra * self.opts.note_rows))
            events += [sends[-1], caps[-1], arrives[-1]]
        band_events = []
        for a, b in sel.bands:
            top = Event(float(ts[self.rows[a]]), self.opts.min_sep, band=1)
            bottom = Event(float(ts[self.rows[b - 1]]), self.opts.band_rows, breakable=False,
                           band=-1)
            band_events.append((top, bottom))
            events += [top, bottom]
        timer_events = {i: Event(float(t), self.opts.min_sep)
                        for i, t in self.timer_times().items()}
        events += list(timer_events.values())
        scale = rows_per_second(np.array([e.t_ns for e in events]), self.opts)
        placed = place_events(events, self.opts, scale)
        total = d_c + d_s
        frac = (d_c / total) if total > 0 else None
        arrows = [self.arrow(int(self.rows[p]), s, c.y, a, notes_at)
                  for p, s, c, a in zip(sel.drawn.tolist(), sends, caps, arrives, strict=True)]
        bands = [self.band(a, b, top.y, bottom.y)
                 for (a, b), (top, bottom) in zip(sel.bands, band_events, strict=True)]
        gaps = [Gap(y0, y1, s, Field("gap", self.t["gap"].format(t=fmt_seconds(s))))
                for y0, y1, s in placed.breaks]
        height = placed.end + self.opts.tail_rows
        timer_y = {i: e.y for i, e in timer_events.items()}
        states = state_marks(self.tr, arrows, bands, sel, self.rows, self.cols, timer_y,
                             self.lang)
        return self.ladder(arrows, bands, gaps, states, height, frac, scale, notes_at, sel)

    def timer_times(self) -> dict[int, int]:
        """Transitions driven by a timer inside the connection's time span, by index."""
        tr = self.tr
        if len(self.rows) == 0:
            return {}
        end = int(self.cols["ts_ns"][self.rows[-1]])
        out = {}
        for i, (frame, t) in enumerate(zip(tr["frame"].to_numpy(), tr["ts_ns"].to_numpy(),
                                           strict=True)):
            if int(frame) < 0 and int(t) <= end:
                out[i] = int(t)
        return out

    def notes_by_frame(self) -> dict[int, list[Note]]:
        out: dict[int, list[Note]] = {}
        for r in records(self.fd):
            if str(r["check"]) in SKIP_ON_ARROW:
                continue
            style = _SEVERITY_STYLE.get(str(r["severity"]), "info")
            out.setdefault(int(r["frame"]), []).append(
                Note(Field("note", finding_note(r, self.lang)), style, int(r["frame"])))
        return out

    def arrow(self, r: int, send: Event, y_cap: float, arrive: Event,
              notes_at: dict[int, list[Note]]) -> Arrow:
        src: Role = "server" if self.srv[r] else "client"
        frame = int(self.cols["frame"][r])
        notes = tuple(notes_at.get(frame, ()))
        retx = self.text.retx(self.retx.get(r))
        style = _arrow_style(notes, retx is not None, bool(int(self.cols["flags"][r]) & RST))
        t_s = (int(self.cols["ts_ns"][r]) - self.t0) / 1e9
        return Arrow(frame=frame, src=src, y_send=send.y, y_arrive=arrive.y, t_s=t_s,
                     y_capture=y_cap, label=self.text.label(r, self.window_change(r)),
                     step=self.text.step(r), check=self.text.check(r), retx=retx,
                     notes=notes, style=style, time=Field("time", f"{t_s:.6f}"))

    def window_change(self, r: int) -> int | None:
        """The window in bytes when it differs from the sender's previous segment."""
        if not hasattr(self, "_win"):
            w = scaled_windows(self.cols, self.rows, self.srv)
            prev: dict[bool, int] = {}
            self._win: dict[int, int | None] = {}
            for row, val, s in zip(self.rows.tolist(), w.tolist(),
                                   self.srv[self.rows].tolist(), strict=True):
                self._win[row] = None if prev.get(s) == val else val
                prev[s] = val
        return self._win.get(r)

    def band(self, a: int, b: int, y0: float, y1: float) -> Band:
        rows = self.rows[a:b]
        n_bytes = int(self.cols["payload_len"][rows].sum())
        n_retx = int(np.isin(rows, np.fromiter(self.retx, np.int64, len(self.retx))).sum())
        dur = (int(self.cols["ts_ns"][rows[-1]]) - int(self.cols["ts_ns"][rows[0]])) / 1e9
        t = self.t
        parts = [t["band_seg"].format(n=len(rows)), fmt_bytes(n_bytes)]
        if n_retx:
            parts.append(t["band_retx1"] if n_retx == 1 else t["band_retx"].format(n=n_retx))
        if dur > 0:
            parts.append(fmt_seconds(dur))
        text = f"… {t['sep'].join(parts)} …"
        return Band(y0, y1, int(self.cols["frame"][rows[0]]), int(self.cols["frame"][rows[-1]]),
                    len(rows), n_bytes, n_retx, Field("band", text))

    def ladder(self, arrows: list[Arrow], bands: list[Band], gaps: list[Gap],
               states: list[Any], height: float, frac: float | None, scale: float,
               notes_at: dict[int, list[Note]], sel: Selection) -> Ladder:
        row = self.result.connection(self.conn).to_dict()
        t = self.t
        sep = ":" if int(row["ip_version"]) == 4 else "."
        ends = {"client": f"{row['client']}{sep}{row['client_port']}",
                "server": f"{row['server']}{sep}{row['server_port']}"}
        init = self.result.timelines.initial[self.conn]
        fin = self.result.timelines.final[self.conn]
        roles: tuple[Role, Role] = ("client", "server")
        lines = [Lifeline(role, float(i), Field("title", f"{t[role]} {ends[role]}"),
                          Field("state", str(init[i])), Field("state", str(fin[i])))
                 for i, role in enumerate(roles)]
        title = Field("title", t["title"].format(
            id=self.conn, client=ends["client"], server=ends["server"],
            summary=row["summary"], conn_state=row.get("conn_state", "")))
        drawn = {a.frame for a in arrows}
        loose = tuple(n for f, ns in sorted(notes_at.items()) if f not in drawn for n in ns)
        legend = tuple(Field("legend", t[k]) for k in ("legend_state", "legend_inferred",
                                                        "legend_colours"))
        if sel.bands:
            n_coll = sum(b - a for a, b in sel.bands)
            legend += (Field("legend", t["collapsed"].format(n=n_coll, total=len(self.rows))),)
        tw = brackets(self.result, self.conn, states, height, self.lang)
        return Ladder(conn_id=self.conn, title=title, lang=self.lang, client=lines[0],
                      server=lines[1], arrows=tuple(arrows), states=tuple(states),
                      bands=tuple(bands), gaps=tuple(gaps), brackets=tuple(tw),
                      notes=loose + self.ending(str(row["summary"])), legend=legend,
                      height=height, segments=len(self.rows), full=self.full,
                      capture_x=frac, rows_per_s=scale)

    def ending(self, summary: str) -> tuple[Note, ...]:
        t = self.t
        checks = set(self.fd["check"].astype(str)) if len(self.fd) else set()
        if summary == "HALF-OPEN":
            if checks & set(HALF_OPEN_CHECKS):
                return ()  # the half-open findings are drawn where they happened
            return (Note(Field("ending", t["end_half_syn"]), "warning"),)
        word = {"RESET": "end_reset", "REFUSED": "end_refused", "ESTABLISHED": "end_open",
                "MIDSTREAM": "end_open", "HALF-CLOSED": "end_open"}.get(summary)
        if word is None and "peer_vanished" in checks:
            word = "end_vanished"
        return (Note(Field("ending", t[word]), "info"),) if word else ()


def _arrow_style(notes: tuple[Note, ...], retx: bool, rst: bool) -> Style:
    styles = {n.style for n in notes}
    if "error" in styles:
        return "error"
    if "warning" in styles:
        return "warning"
    if retx:
        return "retransmission"
    return "reset" if rst else "normal"


def build_ladder(result: AnalysisResult, conn_id: int, *, full: bool = False, raw: bool = False,
                 lang: str = "en", options: LayoutOptions | None = None) -> Ladder:
    """The ladder of connection ``conn_id`` (UsageError for an id that does not exist)."""
    result.connection(conn_id)
    lang = "zh" if lang == "zh" else "en"
    return _Builder(result, conn_id, full, raw, lang, options or LayoutOptions()).build()
