"""The check catalogue (analyzer/checks/catalogue.py, render/findings.py): complete entries
in both languages, docs/checks.md in sync with the registry, and the CLI commands."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer.checks import REGISTRY, _load_catalogue
from analyzer.cli import cli
from analyzer.render.findings import catalogue, catalogue_markdown

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "checks.md"
SAMPLE = ROOT / "sample_pcaps" / "01_clean_close.pcap"
CJK = re.compile(r"[\u4e00-\u9fff]")
STATES = ("SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT",
          "CLOSING", "LAST_ACK", "TIME_WAIT", "LISTEN")
PROTOCOL_CHECKS = {
    "synack_wrong_ack", "handshake_ack_wrong_ack", "handshake_ack_wrong_seq", "syn_with_data",
    "syn_resent_with_new_isn", "synack_resent_with_different_seq_or_ack",
    "ack_number_without_ack_flag", "simultaneous_open", "handshake_options_mismatch",
    "fin_ack_wrong", "data_after_fin", "fin_retransmitted", "rst_out_of_window",
    "rst_with_data", "challenge_ack", "syn_no_reply", "synack_no_ack", "fin_wait_2_abandoned",
    "syn_flood", "mid_connection_start", "segment_not_captured", "duplicate_packet",
    "truncated_by_snaplen", "bad_checksum_likely_offload", "state_unknown",
    "connection_refused", "segment_exceeds_mss",
}


def test_the_issue_catalogue_is_registered():
    _load_catalogue()
    assert set(REGISTRY) >= PROTOCOL_CHECKS


@pytest.mark.parametrize("check_id", sorted(PROTOCOL_CHECKS))
def test_catalogue_entry_is_complete(check_id):
    _load_catalogue()
    s = REGISTRY[check_id]
    assert re.fullmatch(r"[a-z0-9_]+", s.id) and s.fn is not None
    assert s.severity in ("error", "warning", "info")
    assert s.category in ("handshake", "teardown", "half_open", "capture", "state")
    assert s.rfc.startswith("RFC ")
    assert s.title and CJK.search(s.title_zh)
    assert len(s.explanation) > 200 and CJK.search(s.explanation_zh)
    for state in STATES:  # RFC state names stay in Latin letters in Chinese
        if re.search(rf"\b{state}\b", s.explanation):
            assert state in s.explanation_zh, state


def test_docs_checks_md_is_generated_from_the_registry():
    assert DOCS.read_text() == catalogue_markdown("both"), (
        "docs/checks.md is stale: run `python -m analyzer.checks.catalogue > docs/checks.md`")


def test_markdown_has_a_section_per_check():
    md = catalogue_markdown("en")
    for s in catalogue():
        assert f"\n## {s.id}\n" in md


def test_cli_checks_table_and_markdown():
    runner = CliRunner()
    res = runner.invoke(cli, ["checks", "--format", "markdown", "--lang", "zh"])
    assert res.exit_code == 0 and "## synack_wrong_ack" in res.output and CJK.search(res.output)
    res = runner.invoke(cli, ["checks"])
    assert res.exit_code == 0 and "syn_no_reply" in res.output


def test_cli_analyze_findings_and_json():
    runner = CliRunner()
    res = runner.invoke(cli, ["analyze", str(SAMPLE), "--findings"])
    assert res.exit_code == 0 and "no findings" in res.output
    res = runner.invoke(cli, ["analyze", str(SAMPLE), "--format", "json", "--lang", "zh"])
    assert res.exit_code == 0 and json.loads(res.output)["findings"] == []


def test_cli_explain_tells_the_story_in_both_languages():
    runner = CliRunner()
    res = runner.invoke(cli, ["explain", str(SAMPLE), "--conn", "0"])
    assert res.exit_code == 0
    assert "Three-way handshake" in res.output and "= client ISN + 1 ✓" in res.output
    assert "FIN seq + len + 1 ✓" in res.output and "No findings" in res.output
    res = runner.invoke(cli, ["explain", str(SAMPLE), "--conn", "0", "--lang", "zh"])
    assert res.exit_code == 0 and "三次握手" in res.output and "四次挥手" in res.output
    res = runner.invoke(cli, ["explain", str(SAMPLE), "--conn", "99"])
    assert res.exit_code != 0
