#!/usr/bin/env python3
"""Whole-run speed and memory of `synack analyze` against tshark and tcptrace.

Every tool reads the same capture, output discarded. Runs are interleaved (synack,
tshark, tcptrace, synack, ...) so that a noisy machine slows all tools alike; the table
gives each tool's median wall time, packets/s, and synack's speed-up as the median of the
per-round ratios. Memory is measured in one more round per tool: the peak resident set
of the process itself (``/usr/bin/time``'s maximum RSS) and the peak of the summed
proportional set size (PSS) of the process and all its children, sampled every 5 ms from
/proc (synack reads large captures with helper processes). Generates the benchmark
capture first if it is missing.

    python benchmarks/run_bench.py [CAPTURE] [--runs 5] [--json results.json]
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
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = HERE / "data" / "bench_1m.pcap"
SYNACK = "synack analyze"


def synack_cmd() -> list[str]:
    """The installed console script beside this Python (not a version manager's shim,
    such as pyenv's, which adds a shell start-up to every run)."""
    beside = Path(sys.executable).parent / "synack"
    if beside.exists():
        return [str(beside)]
    exe = shutil.which("synack")
    return [exe] if exe else [sys.executable, "-m", "analyzer.cli"]


def peers(capture: Path) -> dict[str, list[str]]:
    cmds = {SYNACK: [*synack_cmd(), "analyze", str(capture)],
            f"{SYNACK} --jobs 1": [*synack_cmd(), "analyze", "--jobs", "1", str(capture)]}
    if shutil.which("tshark"):
        cmds["tshark -q -z conv,tcp"] = ["tshark", "-q", "-z", "conv,tcp", "-r", str(capture)]
    if shutil.which("tcptrace"):
        cmds["tcptrace -n"] = ["tcptrace", "-n", str(capture)]
    return cmds


def measure(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB of the process) of one run, output discarded."""
    with tempfile.NamedTemporaryFile("r") as tf:
        subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", tf.name, *cmd],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        wall, kb = tf.read().split()[-2:]
    return float(wall), int(kb) / 1024


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return pids


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_peak_pss(cmd: list[str]) -> float:
    """Peak summed PSS (MB) of the process and its children, sampled every 5 ms."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, sum(_pss_kb(p) for p in _tree(proc.pid)))
        time.sleep(0.005)
    return peak / 1024


def count_packets(capture: Path) -> int:
    import analyzer.capture as cap

    reader = cap.open_capture(str(capture))
    return sum(len(b.ts_ns) for b in reader.batches())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("capture", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if not args.capture.exists():
        subprocess.run([sys.executable, str(HERE / "make_bench_pcap.py"), str(args.capture)],
                       check=True)
    packets = count_packets(args.capture)
    size_mb = args.capture.stat().st_size / 1e6
    cmds = peers(args.capture)
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
    for _ in range(args.runs):
        for name, cmd in cmds.items():
            runs[name].append(measure(cmd))
    rows = {}
    for name, cmd in cmds.items():
        walls = [r[0] for r in runs[name]]
        ratios = [w / s for w, s in zip(walls, (r[0] for r in runs[SYNACK]), strict=True)]
        rows[name] = {"seconds": statistics.median(walls), "runs": walls,
                      "packets_per_s": packets / statistics.median(walls),
                      "peak_rss_mb": max(r[1] for r in runs[name]),
                      "peak_tree_pss_mb": tree_peak_pss(cmd),
                      "ratio_to_synack": statistics.median(ratios)}
    print(f"capture: {args.capture.name}, {packets:,} packets, {size_mb:,.0f} MB, "
          f"{os.cpu_count()} CPUs, median of {args.runs} interleaved runs\n")
    print("| tool | seconds (median) | runs | packets/s | peak RSS MB | peak PSS MB, "
          "with children | synack speed-up |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for name, r in rows.items():
        spread = " ".join(f"{w:.2f}" for w in r["runs"])
        print(f"| {name} | {r['seconds']:.2f} | {spread} | {r['packets_per_s']:,.0f} | "
              f"{r['peak_rss_mb']:,.0f} | {r['peak_tree_pss_mb']:,.0f} | "
              f"{r['ratio_to_synack']:.2f}× |")
    if args.json:
        args.json.write_text(json.dumps({"packets": packets, "tools": rows}, indent=2))


if __name__ == "__main__":
    main()
