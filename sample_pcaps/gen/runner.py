"""Run one scenario: lab up, capture, traffic, readbacks, truth file, self-check."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .lab import Lab, LabConfig
from .session import Session
from .system import run
from .truth import Readbacks, build, write
from .wire import Segment

Body = Callable[[Session], dict[str, Any]]
Check = Callable[[dict[str, Any], list[Segment]], list[str]]
Finalize = Callable[[dict[str, Any], list[Segment]], None]


@dataclass
class Scenario:
    name: str                   # file stem: NN_name
    title: str
    description: str
    body: Body                  # the traffic; returns extra truth sections
    config: LabConfig = field(default_factory=LabConfig)
    family: str = "ipv4"
    nano: bool = False
    any_iface: bool = False
    pcapng_copy: bool = False   # also write NN_name.pcapng (editcap conversion)
    check: Check | None = None  # problems found in the truth/capture -> retry
    finalize: Finalize | None = None  # fills capture-derived expectations
    attempts: int = 3           # runs until check() finds no problem

    @property
    def number(self) -> int:
        return int(self.name.split("_", 1)[0])


def meta(sc: Scenario, variant: str | None = None) -> dict[str, Any]:
    return {"id": sc.name if variant is None else f"{sc.name}{variant}", "number": sc.number,
            "title": sc.title, "description": sc.description}


def run_once(sc: Scenario, outdir: Path, attempt: int) -> list[str]:
    pcap = outdir / f"{sc.name}.pcap"
    with Lab(sc.config) as lab:
        sess = Session(lab, sc.family)
        sess.start_capture(pcap, nano=sc.nano, any_iface=sc.any_iface)
        assert sess.capture is not None
        try:
            extra = sc.body(sess)
            sess.snapshot("capture_end")
        except BaseException:
            sess.capture.abort()
            raise
        stats = sess.capture.stop(settle_s=0.2)
        sess.final_digests()
        rb = Readbacks(lab)
    for conn in sess.conns:
        conn.expected.pop("_superseded", None)
        for side in ("client", "server"):
            conn.expected.setdefault(f"{side}_final_state", sess.final_state(conn, side))
    extra["attempt"] = attempt
    truth, segs = build(meta(sc), sess, rb, pcap, stats, dict(extra))
    if sc.finalize:
        sc.finalize(truth, segs)
    problems = sc.check(truth, segs) if sc.check else []
    truth["generator"]["self_check_problems"] = problems
    write(truth, pcap.with_suffix(".truth.json"))
    if sc.pcapng_copy:
        ng = outdir / f"{sc.name}_ng.pcapng"
        run(["editcap", "-F", "pcapng", str(pcap), str(ng)])
        extra["attempt"] = attempt
        truth_ng, _ = build(meta(sc), sess, rb, ng, stats, dict(extra),
                            converted_from=pcap.name)
        truth_ng["scenario"]["id"] = f"{sc.name}_ng"
        truth_ng["generator"]["self_check_problems"] = problems
        if sc.finalize:
            sc.finalize(truth_ng, segs)
        write(truth_ng, outdir / f"{sc.name}_ng.truth.json")
    return problems


def run_scenario(sc: Scenario, outdir: Path) -> list[str]:
    problems: list[str] = []
    for attempt in range(1, sc.attempts + 1):
        problems = run_once(sc, outdir, attempt)
        if not problems:
            return []
        print(f"  {sc.name}: attempt {attempt}: {problems}", file=sys.stderr)
    return problems
