"""Annotated pcapng, checked with tshark: the same frames bit for bit, comments where due."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import analyzer
from analyzer.render.annotate import frame_comments, write_annotated
from analyzer.render.annotate.pcapng import IfaceSpec

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_pcaps"
FIELDS = ("frame.number", "frame.time_epoch", "frame.len", "frame.cap_len", "frame.md5_hash",
          "frame.encap_type")


def tshark(*args: str) -> str:
    assert shutil.which("tshark"), "tshark is required (apt-get install -y tshark)"
    p = subprocess.run(["tshark", "-n", *args], capture_output=True, text=True, check=False)
    assert p.returncode == 0, p.stderr
    return p.stdout


def frames(path: Path) -> list[tuple[str, ...]]:
    cmd = ["-r", str(path), "-o", "frame.generate_md5_hash:TRUE", "-T", "fields"]
    for f in FIELDS:
        cmd += ["-e", f]
    return [tuple(line.split("\t")) for line in tshark(*cmd).splitlines()]


def comments(path: Path) -> dict[int, list[str]]:
    doc = json.loads(tshark("-r", str(path), "-T", "json", "-e", "frame.number",
                            "-e", "frame.comment"))
    out = {}
    for pkt in doc:
        layers = pkt["_source"]["layers"]
        if "frame.comment" in layers:
            out[int(layers["frame.number"][0])] = layers["frame.comment"]
    return out


@pytest.mark.parametrize("capture", [
    "01_clean_close.pcap", "08_data_rto_backoff.pcap", "10_syn_unanswered.pcap",
    "11_time_wait.pcap", "14_sll2_any_nano.pcap", "14_sll2_any_nano_ng.pcapng",
])
def test_round_trip_through_tshark(capture: str, tmp_path: Path) -> None:
    src = SAMPLES / capture
    result = analyzer.analyze(str(src))
    out = tmp_path / "annotated.pcapng"
    stats = write_annotated(result, out)
    assert out.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"
    assert frames(out) == frames(src)  # bytes (MD5), lengths, timestamps, link type
    want = frame_comments(result)
    assert want and comments(out) == want
    assert stats.commented == len(want) and stats.frames == len(frames(src))


def test_comments_say_what_the_issue_asks() -> None:
    got = frame_comments(analyzer.analyze(str(SAMPLES / "01_clean_close.pcap")))
    assert got[4] == ["handshake 2/3 — SYN-ACK, ack = client ISN+1 ✓ — server → SYN_RECEIVED, "
                      "client → ESTABLISHED (inferred)"]
    assert got[10] == ["FIN+ACK 1/4 — client → FIN_WAIT_1, server → CLOSE_WAIT (inferred)"]
    got = frame_comments(analyzer.analyze(str(SAMPLES / "08_data_rto_backoff.pcap")))
    assert got[15] == ["RTO retransmission #2, gap 0.43 s (×2.0)"]
    got = frame_comments(analyzer.analyze(str(SAMPLES / "10_syn_unanswered.pcap")))
    assert got[10][-1].startswith("half-open: no reply to this SYN — [warning] syn_no_reply: ")
    zh = frame_comments(analyzer.analyze(str(SAMPLES / "01_clean_close.pcap")), "zh")
    assert zh[4][0].startswith("三次握手 2/3 — SYN-ACK, 确认号 = 客户端 ISN+1 ✓")


def test_timestamp_resolution_kept() -> None:
    assert IfaceSpec(1, ts_units=1_000_000).exponent == 6
    assert IfaceSpec(1, ts_units=1_000_000_000).exponent == 9
    assert IfaceSpec(1, ts_units=1 << 20).exponent == 9  # binary resolution → ns


def test_annotate_command(tmp_path: Path) -> None:
    out = tmp_path / "x" / "a.pcapng"
    p = subprocess.run([sys.executable, "-m", "analyzer.cli", "annotate",
                        str(SAMPLES / "09_refused.pcap"), "-o", str(out)],
                       capture_output=True, text=True, cwd=ROOT, check=False)
    assert p.returncode == 0, p.stderr
    assert "comments on" in p.stderr
    assert comments(out)[4][0].startswith("RST")
    p = subprocess.run([sys.executable, "-m", "analyzer.cli", "annotate", "-", "-o",
                        str(out)], input="", capture_output=True, text=True, cwd=ROOT,
                       check=False)
    assert p.returncode == 2 and "not stdin" in p.stderr and "Traceback" not in p.stderr
