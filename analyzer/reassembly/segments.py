"""Which captured bytes belong where: data segments placed in their stream, from the columns.

Every direction of a connection (group ``conn*2 + from_server``) is one byte stream. Stream
offset 0 is the first byte after the SYN (relative sequence number 1) when the SYN was
captured; without a SYN it is the lowest sequence number any captured segment carried (the
capture started mid-stream, so nothing is known before it). Computed for every row at once,
without reading a payload byte:

* a segment's bytes are ``[start, sent_end)`` in the stream, of which ``[start, cap_end)``
  were captured (a snaplen cut the rest);
* bytes below the ISN (sequence numbers at or before the SYN's) and bytes at or after the
  sender's first FIN are cut off: they are not part of the stream (the checks report them);
* keep-alives (one byte at SND.NXT − 1, often garbage) and RST payloads are not data;
* the stream's length is where its FIN sits, else the furthest byte sent or the furthest
  sequence number a later segment of the sender started at (a pure ACK carries SND.NXT:
  bytes before it that no captured segment carried are a gap). Acknowledgements from the
  peer are not used: a wrong ACK would invent gigabytes of missing data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analyzer.flows import Flows
from analyzer.flows.groups import NONE, group_cummax_excl
from analyzer.schema import FIN, RST, SYN

__all__ = ["MAX_OFFSET", "Placement", "Segments", "data_segments", "place"]

#: Stream offsets at or beyond 2**40 (1 TiB) are not plausible for one capture: a segment
#: that lands there carries a sequence number from another connection and is left out.
MAX_OFFSET = 1 << 40


@dataclass(slots=True)
class Placement:
    """Per row and per group facts of the placement (all NumPy arrays).

    Per row: ``start``/``sent_end``/``cap_end`` (stream offsets before any cut),
    ``data`` (a payload that counts as stream data: not RST, not a keep-alive),
    ``keepalive``, ``below_isn`` (bytes at or below the ISN), ``after_fin`` (bytes at or
    beyond the sender's FIN). Per group: ``origin`` (relative seq of offset 0),
    ``isn_known``, ``fin_off`` (offset of the FIN, NONE without one), ``length`` (the
    stream's extent: FIN, else furthest byte sent or acknowledged).
    """

    start: np.ndarray
    sent_end: np.ndarray
    cap_end: np.ndarray
    data: np.ndarray
    keepalive: np.ndarray
    below_isn: np.ndarray
    after_fin: np.ndarray
    origin: np.ndarray
    isn_known: np.ndarray
    fin_off: np.ndarray
    length: np.ndarray


@dataclass(slots=True)
class Segments:
    """The data segments of the selected groups, clipped to their stream (one per row)."""

    row: np.ndarray       # packet-table row
    group: np.ndarray     # conn*2 + from_server
    start: np.ndarray     # stream offset of the first byte kept
    cap_end: np.ndarray   # end of the captured bytes kept (<= sent_end)
    sent_end: np.ndarray  # end of the bytes sent (kept)
    file_off: np.ndarray  # offset of byte ``start`` in the (decompressed) capture file
    unread: np.ndarray    # bytes captured but not in one piece of the file (tshark engine:
                          # a segment rebuilt from IP fragments, payload_off -1): not read


def _data_start(flags: np.ndarray, fl: Flows) -> np.ndarray:
    """Relative seq of a row's first payload byte (a SYN takes the first number)."""
    return fl.rel_seq + ((flags & SYN) != 0)


def _keepalives(cols: dict[str, np.ndarray], fl: Flows, plen: np.ndarray) -> np.ndarray:
    """Keep-alives: one byte at the sender's next seq − 1 (Wireshark's definition, with
    "next seq" from segments that carried data, a SYN or a FIN), no SYN/FIN/RST."""
    flags = cols["flags"]
    moves = (plen > 0) | ((flags & (SYN | FIN)) != 0)
    before = group_cummax_excl(fl.by_group, np.where(moves, fl.seg_end, NONE))
    return ((plen == 1) & ((flags & (SYN | FIN | RST)) == 0) & (before != NONE)
            & (fl.rel_seq == before - 1))


def _origins(flags: np.ndarray, fl: Flows, start: np.ndarray, data: np.ndarray,
             n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group: relative seq of stream offset 0, and whether the ISN was captured.

    With a SYN, offset 0 follows the ISN; when SYNs with several ISNs were captured (a
    SYN-ACK resent with a new ISN), the highest ISN below the first data byte. Without a
    SYN, offset 0 is the lowest seq of any data segment (and at most relative seq 1).
    """
    isn_known = fl.isn != NONE
    first_data = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_data, fl.group[data], start[data])
    syn = np.flatnonzero(((flags & SYN) != 0) & ((flags & RST) == 0))
    syn = syn[fl.rel_seq[syn] < first_data[fl.group[syn]]]
    isn = np.full(n_groups, NONE, dtype=np.int64)
    np.maximum.at(isn, fl.group[syn], fl.rel_seq[syn])
    with_syn = np.where(isn != NONE, isn + 1, 1)
    return np.where(isn_known, with_syn, np.minimum(first_data, 1)), isn_known


def _fin_offsets(flags: np.ndarray, fl: Flows, origin: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group: stream offset of the sequence number taken by the first FIN (capture order)."""
    fin = ((flags & FIN) != 0) & ((flags & (RST | SYN)) == 0)
    rows = np.flatnonzero(fin)
    first = np.full(n_groups, -1, dtype=np.int64)
    first[fl.group[rows][::-1]] = rows[::-1]
    out = np.full(n_groups, NONE, dtype=np.int64)
    has = first >= 0
    out[has] = fl.seg_end[first[has]] - 1 - origin[has]
    return out


def _sent_reach(flags: np.ndarray, fl: Flows, start: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group: the furthest offset a sender's own segments started at (a pure ACK carries
    SND.NXT), NONE without any: data below it was sent, whether captured or not. RSTs and
    SYNs are left out (an RST's seq may be anything; a SYN resent with another ISN)."""
    rows = np.flatnonzero((flags & (RST | SYN)) == 0)
    out = np.full(n_groups, NONE, dtype=np.int64)
    np.maximum.at(out, fl.group[rows], start[rows])
    return out


def place(cols: dict[str, np.ndarray], fl: Flows) -> Placement:
    """Stream placement of every row (vectorized over the whole packet table)."""
    n_groups = 2 * fl.n_conn
    flags = cols["flags"]
    plen = cols["payload_len"].astype(np.int64)
    cap = np.minimum(cols["cap_payload_len"].astype(np.int64), plen)
    rel = _data_start(flags, fl)
    keepalive = _keepalives(cols, fl, plen)
    data = (plen > 0) & ((flags & RST) == 0) & ~keepalive
    origin, isn_known = _origins(flags, fl, rel, data, n_groups)
    start = rel - origin[fl.group]
    sent_end, cap_end = start + plen, start + cap
    fin_off = _fin_offsets(flags, fl, origin, n_groups)
    fin_row = fin_off[fl.group]
    below_isn = data & (start < 0)
    after_fin = data & (fin_row != NONE) & (sent_end > fin_row)
    length = np.zeros(n_groups, dtype=np.int64)
    ok = data & (start < MAX_OFFSET) & (sent_end > 0)
    np.maximum.at(length, fl.group[ok], np.minimum(sent_end[ok], MAX_OFFSET))
    # a later segment (even a pure ACK) starting beyond the last byte seen proves that the
    # bytes in between were sent: the capture missed them
    reach = _sent_reach(flags, fl, start, n_groups)
    tail = (reach != NONE) & (reach > length) & (reach < MAX_OFFSET)
    length = np.where(tail, reach, length)
    has_fin = (fin_off != NONE) & (fin_off >= 0) & (fin_off < MAX_OFFSET)
    length = np.where(has_fin, fin_off, length)
    return Placement(start, sent_end, cap_end, data, keepalive, below_isn, after_fin, origin,
                     isn_known, fin_off, length)


def data_segments(cols: dict[str, np.ndarray], fl: Flows, p: Placement,
                  groups: np.ndarray | None = None) -> Segments:
    """The data segments of ``groups`` (all groups if None), clipped to their stream."""
    keep = p.data & (p.start < MAX_OFFSET)
    if groups is not None:
        sel = np.zeros(2 * fl.n_conn, dtype=bool)
        sel[groups] = True
        keep &= sel[fl.group]
    rows = np.flatnonzero(keep)
    g = fl.group[rows]
    lo = np.maximum(p.start[rows], 0)
    hi = p.length[g]
    sent_end = np.minimum(p.sent_end[rows], hi)
    cap_end = np.minimum(p.cap_end[rows], sent_end)
    ok = sent_end > lo
    rows, g, lo, sent_end, cap_end = rows[ok], g[ok], lo[ok], sent_end[ok], cap_end[ok]
    unread = cols["payload_off"][rows] < 0
    cap_end = np.where(unread, lo, np.maximum(cap_end, lo))
    file_off = cols["payload_off"][rows] + (lo - p.start[rows])
    return Segments(rows, g.astype(np.int64), lo, cap_end, sent_end, file_off, unread)
