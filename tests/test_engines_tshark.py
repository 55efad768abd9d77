"""analyzer.engines: the tshark engine gives the native packet table, reads what native cannot,
and ``--engine auto`` falls back to it; a missing tshark is one line and exit 2.

tshark is a hard dependency of the test suite (CI installs it): nothing here is skipped.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyzer.api import analyze, analyze_columns
from analyzer.capture import read_bytes
from analyzer.decode import Decoded, decode_capture
from analyzer.engines.auto import decode
from analyzer.engines.tshark import TsharkStats, decode_with_tshark
from analyzer.errors import UsageError
from analyzer.schema import PACKET_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "sample_pcaps").glob("*.pcap*"))
SHARED = Path(os.environ.get("SYNACK_SHARED", ROOT.parent / "shared")) / "captures"
PCAPS, TRUTH = SHARED / "pcaps", SHARED / "truth"
SHARED_FILES = sorted(PCAPS.glob("*"))

# Where the two engines legitimately differ, and why ("extra": frames only tshark reads).
NOT_NATIVE = {  # link types the native reader does not decode: tshark reads every TCP frame
    "arkime-80211http.pcap": "IEEE 802.11 + radiotap (127)",
    "arkime-nflog.pcap": "Linux NFLOG (239)",
    "ndpi-BGP_Cisco_hdlc_slarp.pcap": "PPP link type carrying Cisco HDLC (9)",
    "tcpdump-arcnet-http.pcap": "ARCNET (129)",
    "tcpdump-ipoib.pcap": "IP over InfiniBand (242)",
}
EXTRA_IN_TSHARK = {  # native reads the file but not these frames' TCP
    "arkime-gtp-iphone.pcap": "TCP inside GTP-U tunnels (UDP 2152)",
    "suri-ipv6_over_ipv4.pcap": "IPv6 inside IPv4 (6in4, protocol 41)",
    "suri-frag-eth-vlan-ipv6-tcp.pcap": "tshark reassembles the IPv6 fragments into frame 3; "
                                        "native records ip_fragment anomalies",
}
COMPARED = [p for p in SAMPLES] + [p for p in SHARED_FILES
                                   if p.name not in NOT_NATIVE and p.name not in EXTRA_IN_TSHARK]


@cache
def tshark_table(path: Path) -> Decoded:
    return decode_with_tshark(str(path))


@cache
def native_table(path: Path) -> Decoded:
    return decode_capture(str(path))


def test_shared_captures_are_present() -> None:
    assert len(SHARED_FILES) >= 90, f"expected ../shared/captures beside the clone ({SHARED})"


def _texts(d: Decoded, col: str) -> np.ndarray:
    return np.array([*d.addresses, ""], dtype=object)[d.columns[col]]


@pytest.mark.parametrize("path", COMPARED, ids=[p.name for p in COMPARED])
def test_both_engines_give_the_same_packet_table(path: Path) -> None:
    ours, theirs = native_table(path), tshark_table(path)
    assert list(theirs.columns) == list(PACKET_COLUMNS)
    for name, dtype in PACKET_COLUMNS.items():
        assert theirs.columns[name].dtype == dtype, name
    assert theirs.columns["frame"].tolist() == ours.columns["frame"].tolist()
    for name in PACKET_COLUMNS:
        if name in ("src", "dst"):
            assert (_texts(theirs, name) == _texts(ours, name)).all(), name
        else:
            bad = np.flatnonzero(theirs.columns[name] != ours.columns[name])
            assert not bad.size, (name, ours.columns["frame"][bad[:5]].tolist())
    assert theirs.stats.non_tcp == ours.stats.non_tcp
    assert theirs.stats.frames == ours.stats.frames
    assert sorted(zip(theirs.anomalies.frame, theirs.anomalies.code, strict=True)) == \
        sorted(zip(ours.anomalies.frame, ours.anomalies.code, strict=True))
    assert theirs.stats.warnings == ours.stats.warnings


@pytest.mark.parametrize("name", sorted(EXTRA_IN_TSHARK))
def test_tshark_reads_tunnels_and_fragments_native_does_not(name: str) -> None:
    ours, theirs = native_table(PCAPS / name), tshark_table(PCAPS / name)
    truth = pd.read_csv(TRUTH / f"{name}.packets.csv.gz")
    assert theirs.columns["frame"].tolist() == truth["frame"].tolist()
    assert set(ours.columns["frame"].tolist()) < set(theirs.columns["frame"].tolist())


def _stream_disagreements(name: str, decoded: Decoded) -> set[int]:
    result = analyze_columns(decoded.columns, decoded.addresses, source=name,
                             anomalies=decoded.anomalies, stats=decoded.stats)
    truth = pd.read_csv(TRUTH / f"{name}.csv")
    frame_conn = dict(zip(result.columns["frame"].tolist(), result.flows.conn.tolist(),
                          strict=True))
    bad = set()
    for s in truth.itertuples():
        cid = frame_conn.get(s.first_frame)
        if cid is None:
            bad.add(s.stream)
            continue
        c = result.connections.iloc[cid]
        ours = (c.pkts_c2s + c.pkts_s2c, c.syn_count, c.fin_c2s + c.fin_s2c, c.rst_c2s + c.rst_s2c)
        theirs = (s.pkts_c2s + s.pkts_s2c, s.syn_count, s.fin_c2s + s.fin_s2c,
                  s.rst_c2s + s.rst_s2c)
        if tuple(int(x) for x in ours) != tuple(int(x) for x in theirs):
            bad.add(s.stream)
    return bad


@pytest.mark.parametrize("name", sorted({*NOT_NATIVE, *EXTRA_IN_TSHARK,
                                         "suri-pppoe-session-http.pcap"}))
def test_tunnelled_and_exotic_captures_match_tshark_streams(name: str) -> None:
    d = tshark_table(PCAPS / name)
    assert len(d) == len(pd.read_csv(TRUTH / f"{name}.packets.csv.gz"))
    assert _stream_disagreements(name, d) == set()


def test_payload_offsets_point_at_the_payload_inside_a_tunnel() -> None:
    path = PCAPS / "arkime-gtp-iphone.pcap"
    d = tshark_table(path)
    out = subprocess.run(["tshark", "-n", "-r", str(path), "-Y", "tcp.len > 0", "-T", "fields",
                          "-e", "frame.number", "-e", "tcp.payload"],
                         capture_output=True, text=True, check=True).stdout
    expected = {int(f): bytes.fromhex(h) for f, h in (line.split("\t") for line in
                                                        out.splitlines())}
    c = d.columns
    rows = np.flatnonzero(c["payload_len"] > 0)
    assert rows.size == len(expected) > 10
    for i in rows.tolist():
        got = read_bytes(str(path), int(c["payload_off"][i]), int(c["cap_payload_len"][i]))
        assert got == expected[int(c["frame"][i])]


def test_reassembled_segment_has_no_file_offset() -> None:
    d = tshark_table(PCAPS / "suri-frag-eth-vlan-ipv6-tcp.pcap")
    assert d.columns["frame"].tolist() == [3]
    assert d.columns["payload_off"].tolist() == [-1]
    assert d.columns["cap_payload_len"].tolist() == d.columns["payload_len"].tolist() == [1000]
    assert d.anomalies.code.tolist() == ["ip_fragment", "ip_fragment"]


def test_gzip_and_stdin(tmp_path: Path) -> None:
    src = ROOT / "sample_pcaps" / "01_clean_close.pcap"
    gz = tmp_path / "c.pcap.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    a, b = decode_with_tshark(str(gz)), native_table(src)
    for name in PACKET_COLUMNS:
        assert (a.columns[name] == b.columns[name]).all(), name
    r = subprocess.run([sys.executable, "-m", "analyzer.cli", "analyze", "--engine", "tshark",
                        "--format", "json", "-"], input=src.read_bytes(), capture_output=True)
    assert r.returncode == 0, r.stderr
    assert b'"tcp_segments": ' in r.stdout


def test_stats_name_the_engine() -> None:
    d = tshark_table(PCAPS / "arkime-nflog.pcap")
    assert isinstance(d.stats, TsharkStats)
    assert d.stats.engine == "tshark" and d.stats.tshark.count(".") == 2
    assert d.stats.linktypes == {239: 10}


# --- engine selection ---------------------------------------------------------------------

def test_auto_is_native_when_native_sees_everything() -> None:
    d = decode(str(PCAPS / "ws-http.pcap"), "auto")   # has UDP frames: tshark is asked
    assert not isinstance(d.stats, TsharkStats)


@pytest.mark.parametrize("name,needle", [
    ("arkime-nflog.pcap", "link type 239 (Linux NFLOG) is not decoded natively"),
    ("arkime-gtp-iphone.pcap", "tshark finds TCP in 58 of the first"),
])
def test_auto_falls_back_to_tshark(name: str, needle: str) -> None:
    d = decode(str(PCAPS / name), "auto")
    assert isinstance(d.stats, TsharkStats) and needle in d.stats.fallback
    assert analyze(str(PCAPS / name), engine="auto").connections.shape[0] >= 1


def test_unknown_engine_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        decode(str(SAMPLES[0]), "wireshark")


def _synack(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "analyzer.cli", *args], capture_output=True,
                          text=True, env=env)


def test_cli_auto_says_it_falls_back() -> None:
    r = _synack("analyze", str(PCAPS / "arkime-nflog.pcap"))
    assert r.returncode == 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "read with tshark" in lines[0] and "239" in lines[0]
    assert "52.43.228.156" in r.stdout


def test_cli_native_engine_keeps_the_link_type_error() -> None:
    r = _synack("analyze", "--engine", "native", str(PCAPS / "arkime-nflog.pcap"))
    assert r.returncode == 2 and "unsupported link type 239" in r.stderr


@pytest.mark.parametrize("args", [
    ("analyze", "--engine", "tshark", str(ROOT / "sample_pcaps" / "01_clean_close.pcap")),
    ("analyze", str(PCAPS / "arkime-nflog.pcap")),
    ("crosscheck", str(ROOT / "sample_pcaps" / "01_clean_close.pcap")),
])
def test_tshark_missing_is_one_line_and_exit_2(args: tuple[str, ...], tmp_path: Path) -> None:
    assert shutil.which("tshark", path=str(tmp_path)) is None
    r = _synack(*args, path=str(tmp_path))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert "tshark" in lines[0] and "apt-get install tshark" in lines[0]


def test_auto_without_tshark_keeps_the_native_result(tmp_path: Path) -> None:
    r = _synack("analyze", str(PCAPS / "arkime-gtp-iphone.pcap"), path=str(tmp_path))
    assert r.returncode == 0 and r.stderr == ""


def _tunnel_frames() -> list[bytes]:
    """The same inner Ethernet-less IPv4/TCP segment inside GRE, VXLAN and MPLS."""
    import struct

    from _pcap_builders import ethernet, ipv4, tcp_segment

    inner = ipv4("10.1.1.1", "10.2.2.2", tcp_segment(sport=40000, dport=80, seq=7, ack=9,
                                                     flags=0x18, payload=b"hello tunnel"))
    gre = ipv4("192.0.2.1", "192.0.2.2", struct.pack("!HH", 0, 0x0800) + inner, proto=47)
    vxlan_payload = b"\x08\0\0\0" + (42 << 8).to_bytes(4, "big") + ethernet(inner)
    udp = struct.pack("!HHHH", 50000, 4789, 8 + len(vxlan_payload), 0) + vxlan_payload
    vxlan = ipv4("192.0.2.1", "192.0.2.2", udp, proto=17)
    mpls = struct.pack("!I", 100 << 12 | 1 << 8 | 64) + inner
    return [ethernet(gre), ethernet(vxlan), ethernet(mpls, ethertype=0x8847)]


def test_gre_vxlan_and_mpls_give_the_inner_segment(tmp_path: Path) -> None:
    from _pcap_builders import Frame, write_pcap

    path = tmp_path / "tunnels.pcap"
    write_pcap(str(path), [Frame(f, ts_ns=10**18 + i) for i, f in enumerate(_tunnel_frames())])
    d = decode_with_tshark(str(path))
    c = d.columns
    assert c["frame"].tolist() == [1, 2, 3]
    assert set(_texts(d, "src")) == {"10.1.1.1"} and set(_texts(d, "dst")) == {"10.2.2.2"}
    assert c["csum_ok"].tolist() == [1, 1, 1] and c["anomalies"].tolist() == [0, 0, 0]
    for off, n in zip(c["payload_off"].tolist(), c["cap_payload_len"].tolist(), strict=True):
        assert read_bytes(str(path), off, n) == b"hello tunnel"
    assert len(decode_capture(str(path))) == 0
    auto = decode(str(path), "auto")
    assert isinstance(auto.stats, TsharkStats) and "tshark finds TCP in 3" in auto.stats.fallback
