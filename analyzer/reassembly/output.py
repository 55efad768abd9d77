"""Follow output: text, hex and JSON renderings of a conversation, written as it streams.

Text and hex show the chunks in the order the capture delivered them (as Wireshark's
Follow TCP Stream does), a marker line whenever the direction changes, and a marker for
every gap and every overlap whose copies differ. Text replaces bytes that are not
printable ASCII with "." (and drops CR, so CRLF reads as a line end): it is for reading;
raw and hex are exact. JSON carries the bytes base64-encoded, each chunk with its offset
and frame, and the SHA-256 of each direction at the end.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from analyzer.reassembly.stream import Chunk, Overlap, Stream

__all__ = ["ARROW", "FollowHeader", "printable", "write_hex", "write_json", "write_text"]

ARROW = {"client": "client → server", "server": "server → client"}
_PRINTABLE = bytes(b if 0x20 <= b < 0x7F or b in (0x09, 0x0A) else 0x2E for b in range(256))


def printable(data: bytes) -> str:
    """Bytes as readable text: printable ASCII, tab and newline kept, CR dropped, others '.'."""
    return data.translate(_PRINTABLE, b"\r").decode("ascii")


@dataclass
class FollowHeader:
    """What the output says about the connection before the bytes."""

    capture: str
    conn_id: int
    client: str
    server: str
    policy: str
    streams: list[Stream] = field(default_factory=list)


def _summary(s: Stream) -> str:
    parts = [f"{s.length:,} bytes ({s.captured:,} captured)"]
    parts.append(f"{len(s.gaps)} gap(s), {s.gap_bytes:,} bytes missing" if s.gaps else "no gaps")
    diff = sum(1 for o in s.overlaps if o.different)
    parts.append(f"{len(s.overlaps)} overlap(s), {diff} with different data" if s.overlaps
                 else "no overlaps")
    if s.starts_mid_stream:
        parts.append("capture starts mid-stream (earlier bytes unknown)")
    if s.fin_offset is None:
        parts.append("no FIN seen")
    return ", ".join(parts)


def _header_lines(h: FollowHeader) -> list[str]:
    lines = [f"# synack follow {h.capture} --conn {h.conn_id} (policy {h.policy})",
             f"# client {h.client} ⇄ server {h.server}"]
    lines += [f"# {ARROW[s.direction]}: {_summary(s)}" for s in h.streams]
    return lines


def _differing(streams: Iterable[Stream]) -> dict[str, list[Overlap]]:
    return {s.direction: [o for o in s.overlaps if o.different] for s in streams}


def _overlap_line(direction: str, o: Overlap, policy: str) -> str:
    return (f"!!! overlap · {ARROW[direction]} · offset {o.offset}–{o.offset + o.length - 1} · "
            f"frame {o.other_frame} differs from frame {o.kept_frame} in {o.differing_bytes} "
            f"of {o.length} bytes (first at offset {o.first_difference}); kept frame "
            f"{o.kept_frame} (policy {policy})")


_WHY = {"not_captured": "not captured", "snaplen": "cut by the snaplen",
        "ip_fragments": "in a segment rebuilt from IP fragments (not in one piece of the file)"}


def _gap_line(c: Chunk) -> str:
    why = _WHY.get(c.reason, c.reason)
    return f"!!! gap · {ARROW[c.direction]} · offset {c.offset} · {c.length:,} bytes {why}"


def _events(chunks: Iterator[Chunk], overlaps: dict[str, list[Overlap]],
            ) -> Iterator[tuple[str, Chunk, list[Overlap]]]:
    """(kind, chunk, overlaps starting inside it) with kind "data" or "gap"."""
    pending = {d: sorted(v, key=lambda o: o.offset) for d, v in overlaps.items()}
    for c in chunks:
        if c.data is None:
            yield "gap", c, []
            continue
        todo = pending.get(c.direction, [])
        inside = [o for o in todo if o.offset < c.end]
        if inside:
            pending[c.direction] = todo[len(inside):]
        yield "data", c, inside


def write_text(out: TextIO, h: FollowHeader, chunks: Iterator[Chunk]) -> None:
    for line in _header_lines(h):
        out.write(line + "\n")
    last: tuple[str, int] | None = None
    open_line = False
    for kind, c, ovs in _events(chunks, _differing(h.streams)):
        notes = [_gap_line(c)] if kind == "gap" else [_overlap_line(c.direction, o, h.policy)
                                                      for o in ovs]
        if notes and open_line:
            out.write("\n")
            open_line = False
        for note in notes:
            out.write(note + "\n")
        if kind == "gap":
            last = None
            continue
        if notes or last != (c.direction, c.offset):
            if open_line:
                out.write("\n")
            out.write(f"=== {ARROW[c.direction]} · offset {c.offset} · frame {c.frame}\n")
        text = printable(c.data or b"")
        out.write(text)
        if text:
            open_line = not text.endswith("\n")
        last = (c.direction, c.end)
    if open_line:
        out.write("\n")
    out.write("# end\n")


def _hex_lines(offset: int, data: bytes, indent: str) -> Iterator[str]:
    for i in range(0, len(data), 16):
        row = data[i:i + 16]
        hx = " ".join(f"{b:02x}" for b in row[:8])
        if len(row) > 8:
            hx += "  " + " ".join(f"{b:02x}" for b in row[8:])
        yield f"{indent}{offset + i:08X}  {hx:<48}  {printable(row).replace(chr(10), '.')}"


def write_hex(out: TextIO, h: FollowHeader, chunks: Iterator[Chunk]) -> None:
    """Hex dump per chunk (stream offsets); server → client lines indented by a tab."""
    for line in _header_lines(h):
        out.write(line + "\n")
    direction = None
    for kind, c, ovs in _events(chunks, _differing(h.streams)):
        if kind == "gap":
            out.write(_gap_line(c) + "\n")
            direction = None
            continue
        for o in ovs:
            out.write(_overlap_line(c.direction, o, h.policy) + "\n")
        if ovs or c.direction != direction:
            out.write(f"=== {ARROW[c.direction]} · offset {c.offset} · frame {c.frame}\n")
            direction = c.direction
        indent = "\t" if c.direction == "server" else ""
        for line in _hex_lines(c.offset, c.data or b"", indent):
            out.write(line + "\n")
    out.write("# end\n")


def _stream_doc(s: Stream) -> dict[str, Any]:
    return {
        "length": s.length, "captured": s.captured, "starts_mid_stream": s.starts_mid_stream,
        "fin_offset": s.fin_offset,
        "gaps": [{"offset": g.offset, "length": g.length, "reason": g.reason} for g in s.gaps],
        "overlaps": [{"offset": o.offset, "length": o.length, "kept_frame": o.kept_frame,
                      "other_frame": o.other_frame, "kept_segment_offset": o.kept_start,
                      "other_segment_offset": o.other_start, "different": o.different,
                      "differing_bytes": o.differing_bytes,
                      "first_difference": o.first_difference} for o in s.overlaps],
    }


def write_json(out: TextIO, h: FollowHeader, chunks: Iterator[Chunk]) -> None:
    """One JSON document, written incrementally (chunks base64, digests at the end)."""
    head = {"capture": h.capture, "conn_id": h.conn_id, "client": h.client, "server": h.server,
            "policy": h.policy, "streams": {s.direction: _stream_doc(s) for s in h.streams}}
    text = json.dumps(head, indent=1)
    out.write(text[:-2] + ',\n "chunks": [')
    digests = {s.direction: hashlib.sha256() for s in h.streams}
    sep = "\n  "
    for c in chunks:
        doc: dict[str, Any] = {"direction": c.direction, "offset": c.offset, "length": c.length}
        if c.data is None:
            doc["gap"] = c.reason
        else:
            doc["frame"] = c.frame
            doc["data_base64"] = base64.b64encode(c.data).decode("ascii")
            digests[c.direction].update(c.data)
        out.write(sep + json.dumps(doc))
        sep = ",\n  "
    sums = {d: v.hexdigest() for d, v in digests.items()}
    out.write('\n ],\n "sha256_captured": ' + json.dumps(sums) + "\n}\n")
