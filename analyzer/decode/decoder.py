"""decode_capture: a capture file in, the columnar packet table out.

Each frame batch from :mod:`analyzer.capture` goes through the link, IP and TCP layers
as whole arrays, and its rows are appended to preallocated columns (:mod:`.store`).
TCP checksums of a batch are verified in a worker thread (NumPy releases the GIL) while
the next chunk is read and walked.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

import numpy as np

from analyzer.capture import STDIN, BaseReader, FrameBatch, open_capture
from analyzer.capture.base import DEFAULT_CHUNK, frame_warning
from analyzer.capture.batch import CaptureInfo
from analyzer.capture.pcap import FILE_HEADER, PcapReader
from analyzer.capture.stream import ByteStream
from analyzer.decode import split
from analyzer.decode.addresses import AddressBook
from analyzer.decode.checksum import verify_tcp_checksums
from analyzer.decode.ip import Net, network_layer
from analyzer.decode.link import LINK_NAMES, PROTO_UNSUPPORTED, SUPPORTED_LINKTYPES, link_layer
from analyzer.decode.model import MAX_ANOMALY_ROWS, Decoded, DecodeStats, FrameIssues
from analyzer.decode.split import Helper, Part
from analyzer.decode.store import ColumnStore
from analyzer.decode.tcp import parse_options, tcp_fields
from analyzer.errors import UnsupportedLinkTypeError
from analyzer.schema import (
    ANOM_BAD_CHECKSUM,
    ANOM_BAD_IP_LEN,
    ANOM_BAD_OPTIONS,
    ANOM_BAD_TCP_HDR_LEN,
    ANOM_TRUNCATED_PAYLOAD,
    ANOMALY_TABLE_COLUMNS,
    FRAME_TRUNCATED_TCP,
    FRAME_UNSUPPORTED_LINKTYPE,
    PACKET_COLUMNS,
)

__all__ = ["decode_capture"]

Progress = Callable[[int, int | None], None]
PCAP_LINKTYPE_OFFSET = 20


class _Decoder:
    """State carried across batches: addresses, counts, collected columns."""

    def __init__(self, reader: BaseReader, verify_checksums: bool,
                 columns: dict[str, np.ndarray] | None = None) -> None:
        info = reader.info
        self.reader = reader
        self.verify = verify_checksums
        self.book = AddressBook()
        self.stats = DecodeStats(path=info.path, format=info.format, gzip=info.gzip,
                                 checksums_verified=verify_checksums)
        self.store = ColumnStore(PACKET_COLUMNS, columns=columns)
        self.anomalies: list[tuple[int, int, str, str]] = []
        self.dropped: dict[str, int] = {}      # anomalies beyond the cap, by code
        self._pool = ThreadPoolExecutor(1, "synack-checksum") if verify_checksums else None
        self._pending: tuple[Future[np.ndarray], slice, np.ndarray] | None = None
        self._sized = False

    def batch(self, batch: FrameBatch) -> None:
        b = batch.buf
        issues = FrameIssues()
        link = link_layer(batch)
        self._count_link(batch, link.proto, issues)
        net = network_layer(b, link, batch.data_off + batch.origlen, self.book, issues,
                            self.stats.non_tcp)
        net, room = self._drop_short(net, link.end[net.rows] - net.l4, issues)
        part, check = self._columns(batch, net, room, link.vlan[net.rows])
        self._reserve(batch, part)
        where = self.store.append(part)
        self._record(batch, issues)
        self._collect()
        if self._pool is not None and check.size:
            job = self._pool.submit(verify_tcp_checksums, b, net.l4[check], net.tcp_len[check],
                                    net.pseudo[check])
            self._pending = (job, where, check)

    def _drop_short(self, net: Net, room: np.ndarray,
                    issues: FrameIssues) -> tuple[Net, np.ndarray]:
        """Segments with fewer than 20 captured TCP bytes become anomalies, not rows."""
        short = room < 20
        if not short.any():
            return net, room
        cut = room[short]
        issues.add(net.rows[short], FRAME_TRUNCATED_TCP,
                   lambda k: [f"only {r} bytes of the TCP header captured"
                              for r in cut[k].tolist()])
        self.stats.non_tcp["other_ip"] += int(short.sum())
        keep = np.flatnonzero(~short)
        return Net(**{k: v[keep] for k, v in vars(net).items()}), room[keep]

    def _record(self, batch: FrameBatch, issues: FrameIssues) -> None:
        self._record_records(batch.anomalies)
        records, dropped = issues.records(batch.frame, batch.ts_ns,
                                          MAX_ANOMALY_ROWS - len(self.anomalies))
        self.anomalies += records
        for code, n in dropped.items():
            self.dropped[code] = self.dropped.get(code, 0) + n

    def _record_records(self, records: list[tuple[int, int, str, str]]) -> None:
        """Add anomaly records up to the cap; count the rest by code."""
        room = max(0, MAX_ANOMALY_ROWS - len(self.anomalies))
        self.anomalies += records[:room]
        for _f, _t, code, _d in records[room:]:
            self.dropped[code] = self.dropped.get(code, 0) + 1

    def _reserve(self, batch: FrameBatch, part: dict[str, np.ndarray]) -> None:
        """Size the table once from the first batch: rows per byte times the file size."""
        info = self.reader.info
        if self._sized or info.gzip or not info.total_bytes or not batch.buf.size:
            return
        self._sized = True
        per_byte = max(len(part["frame"]), 1) / batch.buf.size
        self.store.reserve(int(per_byte * info.total_bytes * 1.25) + 1024)

    def _collect(self) -> None:
        """Wait for the previous batch's checksums and store them (its buffer is reused
        by the batch after next, so this must happen before the next one is read)."""
        if self._pending is None:
            return
        job, where, check = self._pending
        self._pending = None
        good = job.result()
        rows = where.start + check
        cols = self.store.columns
        cols["csum_ok"][rows] = good
        cols["anomalies"][rows[~good]] |= ANOM_BAD_CHECKSUM

    def _count_link(self, batch: FrameBatch, proto: np.ndarray, issues: FrameIssues) -> None:
        lts, counts = np.unique(batch.linktype, return_counts=True)
        for lt, c in zip(lts.tolist(), counts.tolist(), strict=True):
            self.stats.linktypes[lt] = self.stats.linktypes.get(lt, 0) + c
            if lt >= 0 and lt not in SUPPORTED_LINKTYPES:
                rows = np.flatnonzero((batch.linktype == lt) & (proto == PROTO_UNSUPPORTED))
                issues.add(rows, FRAME_UNSUPPORTED_LINKTYPE,
                           f"link type {lt} ({LINK_NAMES.get(lt, 'unknown')}) is not decoded "
                           "natively")
        if batch.frame.size:
            ts = batch.ts_ns
            lo, hi = int(ts.min()), int(ts.max())
            s = self.stats
            s.first_ts_ns = lo if s.first_ts_ns is None else min(s.first_ts_ns, lo)
            s.last_ts_ns = hi if s.last_ts_ns is None else max(s.last_ts_ns, hi)

    def _columns(self, batch: FrameBatch, net: Net, room: np.ndarray,
                 vlan: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The batch's columns, and the rows whose checksum can be verified."""
        b, r = batch.buf, net.rows
        cols = tcp_fields(b, net.l4, net.tcp_len, room)
        opts = parse_options(b, net.l4, cols.pop("opt_len"))
        cols.pop("has_ack")
        anomalies = cols["anomalies"] | net.anomalies
        anomalies |= np.where(opts.pop("bad"), ANOM_BAD_OPTIONS, 0).astype(np.uint32)
        ok = (anomalies & (ANOM_TRUNCATED_PAYLOAD | ANOM_BAD_IP_LEN | ANOM_BAD_TCP_HDR_LEN)
              == 0) & net.verifiable & (room >= net.tcp_len)
        check = np.flatnonzero(ok) if self.verify else np.empty(0, np.int64)
        csum = np.full(r.size, -1, np.int8)
        cols.update(opts)
        cols.update(
            frame=batch.frame[r], ts_ns=batch.ts_ns[r], iface=batch.iface[r],
            ip_version=net.version, src=net.src, dst=net.dst,
            payload_off=batch.base + net.l4 + cols["hdr_len"], ip_id=net.ip_id, ttl=net.ttl,
            vlan=vlan, csum_ok=csum, anomalies=anomalies,
        )
        return cols, check

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def part(self, start: int) -> Part:
        """This decoder's results as the part of a file from byte ``start`` (:mod:`.split`;
        the rows are in the columns it was given)."""
        self._collect()
        info, s, reader = self.reader.info, self.stats, self.reader
        v4, v6 = self.book.keys()
        part = Part(rows=self.store.n, end=reader.end, garbage=reader.garbage,
                    frames=info.frames, bytes_read=reader.stream.consumed - start,
                    v4_keys=v4, v6_keys=v6, anomalies=self.anomalies, dropped=self.dropped,
                    non_tcp=s.non_tcp, linktypes=s.linktypes, first_ts_ns=s.first_ts_ns,
                    last_ts_ns=s.last_ts_ns, warnings=info.warnings,
                    frame_warnings=reader.frame_warnings)
        return part

    def add_part(self, helper: Helper) -> Part | None:
        """Append the part a helper decoded after everything read so far (None: the
        helper failed, nothing was added)."""
        self._collect()
        at = self.store.n
        try:
            part = helper.receive(lambda p: self._room(p.rows))
        except (EOFError, OSError, pickle.UnpicklingError):
            return None                        # the helper died: the caller reads again
        if part.error:
            return None
        cols, rows = self.store.columns, slice(at, at + part.rows)
        before = self.reader.info.frames
        codes = self.book.codes_of(part.v4_keys, part.v6_keys)
        for name in ("src", "dst"):
            cols[name][rows] = codes[cols[name][rows]]
        cols["frame"][rows] += before
        info, s = self.reader.info, self.stats
        info.frames += part.frames
        info.bytes_read += part.bytes_read
        info.warnings += part.warnings
        for template, frames in part.frame_warnings:
            self.reader.warn(frame_warning(template, frames, before))
        self._record_records([(f + before, t, c, d) for f, t, c, d in part.anomalies])
        for code, n in part.dropped.items():
            self.dropped[code] = self.dropped.get(code, 0) + n
        for kind, n in part.non_tcp.items():
            s.non_tcp[kind] = s.non_tcp.get(kind, 0) + n
        for lt, n in part.linktypes.items():
            s.linktypes[lt] = s.linktypes.get(lt, 0) + n
        firsts = [t for t in (s.first_ts_ns, part.first_ts_ns) if t is not None]
        lasts = [t for t in (s.last_ts_ns, part.last_ts_ns) if t is not None]
        s.first_ts_ns, s.last_ts_ns = min(firsts, default=None), max(lasts, default=None)
        return part

    def _room(self, rows: int) -> dict[str, np.ndarray]:
        """Views of ``rows`` new rows at the end of the table (appended, to be filled)."""
        self.store.reserve(self.store.n + rows)
        where = slice(self.store.n, self.store.n + rows)
        self.store.n += rows
        return {k: v[where] for k, v in self.store.columns.items()}

    def finish(self) -> Decoded:
        info = self.reader.info
        s = self.stats
        s.frames, s.interfaces, s.snaplen = info.frames, info.interfaces, info.snaplen
        s.bytes_read, s.warnings = info.bytes_read, info.warnings
        self._collect()
        if self.dropped:
            counts = ", ".join(f"{n} {code}" for code, n in sorted(self.dropped.items()))
            s.warnings.append(f"{info.path}: anomalies table capped at {MAX_ANOMALY_ROWS} "
                              f"rows; not listed: {counts}")
        columns = self.store.result()
        s.tcp_segments = int(columns["frame"].size)
        import pandas as pd  # here, not at the top: reading needs no pandas

        table = pd.DataFrame(self.anomalies, columns=list(ANOMALY_TABLE_COLUMNS))
        table = table.astype({"frame": np.int64, "ts_ns": np.int64}).sort_values(
            "frame", kind="stable").reset_index(drop=True)
        return Decoded(columns=columns, addresses=self.book.texts, anomalies=table, stats=s)


