"""TCP headers and options, vectorized over all segments of a batch (RFC 9293 §3.1).

Options (RFC 9293 §3.2; RFC 7323 timestamps and window scale; RFC 2018 SACK; RFC 7413
TCP Fast Open, kind 34 or experimental 254 with magic 0xF989) are parsed by a small
state machine that advances one option per step for all rows at once; the usual layouts
NOP, NOP, Timestamps and Linux's MSS, SACK-permitted, Timestamps, NOP, Window scale are taken
directly.
"""

from __future__ import annotations

import numpy as np

from analyzer.capture.batch import gather_rows
from analyzer.schema import (
    ACK,
    ANOM_BAD_FLAGS,
    ANOM_BAD_TCP_HDR_LEN,
    ANOM_RESERVED_BITS,
    ANOM_TRUNCATED_HEADER,
    ANOM_TRUNCATED_PAYLOAD,
    ANOM_ZERO_PORT,
    FIN,
    RST,
    SYN,
)

__all__ = ["parse_options", "tcp_fields"]

EOL, NOP, MSS, WSCALE, SACK_PERM, SACK, TIMESTAMPS, TFO, EXPERIMENTAL = 0, 1, 2, 3, 4, 5, 8, 34, 254
TFO_MAGIC = 0xF989
OPT_WIDTH = 40 + 10          # option bytes plus zero padding for reads past the end
TCP_HEADER = np.dtype([
    ("sport", ">u2"), ("dport", ">u2"), ("seq", ">u4"), ("ack", ">u4"), ("off", "u1"),
    ("flags", "u1"), ("window", ">u2"), ("sum", ">u2"), ("urgent", ">u2"),
])
FIXED_SIZES = {MSS: 4, WSCALE: 3, SACK_PERM: 2, TIMESTAMPS: 10}
NOP_NOP_TS = np.dtype([("kinds", ">u4"), ("val", ">u4"), ("ecr", ">u4")])
NOP_NOP_TS_KINDS = 0x0101080A
# Linux SYN and SYN-ACK: MSS, SACK-permitted, timestamps, NOP, window scale (20 bytes)
LINUX_SYN = np.dtype([("mss_kind", ">u2"), ("mss", ">u2"), ("sack_perm", ">u2"),
                      ("ts_kind", ">u2"), ("val", ">u4"), ("ecr", ">u4"), ("nop_ws", ">u2"),
                      ("ws_len", "u1"), ("ws", "u1")])


def _u16(flat: np.ndarray, at: np.ndarray) -> np.ndarray:
    return flat[at].astype(np.int64) << 8 | flat[at + 1]


def _u32(flat: np.ndarray, at: np.ndarray) -> np.ndarray:
    return _u16(flat, at) << 16 | _u16(flat, at + 2)


def tcp_fields(b: np.ndarray, l4: np.ndarray, tcp_len: np.ndarray,
               room: np.ndarray) -> dict[str, np.ndarray]:
    """Fixed-header fields of segments whose first 20 bytes are captured.

    ``room`` is the number of captured bytes from the TCP header on; ``tcp_len`` the
    segment length according to IP. Returns the packet-table columns that come from the
    TCP header plus ``opt_len`` (captured option bytes to parse).
    """
    t = gather_rows(b, l4, TCP_HEADER)
    off = t["off"]
    hdr = (off >> 4).astype(np.int64) * 4
    flags = (off.astype(np.uint16) & 1) << 8 | t["flags"]
    bad_hdr = (hdr < 20) | (hdr > tcp_len)
    payload = np.where(bad_hdr, 0, tcp_len - hdr)
    cap = np.where(bad_hdr, 0, np.clip(room - hdr, 0, payload))
    sport, dport = t["sport"].astype(np.uint16), t["dport"].astype(np.uint16)
    syn = (flags & SYN) != 0
    anomalies = (
        np.where(bad_hdr, ANOM_BAD_TCP_HDR_LEN, 0)
        | np.where(~bad_hdr & (hdr > room), ANOM_TRUNCATED_HEADER, 0)
        | np.where(cap < payload, ANOM_TRUNCATED_PAYLOAD, 0)
        | np.where((sport == 0) | (dport == 0), ANOM_ZERO_PORT, 0)
        | np.where((off & 0x0E) != 0, ANOM_RESERVED_BITS, 0)
        | np.where((syn & ((flags & (FIN | RST)) != 0)) | ((flags & 0x1FF) == 0),
                   ANOM_BAD_FLAGS, 0)
    )
    return {
        "sport": sport, "dport": dport,
        "seq": t["seq"].astype(np.uint32), "ack": t["ack"].astype(np.uint32),
        "flags": flags, "window": t["window"].astype(np.uint16),
        "hdr_len": hdr.astype(np.uint8), "payload_len": payload.astype(np.int32),
        "cap_payload_len": cap.astype(np.int32), "anomalies": anomalies.astype(np.uint32),
        "opt_len": np.where(bad_hdr, 0, np.clip(np.minimum(hdr, room) - 20, 0, 40)),
        "has_ack": (flags & ACK) != 0,
    }


