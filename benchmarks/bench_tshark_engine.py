#!/usr/bin/env python3
"""Packets/s of the ways to get tshark's dissection into synack's packet table.

    python benchmarks/bench_tshark_engine.py [CAPTURE] [--pyshark-packets 2000] [--runs 1]

* pyshark's per-packet objects (default, ``use_json=True``, ``use_ek=True``): the first
  ``--pyshark-packets`` packets, reading the TCP header fields of each (they are too slow
  for the whole file; the rate does not depend on the file's size);
* the tshark engine (`tshark -T fields`, parsed with pyarrow, header positions found in the
  file): one tshark process, and one per CPU on pieces of the file (classic pcap only).

Generates benchmarks/data/bench_1m.pcap first if it is missing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = HERE / "data" / "bench_1m.pcap"
sys.path.insert(0, str(HERE.parent))


def pyshark_rate(path: Path, limit: int, **options: object) -> float:
    import pyshark

    t0 = time.perf_counter()
    cap = pyshark.FileCapture(str(path), keep_packets=False, **options)
    n = 0
    try:
        for pkt in cap:
            tcp = getattr(pkt, "tcp", None)
            if tcp is not None:
                _ = (tcp.srcport, tcp.dstport, tcp.seq_raw, tcp.ack_raw, tcp.flags)
            n += 1
            if n >= limit:
                break
    finally:
        cap.close()
    return n / (time.perf_counter() - t0)


def engine_rate(path: Path, jobs: int) -> tuple[float, int]:
    from analyzer.engines.tshark import decode_with_tshark

    t0 = time.perf_counter()
    d = decode_with_tshark(str(path), jobs=jobs)
    return d.stats.frames / (time.perf_counter() - t0), d.stats.frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    ap.add_argument("capture", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--pyshark-packets", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    if not args.capture.exists() and args.capture == DEFAULT:
        subprocess.run([sys.executable, str(HERE / "make_bench_pcap.py"), str(DEFAULT)],
                       check=True)
    from analyzer.engines.tshark_parallel import default_jobs

    rows: list[tuple[str, float]] = []
    for label, opts in (("pyshark FileCapture (per-packet objects)", {}),
                        ("pyshark FileCapture use_json=True", {"use_json": True}),
                        ("pyshark FileCapture use_ek=True", {"use_ek": True})):
        rows.append((label, pyshark_rate(args.capture, args.pyshark_packets, **opts)))
        print(f"{label}: {rows[-1][1]:,.0f} packets/s", flush=True)
    cpus = default_jobs()
    for jobs in sorted({1, cpus}):
        best = max(engine_rate(args.capture, jobs)[0] for _ in range(args.runs))
        label = f"tshark engine, -T fields, {jobs} tshark process{'es' if jobs > 1 else ''}"
        rows.append((label, best))
        print(f"{label}: {best:,.0f} packets/s", flush=True)
    print("\n| method | packets/s |\n|---|--:|")
    for label, rate in rows:
        print(f"| {label} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
