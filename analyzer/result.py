"""The analysis result: the pandas API users get (``result.packets``, ``.connections``, ...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analyzer.errors import UsageError
from analyzer.flows import Flows
from analyzer.flows.groups import NONE
from analyzer.pdutil import categorical
from analyzer.schema import FLAG_LETTERS
from analyzer.tcpstate import Timelines

if TYPE_CHECKING:
    from analyzer.reassembly import Stream
    from analyzer.timing import Timing

__all__ = ["AnalysisResult", "flag_strings"]


def flag_strings(flags: np.ndarray) -> np.ndarray:
    """Flag bits → tcpdump-style strings ("S", "S.", "F.", "R", "P.") for display."""
    uniq, inv = np.unique(flags, return_inverse=True)
    texts = np.array(["".join(ch for bit, ch in FLAG_LETTERS if int(u) & bit) or "none"
                      for u in uniq], dtype=object)
    return texts[inv]


@dataclass
class AnalysisResult:
    """Everything synack learned from one capture.

    ``connections`` has one row per connection, ``transitions`` one row per endpoint
    state change, ``packets`` one row per TCP segment, ``findings`` one row per problem
    found by the checks, ``anomalies`` one row per problem inside the capture file.

    The state timelines and ``core_connections`` (identity, counts, ISNs, handshake RTT,
    states, summary word, Zeek columns) are computed by ``analyze``; ``timing`` (and the
    timing columns of ``connections``), ``findings`` and ``packets`` on first access.
    """

    source: str
    columns: dict[str, np.ndarray] = field(repr=False)
    addresses: list[str] = field(repr=False)
    flows: Flows = field(repr=False)
    timelines: Timelines = field(repr=False)
    core_connections: pd.DataFrame = field(repr=False)
    anomalies: pd.DataFrame = field(repr=False)
    stats: Any = field(repr=False)
    warnings: list[str] = field(default_factory=list)
    profile: str = "auto"

    @property
    def transitions(self) -> pd.DataFrame:
        return self.timelines.transitions

    @cached_property
    def timing(self) -> Timing:
        """Retransmissions, backoff chains, RTT, TIME_WAIT (see analyzer.timing)."""
        from analyzer.timing import analyze_timing

        return analyze_timing(self, self.profile)

    @cached_property
    def connections(self) -> pd.DataFrame:
        """One row per connection: ``core_connections`` plus the timing columns."""
        return self.core_connections.join(self.timing.per_connection, on="conn_id")

    @cached_property
    def findings(self) -> pd.DataFrame:
        """One row per finding of every registered check (see analyzer.checks)."""
        from analyzer.checks import run_checks

        return run_checks(self)

    def stream(self, conn_id: int, direction: str | int = "client",
               policy: str = "first") -> Stream:
        """One direction's byte stream (``.data``, ``.chunks()``, ``.gaps``, ``.overlaps``),
        read from the capture on demand (see analyzer.reassembly)."""
        from analyzer.reassembly import stream

        return stream(self, conn_id, direction, policy)

    @property
    def retransmissions(self) -> pd.DataFrame:
        """One row per retransmitted segment (kind, chain, gap, ratio; see analyzer.timing)."""
        return self.timing.retransmissions

    @cached_property
    def packets(self) -> pd.DataFrame:
        """The packet table as a DataFrame, with connection, direction and relative numbers."""
        cols = self.columns
        data: dict[str, Any] = {name: arr for name, arr in cols.items()
                                if name not in ("src", "dst")}
        data["src"] = categorical(cols["src"], self.addresses)
        data["dst"] = categorical(cols["dst"], self.addresses)
        df = pd.DataFrame(data)
        df.insert(2, "conn_id", self.flows.conn)
        direction = categorical(self.flows.from_server.astype(np.int8), ["c2s", "s2c"])
        df.insert(3, "direction", pd.Series(direction, index=df.index))
        df["rel_seq"] = self.flows.rel_seq
        df["rel_ack"] = pd.arrays.IntegerArray(
            np.where(self.flows.rel_ack == NONE, 0, self.flows.rel_ack),
            self.flows.rel_ack == NONE)
        order = ["frame", "ts_ns", "conn_id", "direction", "ip_version", "src", "sport", "dst",
                 "dport", "flags", "seq", "ack", "rel_seq", "rel_ack", "payload_len"]
        return df[order + [c for c in df.columns if c not in order]]

    def connection(self, conn_id: int) -> pd.Series:
        """One row of ``connections``; UsageError for an id that does not exist."""
        n = len(self.core_connections)
        if not 0 <= conn_id < n:
            raise UsageError(f"no connection {conn_id}: this capture has connections "
                             f"0..{n - 1}" if n else f"no connection {conn_id}: this capture "
                             "has no TCP connection")
        return self.core_connections.iloc[conn_id]

    def states(self, conn_id: int) -> pd.DataFrame:
        """Per-packet timeline of one connection: each row with both endpoints' states after it."""
        self.connection(conn_id)
        rows = np.flatnonzero(self.flows.conn == conn_id)
        cols = self.columns
        out = pd.DataFrame({
            "frame": cols["frame"][rows],
            "ts_ns": cols["ts_ns"][rows],
            "direction": np.where(self.flows.from_server[rows], "s2c", "c2s"),
            "flags": flag_strings(cols["flags"][rows]),
            "rel_seq": self.flows.rel_seq[rows],
            "rel_ack": np.where(self.flows.rel_ack[rows] == NONE, -1, self.flows.rel_ack[rows]),
            "payload_len": cols["payload_len"][rows],
        })
        tr = self.transitions[self.transitions["conn_id"] == conn_id]
        init = self.timelines.initial[conn_id]
        for e, name in enumerate(("client", "server")):
            mine = tr[tr["endpoint"] == name]
            state = np.full(len(rows), str(init[e]), dtype=object)
            changed = np.zeros(len(rows), dtype=bool)
            for at, to in zip(mine["at_frame"].to_numpy(), mine["to_state"].to_numpy(),
                              strict=True):
                if at < 0:
                    continue
                hit = out["frame"].to_numpy() >= at
                state[hit] = to
                changed[np.argmax(out["frame"].to_numpy() == at)] = True
            out[f"{name}_state"] = state
            out[f"{name}_changed"] = changed
        return out
