"""Where each TCP header tshark found sits in the file, found in the frame's own bytes.

tshark's `-T fields` output has no byte positions (``frame.file_off`` stays empty outside
the GUI), so the capture is read once more with synack's own reader (framing only: pcap /
pcapng records, timestamps, interfaces — no dissection) and the first 12 bytes of each TCP
header (ports, sequence and acknowledgment numbers, which tshark printed) are looked up in
the frame. Most frames of a capture share a handful of header positions (34 for
Ethernet/IPv4, 54 for Ethernet/IPv6, ...): those are checked for all rows at once with
NumPy; only the rest is searched with ``bytes.find``.

A header that is not in its frame — a TCP segment tshark rebuilt from IP fragments of
earlier frames — has no position: its ``payload_off`` is -1.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from analyzer.capture import BaseReader, FrameBatch
from analyzer.capture.batch import gather_bytes

__all__ = ["Located", "header_keys", "locate_headers"]

KEY_LEN = 12
MAX_GUESSES = 4
FIRST_SEARCH = 32     # rows searched one by one before the usual positions are tried again


@dataclass
class Located:
    """Per TCP row (frame order): framing facts and the TCP header position, plus facts
    about the whole capture gathered on the way."""

    ts_ns: np.ndarray        # int64
    iface: np.ndarray        # int16
    known: np.ndarray        # bool: the reader framed this frame
    l4: np.ndarray           # int64 offset of the TCP header in its frame, -1 if not there
    frame_off: np.ndarray    # int64 stream offset of the frame's first byte
    caplen: np.ndarray       # int64
    also_ts: np.ndarray      # int64 timestamps of the ``also`` frames (0 if not framed)
    linktypes: dict[int, int] = field(default_factory=dict)
    first_ts_ns: int | None = None
    last_ts_ns: int | None = None
    anomalies: list[tuple[int, int, str, str]] = field(default_factory=list)


def header_keys(sport: np.ndarray, dport: np.ndarray, seq: np.ndarray,
                ack: np.ndarray) -> np.ndarray:
    """(n, 12) uint8: the first 12 bytes of each TCP header, as on the wire."""
    rec = np.empty(sport.size, np.dtype([("s", ">u2"), ("d", ">u2"), ("q", ">u4"),
                                         ("a", ">u4")]))
    rec["s"], rec["d"], rec["q"], rec["a"] = sport, dport, seq, ack
    return rec.view(np.uint8).reshape(-1, KEY_LEN)


class _Search:
    """Header positions (offset within the frame) that matched so far, most common first."""

    def __init__(self) -> None:
        self.seen: Counter[int] = Counter()

    def batch(self, b: np.ndarray, start: np.ndarray, end: np.ndarray,
              keys: np.ndarray) -> np.ndarray:
        pos = np.full(start.size, -1, np.int64)
        todo = np.arange(start.size)
        head = FIRST_SEARCH
        while todo.size:
            todo = self._guess(b, start, end, keys, todo, pos)
            self._slow(b, start, end, keys, todo[:head], pos)
            todo, head = todo[head:], 2 * head
        return pos

    def _guess(self, b: np.ndarray, start: np.ndarray, end: np.ndarray, keys: np.ndarray,
               todo: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Check the usual positions for all ``todo`` rows at once; returns the rest."""
        for off, _n in self.seen.most_common(MAX_GUESSES):
            if not todo.size:
                break
            at = start[todo] + off
            fits = at + KEY_LEN <= end[todo]
            cand = todo[fits]
            hit = (gather_bytes(b, at[fits], KEY_LEN) == keys[cand]).all(axis=1)
            pos[cand[hit]] = off
            todo = todo[~np.isin(todo, cand[hit])]
        return todo

    def _slow(self, b: np.ndarray, start: np.ndarray, end: np.ndarray, keys: np.ndarray,
              todo: np.ndarray, pos: np.ndarray) -> None:
        blob = keys[todo].tobytes()
        for j, (i, s, e) in enumerate(zip(todo.tolist(), start[todo].tolist(),
                                          end[todo].tolist(), strict=True)):
            at = bytes(b[s:e]).find(blob[KEY_LEN * j:KEY_LEN * (j + 1)])
            if at >= 0:
                pos[i] = at
                self.seen[at] += 1


def locate_headers(reader: BaseReader, frames: np.ndarray, keys: np.ndarray,
                   also: np.ndarray | None = None) -> Located:
    """Read every frame of ``reader``; for the rows ``frames`` (sorted, 1-based) find the
    TCP header whose first 12 bytes are ``keys``; note the timestamps of frames ``also``."""
    n = frames.size
    also = np.empty(0, np.int64) if also is None else also
    out = Located(ts_ns=np.zeros(n, np.int64), iface=np.zeros(n, np.int16),
                  known=np.zeros(n, np.bool_), l4=np.full(n, -1, np.int64),
                  frame_off=np.full(n, -1, np.int64), caplen=np.zeros(n, np.int64),
                  also_ts=np.zeros(also.size, np.int64))
    search = _Search()
    for batch in reader.batches():
        _facts(batch, out)
        if also.size:
            first = int(batch.frame[0]) if len(batch) else 0
            sel = (also >= first) & (also < first + len(batch))
            out.also_ts[sel] = batch.ts_ns[also[sel] - first]
        if not n:
            continue
        lo, hi = np.searchsorted(frames, [batch.frame[0], batch.frame[-1] + 1])
        if hi <= lo:
            continue
        j = np.searchsorted(batch.frame, frames[lo:hi])
        j = np.minimum(j, len(batch) - 1)
        hit = batch.frame[j] == frames[lo:hi]
        rows, j = np.arange(lo, hi)[hit], j[hit]
        out.known[rows] = True
        out.ts_ns[rows], out.iface[rows] = batch.ts_ns[j], batch.iface[j]
        out.frame_off[rows], out.caplen[rows] = batch.stream_off[j], batch.caplen[j]
        start = batch.data_off[j]
        out.l4[rows] = search.batch(batch.buf, start, start + batch.caplen[j], keys[rows])
    return out


def _facts(batch: FrameBatch, out: Located) -> None:
    lts, counts = np.unique(batch.linktype, return_counts=True)
    for lt, c in zip(lts.tolist(), counts.tolist(), strict=True):
        out.linktypes[lt] = out.linktypes.get(lt, 0) + c
    out.anomalies += batch.anomalies
    if batch.frame.size:
        lo, hi = int(batch.ts_ns.min()), int(batch.ts_ns.max())
        out.first_ts_ns = lo if out.first_ts_ns is None else min(out.first_ts_ns, lo)
        out.last_ts_ns = hi if out.last_ts_ns is None else max(out.last_ts_ns, hi)
