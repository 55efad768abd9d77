"""Header-level checks: options negotiated on the SYNs, and an ack field without ACK."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from analyzer.checks.context import Ctx, context, first_in, make, who
from analyzer.checks.model import CheckSpec, Finding, Severity, register
from analyzer.checks.queries import latest_in
from analyzer.schema import ANOM_BAD_OPTIONS, ANOM_TRUNCATED_HEADER

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__: list[str] = []

HANDSHAKE_OPTIONS_MISMATCH = CheckSpec(
    id="handshake_options_mismatch", severity="info", category="handshake",
    title="SYN and SYN-ACK disagree on TCP options",
    title_zh="SYN 与 SYN-ACK 的 TCP 选项不一致",
    rfc="RFC 7323 §2.2, §3.2; RFC 2018 §2",
    explanation=(
        "Window scaling, timestamps and selective acknowledgement (SACK) are negotiated "
        "during the three-way handshake: the client offers them on its SYN and each one is "
        "in force only if the server's SYN-ACK carries it too. An option offered by one "
        "side only is simply not used — legal, but worth knowing: without window scaling "
        "the window cannot exceed 65,535 bytes, which limits throughput on long paths, and "
        "without SACK every loss costs more retransmission. A SYN-ACK carrying window "
        "scaling or timestamps that the SYN did not offer breaks RFC 7323 (it may only "
        "answer an offer) and is reported as a warning."),
    explanation_zh=(
        "窗口扩大因子、时间戳和选择性确认 SACK 都是在三次握手中协商的：客户端在 SYN 中提出，"
        "只有服务器的 SYN-ACK 也带上该选项时才生效。只有一方提出的选项不会被使用——这是合法"
        "的，但值得知道：没有窗口扩大因子，窗口不能超过 65535 字节，在长距离路径上会限制"
        "吞吐量；没有 SACK，每次丢包都要付出更多重传。SYN-ACK 带有 SYN 没有提出的窗口扩大"
        "因子或时间戳，违反了 RFC 7323（它只能回应对方的提议），会作为警告报告。"),
)

_OPTIONS = (("window scaling", "窗口扩大因子", "opt_wscale", True),
            ("timestamps", "时间戳", "opt_ts_val", True),
            ("SACK-permitted", "SACK 允许", "opt_sack_perm", False))


def _present(cols: dict[str, np.ndarray], name: str, rows: np.ndarray) -> np.ndarray:
    """Per row: does it carry the option (``name`` is its column)?"""
    v = cols[name][rows]
    return v.astype(bool) if name == "opt_sack_perm" else v.astype(np.int64) >= 0


def _pairs(ctx: Ctx) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(conn, SYN row, SYN-ACK row) of every plain handshake whose options can be read."""
    sa = first_in(ctx.conn, ctx.synack & ctx.srv, ctx.n_conn)
    srv_syn = first_in(ctx.conn, ctx.pure_syn & ctx.srv, ctx.n_conn)
    bad = (ctx.cols["anomalies"] & (ANOM_BAD_OPTIONS | ANOM_TRUNCATED_HEADER)) != 0
    conns = np.flatnonzero((sa >= 0) & (srv_syn < 0))
    s = sa[conns]
    syn = latest_in(ctx, s, ctx.peer[s], ctx.pure_syn)    # the client's latest SYN
    ok = (syn >= 0) & ~bad[s] & ~bad[np.maximum(syn, 0)]
    return conns[ok], syn[ok], s[ok]


