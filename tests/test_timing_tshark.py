"""synack's retransmission verdicts against Wireshark's, packet by packet, on public captures.

Every frame where the two disagree must fall under one of the reasons in docs/timing.md
("Comparison with Wireshark"):

* ``duplicate`` — the same segment captured twice (same IP ID, microseconds apart):
  Wireshark flags the copy as a retransmission, synack as a capture artefact;
* ``rst`` — Wireshark flags a repeated RST carrying data; an RST is never retransmitted;
* ``reordering`` — Wireshark calls a segment out-of-order by its 3 ms / iRTT heuristic,
  synack sees that its bytes were captured before (re-segmented or not), or that the
  receiver had already reported the hole (SACK / duplicate ACK), or a D-SACK proves the
  copy: a retransmission;
* ``stream`` — Wireshark 4.0 puts the frame in another tcp.stream (see docs/decisions.md).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import pytest

import analyzer
from analyzer.result import AnalysisResult

CAPTURES = Path("/work/shared/captures")
FILES = ["ppa1-gnutella.pcap", "ppa1-evilprogram.pcap", "ppa3-http_espn_fail.pcapng",
         "ndpi-KakaoTalk_chat.pcap", "suri-syn_retransmit_with_ts.pcap",
         "suri-bug-5881-01.pcap", "arkime-wireshark-retrans.pcap", "ppa3-tcp_dupack.pcapng",
         "suri-http-mime-truncated.pcap", "suri-tcp-fastopen-10-syn-data.pcap",
         "suri-bug-7657-01.pcap", "ndpi-rtsp.pcapng"]



@cache
def load(name: str) -> tuple[AnalysisResult, pd.DataFrame]:
    result = analyzer.analyze(str(CAPTURES / "pcaps" / name))
    truth = pd.read_csv(CAPTURES / "truth" / f"{name}.packets.csv.gz")
    return result, truth


def _reason(result: AnalysisResult, truth: pd.DataFrame, frame: int, ws: bool) -> str | None:
    assert result.timing is not None
    tx = result.timing.retransmissions.set_index("frame")
    row = truth.set_index("frame").loc[frame]
    flags = int(str(row["flags"]), 16)
    if ws:  # Wireshark says retransmission, synack does not
        if frame in tx.index and tx.loc[frame, "kind"] == "duplicate":
            return "duplicate"
        if flags & 0x04:
            return "rst"
        return None
    ours = tx.loc[frame]
    if ours["kind"] == "spurious" and ours["spurious_by"] == "dsack":
        return "reordering"
    if row["out_of_order"] == 1 or row["retransmission"] == 0:
        if ours["original_frame"] >= 0 and ours["original_frame"] != frame:
            orig = truth.set_index("frame").loc[int(ours["original_frame"])]
            if orig["stream"] != row["stream"]:
                return "stream"
            return "reordering"
        return "reordering" if row["out_of_order"] == 1 else None
    return None


@pytest.mark.parametrize("name", FILES)
def test_verdicts_agree_or_are_explained(name):
    result, truth = load(name)
    assert result.timing is not None
    tx = result.timing.retransmissions
    ws = set(truth.loc[(truth["retransmission"] == 1) | (truth["fast_retransmission"] == 1)
                       | (truth["spurious_retransmission"] == 1), "frame"])
    ours = set(tx.loc[tx["kind"] != "duplicate", "frame"])
    unexplained = [(f, "wireshark only") for f in sorted(ws - ours)
                   if _reason(result, truth, f, True) is None]
    unexplained += [(f, "synack only") for f in sorted(ours - ws)
                    if _reason(result, truth, f, False) is None]
    assert not unexplained, unexplained


def test_agreement_on_clean_retransmissions():
    """Where neither side sees an artefact, the verdicts are the same frames."""
    both = total = 0
    for name in ("ppa1-evilprogram.pcap", "ppa3-http_espn_fail.pcapng",
                 "ndpi-KakaoTalk_chat.pcap"):
        result, truth = load(name)
        assert result.timing is not None
        ws = set(truth.loc[truth["retransmission"] == 1, "frame"])
        ours = set(result.timing.retransmissions["frame"])
        both += len(ws & ours)
        total += len(ws | ours)
    assert total > 100 and both == total


def test_fast_retransmission_verdicts():
    result, truth = load("ppa3-tcp_dupack.pcapng")
    assert result.timing is not None
    fast_ws = set(truth.loc[truth["fast_retransmission"] == 1, "frame"])
    tx = result.timing.retransmissions
    assert fast_ws == set(tx.loc[tx["kind"] == "fast", "frame"])
