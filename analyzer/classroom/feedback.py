"""A feedback page per student (Markdown and HTML, English or Chinese).

Every question that did not get full points is explained: the student's answer, the right
value (and the equivalent ones accepted), how to derive it from the packets, the
explanation of the related check from the same catalogue ``synack explain`` uses, and the
part of the ladder diagram the question is about. Failed requirements of a capture
assignment show what the capture showed instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment

from analyzer.checks import REGISTRY
from analyzer.classroom.compare import Mark
from analyzer.classroom.grade import StudentGrade
from analyzer.classroom.ladder import excerpt_rows, ladder_text
from analyzer.classroom.model import Question

__all__ = ["feedback_html", "feedback_markdown"]

_T = {
    "en": {
        "title": "Feedback for {s}", "score": "Score", "problems": "Problems with the submission",
        "summary": "Questions", "q": "Question", "pts": "Points", "result": "Result",
        "right": "right", "partial": "partly right", "wrong": "wrong", "missing": "missing",
        "unreadable": "could not be read", "yours": "Your answer", "correct": "Right answer",
        "also": "also accepted", "how": "How to find it", "why": "Why", "diagram":
        "The packets involved", "reqs": "What your capture had to show", "met": "met",
        "not_met": "not met", "shows": "Your capture shows", "graded": "Graded",
        "none": "(none)", "all_right": "Every answer is right.", "tolerance": "tolerance ±{t}",
    },
    "zh": {
        "title": "{s} 的批改反馈", "score": "得分", "problems": "提交中的问题",
        "summary": "题目", "q": "题目", "pts": "得分", "result": "结果",
        "right": "正确", "partial": "部分正确", "wrong": "错误", "missing": "未作答",
        "unreadable": "无法识别", "yours": "你的答案", "correct": "正确答案",
        "also": "也接受", "how": "如何从报文段中得出", "why": "原因", "diagram": "相关的报文段",
        "reqs": "你的抓包需要体现的内容", "met": "满足", "not_met": "未满足",
        "shows": "你的抓包显示", "graded": "批改的连接", "none": "（无）",
        "all_right": "所有答案都正确。", "tolerance": "允许误差 ±{t}",
    },
}


@dataclass
class _Item:
    q: Question
    m: Mark
    right: str
    also: str
    why_title: str
    why: str
    diagram: str


def _value(v: Any, q: Question, none: str) -> str:
    if isinstance(v, list):
        if not v:
            return none
        return ", ".join(f"{x:,}" if isinstance(x, int) and q.kind == "int" else str(x)
                         for x in v)
    if isinstance(v, int) and q.kind == "int" and abs(v) >= 10000:
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _items(g: StudentGrade, lang: str) -> list[_Item]:
    from analyzer.checks import _load_catalogue

    _load_catalogue()
    t = _T[lang]
    key = g.key
    if key is None:
        return []
    out = []
    for m in g.marks:
        if m.status == "right":
            continue
        q = key.question(m.qid)
        unit = f" {q.unit}" if q.unit else ""
        spec = REGISTRY.get(q.concept)
        rows = excerpt_rows(key.packets, q.frames)
        c, s = ("客户端", "服务器") if lang == "zh" else ("client", "server")
        tol = max(q.tolerance, q.rel_tolerance * abs(float(q.answer))) \
            if q.kind == "number" else q.tolerance
        right = _value(q.answer, q, t["none"]) + (unit if q.answer != [] else "")
        if tol:
            right += f" ({t['tolerance'].format(t=f'{tol:g}{unit}')})"
        out.append(_Item(
            q, m, right, "; ".join(_value(a, q, t["none"]) for a in q.accept),
            (spec.title_zh if lang == "zh" else spec.title) if spec else "",
            (spec.explanation_zh if lang == "zh" else spec.explanation) if spec else "",
            ladder_text(rows, c, s, mode="full", lang=lang) if rows else ""))
    return out


def _context(g: StudentGrade, lang: str) -> dict[str, Any]:
    t = _T[lang]
    key = g.key
    return {
        "t": t, "lang": lang, "g": g, "items": _items(g, lang),
        "title": t["title"].format(s=g.student),
        "max": f"{g.max_points:g}", "score": f"{g.score:g}",
        "rows": [(m.qid, key.question(m.qid).text("prompt", lang) if key else m.qid,
                  f"{m.points:g} / {m.max_points:g}", t[m.status]) for m in g.marks],
        "reqs": [(r.req.text.get(lang, r.req.text["en"]), f"{r.points:g} / {r.req.points:g}",
                  t["met"] if r.ok else t["not_met"], r.ok,
                  [e.get(lang, e["en"]) for e in r.evidence],
                  _concept(r.req.concept, lang)) for r in g.requirements],
        "problems": [p.get(lang, p["en"]) for p in g.problems],
        "graded": g.graded_conn.get(lang, "") if g.graded_conn else "",
    }


def _concept(check: str, lang: str) -> tuple[str, str]:
    spec = REGISTRY.get(check)
    if spec is None:
        return "", ""
    return (spec.title_zh, spec.explanation_zh) if lang == "zh" else \
        (spec.title, spec.explanation)


_MD = """# {{ title }}

