"""The self-contained HTML report: ``write_report(result, "reports/NAME/")`` → index.html.

One file, no external assets (inline CSS, inline SVG, a small inline script), so it opens
offline and can be mailed: the capture summary, the connections table (sortable, filterable
by state and by finding), the findings grouped by check with links to each connection,
the plots (analyzer.render.plots), and a section per connection with its ladder diagram,
state timeline, findings and the first bytes each side sent.

Everything that comes from a packet or the file (addresses, payload, interface names, the
file name) goes through Jinja2's autoescape; the only markup inserted as-is is our own CSS,
script and the SVG matplotlib writes (which escapes its text, and is refused if it holds
anything active). Large captures: at most ``max_sections`` detailed sections (findings
first, see ``data.choose_sections``) and ``max_rows`` table rows; the page says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from analyzer.render.plots import ALL_PLOTS
from analyzer.render.report.data import (
    choose_sections,
    connection_rows,
    findings_groups,
    summary,
)
from analyzer.render.report.sections import Previews, section
from analyzer.render.report.svg import inline_svg
from analyzer.render.report.template import SCRIPT, STYLE, TEMPLATE
from analyzer.result import AnalysisResult

__all__ = ["MAX_ROWS", "MAX_SECTIONS", "render_report", "write_report"]

MAX_SECTIONS = 200
MAX_ROWS = 20_000

UI = {
    "en": {
        "segments": "TCP segments", "connections": "connections", "profile": "timing profile",
        "summary": "Summary", "table": "Connections", "findings": "Findings",
        "plots": "Plots", "details": "Connection details", "errors": "errors",
        "warnings": "warnings", "infos": "info", "file": "File", "frames": "frames",
        "anomalies": "capture anomalies", "interface": "interface", "state": "State",
        "finding": "Finding", "all": "all", "any_finding": "any finding",
        "no_finding": "no finding", "search": "Search", "shown": "connections shown",
        "client": "client", "server": "server", "start": "start (s)",
        "duration": "duration (s)", "packets": "packets", "bytes": "bytes",
        "retx": "retransmissions", "checks": "checks", "no_findings": "No findings.",
        "in": "in", "connection": "connection", "frame": "frame",
        "more": "… and {n:,} more (see `synack analyze --findings --all`)",
        "final": "Final states", "collapsed": "{n:,} data segments collapsed in the diagram "
        "(`synack diagram --full` draws them all).", "back": "↑ table",
        "expected": "expected", "observed": "observed", "inferred": "inferred",
        "timeline": "State timeline", "endpoint": "endpoint", "change": "change",
        "cause": "cause", "payload": "First bytes sent",
        "sections_capped": "Detailed sections for {n:,} of {total:,} connections: those with "
        "findings first, then retransmissions, then those that did not close cleanly.",
        "rows_capped": "The table lists {n:,} of {total:,} connections (those with a section "
        "first); `synack analyze --format csv` lists them all.",
    },
    "zh": {
        "segments": "个 TCP 报文段", "connections": "个连接", "profile": "计时模型",
        "summary": "概况", "table": "连接", "findings": "检查结果", "plots": "图表",
        "details": "连接详情", "errors": "错误", "warnings": "警告", "infos": "提示",
        "file": "文件", "frames": "帧", "anomalies": "抓包异常", "interface": "接口",
        "state": "状态", "finding": "检查结果", "all": "全部", "any_finding": "有检查结果",
        "no_finding": "无检查结果", "search": "搜索", "shown": "个连接已显示",
        "client": "客户端", "server": "服务器", "start": "开始 (s)", "duration": "时长 (s)",
        "packets": "报文段", "bytes": "字节", "retx": "重传", "checks": "检查",
        "no_findings": "没有检查结果。", "in": "条，涉及", "connection": "连接", "frame": "帧",
        "more": "… 另有 {n:,} 条", "final": "最终状态",
        "collapsed": "时序图中折叠了 {n:,} 个数据报文段（`synack diagram --full` 全部画出）。",
        "back": "↑ 连接表", "expected": "应为", "observed": "观察到", "inferred": "推断",
        "timeline": "状态变化", "endpoint": "端点", "change": "变化", "cause": "原因",
        "payload": "最先发送的字节",
        "sections_capped": "只为 {total:,} 个连接中的 {n:,} 个生成详情（有检查结果的优先）。",
        "rows_capped": "表中列出 {total:,} 个连接中的 {n:,} 个。",
    },
}


def _num(v: Any) -> str:
    return f"{int(v):,}"


def _env() -> jinja2.Environment:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _num
    return env


def render_report(result: AnalysisResult, *, lang: str = "en",
                  max_sections: int = MAX_SECTIONS, max_rows: int = MAX_ROWS,
                  title: str | None = None) -> str:
    """The report's HTML text."""
    lang = "zh" if lang == "zh" else "en"
    ui = UI[lang]
    chosen = choose_sections(result, max_sections)
    chosen_set = set(chosen)
    rows = connection_rows(result, chosen_set, max_rows)
    groups = findings_groups(result, lang, chosen_set)
    previews = Previews(result)
    sections = [section(result, c, lang, previews) for c in chosen]
    plots = [inline_svg(fn(result), name) for name, fn in ALL_PLOTS.items()]
    n_conn = len(result.core_connections)
    states = sorted({r["summary"] for r in rows})
    source = result.source
    ctx = {
        "lang": lang, "ui": ui, "s": summary(result), "source": source,
        "source_name": title or Path(source).name or source, "rows": rows,
        "states": states, "check_ids": [g["id"] for g in groups], "groups": groups,
        "plots": plots, "sections": sections,
        "sections_capped": ui["sections_capped"].format(n=len(chosen), total=n_conn)
        if len(chosen) < n_conn else "",
        "table_capped": ui["rows_capped"].format(n=len(rows), total=n_conn)
        if len(rows) < n_conn else "",
        "style": Markup(STYLE), "script": Markup(SCRIPT),
    }
    return _env().from_string(TEMPLATE).render(**ctx)


def write_report(result: AnalysisResult, out_dir: str | Path, *, lang: str = "en",
                 max_sections: int = MAX_SECTIONS, max_rows: int = MAX_ROWS) -> Path:
    """Write ``out_dir/index.html`` and return its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    html = render_report(result, lang=lang, max_sections=max_sections, max_rows=max_rows)
    path = out / "index.html"
    path.write_text(html, encoding="utf-8")
    return path
