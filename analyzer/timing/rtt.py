"""RTT samples from ACKs (Karn's rule) and the RFC 6298 estimator per direction.

A sample is taken at every ACK that advances the cumulative acknowledgement, from the
segment that first carried the oldest newly acknowledged byte (as Linux's
``tcp_clean_rtx_queue`` takes ``first_ackt``) — unless that segment was ever retransmitted
(Karn's rule, RFC 6298 §3). The capture point sees only part of the path: data → ACK spans
capture ↔ receiver; the handshake measured the other part (capture ↔ sender), which is
added so that the estimate is the sender's full RTT. SRTT/RTTVAR then follow RFC 6298 §2,
vectorized across all connections (``scan.rfc6298``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analyzer.flows import Flows
from analyzer.flows.groups import NONE
from analyzer.timing.context import RowContext
from analyzer.timing.scan import group_key, rfc6298, search_in_groups
from analyzer.timing.segments import Resends

__all__ = ["RttEstimates", "estimate_rtt"]


@dataclass(slots=True)
class RttEstimates:
    """Samples sorted by (data group, time), with the estimator state after each one."""

    group: np.ndarray      # data sender's group (conn*2 + direction)
    seg_row: np.ndarray    # the timed segment
    ack_row: np.ndarray    # the ACK that timed it
    leg: np.ndarray        # s, capture → receiver → capture
    rtt: np.ndarray        # s, the sender's full RTT (leg + handshake's other leg)
    srtt: np.ndarray
    rttvar: np.ndarray
    keys: np.ndarray       # group_key(group, ack_row), sorted

    def at(self, group: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """SRTT and RTTVAR of ``group`` just before ``row`` (NaN before the first sample)."""
        pos = search_in_groups(self.keys, self.group, group, row - 1, "last")
        ok = pos >= 0
        srtt = np.where(ok, self.srtt[np.maximum(pos, 0)] if len(self.srtt) else 0.0, np.nan)
        var = np.where(ok, self.rttvar[np.maximum(pos, 0)] if len(self.srtt) else 0.0, np.nan)
        return srtt, var

    def median_rtt(self, n_groups: int) -> np.ndarray:
        """Per group: median full RTT sample (NaN without samples)."""
        if len(self.rtt) == 0:
            return np.full(n_groups, np.nan)
        s = pd.Series(self.rtt).groupby(self.group).median()
        out = np.full(n_groups, np.nan)
        out[s.index.to_numpy()] = s.to_numpy()
        return out

    def frame(self, cols: dict[str, np.ndarray], rto: np.ndarray) -> pd.DataFrame:
        """The public ``rtt`` table (one row per sample)."""
        return pd.DataFrame({
            "conn_id": self.group // 2,
            "direction": np.where(self.group % 2 == 1, "s2c", "c2s"),
            "frame": cols["frame"][self.seg_row],
            "ack_frame": cols["frame"][self.ack_row],
            "ts_ns": cols["ts_ns"][self.ack_row],
            "leg_ms": self.leg * 1e3,
            "rtt_ms": self.rtt * 1e3,
            "srtt_ms": self.srtt * 1e3,
            "rttvar_ms": self.rttvar * 1e3,
            "rto_ms": rto * 1e3,
        })


def estimate_rtt(ctx: RowContext, fl: Flows, resends: Resends, dup: np.ndarray,
                 ) -> RttEstimates:
    """``dup``: per retransmitted row, a duplicated capture (not a send: no Karn taint)."""
    ack_rows = np.flatnonzero(ctx.ack_advances)  # a copy of an ACK never advances
    prev = ctx.own_ack_before[ack_rows]
    byte = np.where(prev == NONE, fl.rel_ack[ack_rows] - 1, prev)
    data_group = ctx.group[ack_rows] ^ 1
    seg = resends.first_carrier(data_group, byte)
    real = ~dup
    tainted = np.zeros(len(fl.conn) + 1, dtype=bool)
    tainted[resends.original[real]] = True  # -1 lands on the spare last slot
    ok = (seg >= 0) & ~tainted[np.maximum(seg, 0)]
    ok[ok] &= ctx.ts[seg[ok]] <= ctx.ts[ack_rows[ok]]
    g, s, a = data_group[ok], seg[ok], ack_rows[ok]
    order = np.lexsort((a, g))
    g, s, a = g[order], s[order], a[order]
    leg = (ctx.ts[a] - ctx.ts[s]) / 1e9
    rtt = leg + ctx.other_leg[g]
    starts = np.ones(len(g), dtype=bool)
    starts[1:] = g[1:] != g[:-1]
    srtt, var = rfc6298(rtt, starts)
    return RttEstimates(g, s, a, leg, rtt, srtt, var, group_key(g, a))
