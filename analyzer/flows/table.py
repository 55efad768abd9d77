"""The per-connection summary table (one row per connection), vectorized."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyzer.flows import ROLE_SOURCES, Flows
from analyzer.flows.groups import NONE, first_where, last_where
from analyzer.pdutil import categorical
from analyzer.schema import ACK, FIN, RST, SYN

__all__ = ["connection_table", "handshake_times"]


def _count(group: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(group[mask], minlength=n).astype(np.int64)


def _sum(group: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(group, weights=values, minlength=n).astype(np.int64)


def _nullable(values: np.ndarray) -> pd.arrays.IntegerArray:
    """int64 with NONE → pandas nullable Int64 with <NA>."""
    return pd.arrays.IntegerArray(np.where(values == NONE, 0, values), values == NONE)


def handshake_times(cols: dict[str, np.ndarray], fl: Flows) -> dict[str, np.ndarray]:
    """First SYN-ACK, the SYN it answers (the last SYN before it) and the ACK completing it.

    Returns per-connection row indices (-1 where absent): ``syn``, ``synack``, ``ack``.
    """
    flags, n = cols["flags"], fl.n_conn
    idx = np.arange(len(flags))
    synack_mask = ((flags & (SYN | ACK)) == (SYN | ACK)) & fl.from_server
    synack = first_where(fl.conn, synack_mask, n)
    syn_mask = ((flags & (SYN | ACK)) == SYN) & ~fl.from_server
    before = synack[fl.conn]
    syn = last_where(fl.conn, syn_mask & ((before < 0) | (idx < before)), n)
    ack_mask = ~fl.from_server & ((flags & (SYN | ACK)) == ACK) & (fl.rel_ack >= 1) \
        & (before >= 0) & (idx > before)
    ack = first_where(fl.conn, ack_mask, n)
    return {"syn": syn, "synack": synack, "ack": ack}


def _ms_between(ts: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ok = (a >= 0) & (b >= 0)
    out = np.full(len(a), np.nan)
    out[ok] = (ts[b[ok]] - ts[a[ok]]) / 1e6
    return out


def connection_table(cols: dict[str, np.ndarray], fl: Flows, addresses: list[str],
                     ) -> pd.DataFrame:
    """Identity, counts, ISNs and handshake timing of every connection."""
    n, flags, ts = fl.n_conn, cols["flags"], cols["ts_ns"]
    g, n2 = fl.group, 2 * fl.n_conn
    first = first_where(fl.conn, np.ones(len(flags), dtype=bool), n)
    last = last_where(fl.conn, np.ones(len(flags), dtype=bool), n)
    f = first
    lo_is_src = cols["src"][f].astype(np.int64) * 65536 + cols["sport"][f] <= \
        cols["dst"][f].astype(np.int64) * 65536 + cols["dport"][f]
    client_is_src = lo_is_src == fl.client_is_lo
    c_addr = np.where(client_is_src, cols["src"][f], cols["dst"][f])
    s_addr = np.where(client_is_src, cols["dst"][f], cols["src"][f])
    hs = handshake_times(cols, fl)
    pk = np.bincount(g, minlength=n2)
    by = _sum(g, cols["payload_len"].astype(np.float64), n2)
    df = pd.DataFrame({
        "conn_id": np.arange(n, dtype=np.int64),
        "ip_version": cols["ip_version"][f],
        "client": categorical(c_addr, addresses),
        "client_port": np.where(client_is_src, cols["sport"][f], cols["dport"][f]),
        "server": categorical(s_addr, addresses),
        "server_port": np.where(client_is_src, cols["dport"][f], cols["sport"][f]),
        "role_source": categorical(fl.role_source, list(ROLE_SOURCES)),
        "first_frame": cols["frame"][first],
        "last_frame": cols["frame"][last],
        "start_ns": ts[first],
        "end_ns": ts[last],
    })
    df["duration_s"] = (df["end_ns"] - df["start_ns"]) / 1e9
    df["pkts_c2s"], df["pkts_s2c"] = pk[0::2], pk[1::2]
    df["bytes_c2s"], df["bytes_s2c"] = by[0::2], by[1::2]
    df["client_isn"] = _nullable(fl.isn[0::2])
    df["server_isn"] = _nullable(fl.isn[1::2])
    df["syn_count"] = _count(fl.conn, (flags & (SYN | ACK)) == SYN, n)
    df["synack_count"] = _count(fl.conn, (flags & (SYN | ACK)) == (SYN | ACK), n)
    fin = _count(g, (flags & FIN) != 0, n2)
    rst = _count(g, (flags & RST) != 0, n2)
    df["fin_c2s"], df["fin_s2c"] = fin[0::2], fin[1::2]
    df["rst_c2s"], df["rst_s2c"] = rst[0::2], rst[1::2]
    df["rtt_syn_synack_ms"] = _ms_between(ts, hs["syn"], hs["synack"])
    df["rtt_synack_ack_ms"] = _ms_between(ts, hs["synack"], hs["ack"])
    df["handshake_rtt_ms"] = df["rtt_syn_synack_ms"] + df["rtt_synack_ack_ms"]
    return df
