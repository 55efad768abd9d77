#!/usr/bin/env python3
"""Time the ladder diagram of one long connection (default 10,000 segments).

Writes a classic pcap (Ethernet/IPv4, correct checksums) with one connection: handshake, a
request, bulk data from the server with an ACK after every second segment, a segment resent
after 200 ms every ~1,000, and a four-way close. Then times, in this process: analyze, the
layout model (collapsed, and with --full), and each backend (txt, mermaid, svg, png).
Prints a table (and --json FILE writes it); the layout must stay readable: the collapsed
diagram has a bounded number of arrows whatever the length.

    python benchmarks/bench_ladder.py [--segments 10000] [--runs 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import tempfile
import time
from pathlib import Path

import dpkt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MSS = 1448
FLAGS = {"S": dpkt.tcp.TH_SYN, "A": dpkt.tcp.TH_ACK, "F": dpkt.tcp.TH_FIN,
         "P": dpkt.tcp.TH_PUSH}
CLIENT, SERVER = b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02"


def script(segments: int) -> list[tuple[str, str, int, int, int, float]]:
    cisn, sisn, t = 1000, 5000, 0.0
    out = [("c", "S", cisn, 0, 0, t), ("s", "SA", sisn, cisn + 1, 0, 0.01),
           ("c", "A", cisn + 1, sisn + 1, 0, 0.02), ("c", "PA", cisn + 1, sisn + 1, 100, 0.03)]
    t, seq, cack, sent = 0.05, sisn + 1, cisn + 101, 0
    while len(out) < segments - 4:
        out.append(("s", "A", seq, cack, MSS, t))
        sent += 1
        if sent % 997 == 0:
            t += 0.2
            out.append(("s", "A", seq, cack, MSS, t))
        seq, t = seq + MSS, t + 0.0005
        if sent % 2 == 0:
            out.append(("c", "A", cack, seq, 0, t))
            t += 0.0001
    out += [("c", "FA", cack, seq, 0, t + 0.01), ("s", "A", seq, cack + 1, 0, t + 0.02),
            ("s", "FA", seq, cack + 1, 0, t + 0.03), ("c", "A", cack + 1, seq + 1, 0, t + 0.04)]
    return out


def write_pcap(path: Path, segments: int) -> int:
    payload = bytes(MSS)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, (d, fl, seq, ack, n, t) in enumerate(script(segments)):
            c2s = d == "c"
            tcp = dpkt.tcp.TCP(sport=40000 if c2s else 80, dport=80 if c2s else 40000, seq=seq,
                               ack=ack, flags=sum(FLAGS[ch] for ch in fl), win=64000,
                               data=payload[:n])
            ip = dpkt.ip.IP(src=CLIENT if c2s else SERVER, dst=SERVER if c2s else CLIENT,
                            p=6, id=i & 0xFFFF, data=tcp)
            ip.len = 20 + len(bytes(tcp))
            frame = bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, data=ip))
            ts = 1_700_000_000 + t
            sec, usec = int(ts), round((ts - int(ts)) * 1e6)
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)
    return i + 1


def best(fn, runs: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segments", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    from analyzer import analyze
    from analyzer.render.ladder import build_ladder, render

    with tempfile.TemporaryDirectory() as tmp:
        cap = Path(tmp) / "long.pcap"
        n = write_pcap(cap, args.segments)
        rows = {"packets": n, "file_mb": round(os.path.getsize(cap) / 1e6, 1)}
        t, result = best(lambda: analyze(str(cap)), args.runs)
        rows["analyze_s"] = t
        t, _ = best(lambda: result.findings, 1)  # type: ignore[attr-defined]
        rows["findings_timing_s"] = t
        t, _ = best(lambda: build_ladder(result, 0), 1)  # type: ignore[arg-type]
        rows["layout_first_s"] = t  # includes the per-capture marks (steps, checks, retx)
        t, lad = best(lambda: build_ladder(result, 0), args.runs)  # type: ignore[arg-type]
        rows["layout_s"] = t
        rows["arrows"] = len(lad.arrows)  # type: ignore[attr-defined]
        rows["bands"] = len(lad.bands)  # type: ignore[attr-defined]
        for fmt in ("txt", "mermaid", "svg", "png"):
            t, _ = best(lambda fmt=fmt: render(lad, fmt), args.runs)  # type: ignore[misc]
            rows[f"render_{fmt}_s"] = t
        t, full = best(lambda: build_ladder(result, 0, full=True), 1)  # type: ignore[arg-type]
        rows["layout_full_s"] = t
        rows["arrows_full"] = len(full.arrows)  # type: ignore[attr-defined]
    for k, v in rows.items():
        print(f"{k:>20}  {v:.3f}" if isinstance(v, float) else f"{k:>20}  {v}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
