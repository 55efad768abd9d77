"""tshark's per-frame fields → packet-table columns (one record batch at a time).

Every field arrives as an Arrow string column. For each frame the layout of its protocol
stack (:mod:`.layers`) says which occurrence of each field belongs to the TCP segment; the
values are then converted in bulk (decimal with Arrow casts, hexadecimal through the few
distinct values). What needs the frame's bytes — where the TCP header sits, and so the
captured payload length and the payload's file offset — is added later (:mod:`.offsets`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analyzer.engines.layers import Layout, layout

__all__ = ["ENGINE_FIELDS", "AddressCodes", "Part", "convert_batch", "empty_batch"]

# column key -> tshark field, in output order.
ENGINE_FIELDS: dict[str, str] = {
    "frame": "frame.number", "protocols": "frame.protocols", "frame_len": "frame.len",
    "cap_len": "frame.cap_len",
    "ip_src": "ip.src", "ip_dst": "ip.dst", "ip_id": "ip.id", "ip_ttl": "ip.ttl",
    "ip_mf": "ip.flags.mf", "ip_frag": "ip.frag_offset",
    "ip_bad_len": "ip.bogus_ip_length", "ip6_bad_len": "ipv6.plen_exceeds_framing",
    "ip6_src": "ipv6.src", "ip6_dst": "ipv6.dst", "ip6_hlim": "ipv6.hlim",
    "vlan": "vlan.id",
    "sport": "tcp.srcport", "dport": "tcp.dstport", "seq": "tcp.seq_raw", "ack": "tcp.ack_raw",
    "flags": "tcp.flags", "window": "tcp.window_size_value", "hdr_len": "tcp.hdr_len",
    "tcp_len": "tcp.len", "csum": "tcp.checksum.status",
    "bogus_hdr": "tcp.bogus_header_length", "bad_opt": "tcp.option.len.invalid",
    "mss": "tcp.options.mss_val", "wscale": "tcp.options.wscale.shift",
    "sack_perm": "tcp.options.sack_perm", "ts_val": "tcp.options.timestamp.tsval",
    "ts_ecr": "tcp.options.timestamp.tsecr", "sack_count": "tcp.options.sack.count",
    "sack_le": "tcp.options.sack_le", "sack_re": "tcp.options.sack_re",
    "tfo_request": "tcp.options.tfo.request", "tfo_cookie": "tcp.options.tfo.cookie",
}
TCP_HEADER_KEYS = ("sport", "dport", "seq", "ack", "flags", "window", "hdr_len", "tcp_len",
                   "csum", "bogus_hdr")
OPTION_KEYS = ("mss", "wscale", "ts_val", "ts_ecr", "sack_count", "sack_le", "sack_re",
               "bad_opt")
PRESENCE_KEYS = ("sack_perm", "tfo_request", "tfo_cookie", "ip_bad_len", "ip6_bad_len")
RECORD_OVERHEAD = 16      # bytes of a pcap record header (progress is an estimate)
# Narrower intermediate dtypes (every value fits; -1 marks "absent").
COMPACT = {**dict.fromkeys(("sport", "dport", "window", "hdr_len", "csum", "bogus_hdr",
                            "bad_opt", "mss", "wscale", "sack_count", "vlan", "ttl", "ip_id",
                            "tcp_len", "frame_len", "cap_len", "flags"), np.int32)}


class AddressCodes:
    """Address text → code, in order of first appearance (IPv6 normalised as
    :mod:`ipaddress` prints it, like the native decoder)."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self._codes: dict[str, int] = {}

    def codes(self, values: list[str | None], v6: bool) -> np.ndarray:
        out = np.empty(len(values), np.int32)
        for i, v in enumerate(values):
            key = v or ""
            code = self._codes.get(key)
            if code is None:
                text = str(ipaddress.IPv6Address(key)) if v6 and key else key
                code = self._codes[key] = self._code_of(text)
            out[i] = code
        return out

    def _code_of(self, text: str) -> int:
        code = self._codes.get(text)
        if code is None:
            code = self._codes[text] = len(self.texts)
            self.texts.append(text)
        return code


