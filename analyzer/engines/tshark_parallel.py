"""Large classic pcap files through several tshark processes at once.

tshark dissects on one core. A classic pcap file is a header followed by self-contained
records, so it can be cut at record boundaries: each piece, prefixed with the file header,
is a valid capture that a separate tshark reads from its stdin (``-r -``), and its frame
numbers are shifted back by the frames before it. The engine's run needs no state across
frames (no TCP analysis, no stream reassembly); only an IP datagram fragmented across a cut
is not reassembled. Pieces are about ``CHUNK_BYTES`` long and at most ``jobs`` run at a
time; their output is consumed in order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any

from analyzer.capture import open_capture
from analyzer.capture.pcap import FILE_HEADER, PcapReader
from analyzer.engines.tshark_run import TsharkRun, field_run

__all__ = ["CHUNK_BYTES", "MIN_PARALLEL_BYTES", "Chunk", "default_jobs", "plan_chunks",
           "run_chunks", "tshark_batches"]

CHUNK_BYTES = 64 << 20
MIN_PARALLEL_BYTES = 32 << 20
COPY_BYTES = 1 << 20


@dataclass(frozen=True)
class Chunk:
    """Whole records ``[start, end)`` of the file; the first one is frame ``first_frame``."""

    start: int
    end: int
    first_frame: int


def default_jobs() -> int:
    """CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def plan_chunks(path: str, jobs: int) -> tuple[bytes, list[Chunk]] | None:
    """The file header and the pieces to read in parallel, or None when one tshark should
    read the file (one CPU, not a plain classic pcap file, or a small one)."""
    if jobs < 2 or path == "-":
        return None
    reader = open_capture(path)
    try:
        info = reader.info
        if not isinstance(reader, PcapReader) or info.gzip or \
                (info.total_bytes or 0) < MIN_PARALLEL_BYTES:
            return None
        marks: list[tuple[int, int]] = []
        end = FILE_HEADER
        for batch in reader.batches():
            if len(batch):
                marks.append((int(batch.stream_off[0]) - reader.rec_hdr, int(batch.frame[0])))
                end = int(batch.stream_off[-1] + batch.caplen[-1])
    finally:
        reader.close()
    with open(path, "rb") as f:
        header = f.read(FILE_HEADER)
    return header, _group(marks, end, jobs)


def _group(marks: list[tuple[int, int]], end: int, jobs: int) -> list[Chunk]:
    """Consecutive batches joined into pieces of about CHUNK_BYTES (at least ``jobs``)."""
    if not marks:
        return []
    size = min(CHUNK_BYTES, max(1, (end - marks[0][0]) // jobs))
    chunks: list[Chunk] = []
    start, first = marks[0]
    for off, frame in marks[1:]:
        if off - start >= size:
            chunks.append(Chunk(start, off, first))
            start, first = off, frame
    chunks.append(Chunk(start, end, first))
    return chunks


def _feeder(path: str, header: bytes, chunk: Chunk) -> Any:
    def feed(out: IO[bytes]) -> None:
        out.write(header)
        with open(path, "rb") as f:
            f.seek(chunk.start)
            left = chunk.end - chunk.start
            while left > 0:
                data = f.read(min(COPY_BYTES, left))
                if not data:
                    break
                out.write(data)
                left -= len(data)

    return feed


def run_chunks(cmd: list[str], names: Sequence[str], path: str, header: bytes,
               chunks: list[Chunk], jobs: int) -> Iterator[tuple[Chunk, list[Any], TsharkRun]]:
    """Run ``cmd`` (which reads ``-r -``) on every piece; yield the pieces' record batches
    in file order."""

    def one(chunk: Chunk) -> tuple[Chunk, list[Any], TsharkRun]:
        run = TsharkRun()
        return chunk, list(field_run(cmd, names, run, _feeder(path, header, chunk))), run

    with ThreadPoolExecutor(jobs, "synack-tshark") as pool:
        for future in [pool.submit(one, c) for c in chunks]:
            yield future.result()


def tshark_batches(command: Callable[[str], list[str]], names: Sequence[str], path: str,
                   jobs: int, run: TsharkRun) -> Iterator[tuple[int, Any]]:
    """tshark's output for ``path`` as (frame number offset, record batch) pairs, from one
    process or from ``jobs`` processes on pieces of the file; ``run`` collects the exit
    statuses and error lines of all of them."""
    plan = plan_chunks(path, jobs)
    if plan is None:
        for batch in field_run(command(path), names, run):
            yield 0, batch
        return
    header, chunks = plan
    for chunk, batches, one in run_chunks(command("-"), names, path, header, chunks, jobs):
        run.returncode = max(run.returncode, one.returncode)
        run.errors += one.errors
        for batch in batches:
            yield chunk.first_frame - 1, batch
