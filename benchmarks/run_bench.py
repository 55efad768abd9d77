#!/usr/bin/env python3
"""Whole-run speed and memory of `synack analyze` against tshark and tcptrace.

Each tool reads the same capture from a warm page cache, three times; the table reports
the median wall time, packets/s, the peak resident set size (from /usr/bin/time), and
synack's ratio to each peer. Generates the benchmark capture first if it is missing.

    python benchmarks/run_bench.py [CAPTURE] [--runs 3] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = HERE / "data" / "bench_1m.pcap"


def synack_cmd() -> list[str]:
    exe = shutil.which("synack")
    return [exe] if exe else [sys.executable, "-m", "analyzer.cli"]


def peers(capture: Path) -> dict[str, list[str]]:
    cmds = {"synack analyze": [*synack_cmd(), "analyze", str(capture)]}
    if shutil.which("tshark"):
        cmds["tshark -q -z conv,tcp"] = ["tshark", "-q", "-z", "conv,tcp", "-r", str(capture)]
    if shutil.which("tcptrace"):
        cmds["tcptrace -n"] = ["tcptrace", "-n", str(capture)]
    return cmds


def measure(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one run, output discarded."""
    with tempfile.NamedTemporaryFile("r") as tf:
        subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", tf.name, *cmd],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        wall, kb = tf.read().split()[-2:]
    return float(wall), int(kb) / 1024


def count_packets(capture: Path) -> int:
    import analyzer.capture as cap

    reader = cap.open_capture(str(capture))
    return sum(len(b.ts_ns) for b in reader.batches())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("capture", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if not args.capture.exists():
        subprocess.run([sys.executable, str(HERE / "make_bench_pcap.py"), str(args.capture)],
                       check=True)
    packets = count_packets(args.capture)
    size_mb = args.capture.stat().st_size / 1e6
    rows = {}
    for name, cmd in peers(args.capture).items():
        runs = [measure(cmd) for _ in range(args.runs)]
        wall = statistics.median(r[0] for r in runs)
        rows[name] = {"seconds": wall, "packets_per_s": packets / wall,
                      "peak_rss_mb": max(r[1] for r in runs), "runs": runs}
    ours = rows["synack analyze"]["seconds"]
    print(f"capture: {args.capture.name}, {packets:,} packets, {size_mb:,.0f} MB, "
          f"{os.cpu_count()} CPUs, median of {args.runs} runs\n")
    print("| tool | seconds | packets/s | peak RSS MB | synack speed-up |")
    print("|---|---:|---:|---:|---:|")
    for name, r in rows.items():
        ratio = r["seconds"] / ours
        print(f"| {name} | {r['seconds']:.2f} | {r['packets_per_s']:,.0f} | "
              f"{r['peak_rss_mb']:,.0f} | {ratio:.2f}× |")
    if args.json:
        args.json.write_text(json.dumps({"packets": packets, "tools": rows}, indent=2))


if __name__ == "__main__":
    main()
