"""Reading a large classic pcap in parts, in parallel processes.

The record walk is sequential: where a record starts is known only from the one before
it. To use a second CPU, the file is cut into parts at offsets that *look* like record
starts: a run of :data:`CHAIN` consecutive plausible record headers (sizes within the
snaplen, original length not below the captured one, sub-second field in range, the
seconds close to the first record's) found by :func:`find_boundary`. A helper process
(``os.fork``) decodes each later part; this process decodes the first one. A guess is
never trusted: a part's results are used only when the part before it, walked record by
record, ended exactly at the cut. Otherwise everything is read again in one piece
(``decode_capture`` with one job), so the table is always the one a sequential read
gives. Helpers decode into memory shared with this process (an anonymous MAP_SHARED
mapping made before the fork), which copies the rows into the packet table once; only a
small summary (:class:`Part`) comes back through a pipe.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import pickle
import signal
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from analyzer.capture.pcap import FILE_HEADER, PCAP_MAGICS

__all__ = ["CHAIN", "MIN_PART_BYTES", "Helper", "Part", "SharedTable", "default_jobs",
           "find_boundary", "plan_parts", "start_helper", "table_rows"]

MIN_PART_BYTES = 32 << 20
"""A part smaller than this is not worth a process."""
MAX_JOBS = 4
BUSY_SHARE = 0.15
"""How much smaller the first part is when this process has other work meanwhile."""
MIN_FIRST_SHARE = 0.1
CHAIN = 64
"""Consecutive plausible records that make a cut."""
MIN_CHAIN = 16
"""Fewer records are enough when the next ones lie beyond the scanned window."""
WINDOW = 2 << 20
MAX_RECORD = 1 << 18                 # largest original length believed (Wireshark: 256 KiB)
TS_SLACK_S = 366 * 86400             # seconds a record may lie before/after the first one
HEADER = struct.Struct("<Q")
MAP_NORESERVE_LINUX = 0x4000
MIN_ROW_BYTES = 56
"""Smallest record that gives a row: 16-byte record header, 20-byte IP and TCP headers."""


@dataclass
class Part:
    """What decoding one part produced, apart from its columns (frames numbered from 1)."""

    rows: int
    end: int                                   # file offset where its walk stopped
    garbage: bool                              # stopped at garbage
    frames: int
    bytes_read: int
    v4_keys: np.ndarray                        # the part's addresses (AddressBook.keys)
    v6_keys: dict[int, bytes]
    anomalies: list[tuple[int, int, str, str]]
    dropped: dict[str, int]
    non_tcp: dict[str, int]
    linktypes: dict[int, int]
    first_ts_ns: int | None
    last_ts_ns: int | None
    warnings: list[str]
    frame_warnings: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    error: str = ""


def default_jobs() -> int:
    """Processes to use: the CPUs this process may run on, at most :data:`MAX_JOBS`."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:                     # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_JOBS))


def _u32_everywhere(b: np.ndarray, big: bool) -> np.ndarray:
    """The unsigned 32-bit value starting at every byte position of ``b`` (len(b) - 3)."""
    n = b.size - 3
    parts = [b[i:i + n].astype(np.uint32) for i in range(4)]
    if big:
        parts.reverse()
    return parts[0] | parts[1] << 8 | parts[2] << 16 | parts[3] << 24


def find_boundary(window: bytes, magic: int, snaplen: int, first_sec: int) -> int | None:
    """Offset in ``window`` of the first position followed by a chain of plausible records.

    ``magic`` is the file's magic (as read little-endian), ``first_sec`` the first record's
    seconds. Returns None when no position qualifies.
    """
    order, ticks, hdr = PCAP_MAGICS[magic]
    b = np.frombuffer(window, np.uint8)
    if b.size < hdr + 4:
        return None
    u = _u32_everywhere(b, order == ">")
    n = u.size - 12                              # positions with a whole 16-byte header
    sec, frac, incl, orig = u[:n], u[4:n + 4], u[8:n + 8], u[12:n + 12]
    lo, hi = max(0, first_sec - TS_SLACK_S), min(0xFFFFFFFF, first_sec + TS_SLACK_S)
    plausible = ((incl > 0) & (incl <= max(snaplen, MAX_RECORD)) & (orig >= incl)
                 & (orig <= MAX_RECORD) & (frac < ticks) & (sec >= lo) & (sec <= hi))
    for p in np.flatnonzero(plausible).tolist():
        q, good = p, 0
        while good < CHAIN and q < n and plausible[q]:
            q, good = q + hdr + int(incl[q]), good + 1
        if good >= CHAIN or (q >= n and good >= MIN_CHAIN):
            return int(p)
    return None


