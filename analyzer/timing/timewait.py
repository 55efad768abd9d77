"""TIME_WAIT: who entered it, for how long the capture shows it, and what cut it short.

One row per endpoint that entered TIME_WAIT (from the state timelines: the active closer,
or both after a simultaneous close). What the capture shows afterwards, first event wins:

* ``fin_resent`` — the peer sent its FIN again (its LAST_ACK timer: our final ACK was lost);
  RFC 9293 §3.10.7.4: acknowledge it and restart the 2·MSL timeout;
* ``reuse`` — the same 4-tuple opened again (the next connection with those addresses and
  ports), before or after 2·MSL;
* ``rst`` — an RST from the peer (RFC 1337: it kills TIME_WAIT on most stacks);
* ``expired`` — 2·MSL of the profile ran out inside the capture, nothing happened;
* ``capture_end`` — the capture stopped first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyzer.flows import Flows
from analyzer.flows.groups import NONE, first_where, last_where
from analyzer.schema import ACK, FIN, RST, SYN
from analyzer.timing.context import RowContext
from analyzer.timing.profiles import Profile

__all__ = ["time_wait_series", "time_wait_table"]

ENDPOINTS = ("client", "server")


def _signed32(x: np.ndarray) -> np.ndarray:
    return ((x.astype(np.int64) + (1 << 31)) % (1 << 32)) - (1 << 31)


def _entries(transitions: pd.DataFrame) -> pd.DataFrame:
    """Per (conn, endpoint) that entered TIME_WAIT, by conn then endpoint: the first entry
    time and frame."""
    tw = transitions[(transitions["to_state"] == "TIME_WAIT").to_numpy()]
    e = (tw["endpoint"] == "server").to_numpy().astype(np.int64)
    key = tw["conn_id"].to_numpy().astype(np.int64) * 2 + e
    order = np.argsort(key, kind="stable")
    key, e = key[order], e[order]
    first = np.flatnonzero(np.append(True, key[1:] != key[:-1])) if len(key) else \
        np.empty(0, np.int64)
    ts, frame = tw["ts_ns"].to_numpy()[order], tw["frame"].to_numpy()[order]
    return pd.DataFrame({
        "conn_id": key[first] // 2, "endpoint": np.array(ENDPOINTS)[e[first]],
        "enter_ns": np.minimum.reduceat(ts, first) if len(first) else ts[:0],
        "enter_frame": frame[first], "e": e[first]})


def _first_after(conn: np.ndarray, e: np.ndarray, after_ns: np.ndarray, mask: np.ndarray,
                 fl: Flows, ctx: RowContext, n_conn: int) -> tuple[np.ndarray, np.ndarray]:
    """Per entry (conn, endpoint e): first and count of ``mask`` rows sent by e's peer after
    ``after_ns``."""
    rows = np.flatnonzero(mask)
    key = fl.conn[rows] * 2 + (1 - fl.from_server[rows].astype(np.int64))  # receiver endpoint
    lookup = np.full(2 * n_conn, np.iinfo(np.int64).max)
    lookup[conn * 2 + e] = after_ns
    hit = ctx.ts[rows] > lookup[key]
    rows, key = rows[hit], key[hit]
    first = first_where(key, np.ones(len(key), dtype=bool), 2 * n_conn)
    count = np.bincount(key, minlength=2 * n_conn)
    f = first[conn * 2 + e]
    return np.where(f >= 0, rows[np.maximum(f, 0)] if len(rows) else -1, -1), \
        count[conn * 2 + e]


def _next_incarnation(cols: dict[str, np.ndarray], fl: Flows, conns: pd.DataFrame,
                      ) -> np.ndarray:
    """Per connection: id of the next connection on the same 4-tuple, -1 if none."""
    first = conns["first_frame"].to_numpy()
    n = len(first)
    rows = first_where(fl.conn, np.ones(len(fl.conn), dtype=bool), n)
    a = (cols["src"][rows].astype(np.int64) << 16) | cols["sport"][rows].astype(np.int64)
    b = (cols["dst"][rows].astype(np.int64) << 16) | cols["dport"][rows].astype(np.int64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    order = np.lexsort((np.arange(n), hi, lo))
    same = np.zeros(n, dtype=bool)
    same[:-1] = (lo[order][1:] == lo[order][:-1]) & (hi[order][1:] == hi[order][:-1])
    nxt = np.full(n, -1, dtype=np.int64)
    nxt[order[:-1][same[:-1]]] = order[1:][same[:-1]]
    return nxt


def _group_max_end(fl: Flows, n2: int) -> np.ndarray:
    """Per group: the highest sequence end sent (NONE if nothing occupied sequence space)."""
    occ = fl.seg_end > fl.rel_seq
    order = fl.by_group.order
    g, v = fl.group[order], np.where(occ[order], fl.seg_end[order], NONE)
    out = np.full(n2, NONE)
    if len(g):
        starts = np.flatnonzero(fl.by_group.starts)
        out[g[starts]] = np.maximum.reduceat(v, starts)
    return out


def _reuse_evidence(cols: dict[str, np.ndarray], fl: Flows, conns: pd.DataFrame,
                    old: np.ndarray, nxt: np.ndarray) -> pd.DataFrame:
    """For a new incarnation ``new`` of ``old``: its SYN and whether the SYN's ISN and TCP
    timestamp moved forward from what the same sender used in ``old`` (RFC 6191)."""
    n2 = 2 * fl.n_conn
    valid = nxt >= 0
    syn_row = first_where(fl.conn, (cols["flags"] & (SYN | ACK)) == SYN, fl.n_conn)[
        np.maximum(nxt, 0)]
    syn_row = np.where(valid, syn_row, -1)
    s = np.maximum(syn_row, 0)
    client = conns["client"].cat.codes.to_numpy(np.int64)[old]
    cport = conns["client_port"].to_numpy(np.int64)[old]
    by_client = (cols["src"][s] == client) & (cols["sport"][s].astype(np.int64) == cport)
    old_group = old * 2 + ~by_client
    end_rel = _group_max_end(fl, n2)
    old_end = (fl.base[old_group] + end_rel[old_group]) % (1 << 32)
    isn_adv = _signed32(cols["seq"][s].astype(np.int64) - old_end) > 0
    has_ts = cols["opt_ts_val"] >= 0
    last_ts = last_where(fl.group, has_ts, n2)[old_group]
    new_ts = cols["opt_ts_val"][s]
    ts_known = (last_ts >= 0) & (new_ts >= 0)
    ts_adv = ts_known & (_signed32(new_ts - cols["opt_ts_val"][np.maximum(last_ts, 0)]) > 0)
    known = (syn_row >= 0) & (end_rel[old_group] != NONE)
    safe = np.where(ts_known, ts_adv, isn_adv)
    return pd.DataFrame({
        "reuse_syn_frame": np.where(syn_row >= 0, cols["frame"][s], -1),
        "reuse_by": np.where(syn_row < 0, "", np.where(by_client, "client", "server")),
        "isn_advanced": pd.arrays.BooleanArray(isn_adv, ~known),
        "ts_advanced": pd.arrays.BooleanArray(ts_adv, ~(known & ts_known)),
        "reuse_safe": pd.arrays.BooleanArray(safe, ~known)})


def time_wait_table(cols: dict[str, np.ndarray], fl: Flows, ctx: RowContext,
                    conns: pd.DataFrame, transitions: pd.DataFrame, tw_restart: np.ndarray,
                    profile: Profile) -> pd.DataFrame:
    ent = _entries(transitions)
    conn, e = ent["conn_id"].to_numpy(np.int64), ent["e"].to_numpy(np.int64)
    enter = ent["enter_ns"].to_numpy(np.int64)
    n = fl.n_conn
    flags = cols["flags"]
    fin_row, fin_n = _first_after(conn, e, enter, (flags & FIN) != 0, fl, ctx, n)
    rst_row, _ = _first_after(conn, e, enter, (flags & RST) != 0, fl, ctx, n)
    acked = ctx.first_cover_after(conn * 2 + e, fl.seg_end[np.maximum(fin_row, 0)], fin_row)
    acked = np.where(fin_row >= 0, acked, -1)
    nxt = _next_incarnation(cols, fl, conns)[conn] if n else np.empty(0, np.int64)
    start = conns["start_ns"].to_numpy(np.int64)
    reuse_ns = np.where(nxt >= 0, start[np.maximum(nxt, 0)], NONE)
    restart = tw_restart[conn, e] if len(conn) else np.empty(0, np.int64)
    restart = np.where(restart >= 0, restart, enter)
    expires = restart + int(profile.time_wait_s * 1e9)
    cap_end = ctx.capture_end
    events = {
        "fin_resent": np.where(fin_row >= 0, ctx.ts[np.maximum(fin_row, 0)], NONE),
        "reuse": np.where((reuse_ns != NONE) & (reuse_ns > enter), reuse_ns, NONE),
        "rst": np.where(rst_row >= 0, ctx.ts[np.maximum(rst_row, 0)], NONE),
        "expired": np.where(expires <= cap_end, expires, NONE),
        "capture_end": np.full(len(conn), cap_end),
    }
    until, until_ns = _first_event(events)
    end, end_ns = _first_event({k: v for k, v in events.items() if k != "fin_resent"})
    df = pd.DataFrame({
        "conn_id": conn, "endpoint": np.array(ENDPOINTS)[e] if len(e) else [],
        "host": _addr(conns, conn, e, "client", "server"),
        "port": _port(conns, conn, e, "client_port", "server_port"),
        "peer": _addr(conns, conn, 1 - e, "client", "server"),
        "peer_port": _port(conns, conn, 1 - e, "client_port", "server_port"),
        "enter_ns": enter, "enter_frame": ent["enter_frame"].to_numpy(np.int64),
        "until": until, "until_ns": until_ns, "observed_s": (until_ns - enter) / 1e9,
        "end": end, "end_ns": end_ns, "expected_s": profile.time_wait_s,
        "last_restart_ns": restart, "expires_ns": expires,
        "fin_resent": fin_n, "fin_resent_frame": _frames(cols, fin_row),
        "fin_reacked_frame": _frames(cols, acked), "rst_frame": _frames(cols, rst_row),
        "reuse_conn": nxt, "reuse_gap_s": np.where(reuse_ns != NONE, (reuse_ns - restart) / 1e9,
                                                   np.nan),
    })
    ev = _reuse_evidence(cols, fl, conns, conn, nxt)
    return pd.concat([df, ev.reset_index(drop=True)], axis=1)


def _first_event(events: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    names = list(events)
    stack = np.vstack([np.where(v == NONE, np.iinfo(np.int64).max, v) for v in events.values()])
    which = np.argmin(stack, axis=0) if stack.shape[1] else np.empty(0, np.int64)
    return np.array(names, dtype=object)[which], stack.min(axis=0) if stack.shape[1] \
        else np.empty(0, np.int64)


def _frames(cols: dict[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    return np.where(rows >= 0, cols["frame"][np.maximum(rows, 0)], -1)


def _addr(conns: pd.DataFrame, conn: np.ndarray, e: np.ndarray, a: str, b: str,
          ) -> pd.Categorical:
    """Address of endpoint ``e`` (0: column ``a``, 1: ``b``), as a Categorical of addresses."""
    ca = conns[a].cat.codes.to_numpy()
    cb = conns[b].cat.codes.to_numpy()
    codes = np.where(e == 0, ca[conn], cb[conn]) if len(conn) else np.empty(0, np.int8)
    return pd.Categorical.from_codes(codes, categories=conns[a].cat.categories)


def _port(conns: pd.DataFrame, conn: np.ndarray, e: np.ndarray, a: str, b: str) -> np.ndarray:
    pa = conns[a].to_numpy(np.int64)
    pb = conns[b].to_numpy(np.int64)
    return np.where(e == 0, pa[conn], pb[conn]) if len(conn) else np.empty(0, np.int64)


def time_wait_series(tw: pd.DataFrame) -> pd.DataFrame:
    """Per host: the number of its sockets in TIME_WAIT after each change (a step series).

    +1 at entry; -1 at reuse or RST, else at 2·MSL after the last restart (``inferred``,
    possibly past the end of the capture).
    """
    cols = ["host", "ts_ns", "change", "count", "conn_id", "endpoint", "inferred"]
    if len(tw) == 0:
        return pd.DataFrame({c: [] for c in cols})
    cut = tw["end"].isin(["reuse", "rst"]).to_numpy()
    leave = np.where(cut, tw["end_ns"].to_numpy(), tw["expires_ns"].to_numpy())
    host = tw["host"]
    ev = pd.DataFrame({
        "host": pd.Categorical(np.concatenate([host.to_numpy()] * 2),
                               categories=host.cat.categories) if isinstance(
            host.dtype, pd.CategoricalDtype) else np.concatenate([host.to_numpy()] * 2),
        "ts_ns": np.concatenate([tw["enter_ns"].to_numpy(), leave]),
        "change": np.concatenate([np.ones(len(tw), np.int64), -np.ones(len(tw), np.int64)]),
        "conn_id": np.concatenate([tw["conn_id"].to_numpy()] * 2),
        "endpoint": np.concatenate([tw["endpoint"].to_numpy()] * 2),
        "inferred": np.concatenate([np.zeros(len(tw), bool), ~cut]),
    })
    codes = ev["host"].cat.codes.to_numpy() if isinstance(
        ev["host"].dtype, pd.CategoricalDtype) else None
    if codes is None or (codes < 0).any():
        ev = ev.sort_values(["host", "ts_ns", "change"], kind="stable").reset_index(drop=True)
        ev["count"] = ev.groupby("host", observed=True)["change"].cumsum()
        return ev[cols]
    # the same as sorting by (host, ts_ns, change) and a cumulative sum per host, in NumPy
    change = ev["change"].to_numpy()
    order = np.lexsort((change, ev["ts_ns"].to_numpy(), codes))
    ev = ev.take(order).reset_index(drop=True)
    codes, change = codes[order], change[order]
    total = np.cumsum(change)
    first = np.ones(len(codes), dtype=bool)
    first[1:] = codes[1:] != codes[:-1]
    before = (total - change)[first]
    ev["count"] = total - np.repeat(before, np.diff(np.append(np.flatnonzero(first),
                                                              len(codes))))
    return ev[cols]
