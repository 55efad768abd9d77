"""The tshark engine: a capture read through Wireshark's dissectors into synack's packet table.

``decode_with_tshark(path)`` returns the same :class:`~analyzer.decode.Decoded` as the native
``decode_capture``: every column of :data:`analyzer.schema.PACKET_COLUMNS` with the same
dtype and meaning, the address list, the anomalies table and a :class:`DecodeStats`
(:class:`TsharkStats`, which also names the engine and tshark's version). Every later stage
is unchanged. What it adds is reach: every link type and tunnel tshark dissects (GTP, GRE,
VXLAN, 6in4, IP-in-IP, PPPoE, MPLS, NFLOG, 802.11 radiotap, IPoIB, ARCNET, PPP, ...) and IP
fragments reassembled; the packet table holds the innermost TCP segment of each frame and
the IP layer that carries it.

How: one `tshark -T fields` run (no TCP analysis, nothing above TCP dissected: see
``ENGINE_PREFS``/``DECODE_AS``), parsed in Arrow record batches (:mod:`.tshark_table`); then
one pass of synack's own capture reader for the framing (timestamps, interfaces, file
offsets) and the position of each TCP header in its frame (:mod:`.offsets`), which gives the
captured payload length and ``payload_off``. A TCP segment rebuilt from IP fragments has no
position in one frame: its ``payload_off`` is -1 (its bytes are captured, but not in one piece
of the file; readers of payload bytes must skip it) and its captured length comes from the
frame's lengths. See docs/engines.md.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analyzer.capture import STDIN, open_capture
from analyzer.decode import Decoded, DecodeStats
from analyzer.engines.offsets import Located, header_keys, locate_headers
from analyzer.engines.tshark_parallel import default_jobs, tshark_batches
from analyzer.engines.tshark_run import TsharkRun, tshark_command, tshark_path, tshark_version
from analyzer.engines.tshark_table import (
    ENGINE_FIELDS,
    AddressCodes,
    Part,
    convert_batch,
    empty_batch,
)
from analyzer.errors import InputError
from analyzer.schema import (
    ANOM_BAD_CHECKSUM,
    ANOM_BAD_FLAGS,
    ANOM_BAD_IP_LEN,
    ANOM_BAD_OPTIONS,
    ANOM_BAD_TCP_HDR_LEN,
    ANOM_RESERVED_BITS,
    ANOM_TRUNCATED_HEADER,
    ANOM_TRUNCATED_PAYLOAD,
    ANOM_ZERO_PORT,
    ANOMALY_TABLE_COLUMNS,
    FIN,
    FRAME_IP_FRAGMENT,
    FRAME_TRUNCATED_TCP,
    PACKET_COLUMNS,
    RST,
    SYN,
)

__all__ = ["DECODE_AS", "ENGINE_PREFS", "TsharkStats", "decode_with_tshark"]

Progress = Callable[[int, int | None], None]

# Dissection only: no sequence analysis, raw numbers, no reassembly of TCP streams.
ENGINE_PREFS = (
    "tcp.analyze_sequence_numbers:FALSE",
    "tcp.relative_sequence_numbers:FALSE",
    "tcp.desegment_tcp_streams:FALSE",
    "tcp.calculate_timestamps:FALSE",
    "tcp.track_bytes_in_flight:FALSE",
)
# TCP payloads are plain data: nothing above TCP is dissected (faster, and a TCP header can
# never come from inside a TCP payload).
DECODE_AS = ("-d", "tcp.port==0-65535,data")


@dataclass
class TsharkStats(DecodeStats):
    """:class:`DecodeStats` of a capture read by the tshark engine."""

    engine: str = "tshark"
    tshark: str = ""          # tshark's version
    fallback: str = ""        # why ``--engine auto`` chose tshark ("" when asked for it)


@contextmanager
def _file_for(source: str) -> Iterator[str]:
    """A path tshark and the reader can both open: stdin is spooled to a temporary file."""
    if source != STDIN:
        yield source
        return
    fd, tmp = tempfile.mkstemp(prefix="synack-", suffix=".cap")
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
        yield tmp
    finally:
        os.unlink(tmp)


def decode_with_tshark(source: str, *, verify_checksums: bool = True,
                       progress: Progress | None = None, jobs: int | None = None) -> Decoded:
    """Decode every TCP segment of ``source`` (a path or ``"-"``) with tshark's dissectors.

    A large classic pcap file is read by ``jobs`` tshark processes at once (default: the
    CPUs available; see :mod:`.tshark_parallel`).

    Raises :class:`~analyzer.errors.TsharkUnavailableError` when tshark is not installed and
    :class:`~analyzer.errors.InputError` subclasses for input that is not a capture.
    """
    exe = tshark_path()
    with ThreadPoolExecutor(1) as pool, _file_for(source) as path:
        version = pool.submit(tshark_version, exe)
        reader = open_capture(path)
        try:
            info = reader.info
            book = AddressCodes()
            parts, run = _run(exe, path, verify_checksums, progress, info.total_bytes, book,
                              default_jobs() if jobs is None else jobs)
            cols = _concat(parts, book)
            for part in parts:
                part.cols = {}
            keys = header_keys(cols["sport"], cols["dport"], cols["seq"], cols["ack"])
            fragments = np.sort(np.concatenate([p.fragments for p in parts] or
                                               [np.empty(0, np.int64)]))
            loc = locate_headers(reader, cols["frame"], keys, fragments)
        finally:
            reader.close()
        stats = TsharkStats(path=source, format=info.format, gzip=info.gzip,
                            checksums_verified=verify_checksums, tshark=version.result())
        stats.frames, stats.interfaces, stats.snaplen = info.frames, info.interfaces, \
            info.snaplen
        stats.bytes_read = info.bytes_read
        stats.warnings = [w.replace(path, source) for w in info.warnings]
        _check_run(run, source, stats)
        table, anomalies = _assemble(cols, loc, parts, fragments, stats, verify_checksums)
    return Decoded(columns=table, addresses=book.texts, anomalies=anomalies, stats=stats)


def _run(exe: str, path: str, verify: bool, progress: Progress | None, total: int | None,
         book: AddressCodes, jobs: int) -> tuple[list[Part], TsharkRun]:
    prefs = [*ENGINE_PREFS, f"tcp.check_checksum:{'TRUE' if verify else 'FALSE'}"]

    def command(capture: str) -> list[str]:
        return tshark_command(exe, capture, list(ENGINE_FIELDS.values()), prefs, DECODE_AS)

    run = TsharkRun()
    parts: list[Part] = []
    done = 0
    for shift, batch in tshark_batches(command, list(ENGINE_FIELDS), path, jobs, run):
        part = convert_batch(batch, book)
        if shift:
            part.cols["frame"] += shift
            part.fragments += shift
        parts.append(part)
        done += part.seen_bytes
        if progress is not None:
            progress(min(done, total) if total else done, total)
    return parts, run


def _concat(parts: list[Part], book: AddressCodes) -> dict[str, np.ndarray]:
    """The TCP rows of all record batches, in frame order."""
    if not parts:
        parts = [convert_batch(empty_batch(), book)]
    cols = {k: np.concatenate([p.cols[k] for p in parts]) for k in parts[0].cols}
    order = np.argsort(cols["frame"], kind="stable")
    if (order != np.arange(order.size)).any():
        cols = {k: v[order] for k, v in cols.items()}
    return cols


def _check_run(run: TsharkRun, source: str, stats: TsharkStats) -> None:
    """tshark's own complaints: a failure without output is an error, else a warning
    (unless the capture reader already reported the same cut)."""
    if not run.returncode:
        return
    text = "; ".join(run.errors) or f"exit status {run.returncode}"
    if not stats.frames:
        raise InputError(f"{source}: tshark could not read the capture: {text}")
    if not stats.warnings:
        stats.warnings.append(f"{source}: tshark: {text}")


def _assemble(cols: dict[str, np.ndarray], loc: Located, parts: list[Part],
              fragments: np.ndarray, stats: TsharkStats,
              verify: bool) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """The packet table (PACKET_COLUMNS) and the anomalies table."""
    l4, caplen = loc.l4, loc.caplen
    room = np.where(l4 >= 0, caplen - l4, -1)
    complete = (cols["seq"] >= 0) & (cols["ack"] >= 0) & (cols["hdr_len"] >= 0) & \
        (cols["window"] >= 0) & ((room < 0) | (room >= 20))
    records = _truncated_records(cols, loc, ~complete & loc.known)
    for part in parts:
        for kind, n in part.non_tcp.items():
            stats.non_tcp[kind] = stats.non_tcp.get(kind, 0) + n
    records += [(int(f), int(t), FRAME_IP_FRAGMENT, "IP fragment (tshark reassembles "
                 "fragments; the segment is in the frame that completes it)")
                for f, t in zip(fragments.tolist(), loc.also_ts.tolist(), strict=True)]
    stats.non_tcp["other_ip"] += int((~complete & loc.known).sum())
    dropped = int((complete & ~loc.known).sum())
    if dropped:
        stats.warnings.append(f"{stats.path}: {dropped} TCP frames tshark read past the point "
                              "where synack's capture reader stopped were left out")
    keep = np.flatnonzero(complete & loc.known)
    at = {k: v for k, v in vars(loc).items() if isinstance(v, np.ndarray) and k != "also_ts"}
    if keep.size < complete.size:
        cols, at = {k: v[keep] for k, v in cols.items()}, {k: v[keep] for k, v in at.items()}
    table = _columns(cols, at, verify)
    stats.tcp_segments = int(keep.size)
    stats.linktypes = dict(loc.linktypes)
    stats.first_ts_ns, stats.last_ts_ns = loc.first_ts_ns, loc.last_ts_ns
    return table, _anomaly_table(loc.anomalies + records, loc)


def _truncated_records(cols: dict[str, np.ndarray], loc: Located,
                       mask: np.ndarray) -> list[tuple[int, int, str, str]]:
    out = []
    for i in np.flatnonzero(mask).tolist():
        room = int(loc.caplen[i] - loc.l4[i]) if loc.l4[i] >= 0 else -1
        detail = f"only {room} bytes of the TCP header captured" if room >= 0 else \
            "TCP header cut short (tshark shows only part of it)"
        out.append((int(cols["frame"][i]), int(loc.ts_ns[i]), FRAME_TRUNCATED_TCP, detail))
    return out


def _anomaly_table(records: list[tuple[int, int, str, str]], loc: Located) -> pd.DataFrame:
    table = pd.DataFrame(records, columns=list(ANOMALY_TABLE_COLUMNS))
    return table.astype({"frame": np.int64, "ts_ns": np.int64}).sort_values(
        ["frame", "code"], kind="stable").reset_index(drop=True)


def _columns(c: dict[str, np.ndarray], at: dict[str, np.ndarray],
             verify: bool) -> dict[str, np.ndarray]:
    """tshark's values and the header positions → PACKET_COLUMNS (same rules as native)."""
    raw_flags, hdr, l4 = c["flags"], c["hdr_len"], at["l4"]
    flags = raw_flags & 0x1FF
    found = l4 >= 0
    room = np.where(found, at["caplen"] - l4, 0)
    wire = np.where(found, c["frame_len"] - l4, np.iinfo(np.int64).max)
    tcp_len = hdr + np.maximum(c["tcp_len"], 0)
    bad_hdr = (c["bogus_hdr"] >= 0) | (hdr < 20) | (hdr > np.minimum(tcp_len, wire))
    payload = np.where(bad_hdr, 0, np.minimum(tcp_len, wire) - hdr)
    lost = c["frame_len"] - c["cap_len"]
    cap = np.where(found, np.clip(room - hdr, 0, payload), np.clip(payload - lost, 0, payload))
    cap = np.where(bad_hdr, 0, cap)
    bad_len = (tcp_len > wire) | c["ip_bad_len"] | c["ip6_bad_len"]
    csum = np.where(c["csum"] == 1, 1, np.where(c["csum"] == 0, 0, -1)) if verify else \
        np.full(flags.size, -1)
    csum = np.where(bad_len, -1, csum)
    syn = (flags & SYN) != 0
    anomalies = (
        np.where(bad_hdr, ANOM_BAD_TCP_HDR_LEN, 0)
        | np.where(found & ~bad_hdr & (hdr > room), ANOM_TRUNCATED_HEADER, 0)
        | np.where(cap < payload, ANOM_TRUNCATED_PAYLOAD, 0)
        | np.where(bad_len, ANOM_BAD_IP_LEN, 0)
        | np.where((c["sport"] == 0) | (c["dport"] == 0), ANOM_ZERO_PORT, 0)
        | np.where((raw_flags & 0xE00) != 0, ANOM_RESERVED_BITS, 0)
        | np.where((syn & ((flags & (FIN | RST)) != 0)) | (flags == 0), ANOM_BAD_FLAGS, 0)
        | np.where(c["bad_opt"] >= 0, ANOM_BAD_OPTIONS, 0)
        | np.where(csum == 0, ANOM_BAD_CHECKSUM, 0)
    )
    tfo = np.where(c["tfo_cookie"], 1, np.where(c["tfo_request"], 0, -1))
    out = {
        "frame": c["frame"], "ts_ns": at["ts_ns"], "iface": at["iface"],
        "ip_version": c["ip_version"], "src": c["src"], "dst": c["dst"],
        "sport": c["sport"], "dport": c["dport"], "seq": c["seq"], "ack": c["ack"],
        "flags": flags, "window": c["window"], "hdr_len": hdr, "payload_len": payload,
        "cap_payload_len": cap,
        "payload_off": np.where(found, at["frame_off"] + l4 + hdr, -1),
        "ip_id": c["ip_id"], "ttl": c["ttl"], "vlan": c["vlan"], "opt_mss": c["mss"],
        "opt_wscale": c["wscale"], "opt_sack_perm": c["sack_perm"], "opt_ts_val": c["ts_val"],
        "opt_ts_ecr": c["ts_ecr"], "opt_sack_blocks": np.maximum(c["sack_count"], 0),
        "opt_sack_left": c["sack_le"], "opt_sack_right": c["sack_re"], "opt_tfo": tfo,
        "csum_ok": csum, "anomalies": anomalies,
    }
    return {k: np.ascontiguousarray(out[k]).astype(dt, copy=False)
            for k, dt in PACKET_COLUMNS.items()}
