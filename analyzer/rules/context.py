"""One capture as the rules see it: connections, findings less the ignored ones, and the
helpers that turn connections and packets into :class:`~analyzer.rules.model.Evidence`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analyzer.rules.model import Evidence, IgnoreUse, Rules
from analyzer.rules.select import connection_mask, finding_mask
from analyzer.schema import ACK, RST, SYN

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__ = ["MAX_EVIDENCE", "MAX_FRAMES", "CaptureContext", "plural", "rows"]

MAX_EVIDENCE = 50  # evidence items kept per outcome (evidence_total counts them all)
MAX_FRAMES = 20    # frame numbers kept per evidence item


def rows(df: pd.DataFrame) -> Iterator[Any]:
    """``df.itertuples(index=False)``, typed loosely (each row's fields are Any)."""
    tuples: Any = df.itertuples(index=False)
    return iter(tuples)


def plural(n: int | float, word: str, many: str = "") -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


@dataclass
class CaptureContext:
    """What every judge needs about one capture, computed once."""

    result: AnalysisResult
    capture: str
    conns: pd.DataFrame = field(init=False)
    findings: pd.DataFrame = field(init=False)
    ignored: np.ndarray = field(init=False)  # per finding: exempted by an [[ignore]]
    exempt: dict[str, np.ndarray] = field(init=False)  # rule → connections exempted

    def __post_init__(self) -> None:
        self.conns = self.result.connections.reset_index(drop=True)
        self.findings = self.result.findings.reset_index(drop=True)
        self.ignored = np.zeros(len(self.findings), dtype=bool)
        self.exempt = {}

    def apply_ignores(self, rules: Rules) -> list[IgnoreUse]:
        """Mark what each ``[[ignore]]`` exempts; how much each one matched."""
        uses = []
        fd = self.findings
        for ig in rules.ignores:
            cm = connection_mask(ig.selector, self.conns, self.capture)
            if ig.findings:
                fm = finding_mask(ig.selector, fd, cm, self.capture) & \
                    fd["check"].isin(ig.findings).to_numpy()
                uses.append(IgnoreUse(ig, int((fm & ~self.ignored).sum())))
                self.ignored |= fm
            else:
                for rule in ig.rules:
                    self.exempt[rule] = self.exempt.get(rule, np.zeros(len(cm), bool)) | cm
                uses.append(IgnoreUse(ig, int(cm.sum())))
        return uses

    def exempted(self, rule: str) -> np.ndarray:
        return self.exempt.get(rule, np.zeros(len(self.conns), dtype=bool))

    # --- evidence -------------------------------------------------------------------

    def label(self, conn_id: int) -> str:
        """``10.0.0.1:40000 → 10.0.0.2:80`` (IPv6 in brackets)."""
        r: Any = self.conns.iloc[conn_id]
        return f"{_hp(r['client'], r['client_port'])} → {_hp(r['server'], r['server_port'])}"

    def evidence(self, conn_id: int, frames: Iterable[int], message: str,
                 check: str = "") -> Evidence:
        fr = sorted({int(f) for f in frames if int(f) >= 0})[:MAX_FRAMES]
        label = self.label(conn_id) if 0 <= conn_id < len(self.conns) else ""
        return Evidence(conn_id=int(conn_id), frames=fr, message=message, check=check,
                        connection=label)

    def finding_evidence(self, fd: pd.DataFrame) -> list[Evidence]:
        out = []
        for r in rows(fd.head(MAX_EVIDENCE)):
            frames = list(r.frames) if len(r.frames) else [r.frame]
            out.append(self.evidence(int(r.conn_id), frames, str(r.message), str(r.check)))
        return out

    def frames_where(self, conn_ids: Iterable[int], what: str) -> dict[int, list[int]]:
        """Frames per connection of one kind of segment: ``syn`` (client SYN), ``synack``,
        ``rst``, ``handshake`` (first SYN, SYN-ACK and client ACK)."""
        ids = np.asarray(sorted(set(conn_ids)), dtype=np.int64)
        cols, fl = self.result.columns, self.result.flows
        flags, srv = cols["flags"].astype(np.int64), fl.from_server.astype(bool)
        syn, ack = (flags & SYN) != 0, (flags & ACK) != 0
        sel = {"syn": syn & ~ack & ~srv, "synack": syn & ack & srv, "rst": (flags & RST) != 0,
               "handshake": (syn & ~ack & ~srv) | (syn & ack & srv) | (ack & ~syn & ~srv)}[what]
        rows = np.flatnonzero(sel & np.isin(fl.conn, ids))
        out: dict[int, list[int]] = {int(c): [] for c in ids}
        if what == "handshake":
            found = _handshake_frames(fl.conn[rows], cols["frame"][rows], syn[rows], srv[rows])
            return {**out, **found}
        for c, f in zip(fl.conn[rows].tolist(), cols["frame"][rows].tolist(), strict=True):
            out[c].append(f)
        return out

    def retransmission_frames(self, conn_ids: Iterable[int]) -> dict[int, list[int]]:
        tx = self.result.retransmissions
        tx = tx[(tx["kind"] != "duplicate") & tx["conn_id"].isin(list(conn_ids))]
        out: dict[int, list[int]] = {}
        for c, f in zip(tx["conn_id"].tolist(), tx["frame"].tolist(), strict=True):
            out.setdefault(int(c), []).append(int(f))
        return out


def _handshake_frames(conn: np.ndarray, frame: np.ndarray, syn: np.ndarray,
                      srv: np.ndarray) -> dict[int, list[int]]:
    """Per connection: the first SYN, the first SYN-ACK after it, the first client ACK after
    that (rows in capture order)."""
    out: dict[int, list[int]] = {}
    for c, f, s, v in zip(conn.tolist(), frame.tolist(), syn.tolist(), srv.tolist(),
                          strict=True):
        got = out.setdefault(c, [])
        kind = (1 if v else 0) if s else 2
        if len(got) < 3 and kind == len(got):
            got.append(f)
    return out


def _hp(host: Any, port: Any) -> str:
    h = str(host)
    return f"[{h}]:{port}" if ":" in h else f"{h}:{port}"