@dataclass
class Part:
    """One record batch converted: columns of its TCP rows and facts about other frames."""

    cols: dict[str, np.ndarray]
    non_tcp: dict[str, int] = field(default_factory=dict)
    fragments: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    last_frame: int = 0
    seen_bytes: int = 0       # captured bytes of all frames of the batch (for progress)


def empty_batch() -> Any:
    """A record batch without rows, shaped like tshark's output."""
    import pyarrow as pa

    return pa.RecordBatch.from_pydict({k: pa.array([], pa.string()) for k in ENGINE_FIELDS})


def _pick(pc: Any, pa: Any, col: Any, occ: np.ndarray) -> Any:
    """Per row, the ``occ``-th comma-separated occurrence (the last if there are fewer)."""
    multi = pc.fill_null(pc.match_substring(col, ","), False).to_numpy(zero_copy_only=False)
    if not multi.any():
        return col
    idx = np.flatnonzero(multi)
    texts = col.take(pa.array(idx)).to_pylist()
    new = [t.split(",") for t in texts]
    chosen = [parts[min(int(o), len(parts) - 1)] for parts, o in zip(new, occ[idx], strict=True)]
    return pc.replace_with_mask(col, pa.array(multi), pa.array(chosen, pa.string()))


def _ints(pc: Any, pa: Any, col: Any, missing: int = -1) -> np.ndarray:
    """Decimal or ``0x`` hexadecimal strings → int64 (``missing`` where absent)."""
    if len(col) == 0:
        return np.empty(0, np.int64)
    probe = col.drop_null()
    if len(probe) and str(probe[0].as_py()).startswith("0x"):
        enc = pc.dictionary_encode(col)
        values = np.array([int(v, 16) for v in enc.dictionary.to_pylist()] + [missing],
                          np.int64)
        idx = pc.fill_null(enc.indices, len(values) - 1).to_numpy(zero_copy_only=False)
        return values[idx]
    return pc.fill_null(pc.cast(col, pa.int64()), missing).to_numpy(zero_copy_only=False)


def _present(pc: Any, col: Any) -> np.ndarray:
    return pc.is_valid(col).to_numpy(zero_copy_only=False)


def _layouts(batch: Any) -> tuple[list[Layout], np.ndarray]:
    import pyarrow.compute as pc

    enc = pc.dictionary_encode(batch.column("protocols"))
    kinds = [layout(p or "") for p in enc.dictionary.to_pylist()]
    return kinds, pc.fill_null(enc.indices, 0).to_numpy(zero_copy_only=False)


