"""The report's page: one Jinja2 template with its CSS and script inline (no assets)."""

from __future__ import annotations

__all__ = ["SCRIPT", "STYLE", "TEMPLATE"]

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",
 "WenQuanYi Zen Hei",sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f3b57;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:20px;word-break:break-all}
header p{margin:4px 0 0;opacity:.85}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid #ddd;padding:6px 24px;
 z-index:5}
nav a{margin-right:16px;color:#1f3b57;text-decoration:none;font-weight:600}
main{padding:8px 24px 40px;max-width:1500px}
h2{border-bottom:2px solid #1f3b57;padding-bottom:4px;margin-top:32px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:20px}
.note{background:#fff8e1;border-left:4px solid #e6a700;padding:6px 12px;margin:10px 0}
table{border-collapse:collapse;background:#fff;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#eef2f7;position:sticky;top:36px}
th.sortable{cursor:pointer;user-select:none}
th.sortable:after{content:" ⇅";color:#99a}
th[aria-sort=ascending]:after{content:" ▲"} th[aria-sort=descending]:after{content:" ▼"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.sev-error{color:#c0392b;font-weight:700} .sev-warning{color:#b9770e;font-weight:700}
.sev-info{color:#2471a3}
.filters{margin:10px 0;display:flex;gap:12px;flex-wrap:wrap;align-items:center}
.filters label{font-weight:600}
.group{background:#fff;border:1px solid #ddd;border-radius:6px;margin:10px 0;padding:6px 14px}
.group summary{cursor:pointer;font-weight:600}
.conn{background:#fff;border:1px solid #ccd;border-radius:6px;margin:18px 0;padding:8px 16px}
.conn:target{outline:3px solid #f1c40f}
.conn,tr,section,details{scroll-margin-top:48px}
th{white-space:nowrap}
.wide{overflow-x:auto}
svg.figure{max-width:100%;height:auto;display:block}
pre.preview{background:#f4f4f4;padding:6px;white-space:pre-wrap;word-break:break-all;
 max-height:12em;overflow:auto;font-size:12px}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:12px}
.muted{color:#777}
"""

SCRIPT = r"""
(function () {
  "use strict";
  var table = document.getElementById("connections");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var stateSel = document.getElementById("filter-state");
  var checkSel = document.getElementById("filter-check");
  var text = document.getElementById("filter-text");
  var count = document.getElementById("shown-count");
  function apply() {
    var st = stateSel.value, ck = checkSel.value, q = text.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (r) {
      var checks = r.getAttribute("data-checks").split(" ").filter(Boolean);
      var ok = (!st || r.getAttribute("data-state") === st) &&
        (!ck || (ck === "*any" ? checks.length > 0 :
                 ck === "*none" ? checks.length === 0 : checks.indexOf(ck) >= 0)) &&
        (!q || r.textContent.toLowerCase().indexOf(q) >= 0);
      r.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = String(shown);
  }
  [stateSel, checkSel].forEach(function (e) { e.addEventListener("change", apply); });
  text.addEventListener("input", apply);
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
    if (!th.classList.contains("sortable")) { return; }
    th.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) {
        c.removeAttribute("aria-sort");
      });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var numeric = th.getAttribute("data-type") === "num";
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-v"), y = b.cells[col].getAttribute("data-v");
        var d = numeric ? (parseFloat(x) || 0) - (parseFloat(y) || 0) :
          x.localeCompare(y);
        return asc ? d : -d;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  apply();
})();
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="{{ 'zh-CN' if lang == 'zh' else 'en' }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>synack report — {{ source_name }}</title>
<style>{{ style }}</style>
</head>
<body>
<header>
<h1>synack — {{ source_name }}</h1>
<p>{{ s.segments | num }} {{ ui.segments }}, {{ s.connections | num }} {{ ui.connections }},
{{ "%.3f" | format(s.duration_s) }} s · {{ ui.profile }} {{ s.profile }}</p>
</header>
<nav><a href="#summary">{{ ui.summary }}</a><a href="#findings">{{ ui.findings }}</a>
<a href="#table">{{ ui.table }}</a><a href="#plots">{{ ui.plots }}</a>
<a href="#details">{{ ui.details }}</a></nav>
<main>
<section id="summary"><h2>{{ ui.summary }}</h2>
<div class="cards">
<div class="card"><b>{{ s.connections | num }}</b>{{ ui.connections }}</div>
<div class="card"><b>{{ s.segments | num }}</b>{{ ui.segments }}</div>
<div class="card"><b class="sev-error">{{ s.errors | num }}</b>{{ ui.errors }}</div>
<div class="card"><b class="sev-warning">{{ s.warnings | num }}</b>{{ ui.warnings }}</div>
<div class="card"><b class="sev-info">{{ s.infos | num }}</b>{{ ui.infos }}</div>
{% for k, v in s.by_summary.items() %}<div class="card"><b>{{ v | num }}</b>{{ k }}</div>
{% endfor %}
</div>
<p>{{ ui.file }}: <code>{{ source }}</code> ({{ s.format }}, {{ s.frames | num }} {{ ui.frames }},
{{ s.anomalies | num }} {{ ui.anomalies }}).
{% for i in s.interfaces %}{{ ui.interface }} {{ loop.index0 }}: {{ i.name or "—" }}
(link type {{ i.linktype }}){% if not loop.last %}; {% endif %}{% endfor %}</p>
{% for w in s.warnings_list %}<p class="note">{{ w }}</p>{% endfor %}
</section>

<section id="findings"><h2>{{ ui.findings }}</h2>
{% if not groups %}<p>{{ ui.no_findings }}</p>{% endif %}
{% for g in groups %}<details class="group" id="check-{{ g.id }}"
{%- if g.severity != 'info' %} open{% endif %}>
<summary><span class="sev-{{ g.severity }}">{{ g.severity }}</span> <code>{{ g.id }}</code> —
{{ g.title }} ({{ g.count | num }} {{ ui.in }} {{ g.connections | num }}
{{ ui.connections }})</summary>
<p>{{ g.explanation }} <span class="muted">{{ g.rfc }}</span></p>
<ul>{% for i in g.instances %}<li><a href="{{ '#conn-' if i.linked else '#row-' }}{{ i.conn }}"
 class="finding-link">{{ ui.connection }} {{ i.conn }}</a>, {{ ui.frame }} {{ i.frame }}:
{{ i.message }}</li>{% endfor %}
{% if g.more %}<li class="muted">{{ ui.more.format(n=g.more) }}</li>{% endif %}</ul>
</details>{% endfor %}
</section>

<section id="table"><h2>{{ ui.table }}</h2>
{% if table_capped %}<p class="note">{{ table_capped }}</p>{% endif %}
<div class="filters">
<label for="filter-state">{{ ui.state }}</label>
<select id="filter-state"><option value="">{{ ui.all }}</option>
{% for st in states %}<option value="{{ st }}">{{ st }}</option>{% endfor %}</select>
<label for="filter-check">{{ ui.finding }}</label>
<select id="filter-check"><option value="">{{ ui.all }}</option>
<option value="*any">{{ ui.any_finding }}</option><option value="*none">{{ ui.no_finding }}</option>
{% for c in check_ids %}<option value="{{ c }}">{{ c }}</option>{% endfor %}</select>
<label for="filter-text">{{ ui.search }}</label><input id="filter-text" type="search">
<span><span id="shown-count">{{ rows | length }}</span> / {{ rows | length }} {{ ui.shown }}</span>
</div>
<div class="wide"><table id="connections"><thead><tr>
<th class="sortable" data-type="num">id</th><th class="sortable">{{ ui.client }}</th>
<th class="sortable">{{ ui.server }}</th><th class="sortable">{{ ui.state }}</th>
<th class="sortable">conn_state</th><th class="sortable">history</th>
<th class="sortable" data-type="num">{{ ui.start }}</th>
<th class="sortable" data-type="num">{{ ui.duration }}</th>
<th class="sortable" data-type="num">{{ ui.packets }}</th>
<th class="sortable" data-type="num">{{ ui.bytes }}</th>
<th class="sortable" data-type="num">{{ ui.retx }}</th>
<th class="sortable" data-type="num">RTT (ms)</th>
<th class="sortable" data-type="num">{{ ui.findings }}</th><th>{{ ui.checks }}</th>
</tr></thead><tbody>
{% for r in rows %}<tr id="row-{{ r.id }}" data-state="{{ r.summary }}"
 data-checks="{{ r.checks | join(' ') }}">
<td class="num" data-v="{{ r.id }}">{% if r.section %}<a class="conn-link"
 href="#conn-{{ r.id }}">{{ r.id }}</a>{% else %}{{ r.id }}{% endif %}</td>
<td data-v="{{ r.client }}">{{ r.client }}</td><td data-v="{{ r.server }}">{{ r.server }}</td>
<td data-v="{{ r.summary }}">{{ r.summary }}</td>
<td data-v="{{ r.conn_state }}">{{ r.conn_state }}</td>
<td data-v="{{ r.history }}"><code>{{ r.history }}</code></td>
<td class="num" data-v="{{ r.start_s }}">{{ "%.6f" | format(r.start_s) }}</td>
<td class="num" data-v="{{ r.duration_s }}">{{ "%.3f" | format(r.duration_s) }}</td>
<td class="num" data-v="{{ r.packets }}">{{ r.packets | num }}</td>
<td class="num" data-v="{{ r.bytes }}">{{ r.bytes | num }}</td>
<td class="num" data-v="{{ r.retx }}">{{ r.retx | num }}</td>
<td class="num" data-v="{{ r.rtt_ms if r.rtt_ms is not none else '' }}">
{{ "%.3f" | format(r.rtt_ms) if r.rtt_ms is not none else "—" }}</td>
<td class="num sev-{{ r.worst }}" data-v="{{ r.findings }}">{{ r.findings }}</td>
<td>{{ r.checks | join(", ") }}</td></tr>
{% endfor %}</tbody></table></div>
</section>

<section id="plots"><h2>{{ ui.plots }}</h2><div class="plots">
{% for p in plots %}<figure>{{ p }}</figure>{% endfor %}
</div></section>

<section id="details"><h2>{{ ui.details }}</h2>
{% if sections_capped %}<p class="note">{{ sections_capped }}</p>{% endif %}
{% for c in sections %}<article class="conn" id="conn-{{ c.id }}">
<h3>{{ c.title }}</h3>
<p>{{ ui.final }}: {{ ui.client }} {{ c.client_final }}, {{ ui.server }} {{ c.server_final }}.
{% if c.collapsed %}{{ ui.collapsed.format(n=c.collapsed) }}{% endif %}
<a href="#row-{{ c.id }}">{{ ui.back }}</a></p>
{{ c.diagram }}
{% if c.findings %}<h4>{{ ui.findings }}</h4><ul>
{% for f in c.findings %}<li><span class="sev-{{ f.severity }}">{{ f.severity }}</span>
<a href="#check-{{ f.check }}"><code>{{ f.check }}</code></a>
({{ ui.frame }} {{ f.frame }}): {{ f.message }}
<br><span class="muted">{{ ui.expected }}: {{ f.expected }} ·
{{ ui.observed }}: {{ f.observed }} · {{ f.rfc }}</span></li>
{% endfor %}</ul>{% endif %}
<h4>{{ ui.timeline }}</h4>
<table><thead><tr><th>{{ ui.endpoint }}</th><th>{{ ui.frame }}</th><th>t (s)</th>
<th>{{ ui.change }}</th><th></th><th>{{ ui.cause }}</th></tr></thead><tbody>
{% for t in c.transitions %}<tr><td>{{ t.endpoint }}</td>
<td class="num">{{ t.frame if t.frame >= 0 else "timer" }}</td>
<td class="num">{{ "%.6f" | format(t.t) }}</td><td>{{ t.from }} → <b>{{ t.to }}</b></td>
<td>{{ ui.observed if t.observed else ui.inferred }}</td><td>{{ t.cause }}</td></tr>
{% endfor %}</tbody></table>
{% if c.preview_c or c.preview_s %}<h4>{{ ui.payload }}</h4>
{% if c.preview_c %}<p>{{ ui.client }}:</p><pre class="preview">{{ c.preview_c }}</pre>{% endif %}
{% if c.preview_s %}<p>{{ ui.server }}:</p><pre class="preview">{{ c.preview_s }}</pre>{% endif %}
{% endif %}
</article>{% endfor %}
</section>
</main>
<script>{{ script }}</script>
</body>
</html>
"""
