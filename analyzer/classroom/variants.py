"""Per-student variants: each seed picks a capture and a connection from a set, and the
packets and OS profile its questions are about, so that answers cannot be copied."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from analyzer.classroom.model import AnswerKey
from analyzer.classroom.spec import Spec, build_key, seeded_rng
from analyzer.errors import UsageError
from analyzer.result import AnalysisResult

__all__ = ["CAPTURE_GLOBS", "Variants", "expand_captures"]

CAPTURE_GLOBS = ("*.pcap", "*.pcapng", "*.cap", "*.pcap.gz", "*.pcapng.gz")
MAX_CONNS = 50  # candidate connections looked at per capture


def expand_captures(args: list[str]) -> list[str]:
    """Capture paths: files as given, directories expanded to the captures inside."""
    out: list[str] = []
    for a in args:
        p = Path(a)
        if p.is_dir():
            found = sorted({str(x) for g in CAPTURE_GLOBS for x in p.glob(g)})
            if not found:
                raise UsageError(f"{a}: no capture (.pcap, .pcapng, .cap) in this directory")
            out.extend(found)
        else:
            out.append(a)
    return out


def suitable(result: AnalysisResult, need: str) -> list[int]:
    """Connections of ``result`` that show what ``need`` asks (handshake|teardown|data)."""
    c = result.connections
    hs = (c["syn_count"] > 0) & (c["synack_count"] > 0)
    masks = {"handshake": hs, "teardown": hs & ((c["fin_c2s"] + c["fin_s2c"]) > 0),
             "data": hs & ((c["bytes_c2s"] + c["bytes_s2c"]) > 0)
             & c["handshake_rtt_ms"].notna()}
    mask = masks.get(need, hs).to_numpy()
    return [int(x) for x in c["conn_id"].to_numpy()[np.flatnonzero(mask)][:MAX_CONNS]]


class Variants:
    """Builds variant keys from a set of captures, analysing each capture once."""

    def __init__(self, captures: list[str], spec: Spec,
                 load: Callable[[str], AnalysisResult]) -> None:
        self.captures, self.spec, self.load = captures, spec, load
        self.cache: dict[str, AnalysisResult] = {}
        self.fits: dict[str, list[int]] = {}

    def _candidates(self, path: str) -> list[int]:
        if path not in self.fits:
            if path not in self.cache:
                self.cache[path] = self.load(path)
            self.fits[path] = suitable(self.cache[path], self.spec.need)
        return self.fits[path]

    def key(self, seed: str, conn: int | None = None) -> AnswerKey:
        rng = seeded_rng(seed)
        order = list(self.captures)
        rng.shuffle(order)
        for path in order:
            conns = self._candidates(path)
            if conn is not None:
                conns = [c for c in conns if c == conn] or ([conn] if conn < len(
                    self.cache[path].core_connections) else [])
            if conns:
                cid = rng.choice(conns)
                return build_key(self.cache[path], cid, self.spec, variant=seed,
                                 capture=path)
        raise UsageError(f"no capture among {len(self.captures)} has a connection with a "
                         f"{self.spec.need} for preset/spec {self.spec.name}")
