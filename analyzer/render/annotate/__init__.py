"""Annotated pcapng: the capture's own frames, bit for bit, with packet comments.

>>> write_annotated(result, "annotated.pcapng")          # doctest: +SKIP

The frames are read again from ``result.source`` with :mod:`analyzer.capture` (bytes,
captured and original length, timestamp, interface and link type per frame) and written
unchanged into a pcapng file whose Enhanced Packet Blocks carry ``opt_comment`` options
(see ``comments`` for what they say). Wireshark shows them as ``frame.comment``
(``pkt_comment`` before 3.6) and in its Expert Information. Non-packet records of a pcapng
input (custom and systemd-journal blocks) are not copied: frame numbers after one shift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from analyzer.capture import NO_LINKTYPE, open_capture
from analyzer.capture.batch import Interface
from analyzer.render.annotate.comments import frame_comments, retx_comment
from analyzer.render.annotate.pcapng import IfaceSpec, PcapngWriter
from analyzer.result import AnalysisResult

__all__ = ["AnnotateStats", "frame_comments", "retx_comment", "write_annotated"]


@dataclass
class AnnotateStats:
    frames: int = 0
    commented: int = 0
    comments: int = 0
    skipped: int = 0            # non-packet records not copied
    warnings: list[str] = field(default_factory=list)


def _spec(iface: Interface) -> IfaceSpec:
    return IfaceSpec(iface.linktype, iface.snaplen, iface.name, iface.fcs_len, iface.ts_units)


def _copy(result: AnalysisResult, out: BinaryIO, comments: dict[int, list[str]],
          stats: AnnotateStats) -> None:
    reader = open_capture(result.source)
    try:
        writer = PcapngWriter(out, comment=f"annotated by synack from "
                                           f"{Path(result.source).name}")
        info = reader.info
        for batch in reader.batches():
            section = int(getattr(reader, "section", 0))
            local = {(i.section, i.local_id): i for i in info.interfaces}
            buf = batch.buf
            for k in range(len(batch)):
                frame = int(batch.frame[k])
                stats.frames += 1
                if int(batch.linktype[k]) == NO_LINKTYPE:
                    stats.skipped += 1
                    continue
                iface = local.get((section, int(batch.iface[k]))) or info.interfaces[0]
                off, n = int(batch.data_off[k]), int(batch.caplen[k])
                notes = comments.get(frame, [])
                writer.packet(_spec(iface), int(batch.ts_ns[k]), bytes(buf[off:off + n]),
                              int(batch.origlen[k]), notes)
                if notes:
                    stats.commented += 1
                    stats.comments += len(notes)
        stats.warnings += info.warnings
    finally:
        reader.close()


def write_annotated(result: AnalysisResult, target: str | Path, lang: str = "en",
                    ) -> AnnotateStats:
    """Write ``result.source``'s frames with comments to ``target`` (pcapng)."""
    comments = frame_comments(result, lang)
    stats = AnnotateStats()
    with open(target, "wb") as out:
        _copy(result, out, comments, stats)
    if stats.skipped:
        stats.warnings.append(f"{stats.skipped} non-packet record(s) (custom or journal "
                              "blocks) were not copied: later frame numbers shift")
    return stats
