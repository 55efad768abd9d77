"""The student sheet (Markdown and HTML) and the answer templates of an exercise."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from analyzer.classroom.ladder import ladder_text
from analyzer.classroom.model import AnswerKey, save_key

__all__ = ["sheet_html", "sheet_markdown", "write_exercise"]

_T = {
    "en": {
        "capture": "Capture", "conn": "Connection",
        "conn_text": "connection {id} of the capture: frames {a}–{b} ({n} segments)",
        "how": "How to answer",
        "how_text": "Open the capture in Wireshark (or use tshark/tcpdump) and answer every "
                    "question in one answers file: JSON, CSV or YAML, one answer per question "
                    "id (answers_template.json / .csv are ready to fill in). Lists: a JSON "
                    "list, or values separated by commas or semicolons. Numbers may be raw or "
                    "relative where the question says so; states in RFC or Linux spelling "
                    "(SYN_RECEIVED, SYN-RECV ...). Frame numbers are Wireshark's "
                    "(\"No.\" column).",
        "questions": "Questions", "pts": "pt", "diagram": "Diagram",
        "diagram_text": "Every segment of the connection with its flags and direction; "
                        "numbers (seq/ack/len) and the endpoints' states are left for you "
                        "to find.",
        "variant": "Variant", "total": "Total",
    },
    "zh": {
        "capture": "抓包文件", "conn": "连接",
        "conn_text": "抓包中的连接 {id}：帧 {a}–{b}（共 {n} 个报文段）",
        "how": "作答方式",
        "how_text": "用 Wireshark（或 tshark/tcpdump）打开抓包文件，把所有答案写在一个答案文件里："
                    "JSON、CSV 或 YAML，每个题号一个答案"
                    "（answers_template.json / .csv 可直接填写）。"
                    "列表：JSON 列表，或用逗号/分号分隔的值。"
                    "题目允许时，序列号可以写原始值或相对值；"
                    "状态名用 RFC 或 Linux 写法均可（SYN_RECEIVED、SYN-RECV……）。帧号即 Wireshark "
                    "的“No.”列。",
        "questions": "题目", "pts": "分", "diagram": "时序图",
        "diagram_text": "连接中的每个报文段都标出了标志位和方向；"
                        "序列号、确认号、长度以及两端的状态留给你来填写。",
        "variant": "变体", "total": "总分",
    },
}

_HTML = """<!DOCTYPE html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ key.title }}</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.45}
pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:85%}
li{margin:.5em 0}code{background:#f0f0f0;padding:0 .2em}</style></head><body>
<h1>{{ key.title }}</h1>
<p><b>{{ t.capture }}:</b> <code>{{ capture }}</code><br>
<b>{{ t.conn }}:</b> {{ conn_text }}{% if key.variant %}<br><b>{{ t.variant }}:</b>
<code>{{ key.variant }}</code>{% endif %}</p>
<h2>{{ t.how }}</h2><p>{{ t.how_text }}</p>
<h2>{{ t.questions }}</h2><ol>
{% for q in key.questions %}<li><code>{{ q.id }}</code> ({{ q.points|round(2) }}
{{ t.pts }}) {{ q.text("prompt", lang) }}</li>
{% endfor %}</ol><p>{{ t.total }}: {{ key.total_points|round(2) }} {{ t.pts }}</p>
<h2>{{ t.diagram }}</h2><p>{{ t.diagram_text }}</p>
{% if svg %}<div>{{ svg }}</div>{% endif %}<pre>{{ diagram }}</pre>
</body></html>
"""


def _conn_text(key: AnswerKey, lang: str) -> str:
    frames = [p.frame for p in key.packets]
    a, b = (min(frames), max(frames)) if frames else (0, 0)
    return _T[lang]["conn_text"].format(id=key.conn_id, a=a, b=b, n=len(frames))


def _diagram(key: AnswerKey, lang: str) -> str:
    c, s = ("客户端", "服务器") if lang == "zh" else ("client", "server")
    return ladder_text(key.packets, c, s, mode="blank", lang=lang)


def sheet_markdown(key: AnswerKey, lang: str = "en", ladder: str = "") -> str:
    t = _T[lang]
    out = [f"# {key.title}", "",
           f"- **{t['capture']}:** `{Path(key.capture).name}`",
           f"- **{t['conn']}:** {_conn_text(key, lang)}"]
    if key.variant:
        out.append(f"- **{t['variant']}:** `{key.variant}`")
    out += ["", f"## {t['how']}", "", t["how_text"], "", f"## {t['questions']}", ""]
    for i, q in enumerate(key.questions, 1):
        out.append(f"{i}. `{q.id}` ({q.points:g} {t['pts']}) {q.text('prompt', lang)}")
    out += ["", f"{t['total']}: {key.total_points:g} {t['pts']}", "",
            f"## {t['diagram']}", "", t["diagram_text"], ""]
    if ladder:
        out += ["```", ladder.rstrip(), "```", ""]
    out += ["```", _diagram(key, lang).rstrip(), "```", ""]
    return "\n".join(out)


def sheet_html(key: AnswerKey, lang: str = "en", svg: str = "") -> str:
    env = Environment(autoescape=True)
    return env.from_string(_HTML).render(key=key, lang=lang, t=_T[lang], svg=Markup(svg),
                                         capture=Path(key.capture).name,
                                         conn_text=_conn_text(key, lang),
                                         diagram=_diagram(key, lang))


def _templates(key: AnswerKey) -> tuple[str, str]:
    doc = {q.id: "" for q in key.questions}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["question", "answer"])
    for q in key.questions:
        w.writerow([q.id, ""])
    return json.dumps({"answers": doc}, indent=2) + "\n", buf.getvalue()


KEEP_KINDS = {"flags", "time", "legend", "gap"}  # everything else is blanked on the sheet


def ladder_diagram(result: Any, conn_id: int, lang: str) -> tuple[str, str]:
    """(text, svg) of the diagram stage's ladder with numbers, states, steps, checks,
    titles and notes blanked; ("", "") when analyzer.render.ladder is not available."""
    try:
        from analyzer.render.ladder import FIELD_KINDS, build_ladder, render, render_text

        lad = build_ladder(result, conn_id, full=True, lang=lang)
        blank = lad.blanked(set(FIELD_KINDS) - KEEP_KINDS)
        svg = render(blank, "svg")
        return render_text(blank), svg if isinstance(svg, str) else svg.decode("utf-8")
    except Exception:  # the sheet falls back to the classroom's own ladder
        return "", ""


def write_exercise(key: AnswerKey, out: Path, lang: str = "en",
                   result: Any = None) -> list[Path]:
    """sheet.md, sheet.html, answer_key.json and the answer templates into ``out``.

    With the capture's ``result`` the sheet also gets the diagram stage's ladder (text in
    the Markdown, inline SVG in the HTML), blanked; the frame-numbered packet list below
    it is the classroom's own text ladder."""
    out.mkdir(parents=True, exist_ok=True)
    text, svg = ladder_diagram(result, key.conn_id, lang) if result is not None else ("", "")
    paths = [out / "sheet.md", out / "sheet.html", out / "answer_key.json",
             out / "answers_template.json", out / "answers_template.csv"]
    paths[0].write_text(sheet_markdown(key, lang, text), encoding="utf-8")
    paths[1].write_text(sheet_html(key, lang, svg), encoding="utf-8")
    save_key(key, paths[2])
    tj, tc = _templates(key)
    paths[3].write_text(tj, encoding="utf-8")
    paths[4].write_text(tc, encoding="utf-8")
    return paths
