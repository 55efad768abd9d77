"""The kurose-ross preset's answers against values computed independently from tshark's
fields (analyzer/classroom/kurose.py): ISNs, the first segments' send/ACK times, SampleRTT
and EstimatedRTT (α = 0.125), the minimum advertised window and the throughput."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from classroom_util import SAMPLES

import analyzer
from analyzer.classroom.spec import build_key, preset
from analyzer.classroom.variants import suitable

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None, reason="needs tshark")

SHARED = Path(os.environ.get("SYNACK_SHARED", Path(__file__).resolve().parents[2] / "shared"))
FIELDS = ["frame.number", "frame.time_relative", "tcp.stream", "tcp.srcport", "tcp.dstport",
          "tcp.seq", "tcp.seq_raw", "tcp.ack", "tcp.len", "tcp.window_size", "tcp.flags.syn",
          "tcp.flags.ack", "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission"]


def _tshark(path: Path) -> list[dict[str, str]]:
    out = subprocess.run(
        ["tshark", "-r", str(path), "-Y", "tcp", "-T", "fields", "-E", "occurrence=f",
         "-o", "tcp.relative_sequence_numbers:TRUE", "-o", "tcp.calculate_timestamps:TRUE",
         *[a for f in FIELDS for a in ("-e", f)]],
        capture_output=True, text=True, check=True, timeout=120).stdout
    return [dict(zip(FIELDS, line.split("\t"), strict=True))
            for line in out.splitlines() if line]


def _independent(rows: list[dict[str, str]], client_port: int, server_port: int) -> dict:
    """The lab's numbers from tshark's fields alone."""
    mine = [r for r in rows if {int(r["tcp.srcport"]), int(r["tcp.dstport"])}
            == {client_port, server_port}]
    syn = next(r for r in mine if r["tcp.flags.syn"] == "1" and r["tcp.flags.ack"] == "0")
    synack = next(r for r in mine if r["tcp.flags.syn"] == "1" and r["tcp.flags.ack"] == "1")
    stream = syn["tcp.stream"]
    mine = [r for r in mine if r["tcp.stream"] == stream]
    c2s = sum(int(r["tcp.len"]) for r in mine if int(r["tcp.srcport"]) == client_port)
    s2c = sum(int(r["tcp.len"]) for r in mine if int(r["tcp.srcport"]) == server_port)
    sport = client_port if c2s >= s2c else server_port
    sent = [r for r in mine if int(r["tcp.srcport"]) == sport]
    recv = [r for r in mine if int(r["tcp.srcport"]) != sport]
    data = [r for r in sent if int(r["tcp.len"]) > 0 and not r["tcp.analysis.retransmission"]
            and not r["tcp.analysis.fast_retransmission"]]
    segs = []
    est = 0.0
    for r in data[:6]:
        end = int(r["tcp.seq"]) + int(r["tcp.len"])
        ack = next(a for a in recv if int(a["frame.number"]) > int(r["frame.number"])
                   and a["tcp.flags.ack"] == "1" and int(a["tcp.ack"]) >= end)
        sample = (float(ack["frame.time_relative"]) - float(r["frame.time_relative"])) * 1e3
        est = sample if not segs else 0.875 * est + 0.125 * sample
        segs.append((int(r["tcp.seq"]), int(r["tcp.len"]), float(r["frame.time_relative"]),
                     float(ack["frame.time_relative"]), sample, est))
    data_end = max(int(r["tcp.seq"]) + int(r["tcp.len"]) for r in data)
    last = next(a for a in recv if int(a["frame.number"]) > int(data[0]["frame.number"])
                and a["tcp.flags.ack"] == "1" and int(a["tcp.ack"]) >= data_end)
    nbytes = data_end - int(data[0]["tcp.seq"])
    dur = float(last["frame.time_relative"]) - float(data[0]["frame.time_relative"])
    return {"client_isn": int(syn["tcp.seq_raw"]), "server_isn": int(synack["tcp.seq_raw"]),
            "segs": segs, "min_window": min(int(r["tcp.window_size"]) for r in recv),
            "throughput": nbytes / dur}


def _captures() -> list[Path]:
    found = [SAMPLES / n for n in ("05_half_close.pcap", "08_data_rto_backoff.pcap",
                                   "16_offloads_on.pcap", "01_clean_close.pcap")]
    post = SHARED / "captures" / "pcaps" / "ppa3-http_post.pcapng"
    return found + ([post] if post.exists() else [])


@pytest.mark.parametrize("path", _captures(), ids=lambda p: p.name)
def test_kurose_ross_answers_match_tshark(path: Path) -> None:
    result = analyzer.analyze(str(path))
    conn = suitable(result, "data")[0]
    key = build_key(result, conn, preset("kurose-ross"), capture=str(path))
    ans = {q.name: q.answer for q in key.questions}
    c = result.connection(conn)
    ref = _independent(_tshark(path), int(c["client_port"]), int(c["server_port"]))
    assert ans["client_isn_raw"] == ref["client_isn"]
    assert ans["server_isn_raw"] == ref["server_isn"]
    assert ans["synack_ack"] == (ref["client_isn"] + 1) % (1 << 32)
    segs = ref["segs"]
    assert ans["kr_seqs"] == [s[0] for s in segs]
    assert ans["kr_lengths"] == [s[1] for s in segs]
    assert ans["kr_sent_times"] == pytest.approx([s[2] for s in segs], abs=1e-6)
    assert ans["kr_ack_times"] == pytest.approx([s[3] for s in segs], abs=1e-6)
    assert ans["kr_sample_rtt"] == pytest.approx([s[4] for s in segs], abs=2e-3)
    assert ans["kr_estimated_rtt"] == pytest.approx([s[5] for s in segs], abs=2e-3)
    assert ans["kr_min_window"] == ref["min_window"]
    assert ans["kr_throughput"] == pytest.approx(ref["throughput"], rel=1e-4)
