"""Capture artefacts that must not be blamed on TCP: duplicates, snaplen truncation, and a
capture that starts in the middle of a connection.

``duplicate_mask`` is shared with the timing checks (a duplicate is not a retransmission).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analyzer.checks.context import Ctx, context, first_in, make, num, numz, who
from analyzer.checks.model import CheckSpec, Finding, register
from analyzer.flows import Flows
from analyzer.schema import ANOM_TRUNCATED_HEADER, ANOM_TRUNCATED_PAYLOAD

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__ = ["DUP_MAX_GAP_IPID_S", "DUP_MAX_GAP_S", "duplicate_mask"]

#: Two identical segments (IPv4 with a non-zero IP ID) at most this far apart are one
#: segment captured twice: a retransmission gets a new IP ID from every common stack.
DUP_MAX_GAP_IPID_S = 0.5
#: Without an IP ID to tell them apart (IPv6, or IP ID 0), copies must be this close and
#: show that they were captured at two points (interface, VLAN or TTL differ): Linux sends
#: identical SYN-ACKs (IP ID 0, same timestamp) microseconds apart when its retransmission
#: timer and a retransmitted SYN coincide.
DUP_MAX_GAP_S = 0.01

_KEY_COLUMNS = ("opt_sack_right", "opt_sack_left", "opt_ts_val", "window", "ip_id",
                "payload_len", "flags", "ack", "seq")


def duplicate_mask(cols: dict[str, np.ndarray], flows: Flows) -> np.ndarray:
    """True for every row that repeats an earlier row: the same segment captured again.

    Same connection and direction, seq, ack, flags, payload length, window, IP ID, TCP
    timestamp and first SACK block, within ``DUP_MAX_GAP_IPID_S`` (IPv4 with a non-zero IP
    ID, from a sender whose IP IDs vary). Without an IP ID (IPv6, IP ID 0) two sends
    cannot be told from two captures of one send unless the copies differ in interface,
    VLAN or TTL; then they must be within ``DUP_MAX_GAP_S``. The first copy (earliest
    timestamp) stays False.

    Only rows whose key (a hash of all those fields) occurs more than once can be copies;
    they are usually few, and only they are sorted and compared field by field.
    """
    n = len(cols["frame"])
    out = np.zeros(n, dtype=bool)
    if n < 2:
        return out
    group = flows.conn.astype(np.int64) * 2 + flows.from_server
    idx = np.flatnonzero(_repeated_keys(group, cols))
    if len(idx) < 2:
        return out
    g = group[idx]
    sub = {c: cols[c][idx] for c in (*_KEY_COLUMNS, "ts_ns", "iface", "vlan", "ttl")}
    ts = sub["ts_ns"]
    order = np.lexsort((ts, *(sub[c] for c in _KEY_COLUMNS), g))
    same = g[order][1:] == g[order][:-1]
    for c in _KEY_COLUMNS:
        v = sub[c][order]
        same &= v[1:] == v[:-1]
    ip_id = sub["ip_id"][order][1:]
    informative = _varying_ip_id(group, cols["ip_id"], g)[order][1:]
    gap = ts[order][1:].astype(np.int64) - ts[order][:-1].astype(np.int64)
    limit = np.where(ip_id > 0, int(DUP_MAX_GAP_IPID_S * 1e9), int(DUP_MAX_GAP_S * 1e9))
    two_points = np.zeros(len(idx) - 1, dtype=bool)
    for c in ("iface", "vlan", "ttl"):
        v = sub[c][order]
        two_points |= v[1:] != v[:-1]
    out[idx[order[1:]]] = same & (gap <= limit) & (((ip_id > 0) & informative) | two_points)
    return out


def _repeated_keys(group: np.ndarray, cols: dict[str, np.ndarray]) -> np.ndarray:
    """True for rows whose hash of (group, key columns) is shared with another row."""
    h = group.astype(np.uint64)
    mult = np.uint64(0x9E3779B97F4A7C15)
    for c in _KEY_COLUMNS:
        h *= mult
        h ^= cols[c].astype(np.uint64)
        h ^= h >> np.uint64(29)
    return pd.Series(h, copy=False).duplicated(keep=False).to_numpy()


def _varying_ip_id(group: np.ndarray, ip_id: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Per ``wanted`` group id: does that sender use more than one IP ID (crafted traffic
    often uses one)? Looked up over all rows of those groups only."""
    n_groups = int(group.max()) + 1
    need = np.zeros(n_groups, dtype=bool)
    need[wanted] = True
    rows = np.flatnonzero(need[group])
    g, v = group[rows], ip_id[rows].astype(np.int64)
    lo = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    hi = np.full(n_groups, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(lo, g, v)
    np.maximum.at(hi, g, v)
    return (lo != hi)[wanted]


DUPLICATE_PACKET = CheckSpec(
    id="duplicate_packet", severity="info", category="capture",
    title="Same segment captured twice",
    title_zh="同一报文段被抓到两次",
    rfc="RFC 9293 §3.10.7.4 (duplicates are harmless to TCP)",
    explanation=(
        "Two captured packets are the same segment: same direction, sequence and "
        "acknowledgement numbers, flags, length, window, IP identification and TCP "
        "timestamp, a few microseconds apart. A sender never produces that — a "
        "retransmission gets a new IP ID and usually a new timestamp — so it is the "
        "capture that saw the packet twice: on two interfaces (-i any, a bridge and its "
        "port, two VLANs), on a SPAN port mirroring both directions of a link, or after "
        "merging two capture files. These copies are ignored when counting "
        "retransmissions and should not be read as packet loss."),
    explanation_zh=(
        "两个抓到的包是同一个报文段：方向、序列号、确认号、标志位、长度、窗口、IP 标识和 "
        "TCP 时间戳都相同，只相隔几微秒。发送方不会这样发送——重传会有新的 IP 标识，通常还有"
        "新的时间戳——所以是抓包本身把这个包看到了两次：在两个接口上（-i any、网桥及其端口、"
        "两个 VLAN），在同时镜像链路两个方向的 SPAN 端口上，或合并了两个抓包文件。统计重传时"
        "会忽略这些副本，也不应把它们理解为丢包。"))


@register(DUPLICATE_PACKET)
def duplicate_packet(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    dup = np.flatnonzero(ctx.dup)
    if len(dup) == 0:
        return
    dup = dup[np.argsort(ctx.conn[dup], kind="stable")]
    conns, starts = np.unique(ctx.conn[dup], return_index=True)
    for conn, lo, hi in zip(conns.tolist(), starts.tolist(),
                            [*starts[1:].tolist(), len(dup)], strict=True):
        yield _duplicate_finding(ctx, conn, dup[lo:hi])


def _original(ctx: Ctx, row: int) -> int:
    rows = ctx.conn_rows(int(ctx.conn[row]))
    keys = ("seq", "ack", "flags", "payload_len", "ip_id")
    same = rows[(rows != row) & (ctx.group[rows] == ctx.group[row])]
    for c in keys:
        same = same[ctx.cols[c][same] == ctx.cols[c][row]]
    earlier = same[ctx.cols["ts_ns"][same] <= ctx.cols["ts_ns"][row]]
    return int(earlier[-1]) if len(earlier) else int(same[0]) if len(same) else row


def _duplicate_finding(ctx: Ctx, conn: int, rows: np.ndarray) -> Finding:
    r = int(rows[0])
    o = _original(ctx, r)
    dt_us = (int(ctx.cols["ts_ns"][r]) - int(ctx.cols["ts_ns"][o])) / 1e3
    vlan = ctx.cols["vlan"]
    where = f", VLAN {int(vlan[o])} and {int(vlan[r])}" if vlan[o] != vlan[r] else ""
    k = len(rows)
    return make(
        ctx, "duplicate_packet", conn, [o, *rows.tolist()[:20]], main=r,
        expected="each segment captured once",
        observed=f"{k} segment(s) captured twice (e.g. frames {ctx.frame(o)} and "
                 f"{ctx.frame(r)}, {dt_us:.0f} µs apart{where})",
        message=f"{k} segment(s) of this connection appear twice in the capture, e.g. frame "
                f"{ctx.frame(r)} repeats frame {ctx.frame(o)} {dt_us:.0f} µs later{where}: "
                "a capture artefact, not a retransmission",
        message_zh=f"这个连接有 {k} 个报文段在抓包中出现了两次，例如帧 {ctx.frame(r)} 在 "
                   f"{dt_us:.0f} 微秒后重复了帧 {ctx.frame(o)}{where}：这是抓包造成的，不是重传")


TRUNCATED_BY_SNAPLEN = CheckSpec(
    id="truncated_by_snaplen", severity="info", category="capture",
    title="Segments cut short by the capture's snapshot length",
    title_zh="报文段被抓包的快照长度（snaplen）截断",
    rfc="RFC 9293 §3.1 (lengths come from the IP header)",
    explanation=(
        "A capture tool stores at most 'snaplen' bytes of each packet (tcpdump -s). When a "
        "packet is longer, its tail — usually TCP payload — is missing from the file, while "
        "the IP header still says how long it really was. synack takes lengths and "
        "sequence arithmetic from the headers, so the TCP analysis is unaffected, but the "
        "missing bytes cannot be shown or reassembled, and if even the TCP header was cut "
        "the options (MSS, window scale, SACK, timestamps) of that segment are unknown. "
        "Capture with -s 0 (or a snaplen above the MTU) to keep whole packets."),
    explanation_zh=(
        "抓包工具对每个包最多保存 snaplen 个字节（tcpdump -s）。包更长时，它的尾部（通常是 "
        "TCP 数据）不会出现在文件中，而 IP 首部仍记录着真实长度。synack 从首部读取长度并据此"
        "计算序号，所以 TCP 分析不受影响，但缺少的字节无法显示或重组；如果连 TCP 首部都被截断，"
        "该报文段的选项（MSS、窗口扩大因子、SACK、时间戳）就无从得知。用 -s 0（或大于 MTU 的 "
        "snaplen）抓包即可保存完整的包。"))


@register(TRUNCATED_BY_SNAPLEN)
def truncated_by_snaplen(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    cols = ctx.cols
    hdr = (cols["anomalies"] & ANOM_TRUNCATED_HEADER) != 0
    cut = ((cols["anomalies"] & ANOM_TRUNCATED_PAYLOAD) != 0) \
        | (cols["cap_payload_len"] < cols["payload_len"]) | hdr
    rows_all = np.flatnonzero(cut)
    if len(rows_all) == 0:
        return
    rows_all = rows_all[np.argsort(ctx.conn[rows_all], kind="stable")]
    conns, starts = np.unique(ctx.conn[rows_all], return_index=True)
    for conn, lo, hi in zip(conns.tolist(), starts.tolist(),
                            [*starts[1:].tolist(), len(rows_all)], strict=True):
        rows = rows_all[lo:hi]
        r = int(rows[0])
        missing = int((cols["payload_len"][rows] - np.maximum(cols["cap_payload_len"][rows], 0))
                      .sum())
        n_hdr = int(hdr[rows].sum())
        extra = f", {n_hdr} with the TCP header itself cut" if n_hdr else ""
        extra_z = f"，其中 {n_hdr} 个连 TCP 首部都被截断" if n_hdr else ""
        yield make(
            ctx, "truncated_by_snaplen", conn, rows.tolist()[:20], main=r,
            expected=f"{int(cols['payload_len'][r])} payload bytes captured (frame "
                     f"{ctx.frame(r)})",
            observed=f"{max(int(cols['cap_payload_len'][r]), 0)} captured; {len(rows)} "
                     f"segments cut, {missing} bytes missing{extra}",
            message=f"{len(rows)} segment(s) of this connection were cut by the snaplen "
                    f"({missing} payload bytes not in the file{extra}), first at frame "
                    f"{ctx.frame(r)}",
            message_zh=f"这个连接有 {len(rows)} 个报文段被 snaplen 截断（文件中缺少 {missing} "
                       f"字节数据{extra_z}），第一个在帧 {ctx.frame(r)}")


MID_CONNECTION_START = CheckSpec(
    id="mid_connection_start", severity="info", category="capture",
    title="Capture starts in the middle of the connection",
    title_zh="抓包从连接中途开始",
    rfc="RFC 9293 §3.4, §3.5",
    explanation=(
        "The capture has no SYN for this connection — or only the server's SYN-ACK — so "
        "the three-way handshake happened before the capture started (or was not "
        "captured). The initial sequence numbers are therefore unknown: relative numbers "
        "start at 1 at the first byte seen, as in Wireshark, the window scale negotiated "
        "on the SYNs is unknown, and both endpoints start in the state UNKNOWN until their "
        "first segment shows them ESTABLISHED. Zeek reports such connections with "
        "conn_state OTH; Suricata needs stream.midstream enabled to follow them."),
    explanation_zh=(
        "抓包中没有这个连接的 SYN（或只有服务器的 SYN-ACK），说明三次握手发生在抓包开始之前"
        "（或没有被抓到）。因此初始序列号未知：和 Wireshark 一样，相对序列号从看到的第一个"
        "字节记为 1；SYN 上协商的窗口扩大因子也未知；两端都从 UNKNOWN 状态开始，直到各自的"
        "第一个报文段表明它们处于 ESTABLISHED（已建立连接）。Zeek 把这类连接记为 conn_state "
        "OTH；Suricata 需要打开 stream.midstream 才会跟踪它们。"))


@register(MID_CONNECTION_START)
def mid_connection_start(result: AnalysisResult) -> Iterator[Finding]:
    ctx = context(result)
    n = ctx.n_conn
    syn = first_in(ctx.conn, ctx.pure_syn, n)
    sa = first_in(ctx.conn, ctx.synack, n)
    first = first_in(ctx.conn, np.ones(ctx.n, dtype=bool), n)
    for conn in np.flatnonzero((syn < 0) & (first >= 0)).tolist():
        r = int(first[conn])
        srv = bool(ctx.srv[r])
        seq, rel = int(ctx.cols["seq"][r]), int(ctx.rel_seq[r])
        if sa[conn] >= 0:
            what = f"the client's SYN was not captured (the SYN-ACK is frame {ctx.frame(r)})" \
                if int(sa[conn]) == r else "no SYN captured"
            what_z = f"没有抓到客户端的 SYN（SYN-ACK 为帧 {ctx.frame(r)}）" \
                if int(sa[conn]) == r else "没有抓到 SYN"
        else:
            what, what_z = "no SYN or SYN-ACK captured", "没有抓到 SYN 或 SYN-ACK"
        yield make(
            ctx, "mid_connection_start", conn, [r],
            expected="the connection's SYN (three-way handshake) in the capture",
            observed=f"{what}; first segment from {who(ctx, conn, srv)} at seq {num(seq, rel)}",
            message=f"capture starts mid-connection: {what}; the first segment (frame "
                    f"{ctx.frame(r)}) is from {who(ctx, conn, srv)}",
            message_zh=f"抓包从连接中途开始：{what_z}；第一个报文段（帧 {ctx.frame(r)}）来自 "
                       f"{who(ctx, conn, srv, zh=True)}，序列号 {numz(seq, rel)}")
