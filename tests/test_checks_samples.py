"""The checks on the project's own Linux captures (sample_pcaps/*.pcap + .truth.json).

Each truth file's ``expected`` facts imply findings (refused → connection_refused, SYN
retries → syn_no_reply, SYN-ACK retries → synack_no_ack, a resent FIN → fin_retransmitted,
a flood → syn_flood, offloads left on → bad_checksum_likely_offload and, with TSO,
segment_exceeds_mss); clean captures (no fault injected, offloads off) have no warning or
error at all; and a Linux kernel never breaks the handshake or teardown arithmetic.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analyzer.api import analyze
from analyzer.result import AnalysisResult

SAMPLES = Path(__file__).resolve().parents[1] / "sample_pcaps"
TRUTHS = sorted(SAMPLES.glob("*.truth.json"))


ARITHMETIC = {"synack_wrong_ack", "handshake_ack_wrong_ack", "handshake_ack_wrong_seq",
              "fin_ack_wrong", "data_after_fin", "state_unknown"}


@cache
def _load(truth_path: Path) -> tuple[dict[str, Any], AnalysisResult]:
    truth = json.loads(truth_path.read_text())
    return truth, analyze(str(SAMPLES / truth["capture"]["file"]))


def _conn_ids(result: AnalysisResult, conn: dict[str, Any]) -> list[int]:
    c = result.connections
    hit = c[(c["client_port"] == conn["client"]["port"])
            & (c["server_port"] == conn["server"]["port"])]
    return hit["conn_id"].tolist()


def _findings(result: AnalysisResult, ids: list[int]) -> pd.DataFrame:
    fd = result.findings
    return fd[fd["conn_id"].isin(ids)]


def _clean(truth: dict[str, Any]) -> bool:
    if truth.get("filters") or not truth["capture"].get("offloads_off", True) or truth["flood"]:
        return False
    return all(c["expected"].get("handshake_completed") and not c["expected"].get("refused")
               and c["expected"].get("reset_by") is None and not c["expected"].get("half_open")
               for c in truth["connections"])


def _expected_checks(exp: dict[str, Any]) -> set[str]:
    want = set()
    if exp.get("refused"):
        want.add("connection_refused")
    if exp.get("syn_retry_count") and not exp.get("handshake_completed"):
        want.add("syn_no_reply")
    if exp.get("synack_retry_count"):
        want.add("synack_no_ack")
    if exp.get("fin_resent_by"):
        want.add("fin_retransmitted")
    return want


@pytest.mark.parametrize("truth_path", TRUTHS, ids=[p.stem for p in TRUTHS])
def test_expected_findings_appear(truth_path: Path) -> None:
    truth, result = _load(truth_path)
    for conn in truth["connections"]:
        if conn["client"].get("port") is None:
            continue
        ids = _conn_ids(result, conn)
        assert ids, f"connection {conn['label']} not found"
        got = set(_findings(result, ids)["check"])
        missing = _expected_checks(conn["expected"]) - got
        assert not missing, (conn["label"], missing, got)


@pytest.mark.parametrize("truth_path", TRUTHS, ids=[p.stem for p in TRUTHS])
def test_linux_never_breaks_the_arithmetic(truth_path: Path) -> None:
    _, result = _load(truth_path)
    fd = result.findings
    assert not set(fd["check"]) & ARITHMETIC
    assert "error" not in set(fd["severity"].astype(str))


@pytest.mark.parametrize("truth_path", [p for p in TRUTHS if _clean(json.loads(p.read_text()))],
                         ids=lambda p: p.stem)
def test_clean_captures_have_no_warnings_or_errors(truth_path: Path) -> None:
    _, result = _load(truth_path)
    fd = result.findings
    bad = fd[fd["severity"].astype(str).isin(["warning", "error"])]
    assert bad.empty, bad[["check", "conn_id", "message"]].to_string()


def test_half_closed_sample_is_half_closed_not_half_open() -> None:
    path = SAMPLES / "05_half_close.truth.json"
    _, result = _load(path)
    assert not {"syn_no_reply", "synack_no_ack", "fin_wait_2_abandoned", "peer_vanished",
                "data_after_fin"} & set(result.findings["check"])


def test_syn_flood_sample() -> None:
    path = SAMPLES / "12_syn_flood.truth.json"
    truth, result = _load(path)
    flood = truth["flood"]
    f = result.findings[result.findings["check"] == "syn_flood"]
    assert len(f) == 1
    target = f"{flood['target']['ip']}:{flood['target']['port']}"
    assert f"half-open connections to {target}" in f.iloc[0]["observed"]
    assert f"; {flood['count']} in the capture" in f.iloc[0]["observed"]
    assert "1 source address(es)" in f.iloc[0]["observed"]
    legit = [c for c in truth["connections"] if c["label"] == "legit"]
    for conn in legit:
        got = _findings(result, _conn_ids(result, conn))
        assert not {"syn_no_reply", "synack_no_ack"} & set(got["check"])


def test_offloads_sample() -> None:
    path = SAMPLES / "16_offloads_on.truth.json"
    truth, result = _load(path)
    checks = set(result.findings["check"])
    offloads = truth["capture"]["offloads"]
    if any(o.get("tx-checksumming") == "on" for o in offloads.values()):
        assert "bad_checksum_likely_offload" in checks
    tso = any(o.get("tcp-segmentation-offload") == "on" for o in offloads.values())
    if tso and truth["wire"]["max_tcp_payload_len"] > 1460:
        assert "segment_exceeds_mss" in checks
