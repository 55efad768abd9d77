"""The HTML report: self-contained, escaped, capped for large captures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from report_util import EVIL_IFACE, write_evil_capture

import analyzer
from analyzer.render.report import render_report, write_report
from analyzer.render.report.data import choose_sections

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_pcaps"


@pytest.fixture(scope="module")
def busy() -> analyzer.AnalysisResult:
    return analyzer.analyze(str(SAMPLES / "15_busy.pcap"))


def test_self_contained_page(tmp_path: Path) -> None:
    r = analyzer.analyze(str(SAMPLES / "08_data_rto_backoff.pcap"))
    html = write_report(r, tmp_path / "rep").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert html.count("<script>") == 1 and "<script src" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # no external asset
    assert '<link rel="stylesheet"' not in html
    assert html.count("<svg") == 5  # one diagram, four plots
    assert 'id="conn-0"' in html and 'href="#conn-0"' in html
    assert "RTO #2 432 ms ×2.0" in html  # the diagram's text is text
    assert 'id="check-retransmission"' in html
    assert "State timeline" in html and "FIN_WAIT_1" in html


def test_everything_from_a_packet_is_escaped(tmp_path: Path) -> None:
    cap = write_evil_capture(tmp_path / "evil<b>bold<img src=x>.pcapng")
    r = analyzer.analyze(str(cap))
    assert len(r.core_connections) == 1
    html = render_report(r)
    assert html.count("<script") == 1  # ours, at the end
    assert "<img" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the request, as text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;.example" in html  # the Host header
    assert "&lt;img src=x onerror=alert(3)&gt;" in html
    assert "&lt;script&gt;alert(&#39;iface&#39;)&lt;/script&gt;" in html
    assert EVIL_IFACE not in html
    assert "evil&lt;b&gt;bold&lt;img src=x&gt;.pcapng" in html


def test_sections_capped_findings_first(busy: analyzer.AnalysisResult) -> None:
    chosen = choose_sections(busy, 5)
    fd = busy.findings
    worst = fd[fd["severity"].astype(str) == "warning"]["conn_id"].unique()
    assert len(chosen) == 5 and set(chosen) <= set(worst.tolist())
    html = render_report(busy, max_sections=5, max_rows=50)
    assert html.count('<article class="conn"') == 5
    assert "Detailed sections for 5 of 300 connections" in html
    assert "The table lists 50 of 300 connections" in html
    assert len(re.findall(r'<tr id="row-', html)) == 50
    for c in chosen:
        assert f'id="row-{c}"' in html and f'href="#conn-{c}"' in html


def test_chinese_report(tmp_path: Path) -> None:
    r = analyzer.analyze(str(SAMPLES / "10_syn_unanswered.pcap"))
    html = render_report(r, lang="zh")
    assert '<html lang="zh-CN">' in html and "检查结果" in html
    assert "半开连接：这个 SYN 没有得到应答" in html


def test_analyze_output_also_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "analyzer.cli", "analyze",
                        str(SAMPLES / "01_clean_close.pcap"), "--output", str(out)],
                       capture_output=True, text=True, cwd=ROOT, check=False)
    assert p.returncode == 0, p.stderr
    assert (out / "index.html").exists() and (out / "connections.csv").exists()


def test_report_command(tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, "-m", "analyzer.cli", "report",
                        str(SAMPLES / "09_refused.pcap"), "-o", str(tmp_path / "r")],
                       capture_output=True, text=True, cwd=ROOT, check=False)
    assert p.returncode == 0, p.stderr
    html = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert "REFUSED" in html and "refused: the SYN was answered by an RST" in html


def test_report_default_directory() -> None:
    from analyzer.commands.report import default_dir

    assert default_dir("x/y/trace.pcapng.gz") == Path("reports/trace")
    assert default_dir("-") == Path("reports/stdin")
