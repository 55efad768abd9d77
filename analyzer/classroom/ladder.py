"""The exercise's ladder (sequence) diagram as text, with blankable labels.

The student sheet shows every arrow with its flags and direction but the numbers and the
states blanked (``mode="blank"``); feedback pages show the part of the diagram a question
is about, fully labelled (``mode="full"``: raw numbers with the relative ones beside them).

This is the classroom's own small text renderer over the answer key's packet rows, so that
sheets and feedback need neither the capture nor the diagram stage; the full diagram
(SVG/Mermaid, real time scale, findings drawn on arrows) is ``synack diagram``'s job.
"""

from __future__ import annotations

from collections.abc import Iterable

from analyzer.classroom.model import PacketRow

__all__ = ["excerpt_rows", "ladder_text"]

ARROW = 44
STATE = 13
BLANK_NUM = "____"
BLANK_STATE = "_" * 11


def _label(p: PacketRow, mode: str) -> str:
    if mode == "blank":
        nums = f"seq={BLANK_NUM}" + (f" ack={BLANK_NUM}" if p.ack >= 0 else "")
        return f"{p.flags} {nums} len={BLANK_NUM}" if p.length else f"{p.flags} {nums}"
    seq = f"seq={p.seq} ({p.rel_seq})"
    ack = f" ack={p.ack} ({p.rel_ack})" if p.ack >= 0 else ""
    length = f" len={p.length}" if p.length else ""
    return f"{p.flags} {seq}{ack}{length}"


def _arrow(p: PacketRow, mode: str, width: int) -> str:
    text = f" {_label(p, mode)} "
    if p.direction == "c2s":
        return "|" + text.center(width - 2, "-")[:-1] + ">|"
    return "|<" + text.center(width - 2, "-")[1:] + "|"


def _row(p: PacketRow, mode: str, prev: PacketRow | None, width: int) -> str:
    if mode == "blank":
        cs = ss = BLANK_STATE
    else:
        cs = p.client_state if prev is None or prev.client_state != p.client_state else ""
        ss = p.server_state if prev is None or prev.server_state != p.server_state else ""
    note = f"  [{p.note}]" if p.note and mode != "blank" else ""
    return f"{p.frame:>6} {p.t:>12.6f}  {cs:<{STATE}} {_arrow(p, mode, width)} {ss}{note}"


def ladder_text(packets: Iterable[PacketRow], client: str, server: str, mode: str = "full",
                lang: str = "en") -> str:
    """The diagram, one line per segment (``mode`` "blank" or "full")."""
    rows = list(packets)
    width = max([ARROW, *(len(_label(p, mode)) + 8 for p in rows if p.frame >= 0)])
    head_state = "客户端状态" if lang == "zh" else "client state"
    frame, time = ("帧", "时间/秒") if lang == "zh" else ("frame", "time (s)")
    left = f"{client}"
    top = f"{frame:>6} {time:>12}  {head_state:<{STATE}} {left:<{width // 2}}" \
          f"{server:>{width - width // 2}}"
    lines = [top]
    prev: PacketRow | None = None
    for p in rows:
        if p.frame < 0:
            lines.append(f"{'…':>6}")
            prev = None
            continue
        lines.append(_row(p, mode, prev, width))
        prev = p
    return "\n".join(lines) + "\n"


def excerpt_rows(packets: list[PacketRow], frames: Iterable[int], context: int = 1,
                 limit: int = 24) -> list[PacketRow]:
    """The rows around ``frames`` (± ``context`` packets), gaps marked by a row with frame
    -1; at most ``limit`` rows."""
    want = set(frames)
    idx = [i for i, p in enumerate(packets) if p.frame in want]
    if not idx:
        return []
    keep = sorted({j for i in idx for j in range(i - context, i + context + 1)
                   if 0 <= j < len(packets)})[:limit]
    out: list[PacketRow] = []
    for a, b in zip([None, *keep], keep, strict=False):
        if a is not None and b != a + 1:
            out.append(PacketRow(-1, 0.0, "", "", 0, -1, 0, -1, 0, 0, "", ""))
        out.append(packets[b])
    return out
