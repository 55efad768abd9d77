"""Long synthetic connections for the ladder tests (packet-table columns, no file)."""

from __future__ import annotations

from scripted import ADDRESSES, columns

from analyzer.api import analyze_columns
from analyzer.result import AnalysisResult

MSS = 1448


def bulk_script(segments: int = 10_000, every_lost: int = 997) -> list[tuple]:
    """Handshake, a request, ``segments`` rows of bulk data from the server (an ACK from the
    client after every second data segment; every ``every_lost``-th data segment resent
    after 200 ms), then a four-way close. Times in seconds."""
    cisn, sisn = 1000, 5000
    t = 0.0
    s: list[tuple] = [("c", "S", cisn, 0, 0, t), ("s", "SA", sisn, cisn + 1, 0, t + 0.01),
                      ("c", "A", cisn + 1, sisn + 1, 0, t + 0.02),
                      ("c", "PA", cisn + 1, sisn + 1, 100, t + 0.03)]
    t = 0.05
    seq = sisn + 1
    cack = cisn + 101
    sent = 0
    while len(s) < segments - 4:
        s.append(("s", "A", seq, cack, MSS, t))
        sent += 1
        if sent % every_lost == 0:
            t += 0.2
            s.append(("s", "A", seq, cack, MSS, t))
        seq += MSS
        t += 0.0005
        if sent % 2 == 0:
            s.append(("c", "A", cack, seq, 0, t))
            t += 0.0001
    s += [("c", "FA", cack, seq, 0, t + 0.01), ("s", "A", seq, cack + 1, 0, t + 0.02),
          ("s", "FA", seq, cack + 1, 0, t + 0.03), ("c", "A", cack + 1, seq + 1, 0, t + 0.04)]
    return s


def bulk_result(segments: int = 10_000) -> AnalysisResult:
    return analyze_columns(columns(bulk_script(segments)), list(ADDRESSES), source="bulk")