def plan_parts(f: BinaryIO, size: int, head: bytes, jobs: int, busy: bool = False) -> list[int]:
    """Cut offsets of a pcap file of ``size`` bytes into about ``jobs`` parts.

    ``head`` holds at least the file header and the first record header. The parts are
    equal, except that the first one is :data:`BUSY_SHARE` smaller when this process has
    other work to do while the helpers start (``busy``). Parts smaller than
    :data:`MIN_PART_BYTES` are not made; a cut that cannot be found is left out.
    """
    jobs = min(jobs, size // MIN_PART_BYTES)
    if jobs < 2 or len(head) < FILE_HEADER + 16:
        return []
    magic = int.from_bytes(head[:4], "little")
    order = PCAP_MAGICS[magic][0]
    snaplen = struct.unpack_from(order + "I", head, 16)[0]
    first_sec = struct.unpack_from(order + "I", head, FILE_HEADER)[0]
    first = max(1 / jobs - (BUSY_SHARE if busy else 0.0), MIN_FIRST_SHARE)
    cuts: list[int] = []
    for k in range(1, jobs):
        target = int(size * (first + (1 - first) * (k - 1) / (jobs - 1)))
        f.seek(target)
        found = find_boundary(f.read(WINDOW), magic, snaplen, first_sec)
        if found is not None and target + found > (cuts[-1] if cuts else len(head)):
            cuts.append(target + found)
    return cuts


class SharedTable:
    """Columns of up to ``rows`` rows in memory shared with forked helpers (MAP_SHARED):
    a helper decodes straight into them, and this process copies them out once."""

    def __init__(self, schema: dict[str, np.dtype], rows: int) -> None:
        self.schema, self.rows = schema, rows
        self.offsets: dict[str, int] = {}
        at = 0
        for name, dtype in schema.items():
            at = -(-at // 8) * 8
            self.offsets[name] = at
            at += dtype.itemsize * rows
        # only written pages take memory; NORESERVE: the (generous) size is not committed
        flags = mmap.MAP_SHARED | getattr(mmap, "MAP_ANONYMOUS", 0x20) \
            | getattr(mmap, "MAP_NORESERVE", MAP_NORESERVE_LINUX if sys.platform == "linux" else 0)
        self.mm = mmap.mmap(-1, max(at, 1), flags=flags)

    def columns(self, rows: int | None = None) -> dict[str, np.ndarray]:
        n = self.rows if rows is None else rows
        return {name: np.frombuffer(self.mm, dtype, count=n, offset=self.offsets[name])
                for name, dtype in self.schema.items()}

    def close(self) -> None:
        with contextlib.suppress(BufferError):   # a view still alive: freed with it
            self.mm.close()


def table_rows(part_bytes: int) -> int:
    """Most rows a part of ``part_bytes`` bytes can give (one per smallest TCP record)."""
    return part_bytes // MIN_ROW_BYTES + 1


class Helper:
    """A forked process decoding one part into a :class:`SharedTable`; its
    :class:`Part` comes back through a pipe."""

    def __init__(self, pid: int, fd: int, table: SharedTable) -> None:
        self.pid = pid
        self.pipe = os.fdopen(fd, "rb", buffering=0)
        self.table = table
        self.done = False

    def receive(self, into: Callable[[Part], dict[str, np.ndarray]]) -> Part:
        """The part's summary; its columns are copied into the arrays ``into(part)`` gives."""
        try:
            (length,) = HEADER.unpack(self._read_exact(HEADER.size))
            part: Part = pickle.loads(self._read_exact(length))
            if not part.error:
                shared = self.table.columns(part.rows)
                for name, col in into(part).items():
                    col[...] = shared[name]
                del shared
            return part
        finally:
            self.close()

    def _read_exact(self, n: int) -> bytes:
        buf = bytearray(n)
        got = 0
        while got < n:
            k = self.pipe.readinto(memoryview(buf)[got:])
            if not k:
                raise EOFError("helper process ended early")
            got += k
        return bytes(buf)

    def close(self) -> None:
        """Stop the helper if it still runs, reap it, free the shared memory."""
        if self.done:
            return
        self.done = True
        self.pipe.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        self.table.close()


def start_helper(work: Callable[[dict[str, np.ndarray]], Part], table: SharedTable) -> Helper:
    """Fork a process that runs ``work`` on the columns of ``table`` and sends back the
    :class:`Part` it returns."""
    r, w = os.pipe()
    pid = os.fork()
    if pid:
        os.close(w)
        return Helper(pid, r, table)
    os.close(r)                                # the helper: never returns
    code = 0
    try:
        try:
            part = work(table.columns())
        except BaseException as exc:  # reported to the parent
            part = _failed(f"{type(exc).__name__}: {exc}")
        head = pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(w, "wb") as out:
            out.write(HEADER.pack(len(head)) + head)
    except BaseException:  # e.g. the parent stopped reading
        code = 1
    finally:
        os._exit(code)


def _failed(error: str) -> Part:
    return Part(rows=0, end=0, garbage=False, frames=0, bytes_read=0,
                v4_keys=np.empty(0, np.int64), v6_keys={},
                anomalies=[], dropped={}, non_tcp={}, linktypes={}, first_ts_ns=None,
                last_ts_ns=None, warnings=[], error=error)
