"""The analysis after decoding: flows → endpoint states → connection table and Zeek columns.

Kept apart from :mod:`analyzer.api` so that reading a capture does not wait for pandas:
``analyzer.analyze`` imports this module while helper processes read the capture.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from analyzer.flows import Keyed, build_flows, key_connections
from analyzer.flows.table import connection_table
from analyzer.flows.zeek import zeek_columns
from analyzer.result import AnalysisResult
from analyzer.tcpstate import endpoint_timelines
from analyzer.tcpstate.summary import summary_states

__all__ = ["analyze_columns"]


def analyze_columns(cols: dict[str, np.ndarray], addresses: list[str], *, source: str = "",
                    time_wait_s: float = 60.0, anomalies: pd.DataFrame | None = None,
                    stats: Any = None, profile: str = "auto") -> AnalysisResult:
    """Run flows → states → summary on an already decoded packet table.

    Timing, findings and the packet DataFrame are computed when first used. The Zeek
    columns are computed in a second thread, as soon as the connections are known, while
    the rest of the flows and the state timelines are worked out (both are mostly NumPy
    work, which runs without the GIL).
    """
    keyed = key_connections(cols)
    with ThreadPoolExecutor(1, thread_name_prefix="synack-zeek") as pool:
        zeek = pool.submit(_zeek, cols, keyed)
        fl = build_flows(cols, keyed)
        timelines = endpoint_timelines(cols, fl, time_wait_s=time_wait_s)
        conns = connection_table(cols, fl, addresses)
        for e, name in enumerate(("client", "server")):
            conns[f"{name}_initial"] = timelines.initial[:, e]
            conns[f"{name}_final"] = timelines.final[:, e]
        conns["summary"] = summary_states(conns, timelines.final)
        z = zeek.result()
    ids = conns["conn_id"].to_numpy()
    conns["conn_state"] = z["conn_state"].reindex(ids).to_numpy()
    conns["history"] = z["history"].reindex(ids).to_numpy()
    if anomalies is None:
        anomalies = pd.DataFrame(columns=["frame", "ts_ns", "code", "detail"])
    return AnalysisResult(source, cols, addresses, fl, timelines, conns, anomalies, stats,
                          warnings=list(getattr(stats, "warnings", []) or []), profile=profile)


def _zeek(cols: dict[str, np.ndarray], keyed: Keyed) -> pd.DataFrame:
    """Zeek-compatible ``conn_state`` and ``history`` per conn_id (see docs/zeek.md)."""
    names = ("src", "dst", "sport", "dport", "seq", "ack", "flags", "payload_len", "window",
             "csum_ok", "ts_ns")
    pk = pd.DataFrame({"conn_id": keyed.conn, **{k: cols[k] for k in names}}, copy=False)
    return zeek_columns(pk, order=keyed.by_conn.order)
