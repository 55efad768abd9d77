"""Payload bytes read back from the capture file, on demand and in bounded memory.

The packet table keeps the offset of every payload in the (decompressed) capture stream.
:class:`PayloadSource` reads byte ranges at such offsets: ``pread`` on a plain file; on a
gzip file a forward decompressor with checkpoints (a copy of the zlib state every
``_GzipRandom.EVERY`` decompressed bytes), so that reading backwards restarts from the
nearest checkpoint instead of the start of the file. A capture read from stdin cannot be
read twice.
"""

from __future__ import annotations

import os
import stat
import zlib
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

import numpy as np

from analyzer.capture import STDIN
from analyzer.errors import UnreadableFileError

__all__ = ["BATCH_BYTES", "PayloadSource", "iter_ranges", "rereadable", "why_not_rereadable"]

#: Bytes read per batch when streaming: the batch is sorted by file offset (and coalesced),
#: read, then handed out in the caller's order. Bounds the memory of any stream.
BATCH_BYTES = 8 << 20
_HOLE = 4096          # coalesce two reads when at most this many bytes lie between them
_SPAN = 1 << 20       # ... and the combined read stays under this size
_GZIP_MAGIC = b"\x1f\x8b"


def why_not_rereadable(path: str) -> str:
    """"" when ``path`` can be read again for payload bytes, else the reason."""
    if path in ("", STDIN):
        return "the capture was read from stdin, which cannot be read twice " \
               "(save it to a file first to follow its streams)"
    try:
        st = os.stat(path)
    except OSError as e:
        return e.strerror or str(e)
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file (a pipe or device cannot be read twice)"
    return ""


def rereadable(path: str) -> bool:
    return why_not_rereadable(path) == ""


class _GzipRandom:
    """Random reads in a gzip stream (any number of members) with zlib-state checkpoints."""

    RAW = 64 << 10
    OUT = 1 << 20
    EVERY = 16 << 20

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self._cps: list[tuple[int, int, Any]] = []  # (out offset, raw offset, zlib state)
        self._restore((0, 0, None))

    def _restore(self, cp: tuple[int, int, Any]) -> None:
        out, raw, state = cp
        self._f.seek(raw)
        self._raw = raw
        self._d = state.copy() if state is not None else zlib.decompressobj(31)
        self._pending = b""
        self._buf_start, self._buf = out, b""
        self._done = False

    def _read_raw(self) -> bytes:
        data = self._f.read(self.RAW)
        self._raw += len(data)
        return data

    def _more(self) -> bytes:
        """The next piece of decompressed output; b"" at the end (or where data turns bad)."""
        while not self._done:
            if self._d.eof:
                while len(self._pending) < 2 and (more := self._read_raw()):
                    self._pending += more
                if not self._pending.startswith(_GZIP_MAGIC):
                    break
                self._d = zlib.decompressobj(31)
            if not self._pending:
                self._pending = self._read_raw()
                if not self._pending:
                    break
            try:
                out = self._d.decompress(self._pending, self.OUT)
            except zlib.error:
                break
            self._pending = self._d.unused_data if self._d.eof else self._d.unconsumed_tail
            if out:
                self._checkpoint(self._buf_start + len(self._buf) + len(out))
                return out
        self._done = True
        return b""

    def _checkpoint(self, out_end: int) -> None:
        if self._pending or self._d.eof:
            return
        last = self._cps[-1][0] if self._cps else 0
        if out_end - last >= self.EVERY and (not self._cps or out_end > last):
            self._cps.append((out_end, self._raw, self._d.copy()))

    def _seek_for(self, off: int) -> None:
        end = self._buf_start + len(self._buf)
        best = max((cp for cp in self._cps if cp[0] <= off), default=(0, 0, None),
                   key=lambda cp: cp[0])
        if off < self._buf_start or best[0] > end:
            self._restore(best)

    def read(self, off: int, n: int) -> bytes:
        self._seek_for(off)
        parts: list[bytes] = []
        while n > 0:
            end = self._buf_start + len(self._buf)
            if off >= end:
                out = self._more()
                if not out:
                    break
                self._buf_start, self._buf = end, out
                continue
            i = off - self._buf_start
            take = self._buf[i:i + n]
            parts.append(take)
            off += len(take)
            n -= len(take)
        return b"".join(parts)


class PayloadSource:
    """Byte ranges of one capture file (offsets in its decompressed stream)."""

    def __init__(self, path: str) -> None:
        reason = why_not_rereadable(path)
        if reason:
            raise UnreadableFileError(path or "<no file>", f"cannot read payload bytes: {reason}")
        self.path = path
        try:
            self._f: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by close()
            magic = self._f.read(2)
        except OSError as e:
            raise UnreadableFileError(path, e.strerror or str(e)) from None
        self._gz = _GzipRandom(self._f) if magic == _GZIP_MAGIC else None

    def __enter__(self) -> PayloadSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._f.close()

    def _raw_read(self, off: int, n: int) -> bytes:
        if self._gz is not None:
            return self._gz.read(off, n)
        try:
            data = os.pread(self._f.fileno(), n, off)
        except OSError as e:
            raise UnreadableFileError(self.path, e.strerror or str(e)) from None
        return data

    def read(self, off: int, n: int) -> bytes:
        """Exactly ``n`` bytes at ``off``; InputError if the file is shorter (it changed)."""
        data = self._raw_read(off, n)
        if len(data) != n:
            raise UnreadableFileError(self.path, f"no {n} bytes at offset {off}: the file "
                                      "changed since it was analysed")
        return data

    def read_many(self, offs: Sequence[int] | np.ndarray,
                  lens: Sequence[int] | np.ndarray) -> list[bytes]:
        """Several ranges, read in file order with nearby ranges coalesced; caller's order."""
        offs_a, lens_a = np.asarray(offs, dtype=np.int64), np.asarray(lens, dtype=np.int64)
        out: list[bytes] = [b""] * len(offs_a)
        order = np.argsort(offs_a, kind="stable").tolist()
        o_list, l_list = offs_a.tolist(), lens_a.tolist()
        i = 0
        while i < len(order):
            lo = o_list[order[i]]
            hi = lo + l_list[order[i]]
            j = i + 1
            while j < len(order):
                o, ln = o_list[order[j]], l_list[order[j]]
                if o - hi > _HOLE or max(hi, o + ln) - lo > _SPAN:
                    break
                hi = max(hi, o + ln)
                j += 1
            span = self.read(lo, hi - lo)
            for k in order[i:j]:
                a = o_list[k] - lo
                out[k] = span[a:a + l_list[k]]
            i = j
        return out


def iter_ranges(src: PayloadSource, offs: np.ndarray, lens: np.ndarray,
                budget: int = BATCH_BYTES) -> Iterator[bytes]:
    """The bytes of each range in the given order, read in batches of about ``budget`` bytes."""
    n = len(offs)
    ends = np.cumsum(lens)
    i = 0
    while i < n:
        before = int(ends[i - 1]) if i else 0
        j = max(int(np.searchsorted(ends, before + budget, side="right")), i + 1)
        yield from src.read_many(offs[i:j], lens[i:j])
        i = j
