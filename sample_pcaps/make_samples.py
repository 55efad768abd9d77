#!/usr/bin/env python3
"""Regenerate the sample captures and their truth files from the real Linux TCP stack.

Needs root (network namespaces, veth, iptables, tcpdump); run it as root, no sudo
inside: ``python3 sample_pcaps/make_samples.py`` (all), ``--only 06`` or
``--only 11_time_wait`` (one scenario, by number or name), ``--list``.

Needs: iproute2 (ip, ss), iptables, ethtool, tcpdump, editcap (tshark's package), and
Python 3.11 with dpkt. Traffic flows only between the two namespaces it creates
(synack_c 10.213.0.1 / fd00:213::1 and synack_s 10.213.0.2 / fd00:213::2). Namespaces,
rules and every process it started are removed on every exit path (error, Ctrl-C).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen.registry import SCENARIOS, select
from gen.runner import run_scenario
from gen.system import cleanup, install_handlers

TOOLS = ["ip", "ss", "iptables", "ip6tables", "ethtool", "tcpdump", "editcap"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="scenario name or number (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument("--outdir", type=Path, default=Path(__file__).resolve().parent)
    return ap.parse_args(argv)


def preflight() -> None:
    if os.geteuid() != 0:
        sys.exit("make_samples.py needs root (namespaces, iptables, tcpdump); run it as root")
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        sys.exit(f"missing tools: {', '.join(missing)} (apt-get install -y iproute2 iptables "
                 "ethtool tcpdump tshark)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for sc in SCENARIOS:
            print(f"{sc.name:28s} {sc.title}")
        return 0
    preflight()
    install_handlers()
    chosen = select(args.only)
    failed: list[str] = []
    try:
        for sc in chosen:
            t0 = time.monotonic()
            print(f"{sc.name} ...", flush=True)
            problems = run_scenario(sc, args.outdir)
            state = "ok" if not problems else f"PROBLEMS: {problems}"
            print(f"{sc.name}: {state} ({time.monotonic() - t0:.1f} s)", flush=True)
            if problems:
                failed.append(sc.name)
    finally:
        cleanup()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
