"""Connections on public real-world captures vs tshark 4.0's per-stream view of them.

For every capture in ../shared/captures that the native reader accepts, each tshark
stream is matched to synack's connection holding the stream's first frame, and the
stream's packet count, SYN count (pure SYNs), FIN and RST counts must be equal. The
only allowed disagreements are listed in KNOWN, each with its reason.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

import analyzer
from analyzer.errors import InputError

SHARED = Path(os.environ.get("SYNACK_SHARED", Path(__file__).resolve().parents[2] / "shared"))
CAPTURES = SHARED / "captures"
PCAPS = sorted((CAPTURES / "pcaps").glob("*")) if CAPTURES.exists() else []

TUNNEL = "the TCP is inside a tunnel the native reader does not open (tshark engine's job)"
KNOWN: dict[str, tuple[set[int] | None, str]] = {
    "arkime-gtp-iphone.pcap": (None, TUNNEL + ": GTP-U"),
    "suri-ipv6_over_ipv4.pcap": (None, TUNNEL + ": 6in4"),
    "suri-pppoe-session-http.pcap": (None, TUNNEL + ": PPPoE"),
    "suri-frag-eth-vlan-ipv6-tcp.pcap": (None, "the TCP segment is in IPv6 fragments: "
                                         "recorded as an ip_fragment anomaly, not reassembled"),
    "suri-bug-7657-01.pcap": ({12, 19, 23}, "frames 13, 20 and 24 are one SYN (ISN 4291095205) "
                              "sent three times between 21 injected SYNs with other ISNs; "
                              "tshark opens a new stream for each copy, synack keeps the "
                              "copies in one connection"),
}
# Link types outside the native reader (ARCNET, IPoIB, 802.11 radiotap, NFLOG, PPP/HDLC):
# one clear InputError, exit 2 on the command line (the tshark engine reads them).
UNSUPPORTED = {"tcpdump-arcnet-http.pcap", "tcpdump-ipoib.pcap", "arkime-80211http.pcap",
               "arkime-nflog.pcap", "ndpi-BGP_Cisco_hdlc_slarp.pcap"}


@cache
def result_for(path: Path):
    return analyzer.analyze(str(path))


def disagreements(path: Path) -> set[int]:
    truth = pd.read_csv(CAPTURES / "truth" / f"{path.name}.csv")
    r = result_for(path)
    pk = r.packets
    frame_conn = dict(zip(pk["frame"].tolist(), pk["conn_id"].tolist(), strict=True))
    bad = set()
    for s in truth.itertuples():
        cid = frame_conn.get(s.first_frame)
        if cid is None:
            bad.add(s.stream)
            continue
        c = r.connections.iloc[cid]
        ours = (c.pkts_c2s + c.pkts_s2c, c.syn_count, c.fin_c2s + c.fin_s2c,
                c.rst_c2s + c.rst_s2c)
        theirs = (s.pkts_c2s + s.pkts_s2c, s.syn_count, s.fin_c2s + s.fin_s2c,
                  s.rst_c2s + s.rst_s2c)
        if tuple(int(x) for x in ours) != tuple(int(x) for x in theirs):
            bad.add(s.stream)
    return bad


def test_shared_captures_are_present():
    assert len(PCAPS) >= 90, f"expected ../shared/captures beside the clone at {SHARED}"


@pytest.mark.parametrize("path", PCAPS, ids=[p.name for p in PCAPS])
def test_streams_agree_with_tshark(path: Path):
    if path.name in UNSUPPORTED:
        with pytest.raises(InputError, match="unsupported link type"):
            result_for(path)
        return
    bad = disagreements(path)
    allowed, _reason = KNOWN.get(path.name, (set(), ""))
    if allowed is None:
        return  # whole file outside the native reader's scope, reason in KNOWN
    assert bad == allowed