def _check_linktypes(reader: BaseReader) -> None:
    """Raise when no interface of the capture has a link type decoded natively."""
    ifaces = reader.info.interfaces
    if ifaces and not any(i.linktype in SUPPORTED_LINKTYPES for i in ifaces):
        lt = ifaces[0].linktype
        offset = PCAP_LINKTYPE_OFFSET if reader.info.format == "pcap" else 8
        raise UnsupportedLinkTypeError(reader.info.path, offset, lt, LINK_NAMES.get(lt, ""))


def decode_capture(source: str, *, verify_checksums: bool = True,
                   progress: Progress | None = None, jobs: int | None = None,
                   meanwhile: Callable[[], object] | None = None) -> Decoded:
    """Decode every TCP segment of the capture at ``source`` (a path or ``"-"``).

    ``progress(bytes_done, total_or_None)`` is called after each chunk is read (raw bytes,
    i.e. compressed bytes for gzip). ``jobs``: processes that may read a large classic
    pcap file in parts (None: one per CPU, at most 4; see :mod:`.split`); the result is
    the same. ``meanwhile`` is called once, as soon as helper processes have started
    (this process then reads a smaller first part), or before reading without helpers:
    other work of the caller, e.g. imports, done while they read. Raises
    :class:`~analyzer.errors.InputError` subclasses for input that is
    not a capture at all or that has only link types without native support; everything
    wrong inside the capture ends up in ``Decoded.anomalies``, the ``anomalies`` column or
    ``stats.warnings``.
    """
    reader = open_capture(source)
    meanwhile = _once(meanwhile)
    try:
        if reader.info.format == "pcap":
            _check_linktypes(reader)
        cuts = _cuts(reader, jobs, meanwhile is not None)
        if cuts:
            decoded = _decode_in_parts(reader, cuts, verify_checksums, progress, meanwhile)
            if decoded is not None:
                return decoded
            reader.close()                     # a cut was not a record start: read again
            reader = open_capture(source)
        if meanwhile is not None:
            meanwhile()
        reader.progress = progress
        decoder = _Decoder(reader, verify_checksums)
        try:
            for batch in reader.batches():
                decoder.batch(batch)
            _check_linktypes(reader)
            return decoder.finish()
        finally:
            decoder.close()
    finally:
        reader.close()


