"""The command line: outputs, stdin, and bad input (one line, exit code 2, no traceback)."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analyzer import analyze

ROOT = Path(__file__).resolve().parent.parent
CLEAN = ROOT / "sample_pcaps" / "01_clean_close.pcap"


def synack(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "analyzer.cli", *args], input=stdin,
                          capture_output=True, cwd=ROOT, check=False,
                          text=stdin is None)


def test_analyze_table():
    r = synack("analyze", str(CLEAN))
    assert r.returncode == 0, r.stderr
    assert "10.213.0.1" in r.stdout and "TIME_WAIT" in r.stdout and "CLOSED" in r.stdout


def test_analyze_json_and_csv_agree():
    js = json.loads(synack("analyze", str(CLEAN), "--format", "json").stdout)
    assert js["connections"] == 1 and js["by_summary"] == {"CLOSED": 1}
    row = js["connection_table"][0]
    assert (row["client_final"], row["server_final"]) == ("TIME_WAIT", "CLOSED")
    from io import StringIO
    csv = pd.read_csv(StringIO(synack("analyze", str(CLEAN), "--format", "csv").stdout))
    assert csv.loc[0, "client_isn"] == row["client_isn"]


def test_output_dir(tmp_path: Path):
    r = synack("analyze", str(CLEAN), "-o", str(tmp_path))
    assert r.returncode == 0, r.stderr
    names = {p.name for p in tmp_path.iterdir()}
    assert {"connections.csv", "transitions.csv", "anomalies.csv", "summary.json"} <= names
    assert "packets.parquet" in names or "packets.csv" in names
    tr = pd.read_csv(tmp_path / "transitions.csv")
    assert set(tr["to_state"]) >= {"SYN_SENT", "ESTABLISHED", "TIME_WAIT"}


def test_stdin_and_gzip(tmp_path: Path):
    gz = tmp_path / "c.pcap.gz"
    gz.write_bytes(gzip.compress(CLEAN.read_bytes()))
    plain = synack("analyze", str(CLEAN), "--format", "csv").stdout
    from_gz = synack("analyze", str(gz), "--format", "csv").stdout
    piped = synack("analyze", "-", "--format", "csv", stdin=CLEAN.read_bytes())
    assert piped.returncode == 0
    strip = lambda text: [ln.rsplit(",", 1)[0] for ln in text.splitlines()]  # noqa: E731
    assert strip(from_gz) == strip(plain) == strip(piped.stdout.decode())


def test_states_shows_both_endpoints():
    r = synack("states", str(CLEAN), "--conn", "0")
    assert r.returncode == 0
    for s in ("SYN_SENT", "SYN_RECEIVED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "LAST_ACK",
              "TIME_WAIT", "observed", "inferred"):
        assert s in r.stdout


@pytest.mark.parametrize("make,needle", [
    (lambda p: p.write_bytes(b"hello, this is not a capture at all"), "byte 0"),
    (lambda p: p.write_bytes(b""), "byte 0"),
    (lambda p: p.mkdir(), "cannot read"),
    (lambda p: None, "cannot read"),
])
def test_bad_input_is_one_line_exit_2(tmp_path: Path, make, needle):
    p = tmp_path / "input.pcap"
    make(p)
    r = synack("analyze", str(p))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert str(p) in lines[0] and needle in lines[0]


def test_unknown_connection_is_a_usage_error():
    r = synack("states", str(CLEAN), "--conn", "99")
    assert r.returncode == 2 and "no connection 99" in r.stderr


def test_unsupported_link_type(tmp_path: Path):
    import struct
    p = tmp_path / "arcnet.pcap"
    p.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 129)
                  + struct.pack("<IIII", 0, 0, 4, 4) + b"\0\0\0\0")
    r = synack("analyze", "--engine", "native", str(p))
    assert r.returncode == 2 and "unsupported link type 129" in r.stderr


def test_cut_short_capture_keeps_packets_and_warns(tmp_path: Path):
    data = CLEAN.read_bytes()
    p = tmp_path / "cut.pcap"
    p.write_bytes(data[: len(data) - 30])  # tcpdump killed in the middle of the last packet
    r = synack("analyze", str(p), "--format", "json")
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    assert doc["tcp_segments"] == 10  # the 11 segments of the capture but the cut one
    assert "warning" in r.stderr and "cut short" in r.stderr


def test_quick_exit_keeps_all_output():
    """`python -m analyzer.cli` runs cli.run(), which ends with os._exit after flushing."""
    busy = ROOT / "sample_pcaps" / "15_busy.pcap"
    r = synack("analyze", "--format", "csv", str(busy))
    assert r.returncode == 0, r.stderr
    rows = pd.read_csv(io.StringIO(r.stdout))
    assert len(rows) == len(analyze(str(busy)).connections) > 100