def convert_batch(batch: Any, book: AddressCodes) -> Part:
    """Columns of the TCP rows of one record batch (frames in any order)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kinds, which = _layouts(batch) if batch.num_rows else ([], np.empty(0, np.int64))
    table = np.array([(k.kind == "tcp", k.tcp_index, k.ip_version, k.ip_index, k.vlan,
                       k.fragment) for k in kinds] or [(False, 0, 0, 0, False, False)],
                     dtype=object)
    per = table[which] if len(which) else table[:0]
    is_tcp = per[:, 0].astype(bool)
    frames = _ints(pc, pa, batch.column("frame"))
    part = Part(cols={}, last_frame=int(frames.max()) if frames.size else 0)
    part.seen_bytes = int(_ints(pc, pa, batch.column("cap_len"), 0).sum()) + \
        RECORD_OVERHEAD * batch.num_rows
    part.non_tcp = _count_kinds(kinds, which[~is_tcp])
    frag_mask = per[:, 5].astype(bool) | _ipv4_fragment(pc, pa, batch)
    part.fragments = frames[frag_mask & ~is_tcp]
    rows = np.flatnonzero(is_tcp)
    sub = batch if rows.size == batch.num_rows else batch.take(pa.array(rows))
    tcp_occ = per[rows, 1].astype(np.int64)
    ip_ver = per[rows, 2].astype(np.int64)
    ip_occ = per[rows, 3].astype(np.int64)
    cols = part.cols
    cols["frame"] = frames[rows]
    cols["ip_version"] = ip_ver.astype(np.uint8)
    for key in ("frame_len", "cap_len"):
        cols[key] = _ints(pc, pa, sub.column(key))
    for key in TCP_HEADER_KEYS:
        cols[key] = _ints(pc, pa, _pick(pc, pa, sub.column(key), tcp_occ))
    first = np.zeros(len(rows), np.int64)
    for key in OPTION_KEYS:
        cols[key] = _ints(pc, pa, _pick(pc, pa, sub.column(key), first))
    for key in PRESENCE_KEYS:
        cols[key] = _present(pc, sub.column(key))
    _network(pc, pa, sub, ip_ver, ip_occ, cols, book)
    vlan = _ints(pc, pa, _pick(pc, pa, sub.column("vlan"), first))
    cols["vlan"] = np.where(per[rows, 4].astype(bool), vlan, -1)
    for key, dtype in COMPACT.items():
        cols[key] = cols[key].astype(dtype, copy=False)
    return part


def _ipv4_fragment(pc: Any, pa: Any, batch: Any) -> np.ndarray:
    """Frames whose (first) IPv4 header says fragment: MF set or a non-zero offset."""
    mf = _ints(pc, pa, _pick(pc, pa, batch.column("ip_mf"), np.zeros(batch.num_rows)), 0)
    off = _ints(pc, pa, _pick(pc, pa, batch.column("ip_frag"), np.zeros(batch.num_rows)), 0)
    return (mf == 1) | (off > 0)


def _count_kinds(kinds: list[Layout], which: np.ndarray) -> dict[str, int]:
    counts: list[int] = np.bincount(which, minlength=len(kinds)).tolist() if which.size else []
    out: dict[str, int] = {}
    for k, n in zip(kinds, counts, strict=False):
        if n:
            out[k.kind] = out.get(k.kind, 0) + int(n)
    return out


def _coded(pc: Any, enc: Any, book: AddressCodes, v6: bool) -> np.ndarray:
    """Address codes of a dictionary-encoded address column (each distinct text once)."""
    uniq = book.codes(enc.dictionary.to_pylist(), v6)
    if enc.indices.null_count:
        uniq = np.append(uniq, book.codes([None], v6))
    return uniq[pc.fill_null(enc.indices, len(uniq) - 1).to_numpy(zero_copy_only=False)]


def _network(pc: Any, pa: Any, sub: Any, ver: np.ndarray, occ: np.ndarray,
             cols: dict[str, np.ndarray], book: AddressCodes) -> None:
    """Addresses, IP ID and TTL / hop limit of the IP layer that carries the TCP segment."""
    n = len(ver)
    src, dst = np.empty(n, np.int32), np.empty(n, np.int32)
    ip_id, ttl = np.full(n, -1, np.int64), np.zeros(n, np.int64)
    for version, prefix, hop in ((4, "ip", "ip_ttl"), (6, "ip6", "ip6_hlim")):
        rows = np.flatnonzero(ver == version)
        if not rows.size:
            continue
        part = sub if rows.size == n else sub.take(pa.array(rows))
        o = occ[rows]
        for key, out in (("src", src), ("dst", dst)):
            enc = pc.dictionary_encode(_pick(pc, pa, part.column(f"{prefix}_{key}"), o))
            out[rows] = _coded(pc, enc, book, version == 6)
        ttl[rows] = _ints(pc, pa, _pick(pc, pa, part.column(hop), o), 0)
        if version == 4:
            ip_id[rows] = _ints(pc, pa, _pick(pc, pa, part.column("ip_id"), o))
    cols["src"], cols["dst"], cols["ip_id"], cols["ttl"] = src, dst, ip_id, ttl
