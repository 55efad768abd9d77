"""Figures for what people look at (matplotlib, no pyplot: each function returns a Figure).

* :func:`states_over_time` — sockets (both endpoints of every connection) by RFC state
  over time, stacked, as ``ss`` would count them; CLOSED and LISTEN are not counted.
* :func:`time_wait_per_host` — TIME_WAIT sockets per host over time (the timing stage's
  series: entries observed, expiries after 2·MSL inferred).
* :func:`handshake_rtt` — distribution of the handshake RTT (SYN → ACK at the capture).
* :func:`backoff_chains` — retransmission gaps against the retry number, one line per
  chain, with the gaps the timing profile expects (dashed).
* :func:`time_sequence` — the Stevens / tcptrace time-sequence graph of one direction of
  one connection: segments as vertical bars, the peer's ACK and window as steps.

Tests read the figures' data (lines, collections), not pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from analyzer.flows.groups import NONE
from analyzer.result import AnalysisResult

__all__ = ["ALL_PLOTS", "backoff_chains", "handshake_rtt", "states_over_time",
           "time_sequence", "time_wait_per_host"]

STATE_ORDER = ("SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2",
               "CLOSING", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "UNKNOWN")
_NOT_COUNTED = ("CLOSED", "LISTEN")
_MAX_HOSTS = 8
_MAX_CHAINS = 100


def _fig(w: float = 8.0, h: float = 3.6) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(w, h), layout="constrained")
    return fig, fig.add_subplot()


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#777")
    ax.set_xticks([])
    ax.set_yticks([])


def _t0(result: AnalysisResult) -> int:
    ts = result.columns["ts_ns"]
    return int(ts.min()) if len(ts) else 0


def state_counts(result: AnalysisResult) -> pd.DataFrame:
    """Sockets per state after each change: index seconds since the capture's start."""
    tr = result.transitions
    conns = result.core_connections
    init = result.timelines.initial
    ev = [pd.DataFrame({"ts": tr["ts_ns"].to_numpy(), "state": tr["from_state"].astype(str),
                        "d": -1}),
          pd.DataFrame({"ts": tr["ts_ns"].to_numpy(), "state": tr["to_state"].astype(str),
                        "d": 1})]
    start = conns["start_ns"].to_numpy()
    for e in (0, 1):
        ev.append(pd.DataFrame({"ts": start, "state": init[:, e].astype(str), "d": 1}))
    tw = result.timing.time_wait
    end = int(result.columns["ts_ns"].max()) if len(result.columns["ts_ns"]) else 0
    if len(tw):
        exp = tw[tw["end"].astype(str) == "expired"]
        ev.append(pd.DataFrame({"ts": exp["end_ns"].to_numpy(), "state": "TIME_WAIT",
                                "d": -1}))
    df = pd.concat(ev, ignore_index=True)
    df = df[~df["state"].isin(_NOT_COUNTED) & (df["ts"] <= max(end, 0))]
    if df.empty:
        return pd.DataFrame(columns=list(STATE_ORDER))
    wide = df.pivot_table(index="ts", columns="state", values="d", aggfunc="sum",
                          fill_value=0).sort_index().cumsum()
    wide.index = (wide.index.to_numpy(dtype=np.int64) - _t0(result)) / 1e9
    cols = [s for s in STATE_ORDER if s in wide.columns]
    return wide[cols].clip(lower=0)


def states_over_time(result: AnalysisResult) -> Figure:
    fig, ax = _fig()
    counts = state_counts(result)
    if counts.empty:
        _empty(ax, "no connection")
        return fig
    x = counts.index.to_numpy(dtype=float)
    ys = [counts[c].to_numpy(dtype=float) for c in counts.columns]
    ax.stackplot(x, *ys, labels=list(counts.columns), step="post")
    ax.set_xlabel("time since the capture's start (s)")
    ax.set_ylabel("sockets")
    ax.set_title("Endpoint states over time (stacked)")
    ax.legend(loc="upper left", fontsize=7, ncols=2)
    ax.set_xlim(float(x.min()), float(max(x.max(), x.min() + 1e-6)))
    return fig


def time_wait_per_host(result: AnalysisResult) -> Figure:
    fig, ax = _fig()
    s = result.timing.time_wait_series
    if s is None or len(s) == 0:
        _empty(ax, "no endpoint entered TIME_WAIT")
        return fig
    t0 = _t0(result)
    top = s.groupby("host", observed=True)["count"].max().sort_values(ascending=False)
    for host in top.index[:_MAX_HOSTS]:
        mine = s[s["host"] == host]
        ax.step((mine["ts_ns"].to_numpy(dtype=np.int64) - t0) / 1e9, mine["count"].to_numpy(),
                where="post", label=str(host))
    end = (int(result.columns["ts_ns"].max()) - t0) / 1e9
    ax.axvline(end, color="#777", ls=":", lw=1, label="capture ends")
    ax.set_xlabel("time since the capture's start (s)")
    ax.set_ylabel("sockets in TIME_WAIT")
    ax.set_title("TIME_WAIT per host (expiry after 2·MSL inferred)")
    ax.legend(fontsize=7)
    return fig


