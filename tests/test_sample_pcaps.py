"""Every truth file in sample_pcaps/ checked against its capture, read by tshark.

tshark is a hard requirement (CI installs it): a truth file must not drift silently from
its capture. The generator reads its captures with its own dpkt-based reader; this test
reads them with an independent dissector.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "sample_pcaps"
SCHEMA = SAMPLES / "truth.schema.json"
TRUTHS = sorted(SAMPLES.glob("*.truth.json"))
MAX_CAPTURE, MAX_TOTAL = 1_000_000, 10_000_000

FIELDS = ["frame.number", "frame.time_epoch", "frame.protocols", "ip.src", "ipv6.src",
          "ip.dst", "ipv6.dst", "tcp.srcport", "tcp.dstport", "tcp.flags", "tcp.seq",
          "tcp.ack", "tcp.len"]

Tuple4 = frozenset[tuple[str, int]]


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def capture_of(truth_path: Path) -> Path:
    return SAMPLES / str(load(truth_path)["capture"]["file"])


def epoch_ns(text: str) -> int:
    sec, _, frac = text.partition(".")
    return int(sec) * 1_000_000_000 + int(frac.ljust(9, "0")[:9])


@cache
def tshark_rows(capture: Path) -> list[dict[str, Any]]:
    """One dict per frame; TCP fields are None for frames that do not carry TCP directly."""
    assert shutil.which("tshark"), "tshark is required (apt-get install -y tshark)"
    cmd = ["tshark", "-n", "-r", str(capture), "-o", "tcp.relative_sequence_numbers:FALSE",
           "-T", "fields", "-E", "separator=,", "-E", "occurrence=f", "-E", "aggregator=|"]
    for field in FIELDS:
        cmd += ["-e", field]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        values = dict(zip(FIELDS, line.split(","), strict=True))
        protocols = values["frame.protocols"].split(":")
        is_tcp = "tcp" in protocols and not any(p.startswith("icmp") for p in protocols)
        row: dict[str, Any] = {"frame": int(values["frame.number"]),
                               "ts_ns": epoch_ns(values["frame.time_epoch"]), "tcp": is_tcp}
        if is_tcp:
            row.update({
                "src": values["ip.src"] or values["ipv6.src"],
                "dst": values["ip.dst"] or values["ipv6.dst"],
                "sport": int(values["tcp.srcport"]), "dport": int(values["tcp.dstport"]),
                "flags_value": int(values["tcp.flags"], 16), "seq": int(values["tcp.seq"]),
                "ack": int(values["tcp.ack"] or 0), "payload_len": int(values["tcp.len"])})
        rows.append(row)
    return rows


def truth_tuples(truth: dict[str, Any]) -> set[Tuple4]:
    tuples = {frozenset({(c["client"]["ip"], c["client"]["port"]),
                         (c["server"]["ip"], c["server"]["port"])})
              for c in truth["connections"] if c["client"]["port"] is not None}
    flood = truth["flood"]
    if flood:
        target = (flood["target"]["ip"], flood["target"]["port"])
        tuples |= {frozenset({(flood["attacker"]["ip"], s["port"]), target})
                   for s in flood["syns"]}
    return tuples


def test_samples_exist() -> None:
    assert len(TRUTHS) >= 15, "run: python3 sample_pcaps/make_samples.py (as root)"
    for path in TRUTHS:
        assert capture_of(path).exists(), path


def test_sizes() -> None:
    captures = [capture_of(p) for p in TRUTHS]
    for cap in captures:
        assert cap.stat().st_size < MAX_CAPTURE, cap
    assert sum(c.stat().st_size for c in captures) < MAX_TOTAL


@pytest.mark.parametrize("truth_path", TRUTHS, ids=lambda p: p.name)
class TestTruthFile:
    def test_schema(self, truth_path: Path) -> None:
        jsonschema.validate(load(truth_path), load(SCHEMA))

    def test_capture_hash(self, truth_path: Path) -> None:
        truth = load(truth_path)
        data = capture_of(truth_path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == truth["capture"]["sha256"]
        assert len(data) == truth["capture"]["size_bytes"]
        assert truth_path.name.startswith(Path(truth["capture"]["file"]).stem + ".")

    def test_frame_counts(self, truth_path: Path) -> None:
        truth = load(truth_path)
        rows = tshark_rows(capture_of(truth_path))
        assert len(rows) == truth["wire"]["total_frames"]
        assert sum(r["tcp"] for r in rows) == truth["wire"]["tcp_frames"]
        if rows:
            assert rows[0]["ts_ns"] == truth["wire"]["first_ts_ns"]
            assert rows[-1]["ts_ns"] == truth["wire"]["last_ts_ns"]

    def test_four_tuples(self, truth_path: Path) -> None:
        truth = load(truth_path)
        seen = {frozenset({(r["src"], r["sport"]), (r["dst"], r["dport"])})
                for r in tshark_rows(capture_of(truth_path)) if r["tcp"]}
        assert seen == truth_tuples(truth)

    def test_control_frames(self, truth_path: Path) -> None:
        truth = load(truth_path)
        keys = ["frame", "ts_ns", "src", "sport", "dst", "dport", "flags_value", "seq", "ack",
                "payload_len"]
        got = [{k: r[k] for k in keys} for r in tshark_rows(capture_of(truth_path))
               if r["tcp"] and r["flags_value"] & 0x07]
        want = [{k: f[k] for k in keys} for f in truth["wire"]["control_frames"]]
        assert got == want

    def test_payload_totals(self, truth_path: Path) -> None:
        truth = load(truth_path)
        rows = [r for r in tshark_rows(capture_of(truth_path)) if r["tcp"]]
        assert sum(r["payload_len"] for r in rows) == truth["wire"]["tcp_payload_bytes"]

    def test_snapshots_name_their_connection(self, truth_path: Path) -> None:
        for conn in load(truth_path)["connections"]:
            ends = {_ep(conn["client"]), _ep(conn["server"])}
            for row in conn["ss"]:
                assert {row["local"], row["remote"]} == ends
                assert row["present"] or row["state"] == "CLOSED"

    def test_events_inside_capture(self, truth_path: Path) -> None:
        truth = load(truth_path)
        start, stop = truth["capture"]["started_ns"], truth["capture"]["stopped_ns"]
        for conn in truth["connections"]:
            for ev in conn["events"]:
                assert start <= ev["t_ns"] <= ev["t_end_ns"] <= stop, ev


def _ep(end: dict[str, Any]) -> str:
    ip = end["ip"]
    return f"[{ip}]:{end['port']}" if ":" in ip else f"{ip}:{end['port']}"