**{{ t.score }}: {{ score }} / {{ max }}**
{% if graded %}
{{ t.graded }}: {{ graded }}
{% endif %}{% if problems %}
## {{ t.problems }}
{% for p in problems %}
- {{ p }}{% endfor %}
{% endif %}{% if reqs %}
## {{ t.reqs }}
{% for text, pts, res, ok, ev, concept in reqs %}
- **{{ text }}** — {{ res }} ({{ pts }}){% if not ok and ev %}
  - {{ t.shows }}: {{ ev | join("; ") }}{% endif %}{% if not ok and ev and concept[0] %}
  - {{ t.why }} — {{ concept[0] }}: {{ concept[1] }}{% endif %}{% endfor %}
{% endif %}{% if rows %}
## {{ t.summary }}

| {{ t.q }} | | {{ t.pts }} | {{ t.result }} |
|---|---|---|---|
{% for qid, prompt, pts, res in rows %}| `{{ qid }}` | {{ prompt }} | {{ pts }} | {{ res }} |
{% endfor %}{% if not items %}
{{ t.all_right }}
{% endif %}{% endif %}{% for it in items %}
### `{{ it.q.id }}` — {{ t[it.m.status] }} ({{ it.m.points }} / {{ it.m.max_points }})

{{ it.q.text("prompt", lang) }}

- {{ t.yours }}: {{ it.m.given or t.none }}{% if it.m.detail %} ({{ it.m.detail }}){% endif %}
- {{ t.correct }}: **{{ it.right }}**{% if it.also %} ({{ t.also }}: {{ it.also }}){% endif %}
- {{ t.how }}: {{ it.q.text("derivation", lang) }}
{% if it.why %}- {{ t.why }} — {{ it.why_title }}: {{ it.why }}
{% endif %}{% if it.diagram %}
{{ t.diagram }}:

```
{{ it.diagram }}```
{% endif %}{% endfor %}"""

_HTML = """<!DOCTYPE html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>body{font-family:sans-serif;max-width:64em;margin:2em auto;line-height:1.45}
pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:80%}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}
.right{color:#176117}.wrong,.missing,.unreadable,.not_met{color:#a01010}.partial{color:#8a5a00}
</style></head><body>
<h1>{{ title }}</h1><p><b>{{ t.score }}: {{ score }} / {{ max }}</b></p>
{% if graded %}<p>{{ t.graded }}: {{ graded }}</p>{% endif %}
{% if problems %}<h2>{{ t.problems }}</h2><ul>{% for p in problems %}<li>{{ p }}</li>
{% endfor %}</ul>{% endif %}
{% if reqs %}<h2>{{ t.reqs }}</h2><ul>{% for text, pts, res, ok, ev, concept in reqs %}
<li><b>{{ text }}</b> — <span class="{{ 'right' if ok else 'not_met' }}">{{ res }}</span>
({{ pts }}){% if not ok and ev %}<br>{{ t.shows }}: {{ ev | join("; ") }}{% endif %}
{% if not ok and ev and concept[0] %}<br>{{ t.why }} — {{ concept[0] }}: {{ concept[1] }}{% endif %}
</li>{% endfor %}</ul>{% endif %}
{% if rows %}<h2>{{ t.summary }}</h2><table><tr><th>{{ t.q }}</th><th></th>
<th>{{ t.pts }}</th><th>{{ t.result }}</th></tr>
{% for qid, prompt, pts, res in rows %}<tr><td><code>{{ qid }}</code></td><td>{{ prompt }}</td>
<td>{{ pts }}</td><td>{{ res }}</td></tr>{% endfor %}</table>
{% if not items %}<p>{{ t.all_right }}</p>{% endif %}{% endif %}
{% for it in items %}<h3><code>{{ it.q.id }}</code> — <span class="{{ it.m.status }}">
{{ t[it.m.status] }}</span> ({{ it.m.points }} / {{ it.m.max_points }})</h3>
<p>{{ it.q.text("prompt", lang) }}</p><ul>
<li>{{ t.yours }}: <code>{{ it.m.given or t.none }}</code>{% if it.m.detail %}
({{ it.m.detail }}){% endif %}</li>
<li>{{ t.correct }}: <b>{{ it.right }}</b>{% if it.also %} ({{ t.also }}: {{ it.also }})
{% endif %}</li><li>{{ t.how }}: {{ it.q.text("derivation", lang) }}</li>
{% if it.why %}<li>{{ t.why }} — {{ it.why_title }}: {{ it.why }}</li>{% endif %}</ul>
{% if it.diagram %}<p>{{ t.diagram }}:</p><pre>{{ it.diagram }}</pre>{% endif %}
{% endfor %}</body></html>
"""


def feedback_markdown(g: StudentGrade, lang: str = "en") -> str:
    return Environment(autoescape=False, keep_trailing_newline=True).from_string(
        _MD).render(**_context(g, lang))


def feedback_html(g: StudentGrade, lang: str = "en") -> str:
    return Environment(autoescape=True).from_string(_HTML).render(**_context(g, lang))
