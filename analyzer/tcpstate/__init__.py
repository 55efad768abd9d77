"""Connections → per-endpoint RFC 9293 state timelines.

``endpoint_timelines`` selects the rows that can move a state (``select``), summarises
them as feature codes, runs the machine (``machine``) once per distinct code sequence and
broadcasts the result to every connection with that sequence.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from analyzer.flows import Flows
from analyzer.flows.groups import stable_order
from analyzer.pdutil import categorical
from analyzer.tcpstate.machine import Template, run
from analyzer.tcpstate.select import feature_codes, select_rows
from analyzer.tcpstate.states import State, parse_state

__all__ = ["State", "Timelines", "endpoint_timelines", "parse_state"]

ENDPOINTS = ("client", "server")


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


STATE_NAMES = [st.value for st in State]


def _tile(values: list[int], times: int) -> np.ndarray:
    """Per-step values repeated for each connection (step-major inside each connection)."""
    return np.tile(np.asarray(values, dtype=np.int64), times)


def _code(state: State) -> int:
    return STATE_NAMES.index(state.value)


def _broadcast(templates: list[Template], sig: np.ndarray, starts: np.ndarray,
               sel_rows: np.ndarray, frame: np.ndarray, ts: np.ndarray) -> pd.DataFrame:
    """Template steps → one transition row per (connection, step), vectorized per template."""
    order = stable_order(sig)
    bounds = np.searchsorted(sig[order], np.arange(len(templates) + 1))
    causes: dict[str, int] = {}
    conn_l, step_l = [], []
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("endpoint", "from", "to", "cause",
                                                        "observed", "cause_row", "at_row",
                                                        "ev_row")}
    for t_id, tpl in enumerate(templates):
        if not tpl.steps:
            continue
        conns = order[bounds[t_id]:bounds[t_id + 1]]
        k = len(tpl.steps)
        conn_l.append(np.repeat(conns, k))
        base = np.repeat(starts[conns], k)
        per_step = partial(_tile, times=len(conns))
        cols["endpoint"].append(per_step([st.endpoint for st in tpl.steps]))
        cols["from"].append(per_step([STATE_NAMES.index(st.from_state.value) for st in tpl.steps]))
        cols["to"].append(per_step([STATE_NAMES.index(st.to_state.value) for st in tpl.steps]))
        cols["cause"].append(per_step([causes.setdefault(st.cause, len(causes))
                                       for st in tpl.steps]))
        cols["observed"].append(per_step([int(st.observed) for st in tpl.steps]))
        cols["cause_row"].append(base + per_step([st.cause_row for st in tpl.steps]))
        cols["at_row"].append(base + per_step([st.at_row for st in tpl.steps]))
        ev = per_step([st.evidence_row for st in tpl.steps])
        cols["ev_row"].append(np.where(ev >= 0, base + ev, -1))
        step_l.append(per_step(list(range(k))))
    if not conn_l:
        return empty_transitions()
    cat = {k: np.concatenate(v) for k, v in cols.items()}
    ev_row = cat["ev_row"]
    evidence = np.where(ev_row >= 0, frame[sel_rows[np.maximum(ev_row, 0)]], -1)
    at = sel_rows[cat["at_row"]]
    return pd.DataFrame({
        "conn_id": np.concatenate(conn_l),
        "endpoint": cat["endpoint"].astype(np.int8),
        "frame": frame[sel_rows[cat["cause_row"]]],
        "ts_ns": ts[at],
        "from_state": categorical(cat["from"], STATE_NAMES),
        "to_state": categorical(cat["to"], STATE_NAMES),
        "cause": categorical(cat["cause"], list(causes)),
        "observed": cat["observed"].astype(bool),
        "evidence_frame": evidence.astype(np.int64),
        "at_frame": frame[at],
    })


def empty_transitions() -> pd.DataFrame:
    return pd.DataFrame({
        "conn_id": np.empty(0, np.int64), "endpoint": np.empty(0, np.int8),
        "frame": np.empty(0, np.int64), "ts_ns": np.empty(0, np.int64),
        "from_state": pd.Categorical([], categories=STATE_NAMES),
        "to_state": pd.Categorical([], categories=STATE_NAMES),
        "cause": pd.Categorical([]), "observed": np.empty(0, bool),
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
    parts = []
    cause = f"2·MSL ({msl2_ns / 1e9:g} s) elapsed"
    for e in (0, 1):
        done = np.flatnonzero((final[:, e] == State.TIME_WAIT.value) & (tw_ns[:, e] >= 0)
                              & (tw_ns[:, e] + msl2_ns <= capture_end))
        if len(done) == 0:
            continue
        final[done, e] = State.CLOSED.value
        k = len(done)
        parts.append(pd.DataFrame({
            "conn_id": done, "endpoint": np.full(k, e, dtype=np.int8),
            "frame": np.full(k, -1, dtype=np.int64), "ts_ns": tw_ns[done, e] + msl2_ns,
            "from_state": categorical(np.full(k, _code(State.TIME_WAIT)), STATE_NAMES),
            "to_state": categorical(np.full(k, _code(State.CLOSED)), STATE_NAMES),
            "cause": pd.Categorical([cause] * k), "observed": np.zeros(k, dtype=bool),
            "evidence_frame": np.full(k, -1, dtype=np.int64),
            "at_frame": np.full(k, -1, dtype=np.int64)}))
    return pd.concat(parts, ignore_index=True) if parts else empty_transitions()


def _sorted_union(*cats: pd.Categorical) -> pd.CategoricalDtype:
    """The categories used by any of ``cats``, sorted."""
    used: set[str] = set()
    for c in cats:
        codes = np.unique(c.codes)
        used.update(c.categories[codes[codes >= 0]].tolist())
    return pd.CategoricalDtype(sorted(used))


def _conn_time_order(conn: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """``np.lexsort((ts, conn))``; by one stable sort of a combined key when it fits."""
    if len(conn) == 0:
        return np.empty(0, dtype=np.int64)
    lo = int(ts.min())
    if int(conn.min()) >= 0 and int(conn.max()) < 1 << 19 and int(ts.max()) - lo < 1 << 43:
        return np.argsort(conn.astype(np.int64) * (1 << 43) + (ts - lo), kind="stable")
    return np.lexsort((ts, conn))


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
        # The causes of both as one categorical, categories sorted (what concatenating
        # and re-categorising the strings gives), recoded without per-row strings.
        dtype = _sorted_union(transitions["cause"].array, expired["cause"].array)
        transitions["cause"] = transitions["cause"].astype(dtype)
        expired["cause"] = expired["cause"].astype(dtype)
        transitions = pd.concat([transitions, expired], ignore_index=True)
    order = _conn_time_order(transitions["conn_id"].to_numpy(), transitions["ts_ns"].to_numpy())
    transitions = transitions.iloc[order]
    endpoint = transitions["endpoint"].to_numpy(np.int8)
    transitions["endpoint"] = categorical(endpoint, list(ENDPOINTS))
    return Timelines(transitions.reset_index(drop=True), initial, final, tw_ns)
