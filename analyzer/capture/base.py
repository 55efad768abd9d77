"""The chunk loop shared by the pcap and pcapng readers.

A reader turns the byte stream into :class:`FrameBatch` objects. The stream is read in
large chunks; each chunk is walked record by record (the one sequential step, a tight
``struct`` loop that only collects offsets), and everything else is computed with NumPy
over the offsets. Bytes of a record that straddles the end of a chunk are carried over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from enum import Enum

import numpy as np

from analyzer.capture.batch import CaptureInfo, FrameBatch
from analyzer.capture.stream import ByteStream

__all__ = ["DEFAULT_CHUNK", "MAX_CAPLEN", "BaseReader", "Walk", "frame_warning", "ts_to_ns"]

DEFAULT_CHUNK = 16 << 20
MAX_CAPLEN = 262_144
"""Largest frame a record may claim (Wireshark's standard maximum, 256 KiB) unless the
file's snaplen says more; a longer record is taken for garbage after a cut."""


class Walk(Enum):
    """Why a walk over a buffer stopped."""

    NEED_MORE = 0    # the next record is incomplete: read more bytes
    CONTINUE = 1     # a section boundary: call the walk again at the returned offset
    STOP = 2         # garbage: nothing after this point is read


class BaseReader:
    """Chunked reading; subclasses implement :meth:`_walk`."""

    def __init__(self, stream: ByteStream, info: CaptureInfo, rest: bytes,
                 chunk_size: int = DEFAULT_CHUNK) -> None:
        self.stream = stream
        self.info = info
        self.chunk_size = chunk_size
        self._rest = rest                 # bytes read past the file header
        self._base = stream.offset - len(rest)
        self.progress: Callable[[int, int | None], None] | None = None
        self.end = 0                      # stream offset where the walk stopped
        self.garbage = False              # stopped at garbage (not at the end)
        self.defer_frames = False         # keep frame-numbered warnings as templates
        self.frame_warnings: list[tuple[str, dict[str, int]]] = []

    def _walk(self, buf: memoryview, pos: int, base: int) -> tuple[FrameBatch | None, int, Walk]:
        raise NotImplementedError

    def batches(self) -> Iterator[FrameBatch]:
        """Yield frame batches until the end of the stream, a cut or garbage."""
        buf, base = memoryview(self._rest), self._base
        pos = 0
        with _Prefetcher(self.stream, self.chunk_size) as chunks:
            while True:
                buf, cut = chunks.next(buf, pos)
                self.info.bytes_read = self.stream.consumed
                if self.progress is not None:
                    self.progress(self.stream.consumed, self.info.total_bytes)
                pos, status = 0, Walk.CONTINUE
                while status is Walk.CONTINUE:
                    batch, pos, status = self._walk(buf, pos, base)
                    if batch is not None and len(batch):
                        self.info.frames += len(batch)
                        yield batch
                if status is Walk.STOP:
                    self.end, self.garbage = base + pos, True
                    return
                if chunks.eof:
                    self.end = base + pos
                    self._end(buf, pos, base, cut)
                    return
                base += pos

    def _end(self, buf: memoryview, pos: int, base: int, cut: str) -> None:
        if pos < len(buf):
            self.warn_frames(
                f"capture cut short: frame {{frame}} at byte {base + pos} is "
                f"incomplete ({len(buf) - pos} bytes left at the end of the file); "
                "the {frames} frames before it were read",
                frame=self.info.frames + 1, frames=self.info.frames)
        elif cut:
            self.warn(f"compressed stream ended early after byte {base + pos} ({cut}); "
                      f"the {self.info.frames} frames before it were read")

    def warn(self, message: str) -> None:
        self.info.warnings.append(f"{self.info.path}: {message}")

    def warn_frames(self, template: str, **frames: int) -> None:
        """A warning that names frame numbers or counts (``{name}`` fields of ``template``).

        A reader that starts in the middle of a file (:mod:`analyzer.decode.split`) does
        not know how many frames came before: with ``defer_frames`` the warning is kept
        as a template, and whoever knows the count formats it with :func:`frame_warning`.
        """
        if self.defer_frames:
            self.frame_warnings.append((template, frames))
        else:
            self.warn(frame_warning(template, frames, 0))

    def close(self) -> None:
        self.stream.close()


def frame_warning(template: str, frames: dict[str, int], before: int) -> str:
    """``template`` with each frame number or count shifted by ``before`` earlier frames."""
    return template.format(**{k: v + before for k, v in frames.items()})


def ts_to_ns(units: np.ndarray, ticks_per_s: int, offset_s: int = 0) -> np.ndarray:
    """Convert timestamps in ``1/ticks_per_s`` units (uint64 or int64) to int64 ns."""
    u = units.astype(np.uint64)
    if ticks_per_s <= 1_000_000_000 and 1_000_000_000 % ticks_per_s == 0:
        ns = u.astype(np.int64) * (1_000_000_000 // ticks_per_s)
    elif ticks_per_s > 1_000_000_000 and ticks_per_s % 1_000_000_000 == 0:
        ns = (u // np.uint64(ticks_per_s // 1_000_000_000)).astype(np.int64)
    else:
        sec = (u // np.uint64(ticks_per_s)).astype(np.int64)
        frac = u % np.uint64(ticks_per_s)
        if ticks_per_s <= 1 << 34:       # exact: frac * 10**9 < 2**64
            sub = (frac * np.uint64(1_000_000_000)) // np.uint64(ticks_per_s)
        else:
            sub = np.floor(frac.astype(np.float64) * (1e9 / ticks_per_s))
        ns = sec * 1_000_000_000 + sub.astype(np.int64)
    return ns + offset_s * 1_000_000_000 if offset_s else ns


class _Prefetcher:
    """Reads the next chunk in a background thread while the current one is processed.

    Three buffers rotate: the one being walked, the one being filled, and the previous
    one, whose batch may still be in use (e.g. by a checksum worker) until the batch
    after it has been handled. Each buffer keeps ``SLACK`` bytes in front of the chunk for
    the incomplete record carried over from the previous buffer, so nothing large is
    copied. The read itself (file I/O or zlib) releases the GIL.
    """

    SLACK = 1 << 20

    def __init__(self, stream: ByteStream, chunk_size: int) -> None:
        self.stream = stream
        self.chunk = chunk_size
        self.bufs = [bytearray(self.SLACK + chunk_size) for _ in range(3)]
        self.turn = 0
        self.pool = ThreadPoolExecutor(1, "synack-read")
        self.eof = False
        self.pending: Future[tuple[int, str]] | None = self._start(0)

    def _start(self, turn: int) -> Future[tuple[int, str]]:
        view = memoryview(self.bufs[turn])[self.SLACK:]
        return self.pool.submit(self.stream.fill, view)

    def next(self, prev: memoryview, pos: int) -> tuple[memoryview, str]:
        """``prev[pos:]`` followed by the next chunk, and the stream's cut reason."""
        assert self.pending is not None
        got, cut = self.pending.result()
        self.pending = None
        self.eof = self.stream.eof              # of this chunk (the next read may change it)
        buf, keep = self.bufs[self.turn], len(prev) - pos
        if keep <= self.SLACK:
            start = self.SLACK - keep
            buf[start:self.SLACK] = prev[pos:]
            view = memoryview(buf)[start:self.SLACK + got]
        else:                                   # a huge pcapng block: copy once
            joined = bytearray(keep + got)
            joined[:keep] = prev[pos:]
            joined[keep:] = buf[self.SLACK:self.SLACK + got]
            view = memoryview(joined)
        self.turn = (self.turn + 1) % 3
        if not self.eof:
            self.pending = self._start(self.turn)
        return view, cut

    def __enter__(self) -> _Prefetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True)