@register(HANDSHAKE_OPTIONS_MISMATCH)
def handshake_options_mismatch(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    conns, syns, sas = _pairs(ctx)
    present = [(_present(ctx.cols, col, syns), _present(ctx.cols, col, sas))
               for _, _, col, _ in _OPTIONS]
    differ = np.zeros(len(conns), dtype=bool)
    for on_syn, on_sa in present:
        differ |= on_syn != on_sa
    for i in np.flatnonzero(differ).tolist():
        conn, syn, sa = int(conns[i]), int(syns[i]), int(sas[i])
        parts, parts_z, sev = [], [], "info"
        for (name, name_z, _, strict), (pa, pb) in zip(_OPTIONS, present, strict=True):
            a, b = bool(pa[i]), bool(pb[i])
            if a == b:
                continue
            if b and strict:
                sev = "warning"
            parts.append(f"{name}: {'client only' if a else 'server only (not offered)'}")
            parts_z.append(f"{name_z}：{'仅客户端提出' if a else '仅服务器（客户端未提出）'}")
        if not parts:
            continue
        severity: Severity = "warning" if sev == "warning" else "info"
        yield make(
            ctx, "handshake_options_mismatch", conn, [syn, sa], main=sa, severity=severity,
            expected="each option on both SYN and SYN-ACK, or on neither",
            observed="; ".join(parts),
            message=f"options differ between the SYN (frame {ctx.frame(syn)}) and the SYN-ACK "
                    f"(frame {ctx.frame(sa)}): {'; '.join(parts)}",
            message_zh=f"SYN（帧 {ctx.frame(syn)}）与 SYN-ACK（帧 {ctx.frame(sa)}）的选项不一致："
                       f"{'；'.join(parts_z)}")


ACK_NUMBER_WITHOUT_ACK_FLAG = CheckSpec(
    id="ack_number_without_ack_flag", severity="info", category="handshake",
    title="Acknowledgement number set without the ACK flag",
    title_zh="未置 ACK 标志位却填写了确认号",
    rfc="RFC 9293 §3.1",
    explanation=(
        "The acknowledgement number field means something only when the ACK flag bit is "
        "set; otherwise the receiver ignores it, and a well-behaved stack sends zero there "
        "(the first SYN of a connection is the usual case: it has no ACK flag and ack 0). "
        "A non-zero ack without the ACK flag is harmless for TCP itself but reveals a "
        "crafted packet (scanners, fuzzers, a student's raw-socket script) or a middlebox "
        "that rewrites headers, and it can leak old memory contents. Wireshark flags it as "
        "'acknowledgment number is nonzero while the ACK flag is not set'."),
    explanation_zh=(
        "只有在 ACK 标志位置 1 时，确认号字段才有意义；否则接收方会忽略它，正常的协议栈会"
        "在这里填 0（最常见的例子是连接的第一个 SYN：没有 ACK 标志位，确认号为 0）。没有 "
        "ACK 标志位却填写了非零确认号，对 TCP 本身无害，但说明这是人为构造的报文（扫描器、"
        "模糊测试工具、学生用原始套接字写的脚本）或改写报文头的中间设备，还可能泄露旧的"
        "内存内容。Wireshark 会提示“确认号非零但 ACK 标志位未置位”。"),
    suricata="stream.pkt_broken_ack")


@register(ACK_NUMBER_WITHOUT_ACK_FLAG)
def ack_number_without_ack_flag(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    cand = np.flatnonzero(~ctx.has_ack & (ctx.cols["ack"] != 0))
    if len(cand) == 0:
        return
    cand = cand[np.argsort(ctx.conn[cand], kind="stable")]
    conns, starts = np.unique(ctx.conn[cand], return_index=True)
    bounds = list(starts[1:]) + [len(cand)]
    for conn, lo, hi in zip(conns.tolist(), starts.tolist(), bounds, strict=True):
        rows = cand[lo:hi]
        r = int(rows[0])
        srv = bool(ctx.srv[r])
        ack = int(ctx.cols["ack"][r])
        count = f" ({len(rows)} segments)" if len(rows) > 1 else ""
        count_z = f"（共 {len(rows)} 个报文段）" if len(rows) > 1 else ""
        yield make(
            ctx, "ack_number_without_ack_flag", conn, rows[:20].tolist(), main=r,
            expected="ack 0 when the ACK flag is clear", observed=f"ack {ack}{count}",
            message=f"{who(ctx, conn, srv)} sent ack {ack} without the ACK flag "
                    f"(frame {ctx.frame(r)}){count}",
            message_zh=f"{who(ctx, conn, srv, zh=True)} 在未置 ACK 标志位的报文段中填写了确认号 "
                       f"{ack}（帧 {ctx.frame(r)}）{count_z}")
