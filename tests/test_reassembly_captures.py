"""Reassembled streams of real captures against independent truth.

* sample_pcaps: every direction of every connection equals the bytes the generator's
  application sent (length and SHA-256 recorded in the truth files).
* ../shared/captures: every TCP stream without gaps equals tshark 4.0's
  ``-z follow,tcp,raw,N`` output, direction by direction (tshark stream N ↔ synack's
  connection holding the stream's first frame); captures outside the native reader are
  read with the tshark engine (TSHARK_ENGINE). Every exclusion (EXCLUDED: streams that
  differ, WITH_GAPS: streams not compared) is listed with its reason, and the test fails
  when the set of exclusions changes either way. Streams that tshark 4.0 splits otherwise
  than synack (test_shared_captures.KNOWN, with its reasons) are not compared. On the
  corpus: 1,144 streams compared, 1,136 equal, 8 in EXCLUDED, 4 in WITH_GAPS.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pandas as pd
import pytest
from test_shared_captures import CAPTURES, KNOWN, PCAPS, UNSUPPORTED

import analyzer
from analyzer.reassembly import Reassembler, StreamSet
from analyzer.result import AnalysisResult

SAMPLES = Path(__file__).resolve().parents[1] / "sample_pcaps"
TRUTHS = sorted(SAMPLES.glob("*.truth.json"))

# --- sample captures ------------------------------------------------------------------------

#: (capture, truth connection id, direction) → (reason, bytes the capture holds)
SAMPLE_EXCLUSIONS = {
    ("10_peer_vanished.pcap", 0, "client"): (
        "the peer vanished while the client's first 500-byte send was being retransmitted: "
        "its two later sends (1,000 bytes) never left the send buffer, so the wire (and the "
        "stream) holds 300 + 500 of the 1,800 bytes sent", 800),
}


def _digest(data: bytes) -> dict[str, object]:
    import hashlib

    return {"len": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _join(streams: StreamSet, group: int) -> bytes:
    s = streams.stream(group)
    assert s.gaps == [], s.gaps
    return b"".join(c.data or b"" for c in s.chunks())


@pytest.mark.parametrize("truth_path", TRUTHS, ids=[p.stem for p in TRUTHS])
def test_sample_streams_equal_the_bytes_sent(truth_path: Path):
    truth = json.loads(truth_path.read_text())
    name = truth["capture"]["file"]
    r = analyzer.analyze(str(SAMPLES / name))
    streams = Reassembler(r).all_streams()
    conns = r.connections
    used: set[int] = set()
    for c in truth["connections"]:
        hit = conns[(conns["client_port"] == c["client"]["port"])
                    & (conns["server_port"] == c["server"]["port"])]
        cid = next(int(i) for i in hit["conn_id"] if int(i) not in used)  # incarnations in order
        used.add(cid)
        for e, d in enumerate(("client", "server")):
            got = _digest(_join(streams, 2 * cid + e))
            excluded = SAMPLE_EXCLUSIONS.get((name, c["id"], d))
            if excluded:
                assert got["len"] == excluded[1], excluded[0]
                continue
            assert got == c["data"][f"{d}_sent"], (name, c["id"], d)


# --- shared captures vs tshark ---------------------------------------------------------------

RST_DATA = ("an RST carries a payload: tshark's follow shows it, synack leaves it out of the "
            "stream (diagnostic text that no receiver delivers; the rst_with_data check "
            "reports it)")
NEW_ISN = ("the server resent its SYN-ACK with another ISN; tshark 4.0's follow keeps the "
           "latest/first base inconsistently")
#: (capture, tshark stream) → why synack's stream differs from tshark's follow output
EXCLUDED: dict[tuple[str, int], str] = {
    ("suri-tcp-rst-with-data.pcap", 0): RST_DATA,
    ("tcpdump-tcp_rst_data.pcap", 0): RST_DATA,
    ("tcpdump-tcp_rst_data-trunc.pcap", 0): RST_DATA,
    ("ppa1-gnutella.pcap", 8): RST_DATA,
    ("ppa1-gnutella.pcap", 91): RST_DATA,
    ("ppa1-gnutella.pcap", 174): RST_DATA,
    ("ndpi-KakaoTalk_chat.pcap", 2): NEW_ISN + ": after a bogus second SYN-ACK (frame 46, seq "
        "1712195420) it shows none of the server's 3,722 bytes; synack follows the first ISN, "
        "which the server's data and the client's ACKs continue from",
    ("suri-tcp-fastopen-10-syn-data.pcap", 0): NEW_ISN + ": SYN-ACKs alternate between ISNs "
        "3212050950 and 97572840 and the data follows the second; tshark reports 1,180,489,186 "
        "bytes missing and shows 43 bytes out of place; synack starts the stream after the "
        "ISN the data continues from",
}
#: (capture, tshark stream) → the gaps that keep it out of the comparison
WITH_GAPS: dict[tuple[str, int], str] = {
    ("arkime-tcpseq_synthetic.pcap", 0): "synthetic: the client's second segment jumps "
        "251,658,112 sequence numbers ahead, leaving 251,658,103 bytes never sent",
    ("ppa3-tcp_dupack.pcapng", 0): "the capture (starting mid-stream) missed 9,576 server "
        "bytes at offset 1,368",
    ("suri-TLPW1-tcp-80-49309.pcap", 0): "the capture missed 1,288 and 5,152 server bytes",
    ("suri-frag-eth-vlan-ipv6-tcp.pcap", 0): "tshark engine: the only segment was rebuilt "
        "from IPv6 fragments, so its bytes are not in one piece of the file (an ip_fragments "
        "gap)",
}
#: Captures outside the native reader (link types, tunnels, IP fragments): read with the
#: tshark engine (analyzer.engines), whose packet table has the same payload offsets.
TSHARK_ENGINE = UNSUPPORTED | {name for name, (streams, _r) in KNOWN.items() if streams is None}

_POOL = ThreadPoolExecutor(max_workers=2)
_JOBS: dict[Path, Future[dict[int, tuple[str, str, bytes, bytes]]]] = {}


def _truth(path: Path) -> pd.DataFrame:
    t = pd.read_csv(CAPTURES / "truth" / f"{path.name}.csv")
    return t[(t["bytes_c2s"] + t["bytes_s2c"]) > 0]


def _tshark_follow(path: Path, streams: list[int]) -> dict[int, tuple[str, str, bytes, bytes]]:
    """stream → (node 0, node 1, node 0's bytes, node 1's bytes), all streams in one run."""
    cmd = ["tshark", "-q", "-n", "-r", str(path)]
    for n in streams:
        cmd += ["-z", f"follow,tcp,raw,{n}"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode in (0, 2) and done.stdout, done.stderr  # 2: file cut short
    out = done.stdout
    result: dict[int, tuple[str, str, bytes, bytes]] = {}
    cur: dict[str, object] = {}
    for line in out.splitlines() + ["="]:
        if line.startswith("=") and "n" in cur:
            result[int(cur["n"])] = (str(cur["0"]), str(cur["1"]),  # type: ignore[call-overload]
                                     bytes.fromhex("".join(cur["h0"])),  # type: ignore[arg-type]
                                     bytes.fromhex("".join(cur["h1"])))  # type: ignore[arg-type]
            cur = {}
        elif line.startswith("Filter: tcp.stream eq "):
            cur = {"n": int(line.split()[-1]), "h0": [], "h1": []}
        elif line.startswith(("Node 0: ", "Node 1: ")):
            cur[line[5]] = line[8:]
        elif cur and line.strip() and not line.startswith("Follow:"):
            cur["h1" if line.startswith("\t") else "h0"].append(line.strip())  # type: ignore[union-attr]
    return result


def _prefetch(path: Path, ahead: int = 4) -> None:
    """Start the tshark runs of ``path`` and the next few captures in the background (2 at
    a time) while synack analyses; a few ahead only, so that xdist workers share the work."""
    i = PCAPS.index(path)
    for p in PCAPS[i:i + ahead]:
        if p in _JOBS:
            continue
        streams = _truth(p)["stream"].tolist()
        if streams:
            _JOBS[p] = _POOL.submit(_tshark_follow, p, streams)


def _node(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


@cache
def compare(path: Path) -> tuple[int, frozenset[int], frozenset[int]]:
    """(streams compared, streams that disagree, streams left out because of gaps)."""
    _prefetch(path)
    truth = _truth(path)
    if not len(truth):
        return 0, frozenset(), frozenset()
    engine = "tshark" if path.name in TSHARK_ENGINE else "native"
    r: AnalysisResult = analyzer.analyze(str(path), engine=engine)
    frame_conn = dict(zip(r.columns["frame"].tolist(), r.flows.conn.tolist(), strict=True))
    streams = Reassembler(r).all_streams()
    theirs = _JOBS[path].result()
    compared, with_gaps, bad = 0, set(), set()
    split = KNOWN.get(path.name, (set(), ""))[0] or set()
    for s in truth.itertuples():
        if s.stream in split:
            continue
        cid = frame_conn[s.first_frame]
        ours = [streams.stream(2 * cid), streams.stream(2 * cid + 1)]
        if any(x.gaps for x in ours):
            with_gaps.add(int(s.stream))
            continue
        conn = r.connections.iloc[cid]
        node = {_node(conn["client"], conn["client_port"]): 0,
                _node(conn["server"], conn["server_port"]): 1}
        n0, n1, b0, b1 = theirs[s.stream]
        want = [b"", b""]
        want[node[n0]], want[node[n1]] = b0, b1
        compared += 1
        if [b"".join(c.data or b"" for c in x.chunks()) for x in ours] != want:
            bad.add(int(s.stream))
    return compared, frozenset(bad), frozenset(with_gaps)


def test_tshark_is_available():
    assert shutil.which("tshark"), "tshark is required (apt-get install -y tshark)"
    assert len(PCAPS) >= 90, "expected ../shared/captures beside the clone"


@pytest.mark.parametrize("path", PCAPS, ids=[p.name for p in PCAPS])
def test_streams_agree_with_tshark_follow(path: Path):
    _compared, bad, gaps = compare(path)
    assert bad == {n for (name, n) in EXCLUDED if name == path.name}
    assert gaps == {n for (name, n) in WITH_GAPS if name == path.name}
