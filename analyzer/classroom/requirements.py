"""What a student's own capture must show, in the rules language of ``synack check``.

Each requirement of a capture assignment holds a small rules table, evaluated on the one
connection being graded. Keys of the ``synack check`` language (``require_clean_close``,
``max_half_open``, ``max_syn_retries``, ``time_wait_side``, ``forbid_findings``,
``handshake_rtt_ms`` ...; see docs/ci.md) are judged by :mod:`analyzer.rules`, scoped to
that connection (``Selector(conns=...)``); a homework also needs a few keys about one
connection that a CI rules file does not, judged here: ``require_handshake``,
``require_data_both_ways``, ``active_closer``, ``close_style``, ``final_state_client`` /
``final_state_server``. When :mod:`analyzer.rules` cannot be imported, a minimal built-in
version of the common CI keys is used instead (same meaning, per connection).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from analyzer.classroom.facts import ConnFacts
from analyzer.classroom.generators import SIDE_ZH, T
from analyzer.tcpstate.states import parse_state

__all__ = ["RULE_KEYS", "close_style", "evaluate_rules", "validate_rules"]

Verdict = tuple[bool, dict[str, str]]
Rule = Callable[[ConnFacts, Any], Verdict]


def _handshake(f: ConnFacts, want: Any) -> Verdict:
    done = f.handshake_done_frame
    ok = (done is not None and f.syn_frame is not None) == bool(want)
    if done is not None:
        return ok, T("the client's SYN (frame {s}) was answered by a SYN-ACK (frame {sa}) and "
                     "the client's ACK (frame {d}) completed the three-way handshake",
                     "客户端的 SYN（帧 {s}）得到了 SYN-ACK（帧 {sa}）应答，客户端的 ACK（帧 {d}）"
                     "完成了三次握手", s=f.syn_frame, sa=f.synack_frame, d=done)
    if f.syn_frame is None:
        return ok, T("the capture has no SYN for this connection: it started before the "
                     "capture", "抓包中这个连接没有 SYN：连接在抓包开始之前就已建立")
    return ok, T("the SYN (frame {s}) never led to a completed handshake: the server never "
                 "received an ACK of its SYN-ACK (final states: client {c}, server {sv})",
                 "SYN（帧 {s}）没有完成三次握手：服务器始终没有收到对其 SYN-ACK 的确认"
                 "（最终状态：客户端 {c}，服务器 {sv}）", s=f.syn_frame,
                 c=f.row["client_final"], sv=f.row["server_final"])


def _data_both(f: ConnFacts, want: Any) -> Verdict:
    c, s = int(f.row["bytes_c2s"]), int(f.row["bytes_s2c"])
    ok = (c > 0 and s > 0) == bool(want)
    return ok, T("the client sent {c:,} bytes of data and the server {s:,}",
                 "客户端发送了 {c:,} 字节数据，服务器发送了 {s:,} 字节", c=c, s=s)


def _closer(f: ConnFacts) -> str:
    t = f.table
    fins = t[(t["bits"].to_numpy() & 1) != 0]
    if len(fins) == 0:
        return "none"
    first = fins.iloc[0]
    other = fins[fins["direction"] != first["direction"]]
    if len(other):
        o = other.iloc[0]
        # crossed FINs: the second FIN does not acknowledge the first one
        if int(o["rel_ack"]) < int(first["rel_seq"]) + int(first["payload_len"]) + 1:
            return "both"
    return "client" if first["direction"] == "c2s" else "server"


def close_style(f: ConnFacts) -> str:
    """four_way | three_way | simultaneous | abort | none (how the connection closed)."""
    closer = _closer(f)
    t = f.table
    if int(f.row["rst_c2s"]) + int(f.row["rst_s2c"]) > 0:
        return "abort"
    if closer == "none":
        return "none"
    if closer == "both":
        return "simultaneous"
    fin = t[(t["bits"].to_numpy() & 1) != 0].iloc[0]
    end = int(fin["rel_seq"]) + int(fin["payload_len"]) + 1
    reply = t[(t["direction"] != fin["direction"]) & (t["rel_ack"] >= end)]
    if len(reply) == 0:
        return "none"
    return "three_way" if int(reply.iloc[0]["bits"]) & 1 else "four_way"


def _active_closer(f: ConnFacts, want: Any) -> Verdict:
    who = _closer(f)
    fins = f.fin_frames
    ok = who == str(want)
    if who == "none":
        return ok, T("nobody sent a FIN", "两端都没有发送 FIN")
    return ok, T("the first FIN (frame {fr}) was sent by the {w}",
                 "第一个 FIN（帧 {fr}）由{zw}发送",
                 fr=fins[0], w="two sides at once" if who == "both" else who,
                 zw=SIDE_ZH[who])


def _close_style(f: ConnFacts, want: Any) -> Verdict:
    style = close_style(f)
    return style == str(want), T("the connection closed as: {s}", "连接的关闭方式：{s}", s=style)


def _clean_close(f: ConnFacts, want: Any) -> Verdict:
    fc, fs = int(f.row["fin_c2s"]), int(f.row["fin_s2c"])
    rst = int(f.row["rst_c2s"]) + int(f.row["rst_s2c"])
    ok = (fc > 0 and fs > 0 and rst == 0) == bool(want)
    return ok, T("FIN client→server: {fc}, server→client: {fs}, RST: {r}",
                 "FIN 客户端→服务器：{fc}，服务器→客户端：{fs}，RST：{r}", fc=fc, fs=fs, r=rst)


def _tw_side(f: ConnFacts, want: Any) -> Verdict:
    side = f.time_wait_side
    return side == str(want), T("TIME_WAIT entered by: {s}", "进入 TIME_WAIT 的一端：{z}",
                                s=side, z=SIDE_ZH[side])


def _final(side: str) -> Rule:
    def rule(f: ConnFacts, want: Any) -> Verdict:
        got = str(f.row[f"{side}_final"])
        return got == str(parse_state(str(want))), T(
            "the {s}'s last state in the capture is {g}", "{z}在抓包中的最后状态是 {g}",
            s=side, z=SIDE_ZH[side], g=got)
    return rule


def _max_half_open(f: ConnFacts, want: Any) -> Verdict:
    n = 1 if f.half_open_check else 0
    return n <= int(want), T("half-open: {c}", "半开连接：{c}", c=f.half_open_check or "no")


def _count_rule(kinds: tuple[str, ...], en: str, zh: str) -> Rule:
    def rule(f: ConnFacts, want: Any) -> Verdict:
        rt = f.retransmissions
        seg = rt["segment"].astype(str) if "segment" in rt else None
        n = int((seg.isin(kinds)).sum()) if seg is not None and kinds else len(rt)
        return n <= int(want), T(en, zh, n=n, m=int(want))
    return rule


def _forbid(f: ConnFacts, want: Any) -> Verdict:
    ids = {str(x) for x in (want if isinstance(want, list) else [want])}
    fd = f.findings
    hit = sorted(set(fd["check"].astype(str)) & ids) if len(fd) else []
    return not hit, T("findings present: {h}", "出现的检查结果：{h}", h=", ".join(hit) or "none")


CLASSROOM_KEYS: dict[str, Rule] = {
    "require_handshake": _handshake,
    "require_data_both_ways": _data_both,
    "active_closer": _active_closer,
    "close_style": _close_style,
    "final_state_client": _final("client"),
    "final_state_server": _final("server"),
}
# used only when analyzer.rules is not available
FALLBACK_KEYS: dict[str, Rule] = {
    "require_clean_close": _clean_close,
    "time_wait_side": _tw_side,
    "max_half_open": _max_half_open,
    "max_syn_retries": _count_rule(("syn",), "SYN retransmissions: {n} (at most {m})",
                                   "SYN 重传：{n} 次（最多 {m} 次）"),
    "forbid_findings": _forbid,
}


def _ci_keys() -> set[str] | None:
    try:
        from analyzer.rules.spec import RULE_KEYS as CI_KEYS
    except ImportError:
        return None
    return set(CI_KEYS)


def rule_keys() -> list[str]:
    ci = _ci_keys()
    return sorted(set(CLASSROOM_KEYS) | (ci if ci is not None else set(FALLBACK_KEYS)))


RULE_KEYS = CLASSROOM_KEYS


def validate_rules(rules: dict[str, Any], where: str) -> None:
    """ValueError naming the requirement for an unknown key or a bad value."""
    unknown = sorted(set(rules) - set(rule_keys()))
    if unknown:
        raise ValueError(f"{where}: unknown rule(s) {', '.join(unknown)}; known rules: "
                         f"{', '.join(rule_keys())}")
    ci = {k: v for k, v in rules.items() if k not in CLASSROOM_KEYS}
    if ci and _ci_keys() is not None:
        from analyzer.errors import SynackError
        from analyzer.rules.load import rule_set_from_mapping

        try:
            rule_set_from_mapping(ci, source=where)
        except SynackError as exc:
            raise ValueError(str(exc)) from exc


def _ci_verdicts(f: ConnFacts, rules: dict[str, Any]) -> list[Verdict]:
    """The ``synack check`` keys, judged by analyzer.rules on this connection only."""
    from analyzer.rules import Rules, Selector, evaluate
    from analyzer.rules.load import rule_set_from_mapping

    rs = rule_set_from_mapping(rules, selector=Selector(conns=(f.conn_id,)))
    out: list[Verdict] = []
    for o in evaluate(Rules("<assignment>", (rs,)), f.result):
        out.append((o.passed, T("{m}", "规则 {r}：应为 {e}，实际 {o}", m=o.message, r=o.rule,
                                e=o.expected, o=o.observed)))
    return out


def evaluate_rules(f: ConnFacts, rules: dict[str, Any]) -> tuple[bool, list[dict[str, str]]]:
    """All rules hold? and the evidence of each (what the capture shows)."""
    verdicts: list[Verdict] = []
    ci = {k: v for k, v in rules.items() if k not in CLASSROOM_KEYS}
    for k, want in rules.items():
        if k in CLASSROOM_KEYS:
            verdicts.append(CLASSROOM_KEYS[k](f, want))
    if ci and _ci_keys() is not None:
        verdicts.extend(_ci_verdicts(f, ci))
    else:
        verdicts.extend(FALLBACK_KEYS[k](f, v) for k, v in ci.items())
    return all(v[0] for v in verdicts), [v[1] for v in verdicts]