def _empty_options(n: int) -> dict[str, np.ndarray]:
    return {
        "opt_mss": np.full(n, -1, np.int32), "opt_wscale": np.full(n, -1, np.int16),
        "opt_sack_perm": np.zeros(n, np.bool_), "opt_ts_val": np.full(n, -1, np.int64),
        "opt_ts_ecr": np.full(n, -1, np.int64), "opt_sack_blocks": np.zeros(n, np.int8),
        "opt_sack_left": np.full(n, -1, np.int64), "opt_sack_right": np.full(n, -1, np.int64),
        "opt_tfo": np.full(n, -1, np.int8), "bad": np.zeros(n, np.bool_),
    }


def parse_options(b: np.ndarray, l4: np.ndarray, opt_len: np.ndarray) -> dict[str, np.ndarray]:
    """Option columns for every segment (``opt_len`` captured option bytes after 20)."""
    out = _empty_options(l4.size)
    rows = np.flatnonzero(opt_len > 0)
    if not rows.size:
        return out
    done = np.zeros(l4.size, np.bool_)
    twelve = rows[opt_len[rows] == 12]
    if twelve.size:
        ts = gather_rows(b, l4[twelve] + 20, NOP_NOP_TS)
        fast = ts["kinds"] == NOP_NOP_TS_KINDS
        out["opt_ts_val"][twelve[fast]] = ts["val"][fast]
        out["opt_ts_ecr"][twelve[fast]] = ts["ecr"][fast]
        done[twelve[fast]] = True
    twenty = rows[opt_len[rows] == 20]
    if twenty.size:
        o = gather_rows(b, l4[twenty] + 20, LINUX_SYN)
        fast = (o["mss_kind"] == 0x0204) & (o["sack_perm"] == 0x0402) \
            & (o["ts_kind"] == 0x080A) & (o["nop_ws"] == 0x0103) & (o["ws_len"] == 3)
        at = twenty[fast]
        out["opt_mss"][at] = o["mss"][fast]
        out["opt_sack_perm"][at] = True
        out["opt_ts_val"][at] = o["val"][fast]
        out["opt_ts_ecr"][at] = o["ecr"][fast]
        out["opt_wscale"][at] = o["ws"][fast]
        done[at] = True
    rows = rows[~done[rows]]
    if rows.size:
        cols = np.arange(OPT_WIDTH)
        at = np.minimum(l4[rows, None] + 20 + cols, b.size - 1)
        opts = np.where(cols < opt_len[rows, None], b[at], 0).astype(np.uint8)
        _walk_options(opts.reshape(-1), np.arange(rows.size), opt_len[rows], rows, out)
    return out


def _walk_options(flat: np.ndarray, idx: np.ndarray, lim: np.ndarray, dest: np.ndarray,
                  out: dict[str, np.ndarray]) -> None:
    """One option per step for every row still parsing; rows stop at EOL, end or error."""
    cur = np.zeros(idx.size, np.int64)
    while idx.size:
        at = idx * OPT_WIDTH + cur
        kind = flat[at]
        length = np.where(kind == NOP, 1, flat[at + 1].astype(np.int64))
        real = kind > NOP
        bad = real & ((cur + 2 > lim) | (length < 2) | (cur + length > lim))
        ok = real & ~bad
        bad |= _store(flat, at[ok], kind[ok], length[ok], dest[ok], out, ok)
        out["bad"][dest[bad]] = True
        cur = cur + length
        keep = (kind != EOL) & ~bad & (cur < lim)
        idx, cur, lim, dest = idx[keep], cur[keep], lim[keep], dest[keep]


def _store(flat: np.ndarray, at: np.ndarray, kind: np.ndarray, length: np.ndarray,
           dest: np.ndarray, out: dict[str, np.ndarray], ok: np.ndarray) -> np.ndarray:
    """Store the options at ``at``; returns a mask (over ``ok``'s rows) of bad lengths."""
    wrong = np.zeros(kind.size, np.bool_)
    for code, size in FIXED_SIZES.items():
        wrong |= (kind == code) & (length != size)

    def where(code: int) -> np.ndarray:
        return np.flatnonzero((kind == code) & (length == FIXED_SIZES[code]))

    s = where(MSS)
    out["opt_mss"][dest[s]] = _u16(flat, at[s] + 2)
    s = where(WSCALE)
    out["opt_wscale"][dest[s]] = flat[at[s] + 2]
    out["opt_sack_perm"][dest[where(SACK_PERM)]] = True
    s = where(TIMESTAMPS)
    out["opt_ts_val"][dest[s]] = _u32(flat, at[s] + 2)
    out["opt_ts_ecr"][dest[s]] = _u32(flat, at[s] + 6)
    sack = kind == SACK
    sack_ok = sack & ((length - 2) % 8 == 0) & (length >= 10)
    wrong |= sack & ~sack_ok
    s = np.flatnonzero(sack_ok)
    out["opt_sack_blocks"][dest[s]] = (length[s] - 2) // 8
    out["opt_sack_left"][dest[s]] = _u32(flat, at[s] + 2)
    out["opt_sack_right"][dest[s]] = _u32(flat, at[s] + 6)
    exp = np.flatnonzero(kind == EXPERIMENTAL)
    exp = exp[(length[exp] >= 4) & (_u16(flat, at[exp] + 2) == TFO_MAGIC)]
    tfo = np.concatenate([np.flatnonzero(kind == TFO), exp])
    empty = np.where(kind[tfo] == TFO, 2, 4)
    out["opt_tfo"][dest[tfo]] = np.where(length[tfo] > empty, 1, 0)
    bad = np.zeros(ok.size, np.bool_)
    bad[np.flatnonzero(ok)[wrong]] = True
    return bad
