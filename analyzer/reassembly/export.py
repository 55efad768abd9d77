"""Every stream of a capture into a directory, one file per connection and direction (like
tcpflow), plus ``index.csv``: what was written, byte counts, gaps and overlaps."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from analyzer.errors import UnreadableFileError
from analyzer.reassembly.stream import Reassembler, Stream

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__ = ["INDEX_COLUMNS", "stream_file_name", "write_all"]

INDEX_COLUMNS = ["conn_id", "direction", "src", "sport", "dst", "dport", "file",
                 "bytes_written", "stream_length", "captured_bytes", "gaps", "gap_bytes",
                 "snaplen_gap_bytes", "gap_list", "overlaps", "overlaps_different",
                 "starts_mid_stream", "fin_seen", "first_frame", "last_frame", "sha256"]


def _addr(ip: str) -> str:
    return ip.replace(":", "_")


def stream_file_name(conn_id: int, direction: str, src: str, sport: int, dst: str,
                     dport: int) -> str:
    """``c00003-client-10.0.0.1.40000-10.0.0.2.80.bin`` (IPv6 colons become underscores)."""
    return f"c{conn_id:05d}-{direction}-{_addr(src)}.{sport}-{_addr(dst)}.{dport}.bin"


Endpoints = tuple[str, int, str, int]


def _endpoints(conns: pd.DataFrame) -> list[tuple[Endpoints, Endpoints]]:
    """Per connection: (sender, its port, receiver, its port) of each direction."""
    cols = [conns[k].astype(str).tolist() if k in ("client", "server") else
            conns[k].astype(int).tolist() for k in ("client", "client_port", "server",
                                                    "server_port")]
    return [((c, cp, s, sp), (s, sp, c, cp)) for c, cp, s, sp in zip(*cols, strict=True)]


def _frames(s: Stream) -> tuple[int, int]:
    _off, _ln, row, _fo = s.pieces()
    if len(row) == 0:
        return -1, -1
    frame = s.result.columns["frame"]
    return int(frame[row.min()]), int(frame[row.max()])


def _write_one(s: Stream, ends: Endpoints, outdir: Path, fill: bytes | None,
               ) -> dict[str, object]:
    src, sport, dst, dport = ends
    name = stream_file_name(s.conn_id, s.direction, src, sport, dst, dport)
    written, digest = 0, ""
    if s.captured or (fill is not None and s.gaps):
        try:
            with open(outdir / name, "wb") as f:
                written, digest = s.write(f, fill)
        except OSError as e:
            raise UnreadableFileError(str(outdir / name), e.strerror or str(e)) from None
    else:
        name = ""
    first, last = _frames(s)
    return {
        "conn_id": s.conn_id, "direction": s.direction, "src": src, "sport": sport, "dst": dst,
        "dport": dport, "file": name, "bytes_written": written, "stream_length": s.length,
        "captured_bytes": s.captured, "gaps": len(s.gaps), "gap_bytes": s.gap_bytes,
        "snaplen_gap_bytes": sum(g.length for g in s.gaps if g.reason == "snaplen"),
        "gap_list": ";".join(f"{g.offset}+{g.length}" for g in s.gaps),
        "overlaps": len(s.overlaps), "overlaps_different": sum(1 for o in s.overlaps
                                                               if o.different),
        "starts_mid_stream": s.starts_mid_stream, "fin_seen": s.fin_offset is not None,
        "first_frame": first, "last_frame": last, "sha256": digest,
    }


def write_all(result: AnalysisResult, outdir: Path, policy: str = "first",
              fill: bytes | None = None) -> pd.DataFrame:
    """Write every non-empty stream of ``result`` into ``outdir``; returns (and writes) the
    index. Gaps are skipped in the files unless ``fill`` is given; index.csv lists them."""
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UnreadableFileError(str(outdir), e.strerror or str(e)) from None
    streams = Reassembler(result, policy).all_streams()
    ends = _endpoints(result.core_connections)
    rows = []
    for group in streams.layout.groups.tolist():
        s = streams.stream(group)
        rows.append(_write_one(s, ends[group // 2][group % 2], outdir, fill))
    index = pd.DataFrame(rows, columns=INDEX_COLUMNS)
    if len(index):
        index = index.sort_values(["conn_id", "direction"], kind="stable")
    index.to_csv(outdir / "index.csv", index=False)
    return index.reset_index(drop=True)
