"""`synack follow`: text/hex/json/raw output, --all export, and errors (one line, exit 2)."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from reassembly_util import HANDSHAKE, client_data, pcap

from analyzer.cli import cli

ROOT = Path(__file__).resolve().parent.parent
CLEAN = ROOT / "sample_pcaps" / "01_clean_close.pcap"
TRUTH = json.loads((ROOT / "sample_pcaps" / "01_clean_close.truth.json").read_text())
SENT = {d: TRUTH["connections"][0]["data"][f"{d}_sent"] for d in ("client", "server")}


def follow(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, ["follow", *args])
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.stdout, res.stderr


def synack(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "analyzer.cli", *args], input=stdin,
                          capture_output=True, cwd=ROOT, check=False)


@pytest.fixture
def gappy(tmp_path: Path) -> Path:
    """Client: "GOOD-" then "EVIL" over it (different data), then a 10-byte gap, "tail"."""
    return pcap(tmp_path / "g.pcap", HANDSHAKE + client_data(
        (0, b"GOOD-"), (0, b"EVIL"), (15, b"tail")) + [("s", "PA", 5001, 1020, b"ok\r\n")])


def test_text_both_directions_with_markers():
    code, out, _ = follow(str(CLEAN), "--conn", "0")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("# synack follow") and "client 10.213.0.1:" in lines[1]
    assert "client → server: 300 bytes (300 captured), no gaps, no overlaps" in out
    markers = [ln for ln in lines if ln.startswith("=== ")]
    assert markers[0].startswith("=== client → server · offset 0 · frame")
    assert markers[1].startswith("=== server → client · offset 0")
    assert "main-client-002 line 00000 synack sample payload" in out
    assert lines[-1] == "# end"


@pytest.mark.parametrize("direction", ["client", "server"])
def test_raw_writes_one_direction_exactly(tmp_path: Path, direction: str):
    out = tmp_path / "raw.bin"
    code, _, err = follow(str(CLEAN), "--conn", "0", "--format", "raw", "--direction",
                          direction, "-o", str(out))
    assert code == 0 and "written to" in err
    data = out.read_bytes()
    want = SENT[direction]
    assert (len(data), hashlib.sha256(data).hexdigest()) == (want["len"], want["sha256"])


def test_raw_to_stdout_is_binary():
    r = synack("follow", str(CLEAN), "--conn", "0", "--format", "raw", "--direction", "client")
    assert r.returncode == 0 and hashlib.sha256(r.stdout).hexdigest() == SENT["client"]["sha256"]


def test_hex_dump():
    code, out, _ = follow(str(CLEAN), "--conn", "0", "--format", "hex")
    assert code == 0
    assert "00000000  6d 61 69 6e 2d 63 6c 69  65 6e 74 2d 30 30 32 20  main-client-002 " in out
    assert "\t00000000  6d 61 69 6e 2d 73 65 72" in out  # server lines indented


def test_json_chunks_rebuild_the_streams():
    code, out, _ = follow(str(CLEAN), "--conn", "0", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["conn_id"] == 0 and doc["policy"] == "first"
    for d in ("client", "server"):
        data = b"".join(base64.b64decode(c["data_base64"]) for c in doc["chunks"]
                        if c["direction"] == d)
        assert hashlib.sha256(data).hexdigest() == SENT[d]["sha256"]
        assert doc["sha256_captured"][d] == SENT[d]["sha256"]
        assert doc["streams"][d]["length"] == SENT[d]["len"]


def test_json_one_direction(gappy: Path):
    doc = json.loads(follow(str(gappy), "--conn", "0", "--format", "json", "--direction",
                            "client")[1])
    assert list(doc["streams"]) == ["client"]
    assert doc["streams"]["client"]["gaps"] == [{"offset": 5, "length": 10,
                                                 "reason": "not_captured"}]
    assert {"direction": "client", "offset": 5, "length": 10, "gap": "not_captured"} \
        in doc["chunks"]
    (ov,) = doc["streams"]["client"]["overlaps"]
    assert (ov["kept_frame"], ov["other_frame"], ov["different"]) == (4, 5, True)


@pytest.mark.parametrize("policy, kept", [("first", "GOOD-"), ("last", "EVIL-")])
def test_text_marks_gaps_and_different_overlaps(gappy: Path, policy: str, kept: str):
    code, out, _ = follow(str(gappy), "--conn", "0", "--policy", policy)
    assert code == 0
    assert "!!! gap · client → server · offset 5 · 10 bytes not captured" in out
    assert "!!! overlap · client → server · offset 0–3" in out and f"(policy {policy})" in out
    assert kept in out and "tail" in out
    assert "ok\n" in out and "\r" not in out


def test_raw_with_gaps_warns_and_can_fill(gappy: Path, tmp_path: Path):
    out = tmp_path / "c.bin"
    code, _, err = follow(str(gappy), "--conn", "0", "--format", "raw", "--direction",
                          "client", "-o", str(out))
    assert code == 0 and out.read_bytes() == b"GOOD-tail"
    assert "1 gap(s), 10 bytes not in the capture, skipped" in err and "5+10" in err
    assert "1 overlap(s) with different data" in err
    follow(str(gappy), "--conn", "0", "--format", "raw", "--direction", "client", "-o",
           str(out), "--fill-gaps", "--policy", "last")
    assert out.read_bytes() == b"EVIL-" + b"\0" * 10 + b"tail"


def test_all_writes_files_and_index(gappy: Path, tmp_path: Path):
    outdir = tmp_path / "flows"
    code, out, _ = follow(str(gappy), "--all", "-o", str(outdir))
    assert code == 0 and "wrote 2 stream files" in out and "1 stream(s) with gaps" in out
    index = pd.read_csv(outdir / "index.csv", keep_default_na=False)
    assert list(index["direction"]) == ["client", "server"]
    client = index.iloc[0]
    assert client["file"] == "c00000-client-10.0.0.1.40000-10.0.0.2.80.bin"
    assert (outdir / client["file"]).read_bytes() == b"GOOD-tail"
    assert (client["bytes_written"], client["stream_length"], client["gaps"],
            client["gap_list"], client["overlaps_different"]) == (9, 19, 1, "5+10", 1)
    assert client["sha256"] == hashlib.sha256(b"GOOD-tail").hexdigest()
    assert (outdir / index.iloc[1]["file"]).read_bytes() == b"ok\r\n"


def test_all_on_a_busy_capture_matches_the_truth(tmp_path: Path):
    busy = ROOT / "sample_pcaps" / "15_busy.pcap"
    truth = json.loads((ROOT / "sample_pcaps" / "15_busy.truth.json").read_text())
    code, _, _ = follow(str(busy), "--all", "-o", str(tmp_path))
    assert code == 0
    index = pd.read_csv(tmp_path / "index.csv", keep_default_na=False)
    got = {(int(r.sport), r.direction): r.sha256 for r in index.itertuples()
           if r.direction == "client"}
    for c in truth["connections"]:
        assert got[(c["client"]["port"], "client")] == c["data"]["client_sent"]["sha256"]
    assert int(index["gaps"].sum()) == 0


@pytest.mark.parametrize("args, message", [
    ((), "either --conn ID or --all"),
    (("--conn", "0", "--all", "-o", "x"), "either --conn ID or --all"),
    (("--all",), "give the directory with -o DIR"),
    (("--conn", "0", "--format", "raw"), "choose --direction client or server"),
    (("--conn", "7"), "no connection 7"),
    (("--all", "-o", "x", "--format", "hex"), "--all writes raw files"),
])
def test_usage_errors_are_one_line_exit_2(args: tuple[str, ...], message: str):
    r = synack("follow", str(CLEAN), *args)
    err = r.stderr.decode()
    assert r.returncode == 2 and message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_stdin_cannot_be_followed():
    r = synack("follow", "-", "--conn", "0", stdin=CLEAN.read_bytes())
    err = r.stderr.decode()
    assert r.returncode == 2 and "stdin, which cannot be read twice" in err


IPOIB = ROOT.parent / "shared" / "captures" / "pcaps" / "tcpdump-ipoib.pcap"


@pytest.mark.skipif(not IPOIB.exists(), reason="../shared/captures not beside the clone")
def test_engine_tshark_reads_other_link_types(tmp_path: Path):
    out = tmp_path / "c.bin"
    code, _, _ = follow(str(IPOIB), "--conn", "0", "--engine", "tshark", "--format", "raw",
                        "--direction", "client", "-o", str(out))
    assert code == 0 and len(out.read_bytes()) == 1438
    assert out.read_bytes().startswith(b"SSH-2.0-OpenSSH_7.5")
