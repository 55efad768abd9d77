"""`synack crosscheck`: synack against tshark's two-pass TCP analysis, and docs/crosscheck.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from analyzer.engines.crosscheck import NO_EQUIVALENT, VERDICTS, crosscheck
from analyzer.engines.crosscheck_explained import explain
from analyzer.engines.crosscheck_report import report
from analyzer.engines.tshark_analysis import tshark_analysis

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "sample_pcaps").glob("*.pcap*"))
SHARED = Path(os.environ.get("SYNACK_SHARED", ROOT.parent / "shared")) / "captures"
PCAPS = SHARED / "pcaps"
FEW_SHARED = ["suri-bug-5881-01.pcap", "ppa1-gnutella.pcap", "arkime-nflog.pcap",
              "arkime-wireshark-retrans.pcap", "suri-bug-7657-01.pcap"]


@cache
def doc_for(path: Path) -> dict[str, Any]:
    return crosscheck(str(path)).to_dict()


def _synack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "analyzer.cli", *args], capture_output=True,
                          text=True)


VERDICT_KEYS = {"verdict", "tshark_flag", "synack", "tshark", "synack_count", "both",
                "tshark_only", "synack_only", "agreement", "disagreeing_copies"}


def check_schema(doc: dict[str, Any]) -> None:
    assert doc["schema_version"] == 1
    assert set(doc) == {"schema_version", "capture", "engine", "tshark_version", "frames",
                        "verdicts", "streams", "handshake_rtt", "completeness",
                        "no_equivalent", "disagreements", "warnings"}
    assert set(doc["frames"]) == {"tshark_tcp", "synack_tcp", "both", "tshark_only",
                                  "synack_only"}
    assert [v["verdict"] for v in doc["verdicts"]] == [v.name for v in VERDICTS]
    for v in doc["verdicts"]:
        assert set(v) == VERDICT_KEYS
        assert v["both"] + v["tshark_only"] == v["tshark"]
        assert v["both"] + v["synack_only"] == v["synack_count"]
    assert set(doc["streams"]) == {"tshark_streams", "synack_connections", "same", "split",
                                   "merged", "partial", "not_decoded"}
    assert set(doc["handshake_rtt"]) == set(doc["completeness"]) == {"compared", "agree",
                                                                      "differ"}
    assert [r["tshark_flag"] for r in doc["no_equivalent"]] == \
        [f"tcp.analysis.{f}" for f in NO_EQUIVALENT]
    for c in doc["disagreements"]:
        assert set(c) == {"check", "class", "count", "examples"}
        assert 0 < len(c["examples"]) <= min(3, c["count"])


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_crosscheck_on_samples(path: Path) -> None:
    doc = doc_for(path)
    check_schema(doc)
    assert doc["frames"]["tshark_only"] == doc["frames"]["synack_only"] == 0
    assert doc["streams"]["same"] == doc["streams"]["tshark_streams"]
    for c in doc["disagreements"]:
        assert explain(c["check"], c["class"]).verdict != "open", c["class"]


@pytest.mark.parametrize("name", FEW_SHARED)
def test_crosscheck_on_shared_captures(name: str) -> None:
    check_schema(doc_for(PCAPS / name))


def _classes(doc: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(c["check"], c["class"]): c["count"] for c in doc["disagreements"]}


def test_duplicated_capture_is_not_a_retransmission() -> None:
    doc = doc_for(PCAPS / "arkime-wireshark-retrans.pcap")
    retx = next(v for v in doc["verdicts"] if v["verdict"] == "retransmission")
    assert retx["tshark"] == 47 and retx["synack_count"] == 0
    assert retx["disagreeing_copies"] == 47
    cls = _classes(doc)
    assert cls[("retransmission", "tshark yes, synack no (synack: duplicate capture)")] == 47
    ex = next(c for c in doc["disagreements"] if c["check"] == "retransmission")["examples"][0]
    assert ex["frame"] == 2 and "frame 1 captured again" in ex["synack"]


def test_repacketized_resend_with_dsack_is_spurious_not_out_of_order() -> None:
    doc = doc_for(PCAPS / "suri-bug-5881-01.pcap")
    cls = _classes(doc)
    assert cls[("out-of-order", "tshark yes, synack no (synack: retransmission kind spurious)")] \
        == 3
    ex = next(c for c in doc["disagreements"] if c["check"] == "out-of-order")["examples"][0]
    assert ex["frame"] == 17 and "dsack" in ex["synack"]


def test_one_syn_sent_three_times_is_one_connection() -> None:
    doc = doc_for(PCAPS / "suri-bug-7657-01.pcap")
    assert doc["streams"]["merged"] == 3 and doc["streams"]["tshark_streams"] == 24


def test_exotic_link_type_is_read_through_tshark() -> None:
    doc = doc_for(PCAPS / "arkime-nflog.pcap")
    assert doc["engine"] == "tshark" and doc["frames"]["both"] == 10


def test_tshark_analysis_matches_the_truth_files() -> None:
    import pandas as pd

    name = "ppa1-gnutella.pcap"
    ours = tshark_analysis(str(PCAPS / name)).frames
    truth = pd.read_csv(SHARED / "truth" / f"{name}.packets.csv.gz")
    assert ours["frame"].tolist() == truth["frame"].tolist()
    assert ours["stream"].tolist() == truth["stream"].tolist()
    for flag in ("retransmission", "duplicate_ack", "keep_alive", "reused_ports"):
        assert ours[flag].astype(int).tolist() == truth[flag].tolist(), flag


def test_cli_json() -> None:
    r = _synack("crosscheck", "--json", str(SAMPLES[0]))
    assert r.returncode == 0, r.stderr
    check_schema(json.loads(r.stdout))


def test_cli_text_shows_the_table_and_the_reasons() -> None:
    r = _synack("crosscheck", str(PCAPS / "ppa1-gnutella.pcap"))
    assert r.returncode == 0, r.stderr
    for needle in ("retransmission", "agreement", "tcp.analysis.window_update",
                   "retransmission: tshark yes, synack no (synack: RST)", "frame 36",
                   "RST without data"):
        assert needle in r.stdout, needle


def test_cli_stdin_is_a_usage_error() -> None:
    r = _synack("crosscheck", "-")
    assert r.returncode == 2 and "stdin" in r.stderr


def test_report_explains_every_class(tmp_path: Path) -> None:
    for name in ("suri-bug-5881-01.pcap", "arkime-mongo.pcap"):
        (tmp_path / name).symlink_to(PCAPS / name)
    text, open_classes = report(tmp_path, jobs=1)
    assert open_classes == 0
    for needle in ("## Agreement", "## tshark flags synack has no equivalent for",
                   "### out-of-order: tshark yes, synack no", "**Right: synack.**",
                   "`suri-bug-5881-01.pcap` frame 17"):
        assert needle in text, needle


def test_docs_crosscheck_is_generated() -> None:
    text = (ROOT / "docs" / "crosscheck.md").read_text()
    assert text.startswith("# synack against Wireshark")
    assert "Not yet explained" not in text