def _once(f: Callable[[], object] | None) -> Callable[[], object] | None:
    """``f``, doing something only the first time it is called."""
    if f is None:
        return None
    done: list[bool] = []

    def call() -> object:
        if not done:
            done.append(True)
            return f()
        return None

    return call


def _cuts(reader: BaseReader, jobs: int | None, busy: bool) -> list[int]:
    """Where to cut the file into parts read in parallel (none when not worth it)."""
    info = reader.info
    jobs = split.default_jobs() if jobs is None else jobs
    if (jobs < 2 or info.format != "pcap" or info.gzip or info.path == STDIN
            or not info.total_bytes or info.total_bytes < 2 * split.MIN_PART_BYTES
            or not hasattr(os, "fork")):
        return []
    with open(info.path, "rb") as f:
        head = f.read(FILE_HEADER + 16)
        return split.plan_parts(f, info.total_bytes, head, jobs, busy)


def _decode_in_parts(reader: BaseReader, cuts: list[int], verify: bool,
                     progress: Progress | None,
                     meanwhile: Callable[[], object] | None) -> Decoded | None:
    """This process reads up to the first cut, helpers the parts after it; None when a
    part before a cut did not end exactly there."""
    assert isinstance(reader, PcapReader)       # _cuts cuts classic pcap files only
    path, header = reader.info.path, reader.header
    helpers: list[Helper] = []
    try:
        size = reader.info.total_bytes or cuts[-1]
        for start, stop in zip(cuts, [*cuts[1:], None], strict=True):
            try:
                table = split.SharedTable(PACKET_COLUMNS,
                                          split.table_rows((stop or size) - start))
            except (OSError, ValueError, OverflowError):   # no room for it: one piece
                return None
            work = partial(_decode_part, path, header, start, stop, verify)
            helpers.append(split.start_helper(work, table))
        if meanwhile is not None:
            meanwhile()
        reader.stream.window_stop(cuts[0])
        total = reader.info.total_bytes or cuts[0]
        if progress is not None:
            reader.progress = lambda done, _t: progress(int(done * total / cuts[0]), total)
        decoder = _Decoder(reader, verify)
        try:
            for batch in reader.batches():
                decoder.batch(batch)
            end, garbage = reader.end, reader.garbage
            for helper, start in zip(helpers, cuts, strict=True):
                if garbage:                    # a sequential read stops there too
                    break
                if end != start:
                    return None
                part = decoder.add_part(helper)
                if part is None:
                    return None
                end, garbage = part.end, part.garbage
            _check_linktypes(reader)
            return decoder.finish()
        finally:
            decoder.close()
    finally:
        for helper in helpers:
            helper.close()


def _decode_part(path: str, header: bytes, start: int, stop: int | None, verify: bool,
                 columns: dict[str, np.ndarray]) -> Part:
    """Decode the records of ``path`` from byte ``start`` to ``stop`` into ``columns``
    (in a helper)."""
    stream = ByteStream(path)
    stream.window(start, stop)
    size = (stop if stop is not None else (stream.total or start)) - start
    info = CaptureInfo(path=path, format="pcap", gzip=False, total_bytes=size)
    reader = PcapReader(stream, info, header, DEFAULT_CHUNK)
    reader.defer_frames = True
    decoder = _Decoder(reader, verify, columns)
    try:
        for batch in reader.batches():
            decoder.batch(batch)
        return decoder.part(start)
    finally:
        decoder.close()
        reader.close()