def handshake_rtt(result: AnalysisResult) -> Figure:
    fig, ax = _fig()
    rtt = result.core_connections["handshake_rtt_ms"].to_numpy(dtype=float)
    rtt = rtt[np.isfinite(rtt) & (rtt > 0)]
    if len(rtt) == 0:
        _empty(ax, "no complete handshake")
        return fig
    lo, hi = float(rtt.min()), float(rtt.max())
    if hi / lo > 50:
        bins: Any = np.logspace(np.log10(lo), np.log10(hi * 1.001), 40)  # hi included
        ax.set_xscale("log")
    else:
        bins = min(40, max(len(rtt) // 2, 5))
    ax.hist(rtt, bins=bins, color="#4c72b0")
    med = float(np.median(rtt))
    ax.axvline(med, color="#d62728", ls="--", lw=1, label=f"median {med:.3g} ms")
    ax.set_xlabel("handshake RTT (ms, SYN → third ACK at the capture point)")
    ax.set_ylabel("connections")
    ax.set_title(f"Handshake RTT of {len(rtt):,} connections")
    ax.legend(fontsize=7)
    return fig


def backoff_chains(result: AnalysisResult) -> Figure:
    fig, ax = _fig()
    ch = result.timing.chains
    ch = ch[ch["retries"] >= 1] if len(ch) else ch
    if len(ch) == 0:
        _empty(ax, "no retransmission")
        return fig
    colours = {"syn": "#1f77b4", "synack": "#2ca02c", "fin": "#9467bd", "data": "#ff7f0e"}
    shown = ch.sort_values("retries", ascending=False, kind="stable").head(_MAX_CHAINS)
    seen: set[str] = set()
    expected: dict[str, dict[int, list[float]]] = {}
    for r in shown.to_dict("records"):
        seg = str(r["segment"])
        gaps = np.asarray(r["gaps_s"], dtype=float)
        k = np.arange(1, len(gaps) + 1)
        ax.plot(k, gaps, marker="o", ms=3, lw=0.8, alpha=0.7, color=colours.get(seg, "#555"),
                label=f"{seg} (observed)" if seg not in seen else None)
        seen.add(seg)
        for i, e in enumerate(np.asarray(r["expected_s"], dtype=float).tolist(), start=1):
            if np.isfinite(e):
                expected.setdefault(seg, {}).setdefault(i, []).append(e)
    prof = result.timing.profile
    for seg, per_k in expected.items():
        ks = sorted(per_k)
        ax.plot(ks, [float(np.median(per_k[k])) for k in ks], ls="--", lw=2,
                color=colours.get(seg, "#555"), label=f"{seg}: expected by {prof.name}")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("retry number")
    ax.set_ylabel("gap before the retry (s)")
    ax.set_title(f"Retransmission backoff ({len(ch):,} chains, profile {prof.label})")
    ax.legend(fontsize=7)
    return fig


def _direction(result: AnalysisResult, conn_id: int, direction: str | None) -> bool:
    if direction in ("c2s", "client"):
        return False
    if direction in ("s2c", "server"):
        return True
    row = result.connection(conn_id)
    return int(row["bytes_s2c"]) > int(row["bytes_c2s"])


def time_sequence(result: AnalysisResult, conn_id: int, direction: str | None = None,
                  ) -> Figure:
    """Stevens graph of the direction that carried more bytes (or ``direction``)."""
    from analyzer.checks.context import context

    fig, ax = _fig(8.0, 4.5)
    rows = context(result).conn_rows(conn_id)
    fl, cols = result.flows, result.columns
    srv = _direction(result, conn_id, direction)
    t0 = int(cols["ts_ns"][rows[0]]) if len(rows) else 0
    data = rows[(fl.from_server[rows] == srv)]
    acks = rows[(fl.from_server[rows] != srv) & (fl.rel_ack[rows] != NONE)]
    t = (cols["ts_ns"][data] - t0) / 1e9
    lo = fl.rel_seq[data].astype(float)
    hi = fl.seg_end[data].astype(float)
    retx = np.isin(data, result.timing.retransmissions["row"].to_numpy())
    ax.vlines(t[~retx], lo[~retx], hi[~retx], color="#1f77b4", lw=1.2, label="segment")
    if retx.any():
        ax.vlines(t[retx], lo[retx], hi[retx], color="#d62728", lw=1.6, label="retransmission")
    ta = (cols["ts_ns"][acks] - t0) / 1e9
    ack = fl.rel_ack[acks].astype(float)
    if len(acks):
        ax.step(ta, ack, where="post", color="#2ca02c", lw=0.9, label="ACK")
        win = cols["window"][acks].astype(float)
        ax.step(ta, ack + win, where="post", color="#bbbb00", lw=0.8, ls="--",
                label="ACK + window (unscaled)")
    who = "server → client" if srv else "client → server"
    ax.set_title(f"Time-sequence graph, connection {conn_id}, {who}")
    ax.set_xlabel("time since the connection's first segment (s)")
    ax.set_ylabel("relative sequence number")
    ax.legend(fontsize=7)
    return fig


ALL_PLOTS = {"states": states_over_time, "time_wait": time_wait_per_host,
             "handshake_rtt": handshake_rtt, "backoff": backoff_chains}
"""The capture-wide plots, by name (the time-sequence graph is per connection)."""
