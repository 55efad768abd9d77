"""Connections → per-endpoint RFC 9293 state timelines.

``endpoint_timelines`` selects the rows that can move a state (``select``), summarises
them as feature codes, runs the machine (``machine``) once per distinct code sequence and
broadcasts the result to every connection with that sequence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analyzer.flows import Flows
from analyzer.tcpstate.machine import Template, run
from analyzer.tcpstate.select import feature_codes, select_rows
from analyzer.tcpstate.states import State, Transition, parse_state

__all__ = ["State", "Timelines", "Transition", "endpoint_timelines", "parse_state"]

ENDPOINTS = ("client", "server")
TRANSITION_COLUMNS = ("conn_id", "endpoint", "frame", "ts_ns", "from_state", "to_state",
                      "cause", "observed", "evidence_frame", "at_frame")


@dataclass(slots=True)
class Timelines:
    """Transitions of every endpoint plus initial and final states per connection."""

    transitions: pd.DataFrame
    initial: np.ndarray   # (n_conn, 2) of state names (str)
    final: np.ndarray     # (n_conn, 2) of state names (str)
    time_wait_enter_ns: np.ndarray  # (n_conn, 2) int64, -1 if the endpoint never entered it


def _signatures(codes: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                ) -> tuple[np.ndarray, list[Template]]:
    """Signature id per connection (rows ``starts[c]:ends[c]`` of ``codes``) and templates."""
    cache: dict[bytes, int] = {}
    templates: list[Template] = []
    sig = np.empty(len(starts), dtype=np.int64)
    raw = codes.tobytes()
    for c, (a, b) in enumerate(zip((starts * 2).tolist(), (ends * 2).tolist(), strict=True)):
        key = raw[a:b]
        found = cache.get(key)
        if found is None:
            found = len(templates)
            cache[key] = found
            templates.append(run(np.frombuffer(key, dtype=np.uint16).tolist()))
        sig[c] = found
    return sig, templates


def _broadcast(templates: list[Template], sig: np.ndarray, starts: np.ndarray,
               sel_rows: np.ndarray, frame: np.ndarray, ts: np.ndarray) -> pd.DataFrame:
    parts: dict[str, list[np.ndarray]] = {k: [] for k in TRANSITION_COLUMNS}
    order = np.argsort(sig, kind="stable")
    bounds = np.searchsorted(sig[order], np.arange(len(templates) + 1))
    for t_id, tpl in enumerate(templates):
        conns = order[bounds[t_id]:bounds[t_id + 1]]
        base = starts[conns]
        for step in tpl.steps:
            cause = sel_rows[base + step.cause_row]
            at = sel_rows[base + step.at_row]
            ev = sel_rows[base + step.evidence_row] if step.evidence_row >= 0 else None
            k = len(conns)
            parts["conn_id"].append(conns)
            parts["endpoint"].append(np.full(k, step.endpoint, dtype=np.int8))
            parts["frame"].append(frame[cause])
            parts["ts_ns"].append(ts[at])
            parts["from_state"].append(np.full(k, step.from_state.value, dtype=object))
            parts["to_state"].append(np.full(k, step.to_state.value, dtype=object))
            parts["cause"].append(np.full(k, step.cause, dtype=object))
            parts["observed"].append(np.full(k, step.observed))
            parts["evidence_frame"].append(frame[ev] if ev is not None
                                           else np.full(k, -1, dtype=np.int64))
            parts["at_frame"].append(frame[at])
    return _frame_from_parts(parts)


def _frame_from_parts(parts: dict[str, list[np.ndarray]]) -> pd.DataFrame:
    if not parts["conn_id"]:
        return empty_transitions()
    df = pd.DataFrame({k: np.concatenate(v) for k, v in parts.items()})
    return df


def empty_transitions() -> pd.DataFrame:
    return pd.DataFrame({
        "conn_id": np.empty(0, np.int64), "endpoint": np.empty(0, np.int8),
        "frame": np.empty(0, np.int64), "ts_ns": np.empty(0, np.int64),
        "from_state": np.empty(0, object), "to_state": np.empty(0, object),
        "cause": np.empty(0, object), "observed": np.empty(0, bool),
        "evidence_frame": np.empty(0, np.int64), "at_frame": np.empty(0, np.int64)})


def _state_table(pairs: list[tuple[State, State]], sig: np.ndarray) -> np.ndarray:
    """(n_conn, 2) array of state names (str) from per-template pairs."""
    if not pairs:
        return np.empty((0, 2), dtype=object)
    names = np.array([[a.value, b.value] for a, b in pairs], dtype=object)
    return names[sig]


def _time_wait(templates: list[Template], sig: np.ndarray, starts: np.ndarray,
               sel_rows: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """(n_conn, 2): the time each endpoint's TIME_WAIT (re)started, -1 if never."""
    anchors = np.array([t.tw_anchor for t in templates], dtype=np.int64).reshape(-1, 2)
    out = np.full((len(sig), 2), -1, dtype=np.int64)
    for e in (0, 1):
        a = anchors[sig, e] if len(templates) else np.empty(0, np.int64)
        has = a >= 0
        out[has, e] = ts[sel_rows[starts[has] + a[has]]]
    return out


