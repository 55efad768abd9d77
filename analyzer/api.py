"""The Python API: ``analyzer.analyze(path)``."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from analyzer.flows import Flows, build_flows
from analyzer.flows.table import connection_table
from analyzer.flows.zeek import zeek_columns
from analyzer.result import AnalysisResult
from analyzer.tcpstate import endpoint_timelines
from analyzer.tcpstate.summary import summary_states

__all__ = ["analyze", "analyze_columns"]

Progress = Callable[[int, int | None], None]


def analyze(path: str, *, time_wait_s: float = 60.0, verify_checksums: bool = True,
            progress: Progress | None = None, profile: str = "auto",
            engine: str = "native", jobs: int | None = None) -> AnalysisResult:
    """Read a capture (path, or "-" for stdin) and analyse every TCP connection in it.

    ``time_wait_s`` is 2·MSL of the profile assumed for TIME_WAIT expiry (Linux: 60 s);
    ``profile`` the timing profile (auto|linux|rfc|macos|windows, see analyzer.timing);
    ``engine`` what reads the packets: native, tshark (Wireshark's dissectors: tunnels,
    exotic link types) or auto (native, tshark where native cannot decode; see
    analyzer.engines); ``jobs`` how many processes may read a large pcap file in parts
    (None: one per CPU, at most 4; 1: this process only; same result either way).
    Raises :class:`analyzer.errors.InputError` when the file is not a usable capture
    (:class:`~analyzer.errors.TsharkUnavailableError`: tshark is needed).
    """
    from analyzer.engines.auto import decode

    decoded = decode(path, engine, verify_checksums=verify_checksums, progress=progress,
                     jobs=jobs)
    return analyze_columns(decoded.columns, decoded.addresses, source=path,
                           time_wait_s=time_wait_s, anomalies=decoded.anomalies,
                           stats=decoded.stats, profile=profile)


def analyze_columns(cols: dict[str, np.ndarray], addresses: list[str], *, source: str = "",
                    time_wait_s: float = 60.0, anomalies: pd.DataFrame | None = None,
                    stats: Any = None, profile: str = "auto") -> AnalysisResult:
    """Run flows → states → summary on an already decoded packet table.

    Timing, findings and the packet DataFrame are computed when first used. The Zeek
    columns are computed in a second thread while the state timelines are inferred (both
    are mostly NumPy work, which runs without the GIL).
    """
    fl = build_flows(cols)
    with ThreadPoolExecutor(1, thread_name_prefix="synack-zeek") as pool:
        zeek = pool.submit(_zeek, cols, fl)
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


def _zeek(cols: dict[str, np.ndarray], fl: Flows) -> pd.DataFrame:
    """Zeek-compatible ``conn_state`` and ``history`` per conn_id (see docs/zeek.md)."""
    names = ("src", "dst", "sport", "dport", "seq", "ack", "flags", "payload_len", "window",
             "csum_ok", "ts_ns")
    pk = pd.DataFrame({"conn_id": fl.conn, **{k: cols[k] for k in names}}, copy=False)
    return zeek_columns(pk, order=fl.by_conn.order)
