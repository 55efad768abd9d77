"""`synack diff BEFORE AFTER`: exit 0 without regression, 1 with, 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

from rules_util import BUSY, CLEAN, SYN_RETRIES, synack


def test_same_capture_passes():
    r = synack("diff", str(CLEAN), str(CLEAN))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "synack diff: passed: no regression beyond the " \
                                        "thresholds"


def test_regressions_fail_and_are_named(tmp_path: Path):
    out = tmp_path / "diff.json"
    r = synack("diff", str(CLEAN), str(SYN_RETRIES), "--json", str(out))
    assert r.returncode == 1
    assert "state HALF-OPEN" in r.stdout and "REGRESSION +1 HALF-OPEN connections" in r.stdout
    assert r.stdout.splitlines()[-1] == "synack diff: FAILED: 5 regressions"
    doc = json.loads(out.read_text())
    assert not doc["passed"] and {m["name"] for m in doc["metrics"] if m["regression"]} == {
        "HALF-OPEN", "syn_no_reply", "synack_no_ack",
        "synack_resent_with_different_seq_or_ack", "retransmission_rate"}


def test_thresholds_relax_and_validate(tmp_path: Path):
    t = tmp_path / "t.toml"
    t.write_text("rtt_min_increase_ms = 5000\nretransmission_rate_increase = 0.05\n"
                 'finding_severities = ["error"]\n')
    r = synack("diff", str(CLEAN), str(BUSY), "--thresholds", str(t))
    assert r.returncode == 0, r.stdout
    r = synack("diff", str(CLEAN), str(BUSY), "--thresholds", str(t),
               "--threshold", "connections_change_pct=10")
    assert r.returncode == 1 and "changed by +299" in r.stdout
    t.write_text("rtt_increase = 5\n")
    bad = synack("diff", str(CLEAN), str(BUSY), "--thresholds", str(t))
    assert bad.returncode == 2
    assert f"{t}:1: unknown key 'rtt_increase'" in bad.stderr
    bad = synack("diff", str(CLEAN), str(BUSY), "--threshold", "nothing")
    assert bad.returncode == 2 and "KEY=VALUE" in bad.stderr
