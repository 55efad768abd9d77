#!/usr/bin/env python3
"""Time the read+decode stage (``decode_capture``) against tshark and tcptrace.

Each measurement runs in a fresh process; wall time and peak RSS are taken from
``/usr/bin/time -v`` when present (else from ``resource`` in the child). Prints a
Markdown table.

    python benchmarks/bench_decode.py [CAPTURE] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT = os.path.join(HERE, "data", "bench_1m.pcap")

DECODE = """
import resource, sys, time
from analyzer.decode import decode_capture
t = time.perf_counter()
d = decode_capture(sys.argv[1], verify_checksums=sys.argv[2] == "1")
print("ROWS", len(d), "SECONDS", time.perf_counter() - t,
      "RSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _run(cmd: list[str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in KB or 0, stdout) of one command."""
    timer = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else "")
    full = [timer, "-v", *cmd] if timer else cmd
    env = {**os.environ, "PYTHONPATH": ROOT}
    t = time.perf_counter()
    out = subprocess.run(full, capture_output=True, text=True, env=env, check=True)
    wall = time.perf_counter() - t
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr)
    return wall, int(m.group(1)) if m else 0, out.stdout


def _best(cmd: list[str], repeat: int) -> tuple[float, int, str]:
    runs = [_run(cmd) for _ in range(repeat)]
    return min(runs, key=lambda r: r[0])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("capture", nargs="?", default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    if not os.path.exists(args.capture):
        subprocess.run([sys.executable, os.path.join(HERE, "make_bench_pcap.py"), args.capture],
                       check=True)
    with open(args.capture, "rb") as f:  # warm the page cache
        while f.read(1 << 24):
            pass
    rows: list[tuple[str, float, int, int]] = []
    packets = 0
    for label, verify in (("synack decode (checksums)", "1"),
                          ("synack decode (no checksums)", "0")):
        wall, rss, out = _best([sys.executable, "-c", DECODE, args.capture, verify], args.repeat)
        fields = out.split()
        packets = int(fields[fields.index("ROWS") + 1])
        inner = float(fields[fields.index("SECONDS") + 1])
        rss = rss or int(fields[fields.index("RSS_KB") + 1])
        rows.append((label + f", in-process {inner:.2f} s", wall, rss, packets))
    peers = [("tshark -q -z conv,tcp", ["tshark", "-q", "-z", "conv,tcp", "-r", args.capture]),
             ("tcptrace -n", ["tcptrace", "-n", args.capture])]
    for label, cmd in peers:
        if shutil.which(cmd[0]):
            wall, rss, _ = _best(cmd, 1)
            rows.append((label, wall, rss, packets))
    print(f"capture: {args.capture} ({os.path.getsize(args.capture) / 1e6:.0f} MB, "
          f"{packets} TCP packets)\n")
    print("| tool | wall s | packets/s | peak RSS MB |")
    print("|---|---:|---:|---:|")
    for label, wall, rss, n in rows:
        print(f"| {label} | {wall:.2f} | {n / wall:,.0f} | {rss / 1024:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
