"""Backoff chains: every send of one segment, in order, with gaps and ratios.

A chain is the original transmission of a segment (per connection and direction, keyed by
the sequence number its original started at) followed by each retransmission of it.
Duplicated captures ride along but are not sends; SYN-ACKs that merely answer a repeated
SYN are sends (the next gap runs from them) but not retries. ``timeout`` numbers the
timer-driven sends (1, 2, ...): those are the ones whose gaps must follow the profile's
backoff.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analyzer.flows import Flows
from analyzer.schema import ACK, FIN, SYN

__all__ = ["ChainIndex", "assign_chains", "segment_kinds", "timeout_numbers"]


@dataclass(slots=True)
class ChainIndex:
    """Per retransmitted row (aligned with ``Resends.rows``)."""

    chain_id: np.ndarray
    retry: np.ndarray        # 1.. among counted sends, 0 for duplicates and replies
    prev_send: np.ndarray    # row of the previous counted send of the segment (-1: unseen)
    gap: np.ndarray          # s since prev_send (NaN when unseen)
    head: np.ndarray         # per chain: row of the original (or of the first copy)


def segment_kinds(cols: dict[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    """"syn", "synack", "fin" (no payload) or "data" per row."""
    flags = cols["flags"][rows]
    out = np.full(len(rows), "data", dtype=object)
    out[((flags & FIN) != 0) & (cols["payload_len"][rows] == 0)] = "fin"
    out[(flags & (SYN | ACK)) == SYN] = "syn"
    out[(flags & (SYN | ACK)) == (SYN | ACK)] = "synack"
    return out


def assign_chains(fl: Flows, ts: np.ndarray, rows: np.ndarray, original: np.ndarray,
                  sends: np.ndarray, counted: np.ndarray) -> ChainIndex:
    """Chains of the retransmitted ``rows``. ``sends`` marks real sends (not duplicated
    captures): gaps run from the previous one. ``counted`` marks the retries (sends that are
    not answers to a repeated SYN): they get retry numbers. A SYN-ACK answering a repeated
    SYN restarts the server's SYN-ACK timer on Linux, so it is a send but not a retry."""
    n = len(rows)
    key_seq = np.where(original >= 0, fl.rel_seq[np.maximum(original, 0)], fl.rel_seq[rows])
    df = pd.DataFrame({"g": fl.group[rows], "k": key_seq, "row": rows, "i": np.arange(n),
                       "orig": original, "counted": counted, "sends": sends})
    first = df.groupby(["g", "k"], sort=False)["orig"].transform("max")
    df["head"] = np.where(first >= 0, first, df.groupby(["g", "k"], sort=False)["row"]
                          .transform("min"))
    heads = np.sort(df["head"].unique())
    df["chain"] = np.searchsorted(heads, df["head"].to_numpy())
    df = df.sort_values(["chain", "row"], kind="stable")
    retry = df["counted"].astype(np.int64).groupby(df["chain"]).cumsum().to_numpy()
    retry = np.where(df["counted"].to_numpy(), retry, 0)
    # previous counted send: ffill of counted rows shifted by one within the chain
    prev = _prev_in_group(np.where(df["sends"], df["row"], np.nan), df["chain"].to_numpy())
    prev_nan = np.isnan(prev)
    headrow = df["head"].to_numpy()
    orig_seen = df["orig"].to_numpy() >= 0
    prev = np.where(prev_nan, np.where(orig_seen, headrow, -1), prev).astype(np.int64)
    prev = np.where(prev == df["row"].to_numpy(), -1, prev)
    out_prev = np.empty(n, dtype=np.int64)
    out_chain = np.empty(n, dtype=np.int64)
    out_retry = np.empty(n, dtype=np.int64)
    idx = df["i"].to_numpy()
    out_prev[idx], out_chain[idx], out_retry[idx] = prev, df["chain"].to_numpy(), retry
    gap = np.where(out_prev >= 0, (ts[rows] - ts[np.maximum(out_prev, 0)]) / 1e9, np.nan)
    return ChainIndex(out_chain, out_retry, out_prev, gap, heads)


def _prev_in_group(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per position: the latest non-NaN value strictly before it in its group (NaN if none)."""
    s = pd.Series(values, dtype=np.float64)
    filled = s.groupby(group).ffill()
    return filled.groupby(group).shift(1).to_numpy()


def timeout_numbers(chain: np.ndarray, timer: np.ndarray, gap: np.ndarray,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per row (capture order): its timeout number in the chain (0 if not a timeout) and the
    previous timeout's gap (NaN for the first timeout and for other rows)."""
    k = pd.Series(timer.astype(np.int64)).groupby(chain).cumsum().to_numpy()
    k = np.where(timer, k, 0)
    prev = _prev_in_group(np.where(timer, gap, np.nan), chain)
    return k, np.where(timer & (k >= 2), prev, np.nan)
