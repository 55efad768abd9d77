"""``synack explain``: one connection told as a story a student can follow.

The handshake and the teardown are retold segment by segment with the ISNs and the ack
arithmetic (ack = ISN + 1, FIN seq + len + 1), the endpoint state changes they caused, and
then every finding of the connection with its explanation, in English or Chinese.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from analyzer.checks import REGISTRY
from analyzer.checks.context import MOD, NONE, Ctx, context
from analyzer.render.findings import severity_label
from analyzer.result import AnalysisResult

__all__ = ["explain_text"]

_T = {
    "en": {
        "title": "Connection {id}: {client} → {server} — {summary}",
        "isn": "Initial sequence numbers: client {c}, server {s} (relative 0).",
        "isn_none": "The capture has no SYN from the {who}: its ISN is unknown and relative "
                    "numbers start at 1 at the first byte seen.",
        "hs": "Three-way handshake", "td": "Teardown", "data": "Data",
        "no_hs": "  (no handshake in the capture: it started mid-connection)",
        "no_td": "  (no FIN or RST in the capture: the connection was still open)",
        "data_line": "  client sent {c:,} bytes, server sent {s:,} bytes",
        "states": "State changes (observed = the endpoint's own segment; inferred = deduced)",
        "final": "Final states: client {c}, server {s}.",
        "findings": "Findings ({n})", "none": "  No findings: everything follows the rules.",
        "exp": "expected", "obs": "observed", "why": "Why",
        "client": "client", "server": "server", "ok": "✓", "bad": "✗ (expected {v})",
        "syn": "SYN seq={seq} — the {who}'s ISN",
        "synack": "SYN-ACK seq={seq} ({who} ISN), ack={ack} = {peer} ISN + 1 {mark}",
        "third": "ACK seq={seq} {mark_s}, ack={ack} = server ISN + 1 {mark}",
        "fin": "FIN seq={seq} (rel {rel}, {n} bytes of data): the {who} closes its side",
        "finack": "ACK ack={ack} = FIN seq + len + 1 {mark}",
        "rst": "RST seq={seq} (rel {rel}): the {who} aborts the connection",
        "arrow": "→", "frame": "frame", "observed": "observed", "inferred": "inferred",
        "timer": "timer", "isn1": "= client ISN + 1",
    },
    "zh": {
        "title": "连接 {id}：{client} → {server} —— {summary}",
        "isn": "初始序列号（ISN）：客户端 {c}，服务器 {s}（相对序列号 0）。",
        "isn_none": "抓包中没有{who}的 SYN：它的初始序列号未知，"
                    "相对序列号从看到的第一个字节记为 1。",
        "hs": "三次握手", "td": "连接释放（四次挥手）", "data": "数据",
        "no_hs": "  （抓包中没有三次握手：从连接中途开始）",
        "no_td": "  （抓包中没有 FIN 或 RST：连接仍然打开）",
        "data_line": "  客户端发送了 {c:,} 字节，服务器发送了 {s:,} 字节",
        "states": "状态变化（观察到 = 端点自己发出的报文段；推断 = 由收到的报文段或计时器推出）",
        "final": "最终状态：客户端 {c}，服务器 {s}。",
        "findings": "检查结果（{n} 条）", "none": "  没有发现问题：一切都符合规则。",
        "exp": "应为", "obs": "实际", "why": "原因",
        "client": "客户端", "server": "服务器", "ok": "✓", "bad": "✗（应为 {v}）",
        "syn": "SYN 序列号={seq} —— {who}的初始序列号",
        "synack": "SYN-ACK 序列号={seq}（{who}初始序列号），"
                  "确认号={ack} = {peer}初始序列号 + 1 {mark}",
        "third": "ACK 序列号={seq} {mark_s}，确认号={ack} = 服务器初始序列号 + 1 {mark}",
        "fin": "FIN 序列号={seq}（相对 {rel}，携带 {n} 字节数据）：{who}关闭自己这一侧",
        "finack": "ACK 确认号={ack} = FIN 序列号 + 数据长度 + 1 {mark}",
        "rst": "RST 序列号={seq}（相对 {rel}）：{who}中止连接",
        "arrow": "→", "frame": "帧", "observed": "观察到", "inferred": "推断",
        "timer": "计时器", "isn1": "= 客户端初始序列号 + 1",
    },
}


def _mark(t: dict[str, str], got: int, want: int) -> str:
    return t["ok"] if got == want else t["bad"].format(v=want)


class _Story:
    def __init__(self, result: AnalysisResult, conn: int, lang: str) -> None:
        self.ctx: Ctx = context(result)
        self.conn, self.lang, self.t = conn, lang, _T[lang]
        self.rows = self.ctx.conn_rows(conn)
        self.lines: list[str] = []
        self.tr = self.ctx.conn_transitions(conn)

    def who(self, srv: bool) -> str:
        return self.t["server" if srv else "client"]

    def seg(self, r: int, text: str) -> None:
        ctx = self.ctx
        srv = bool(ctx.srv[r])
        arrow = f"{self.who(srv)} {self.t['arrow']} {self.who(not srv)}"
        moved = self.tr[self.tr["at_frame"].to_numpy() == ctx.frame(r)]
        after = "; ".join(f"{self.who(str(m.endpoint) == 'server')} {m.to_state}"
                          for m in moved.itertuples(index=False))
        tail = f"  [{self.t['arrow']} {after}]" if after else ""
        self.lines.append(f"  {self.t['frame']} {ctx.frame(r):>6}  {arrow:<18} {text}{tail}")

    def handshake(self) -> None:
        ctx, t, rows = self.ctx, self.t, self.rows
        self.lines += ["", t["hs"]]
        syns = rows[ctx.pure_syn[rows]]
        sas = rows[ctx.synack[rows]]
        if len(syns) == 0 and len(sas) == 0:
            self.lines.append(t["no_hs"])
            return
        seq, ack = ctx.cols["seq"], ctx.cols["ack"]
        for r in syns[:3].tolist():
            self.seg(r, t["syn"].format(seq=int(seq[r]), who=self.who(bool(ctx.srv[r]))))
        for r in sas[:2].tolist():
            peer_syn = rows[(rows < r) & ctx.pure_syn[rows] & (ctx.srv[rows] != ctx.srv[r])]
            want = (int(seq[peer_syn[-1]]) + 1) % MOD if len(peer_syn) else int(ack[r])
            self.seg(r, t["synack"].format(seq=int(seq[r]), ack=int(ack[r]),
                                           who=self.who(bool(ctx.srv[r])),
                                           peer=self.who(not ctx.srv[r]),
                                           mark=_mark(t, int(ack[r]), want)))
        self._third(syns, sas)

    def _third(self, syns: np.ndarray, sas: np.ndarray) -> None:
        ctx, t, rows = self.ctx, self.t, self.rows
        if len(sas) == 0 or len(syns) == 0:
            return
        s = int(sas[0])
        third = rows[(rows > s) & ~ctx.srv[rows] & ctx.has_ack[rows] & ~ctx.rst[rows]
                     & ((ctx.flags[rows] & 0x02) == 0)]
        if len(third) == 0:
            return
        r = int(third[0])
        seq, ack = int(ctx.cols["seq"][r]), int(ctx.cols["ack"][r])
        want_ack = (int(ctx.cols["seq"][s]) + 1) % MOD
        syn = syns[syns < s]
        isn = int(ctx.cols["seq"][syn[-1] if len(syn) else syns[0]])
        sa_ack = int(ctx.cols["ack"][s])
        ok_sa = sa_ack in ((isn + 1) % MOD, (isn + 1 + int(ctx.plen[syns[0]])) % MOD)
        want_seq = sa_ack if ok_sa else (isn + 1) % MOD
        mark_s = f"{t['isn1']} {_mark(t, seq, want_seq)}"
        self.seg(r, t["third"].format(seq=seq, ack=ack, mark_s=mark_s,
                                      mark=_mark(t, ack, want_ack)))

    def teardown(self) -> None:
        ctx, t, rows = self.ctx, self.t, self.rows
        self.lines += ["", t["td"]]
        fins, rsts = rows[ctx.fin[rows]], rows[ctx.rst[rows]]
        if len(fins) == 0 and len(rsts) == 0:
            self.lines.append(t["no_td"])
            return
        events = sorted({*self._first_fins(fins), *rsts[:3].tolist()})
        for r in events:
            if ctx.rst[r]:
                self.seg(r, t["rst"].format(seq=int(ctx.cols["seq"][r]),
                                            rel=int(ctx.rel_seq[r]),
                                            who=self.who(bool(ctx.srv[r]))))
                continue
            self.seg(r, t["fin"].format(seq=int(ctx.cols["seq"][r]), rel=int(ctx.rel_seq[r]),
                                        n=int(ctx.plen[r]), who=self.who(bool(ctx.srv[r]))))
            self._fin_ack(r)

    def _first_fins(self, fins: np.ndarray) -> list[int]:
        out: list[int] = []
        for srv in (False, True):
            mine = fins[self.ctx.srv[fins] == srv]
            if len(mine):
                out.append(int(mine[0]))
        return out

    def _fin_ack(self, fin: int) -> None:
        ctx, rows = self.ctx, self.rows
        end = int(ctx.seg_end[fin])
        acks = rows[(rows > fin) & (ctx.srv[rows] != ctx.srv[fin]) & ctx.has_ack[rows]
                    & ~ctx.rst[rows] & (ctx.rel_ack[rows] != NONE)
                    & (ctx.rel_ack[rows] >= end - 1)]
        if len(acks) == 0:
            return
        good = acks[ctx.rel_ack[acks] >= end]
        r = int(good[0]) if len(good) else int(acks[0])
        want = (int(ctx.cols["seq"][fin]) + int(ctx.plen[fin]) + 1) % MOD
        self.seg(r, self.t["finack"].format(ack=int(ctx.cols["ack"][r]),
                                            mark=_mark(self.t, int(ctx.cols["ack"][r]), want)))

    def states(self) -> None:
        t = self.t
        self.lines += ["", t["states"]]
        init = self.ctx.result.timelines.initial[self.conn]
        for e, name in enumerate(("client", "server")):
            mine = self.tr[self.tr["endpoint"].astype(str).to_numpy() == name]
            steps = [str(init[e])]
            for m in mine.itertuples(index=False):
                where = f"{t['frame']} {m.frame}" if int(m.frame) >= 0 else t["timer"]
                how = t["observed"] if bool(m.observed) else t["inferred"]
                steps.append(f"{m.to_state} ({where}, {how})")
            self.lines.append(f"  {self.who(e == 1)}: " + " → ".join(steps))
        fin = self.ctx.result.timelines.final[self.conn]
        self.lines.append(t["final"].format(c=fin[0], s=fin[1]))


def _header(story: _Story, result: AnalysisResult) -> None:
    row = result.connection(story.conn).to_dict()
    sep = ":" if int(row["ip_version"]) == 4 else "."
    t = story.t
    story.lines.append(t["title"].format(
        id=story.conn, client=f"{row['client']}{sep}{row['client_port']}",
        server=f"{row['server']}{sep}{row['server_port']}", summary=row["summary"]))
    c, s = row["client_isn"], row["server_isn"]
    if not pd.isna(c) and not pd.isna(s):
        story.lines.append(t["isn"].format(c=int(c), s=int(s)))
    for value, who in ((c, "client"), (s, "server")):
        if pd.isna(value):
            story.lines.append(t["isn_none"].format(who=t[who]))


def _findings(story: _Story, result: AnalysisResult) -> None:
    t, zh = story.t, story.lang == "zh"
    fd = result.findings
    mine = fd[fd["conn_id"].to_numpy() == story.conn] if len(fd) else fd
    story.lines += ["", t["findings"].format(n=len(mine))]
    if len(mine) == 0:
        story.lines.append(t["none"])
        return
    for r in mine.to_dict("records"):
        spec = REGISTRY[str(r["check"])]
        msg = r["message_zh"] if zh else r["message"]
        story.lines.append(f"  [{severity_label(str(r['severity']), story.lang)}] {r['check']} — "
                           f"{t['frame']} {r['frame']}: {msg}")
        story.lines.append(f"      {t['exp']}: {r['expected']}")
        story.lines.append(f"      {t['obs']}: {r['observed']}   ({r['rfc']})")
        text = spec.explanation_zh if zh else spec.explanation
        title = spec.title_zh if zh else spec.title
        story.lines.append(_wrap(f"{t['why']} — {title}: {text}", zh))


def _wrap(text: str, zh: bool) -> str:
    """Indented paragraph: by words in English, by characters in Chinese."""
    if not zh:
        return textwrap.fill(text, width=96, initial_indent="      ",
                             subsequent_indent="      ")
    return "\n".join("      " + text[i:i + 46] for i in range(0, len(text), 46))


def explain_text(result: AnalysisResult, conn_id: int, lang: str = "en") -> str:
    """The story of one connection (``lang`` en or zh)."""
    result.connection(conn_id)  # UsageError for a bad id
    story = _Story(result, conn_id, "zh" if lang == "zh" else "en")
    _header(story, result)
    story.handshake()
    row = result.connection(conn_id).to_dict()
    story.lines += ["", story.t["data"], story.t["data_line"].format(
        c=int(row["bytes_c2s"]), s=int(row["bytes_s2c"]))]
    story.teardown()
    story.states()
    _findings(story, result)
    return "\n".join(story.lines) + "\n"
