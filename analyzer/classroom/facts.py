"""What the questions are about: one connection's facts, read from an AnalysisResult.

:class:`ConnFacts` collects the handshake packets, the ISNs, the per-packet states, the
retransmissions and their chains, TIME_WAIT and the half-open / half-closed verdict of one
connection, with every frame number a student would look up in Wireshark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from analyzer.classroom.model import PacketRow
from analyzer.result import AnalysisResult
from analyzer.schema import ACK, FIN, SYN

__all__ = ["HALF_OPEN_CHECKS", "ConnFacts", "conn_facts", "pick_connection"]

HALF_OPEN_CHECKS = ("syn_no_reply", "synack_no_ack", "peer_vanished", "fin_wait_2_abandoned")
MAX_PACKETS = 400  # packets kept in the answer key for the diagrams


def _na(v: object) -> bool:
    return v is None or bool(pd.isna(v))  # type: ignore[call-overload]


@dataclass
class ConnFacts:
    """One connection of one capture, as the exercise sees it."""

    result: AnalysisResult
    conn_id: int
    row: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.result.connection(self.conn_id)  # UsageError for a bad id
        self.row = {str(k): v for k, v in
                    self.result.connections.iloc[self.conn_id].to_dict().items()}

    # --- identity -----------------------------------------------------------------------
    def ip(self, side: str) -> str:
        return str(self.row[side])

    def port(self, side: str) -> int:
        return int(self.row[f"{side}_port"])

    def endpoint(self, side: str) -> str:
        ip = self.ip(side)
        return f"[{ip}]:{self.port(side)}" if ":" in ip else f"{ip}:{self.port(side)}"

    def isn(self, side: str) -> int | None:
        v = self.row[f"{side}_isn"]
        return None if _na(v) else int(v)

    # --- the per-packet table -----------------------------------------------------------
    @cached_property
    def t0_ns(self) -> int:
        first = getattr(self.result.stats, "first_ts_ns", None)
        return int(first) if first is not None else int(self.result.columns["ts_ns"].min())

    @cached_property
    def rows(self) -> np.ndarray:
        return np.flatnonzero(self.result.flows.conn == self.conn_id)

    @cached_property
    def table(self) -> pd.DataFrame:
        """states(conn) plus raw numbers, window, relative time and raw flag bits."""
        df = self.result.states(self.conn_id).reset_index(drop=True)
        cols, rows = self.result.columns, self.rows
        df["seq"] = cols["seq"][rows].astype(np.int64)
        flags = cols["flags"][rows].astype(np.int64)
        df["ack"] = np.where(flags & ACK, cols["ack"][rows].astype(np.int64), -1)
        df["bits"] = flags
        df["window"] = self.scaled_window(rows, flags)
        df["t"] = (df["ts_ns"].to_numpy() - self.t0_ns) / 1e9
        return df

    def scaled_window(self, rows: np.ndarray, flags: np.ndarray) -> np.ndarray:
        """Window in bytes (scaled by the sender's window-scale option when both sides sent
        one in their SYNs; a SYN's own window is never scaled), as Wireshark computes it."""
        cols = self.result.columns
        win = cols["window"][rows].astype(np.int64)
        ws = cols["opt_wscale"][rows].astype(np.int64)
        srv = self.result.flows.from_server[rows]
        syn = (flags & SYN) != 0
        shift = []
        for side in (False, True):
            mine = ws[syn & (srv == side)]
            shift.append(int(mine[0]) if len(mine) and mine[0] >= 0 else -1)
        if min(shift) < 0:
            return win
        per_row = np.where(srv, shift[1], shift[0])
        return np.where(syn, win, win << per_row)

    def frame_index(self, frame: int) -> int:
        hit = np.flatnonzero(self.table["frame"].to_numpy() == frame)
        if len(hit) == 0:
            raise KeyError(f"frame {frame} is not in connection {self.conn_id}")
        return int(hit[0])

    def state_after(self, frame: int, side: str) -> str:
        return str(self.table.iloc[self.frame_index(frame)][f"{side}_state"])

    # --- handshake ----------------------------------------------------------------------
    def _first(self, mask: np.ndarray) -> int | None:
        hit = np.flatnonzero(mask)
        return int(self.table["frame"].to_numpy()[hit[0]]) if len(hit) else None

    @cached_property
    def syn_frame(self) -> int | None:
        t = self.table
        b = t["bits"].to_numpy()
        return self._first(((b & SYN) != 0) & ((b & ACK) == 0) & (t["direction"] == "c2s"))

    @cached_property
    def synack_frame(self) -> int | None:
        t = self.table
        b = t["bits"].to_numpy()
        return self._first(((b & SYN) != 0) & ((b & ACK) != 0) & (t["direction"] == "s2c"))

    @cached_property
    def handshake_done_frame(self) -> int | None:
        """The packet after which the server is ESTABLISHED (the third handshake segment)."""
        tr = self.result.transitions
        mine = tr[(tr["conn_id"] == self.conn_id) & (tr["endpoint"] == "server")
                  & (tr["from_state"] == "SYN_RECEIVED") & (tr["to_state"] == "ESTABLISHED")]
        return int(mine["at_frame"].iloc[0]) if len(mine) else None

    def packet(self, frame: int) -> pd.Series:
        return self.table.iloc[self.frame_index(frame)]

    @property
    def handshake_rtt_ms(self) -> float | None:
        v = self.row.get("handshake_rtt_ms")
        return None if _na(v) else float(v)  # type: ignore[arg-type]

    # --- teardown and states ------------------------------------------------------------
    @cached_property
    def fin_frames(self) -> list[int]:
        b = self.table["bits"].to_numpy()
        return [int(f) for f in self.table["frame"].to_numpy()[(b & FIN) != 0]]

    def changed_frames(self) -> list[int]:
        """Frames after which some endpoint's state changed (the interesting ones)."""
        t = self.table
        hit = t["client_changed"].to_numpy() | t["server_changed"].to_numpy()
        return [int(f) for f in t["frame"].to_numpy()[hit]]

    @cached_property
    def time_wait_side(self) -> str:
        side = str(self.row.get("time_wait_side") or "")
        return side if side in ("client", "server", "both") else "none"

    def time_wait_frames(self) -> list[int]:
        tr = self.result.transitions
        mine = tr[(tr["conn_id"] == self.conn_id) & (tr["to_state"] == "TIME_WAIT")]
        return [int(f) for f in mine["at_frame"].to_numpy() if f >= 0]

    # --- retransmissions ----------------------------------------------------------------
    @cached_property
    def retransmissions(self) -> pd.DataFrame:
        rt = self.result.retransmissions
        keep = (rt["conn_id"] == self.conn_id) & (rt["kind"].astype(str) != "duplicate")
        return rt[keep].sort_values("frame").reset_index(drop=True)

    @cached_property
    def chains(self) -> pd.DataFrame:
        ch = self.result.timing.chains
        mine = ch[(ch["conn_id"] == self.conn_id) & (ch["timeouts"] > 0)]
        return mine.sort_values("original_frame").reset_index(drop=True)

    # --- verdicts -----------------------------------------------------------------------
    @cached_property
    def findings(self) -> pd.DataFrame:
        fd = self.result.findings
        return fd[fd["conn_id"] == self.conn_id] if len(fd) else fd

    @cached_property
    def half_open_check(self) -> str:
        """The catalogue check proving a half-open connection, "" when it was not one."""
        found = set(self.findings["check"].astype(str)) if len(self.findings) else set()
        for check in HALF_OPEN_CHECKS:
            if check in found:
                return check
        return "syn_no_reply" if str(self.row["summary"]) == "HALF-OPEN" else ""

    @cached_property
    def half_closed_frames(self) -> tuple[int, int] | None:
        """(FIN frame, first data frame sent the other way after it), None if none."""
        t = self.table
        b, d = t["bits"].to_numpy(), t["direction"].to_numpy()
        plen, frames = t["payload_len"].to_numpy(), t["frame"].to_numpy()
        for i in np.flatnonzero((b & FIN) != 0):
            later = np.flatnonzero((np.arange(len(t)) > i) & (d != d[i]) & (plen > 0)
                                   & ((b & FIN) == 0))
            if len(later):
                return int(frames[i]), int(frames[later[0]])
        return None

    @property
    def half_status(self) -> str:
        if self.half_open_check:
            return "half-open"
        return "half-closed" if self.half_closed_frames else "neither"

    # --- rows for the answer key --------------------------------------------------------
    def packet_rows(self) -> list[PacketRow]:
        t = self.table.head(MAX_PACKETS)
        notes = {int(r["frame"]): f"{r['kind']} retransmission of frame "
                 f"{int(r['original_frame'])}" for r in self.retransmissions.to_dict("records")}
        return [PacketRow(
            frame=int(r["frame"]), t=round(float(r["t"]), 9), direction=str(r["direction"]),
            flags=str(r["flags"]), seq=int(r["seq"]), ack=int(r["ack"]),
            rel_seq=int(r["rel_seq"]), rel_ack=int(r["rel_ack"]), length=int(r["payload_len"]),
            window=int(r["window"]), client_state=str(r["client_state"]),
            server_state=str(r["server_state"]), note=notes.get(int(r["frame"]), ""))
            for r in t.to_dict("records")]


def conn_facts(result: AnalysisResult, conn_id: int) -> ConnFacts:
    return ConnFacts(result, conn_id)


def pick_connection(result: AnalysisResult, need: str = "handshake") -> int:
    """The connection an exercise is about when none is named: the first with a handshake
    (``need`` "handshake"), a FIN ("teardown") or data both ways ("data"), else the first."""
    c = result.core_connections
    if len(c) == 0:
        from analyzer.errors import UsageError

        raise UsageError(f"{result.source}: the capture has no TCP connection")
    masks = {
        "handshake": (c["syn_count"] > 0) & (c["synack_count"] > 0),
        "teardown": (c["syn_count"] > 0) & ((c["fin_c2s"] + c["fin_s2c"]) > 0),
        "data": (c["syn_count"] > 0) & ((c["bytes_c2s"] + c["bytes_s2c"]) > 0),
    }
    mask = masks.get(need, masks["handshake"])
    hit = np.flatnonzero(mask.to_numpy())
    return int(c["conn_id"].iloc[hit[0]]) if len(hit) else int(c["conn_id"].iloc[0])
