"""`synack timing` and `synack analyze --profile` (analyzer.commands.timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RTO = ROOT / "sample_pcaps" / "08_data_rto_backoff.pcap"
REUSE = ROOT / "sample_pcaps" / "11_time_wait.pcap"



def synack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "analyzer.cli", *args], capture_output=True,
                          cwd=ROOT, check=False, text=True)


def test_timing_prints_fit_chains_and_time_wait():
    r = synack("timing", str(RTO))
    assert r.returncode == 0, r.stderr
    assert "linux (tcp_syn_linear_timeouts" in r.stdout
    assert "retransmission chains" in r.stdout and "rto rto rto" in r.stdout
    assert "TIME_WAIT" in r.stdout and "client 10.213.0.1" in r.stdout


def test_timing_one_connection_lists_each_retransmission():
    r = synack("timing", str(RTO), "--conn", "0")
    assert r.returncode == 0, r.stderr
    assert "connection 0: retransmissions" in r.stdout and "tlp" in r.stdout


def test_timing_json():
    r = synack("timing", str(REUSE), "--format", "json", "--profile", "rfc")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["profile"] == "rfc"
    assert doc["time_wait"][0]["until"] == "fin_resent"
    assert all(t["expected_s"] == 240.0 for t in doc["time_wait"])


def test_timing_unknown_connection_is_a_usage_error():
    r = synack("timing", str(RTO), "--conn", "7")
    assert r.returncode == 2 and "no connection 7" in r.stderr


def test_analyze_profile_option_and_columns():
    r = synack("analyze", str(RTO), "--format", "json", "--profile", "windows")
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)["connection_table"][0]
    assert row["retx_rto"] >= 6 and row["time_wait_side"] == "client"
    assert row["longest_backoff"] == 6
    bad = synack("analyze", str(RTO), "--profile", "beos")
    assert bad.returncode == 2