def _expire_time_wait(final: np.ndarray, tw_ns: np.ndarray, capture_end: int, msl2_ns: int,
                      ) -> pd.DataFrame:
    """Inferred TIME_WAIT → CLOSED transitions for endpoints whose 2·MSL ran out in the capture."""
    rows = []
    for e in (0, 1):
        done = np.flatnonzero((final[:, e] == State.TIME_WAIT.value) & (tw_ns[:, e] >= 0)
                              & (tw_ns[:, e] + msl2_ns <= capture_end))
        for c in done.tolist():
            rows.append((c, e, -1, int(tw_ns[c, e]) + msl2_ns, State.TIME_WAIT.value,
                         State.CLOSED.value, f"2·MSL ({msl2_ns / 1e9:g} s) elapsed", False,
                         -1, -1))
            final[c, e] = State.CLOSED.value
    return pd.DataFrame(rows, columns=list(TRANSITION_COLUMNS))


def endpoint_timelines(cols: dict[str, np.ndarray], fl: Flows, *, time_wait_s: float = 60.0,
                       all_rows: bool = False) -> Timelines:
    """Both endpoints' state timelines for every connection.

    ``time_wait_s`` is the 2·MSL of the profile in force (Linux: 60 s); ``all_rows`` feeds
    every row to the machine instead of the selected ones (for tests: same result).
    """
    frame, ts = cols["frame"], cols["ts_ns"]
    codes_all = feature_codes(fl, cols)
    sel = np.ones(len(frame), dtype=bool) if all_rows \
        else select_rows(fl, cols["flags"], codes_all)
    sub = fl.by_conn.subset(sel)
    sel_rows = sub.order
    block = np.flatnonzero(sub.starts)
    starts = np.empty(fl.n_conn, dtype=np.int64)
    ends = np.empty(fl.n_conn, dtype=np.int64)
    block_conn = fl.conn[sel_rows[block]]
    starts[block_conn] = block
    ends[block_conn] = np.append(block[1:], len(sel_rows))
    sig, templates = _signatures(codes_all[sel_rows].astype(np.uint16), starts, ends)
    transitions = _broadcast(templates, sig, starts, sel_rows, frame, ts)
    initial = _state_table([t.initial for t in templates], sig)
    final = _state_table([t.final for t in templates], sig)
    tw_ns = _time_wait(templates, sig, starts, sel_rows, ts)
    capture_end = int(ts.max()) if len(ts) else 0
    expired = _expire_time_wait(final, tw_ns, capture_end, int(time_wait_s * 1e9))
    if len(expired):
        transitions = pd.concat([transitions, expired], ignore_index=True)
    transitions = transitions.sort_values(["conn_id", "ts_ns", "at_frame"], kind="stable")
    transitions["endpoint"] = pd.Categorical.from_codes(
        transitions["endpoint"].to_numpy(np.int8), categories=list(ENDPOINTS))
    return Timelines(transitions.reset_index(drop=True), initial, final, tw_ns)
