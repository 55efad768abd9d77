"""What decoding produces: the packet table, the address list, anomalies and statistics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from analyzer.capture.batch import Interface

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MAX_ANOMALY_ROWS", "NON_TCP_KINDS", "DecodeStats", "Decoded", "FrameIssues"]

NON_TCP_KINDS = ("udp", "icmp", "icmpv6", "arp", "other_ip", "other")
MAX_ANOMALY_ROWS = 100_000
"""Cap of the anomalies table; beyond it anomalies are only counted (with a warning)."""


@dataclass
class DecodeStats:
    """Counts and facts about one decoded capture."""

    path: str
    format: str                               # "pcap" or "pcapng"
    gzip: bool
    frames: int = 0
    tcp_segments: int = 0
    non_tcp: dict[str, int] = field(default_factory=lambda: dict.fromkeys(NON_TCP_KINDS, 0))
    linktypes: dict[int, int] = field(default_factory=dict)   # link type -> frames
    interfaces: list[Interface] = field(default_factory=list)
    snaplen: int = 0
    first_ts_ns: int | None = None
    last_ts_ns: int | None = None
    bytes_read: int = 0                      # raw bytes read (compressed size for gzip)
    warnings: list[str] = field(default_factory=list)
    checksums_verified: bool = True


@dataclass
class Decoded:
    """The packet table of a capture and everything found on the way.

    ``columns`` holds exactly :data:`analyzer.schema.PACKET_COLUMNS`, one row per TCP
    segment in capture order; ``src``/``dst`` are codes into ``addresses``.
    ``anomalies`` lists frames that did not become a clean row (columns frame, ts_ns,
    code, detail); per-row problems are bits of the ``anomalies`` column instead.
    """

    columns: dict[str, np.ndarray]
    addresses: list[str]
    anomalies: pd.DataFrame
    stats: DecodeStats

    def __len__(self) -> int:
        return int(self.columns["frame"].size)

    def packets(self) -> pd.DataFrame:
        """The packet table as a DataFrame, addresses as text categoricals."""
        import pandas as pd

        df = pd.DataFrame(self.columns, copy=False)
        cats = pd.Index(self.addresses, dtype=object)
        for col in ("src", "dst"):
            df[col] = pd.Categorical.from_codes(self.columns[col], categories=cats) \
                if len(cats) else pd.Categorical([], categories=cats)
        return df


Detail = str | Callable[[np.ndarray], list[str]]


class FrameIssues:
    """Collects frame-level anomalies of a batch as arrays (rows of the batch).

    A detail is a string shared by all rows, or a function that renders the details of
    the given positions (so that rows dropped by the cap are never rendered).
    """

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.codes: list[str] = []
        self.details: list[Detail] = []

    def add(self, rows: np.ndarray, code: str, detail: Detail) -> None:
        if rows.size:
            self.rows.append(rows)
            self.codes.append(code)
            self.details.append(detail)

    def records(self, frame: np.ndarray, ts_ns: np.ndarray,
                limit: int) -> tuple[list[tuple[int, int, str, str]], dict[str, int]]:
        """Up to ``limit`` (frame, ts_ns, code, detail) records; counts of the rest by code."""
        out: list[tuple[int, int, str, str]] = []
        dropped: dict[str, int] = {}
        for rows, code, detail in zip(self.rows, self.codes, self.details, strict=True):
            keep = max(0, min(rows.size, limit - len(out)))
            if keep < rows.size:
                dropped[code] = dropped.get(code, 0) + rows.size - keep
            if not keep:
                continue
            kept = rows[:keep]
            texts = [detail] * keep if isinstance(detail, str) else detail(np.arange(keep))
            out += [(int(f), int(t), code, d) for f, t, d in zip(
                frame[kept].tolist(), ts_ns[kept].tolist(), texts, strict=True)]
        return out, dropped
