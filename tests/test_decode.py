"""analyzer.decode: the packet table against tshark's truth and hand-made packets."""

from __future__ import annotations

import csv
import ipaddress
import struct
from decimal import Decimal
from pathlib import Path

import dpkt
import numpy as np
import pandas as pd
import pytest
from _pcap_builders import (
    Frame,
    Pcapng,
    ethernet,
    ext_header,
    ipv4,
    ipv6,
    simple_tcp_frame,
    tcp_segment,
    write_pcap,
)

from analyzer.decode import NON_TCP_KINDS, Decoded, decode_capture
from analyzer.errors import UnsupportedLinkTypeError
from analyzer.schema import (
    ANOM_BAD_CHECKSUM,
    ANOM_BAD_FLAGS,
    ANOM_BAD_IP_LEN,
    ANOM_BAD_OPTIONS,
    ANOM_RESERVED_BITS,
    ANOM_TRUNCATED_HEADER,
    ANOM_TRUNCATED_PAYLOAD,
    ANOM_ZERO_PORT,
    PACKET_COLUMNS,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "captures"
PCAPS, TRUTH = SHARED / "pcaps", SHARED / "truth"
SYN, ACK, PSH, FIN, RST = (dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK, dpkt.tcp.TH_PUSH, dpkt.tcp.TH_FIN,
                           dpkt.tcp.TH_RST)

# Captures whose link type the native reader does not decode (decode_capture raises
# UnsupportedLinkTypeError; `--engine tshark` is the way to read them).
NOT_NATIVE = {
    "arkime-80211http.pcap": 127,           # IEEE 802.11 + radiotap
    "arkime-nflog.pcap": 239,               # Linux NFLOG
    "ndpi-BGP_Cisco_hdlc_slarp.pcap": 9,    # PPP link type carrying Cisco HDLC
    "tcpdump-arcnet-http.pcap": 129,        # ARCNET (Linux)
    "tcpdump-ipoib.pcap": 242,              # IP over InfiniBand
}

# Where the packet table legitimately differs from tshark's per-frame truth, and why.
# "missing": frames tshark shows as TCP that have no row here.
KNOWN_DIFFERENCES: dict[str, dict[str, set[int] | str]] = {
    # TCP inside GTP-U (UDP 2152) tunnels: the native path stops at the outer UDP.
    "arkime-gtp-iphone.pcap": {"missing": "all"},
    # IPv6 inside IPv4 (protocol 41, 6in4): counted as other_ip, the tunnel is not opened.
    "suri-ipv6_over_ipv4.pcap": {"missing": {1}},
    # tshark reassembles the three IPv6 fragments into frame 3; the native path records
    # an ip_fragment anomaly for each fragment and does not reassemble.
    "suri-frag-eth-vlan-ipv6-tcp.pcap": {"missing": {3}},
    # Snaplen 46 leaves 12 bytes of TCP header: tshark shows the ports only; here it is a
    # truncated_tcp_header anomaly, not a row.
    "tcpdump-tcp_header_heapoverflow.pcap": {"missing": {1}},
    # Nanosecond fields 1,000,000,000 and 2,147,483,648: clamped to .999999999 here;
    # tshark prints them unnormalised (see the captures' README).
    "tcpdump-timestamp_invalid_nano.pcap": {"ts_ns": {2, 3}},
}


def _corpus() -> list[str]:
    path = TRUTH / "_files.csv"
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [row["name"] for row in csv.DictReader(f)]


def _ns(text: str) -> int:
    return int(Decimal(text) * 1_000_000_000)


def _int(text: str, base: int = 10) -> int:
    return int(text, base) if text else -1


def truth_table(name: str) -> pd.DataFrame:
    t = pd.read_csv(TRUTH / f"{name}.packets.csv.gz", dtype=object, keep_default_na=False)
    out = pd.DataFrame({"frame": t["frame"].astype(int)})
    out["ts_ns"] = [_ns(x) for x in t["time_epoch"]]
    out["src"], out["dst"] = t["src"], t["dst"]
    for mine, theirs in (("sport", "srcport"), ("dport", "dstport"), ("seq", "seq_raw"),
                         ("ack", "ack_raw"), ("payload_len", "len"), ("hdr_len", "hdr_len"),
                         ("window", "window"), ("ip_version", "ip_version"),
                         ("iface", "interface_id")):
        out[mine] = [_int(x) for x in t[theirs]]
    out["flags"] = [_int(x, 16) for x in t["flags"]]
    return out


def my_table(d: Decoded) -> pd.DataFrame:
    c = d.columns
    names = np.array([*d.addresses, ""], dtype=object)
    out = pd.DataFrame({k: c[k].astype(np.int64) for k in (
        "frame", "ts_ns", "sport", "dport", "seq", "ack", "payload_len", "hdr_len", "window",
        "ip_version", "iface", "flags")})
    out["src"], out["dst"] = names[c["src"]], names[c["dst"]]
    return out


def differences(name: str) -> dict[str, set[int] | str]:
    d = decode_capture(str(PCAPS / name))
    mine, truth = my_table(d), truth_table(name)
    found: dict[str, set[int] | str] = {}
    missing = set(truth.frame) - set(mine.frame)
    if missing:
        found["missing"] = missing
    if set(mine.frame) - set(truth.frame):
        found["extra"] = set(mine.frame) - set(truth.frame)
    m = mine.merge(truth, on="frame", suffixes=("", "_t"))
    if m.empty:
        return found
    if (truth["iface"] < 0).all():
        m["iface_t"] = m["iface"]
    reserved = (m["flags_t"] & 0xE00) != 0
    m["flags_t"] &= 0x1FF
    for col in ("ts_ns", "src", "dst", "sport", "dport", "flags", "seq", "ack", "payload_len",
                "hdr_len", "window", "ip_version", "iface"):
        bad = m.frame[m[col].to_numpy() != m[col + "_t"].to_numpy()]
        if len(bad):
            found[col] = set(bad.tolist())
    anomalies = d.columns["anomalies"][np.isin(d.columns["frame"], m.frame[reserved])]
    assert ((anomalies & ANOM_RESERVED_BITS) != 0).all()
    return found


@pytest.mark.parametrize("name", _corpus())
def test_packet_table_matches_tshark(name: str) -> None:
    if name in NOT_NATIVE:
        with pytest.raises(UnsupportedLinkTypeError) as err:
            decode_capture(str(PCAPS / name))
        assert err.value.linktype == NOT_NATIVE[name] and "byte 20" in str(err.value)
        return
    expected = dict(KNOWN_DIFFERENCES.get(name, {}))
    if expected.get("missing") == "all":
        expected["missing"] = set(truth_table(name).frame)
    assert differences(name) == expected


@pytest.mark.parametrize("name", ["ppa1-http-fault-post.pcap", "suri-http-mime-truncated.pcap"])
def test_captures_cut_short(name: str) -> None:
    d = decode_capture(str(PCAPS / name))
    truth = truth_table(name)
    assert d.columns["frame"].tolist() == truth.frame.tolist()
    assert len(d.stats.warnings) == 1 and "cut short" in d.stats.warnings[0]


def test_invalid_timestamps_clamped() -> None:
    d = decode_capture(str(PCAPS / "tcpdump-timestamp_invalid_nano.pcap"))
    assert d.columns["ts_ns"].tolist() == [1418145369999999999, 1418145370999999999,
                                           1418145370999999999]
    bad = d.anomalies[d.anomalies.code == "bad_timestamp"]
    assert bad.frame.tolist() == [2, 3]


# --- against dpkt, per packet, on real captures (options and fields) --------------------

def dpkt_rows(path: Path) -> list[tuple[int, dict[str, int]]]:
    """Per TCP-over-Ethernet frame: fields and options as dpkt parses them."""
    out = []
    with open(path, "rb") as f:
        reader = dpkt.pcapng.Reader(f) if path.suffix == ".pcapng" else dpkt.pcap.Reader(f)
        for i, (_ts, buf) in enumerate(reader, 1):
            ip = dpkt.ethernet.Ethernet(buf).data
            if not isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6) or not isinstance(ip.data,
                                                                                 dpkt.tcp.TCP):
                continue
            tcp = ip.data
            row = {"seq": tcp.seq, "ack": tcp.ack, "window": tcp.win, "opt_mss": -1,
                   "opt_wscale": -1, "opt_ts_val": -1, "opt_ts_ecr": -1, "opt_sack_perm": 0,
                   "opt_sack_blocks": 0}
            for kind, data in dpkt.tcp.parse_opts(tcp.opts):
                if kind == dpkt.tcp.TCP_OPT_MSS:
                    row["opt_mss"] = struct.unpack("!H", data)[0]
                elif kind == dpkt.tcp.TCP_OPT_WSCALE:
                    row["opt_wscale"] = data[0]
                elif kind == dpkt.tcp.TCP_OPT_TIMESTAMP:
                    row["opt_ts_val"], row["opt_ts_ecr"] = struct.unpack("!II", data)
                elif kind == dpkt.tcp.TCP_OPT_SACKOK:
                    row["opt_sack_perm"] = 1
                elif kind == dpkt.tcp.TCP_OPT_SACK:
                    row["opt_sack_blocks"] = len(data) // 8
            out.append((i, row))
    return out


@pytest.mark.parametrize("name", ["ndpi-sites.pcapng", "ws-tls_ciphers.pcap",
                                  "ppa1-email-troubles.pcap", "suri-syn_retransmit_with_ts.pcap",
                                  "honeynet-fc4.pcap"])
def test_options_agree_with_dpkt(name: str) -> None:
    d = decode_capture(str(PCAPS / name))
    c = d.columns
    index = {f: i for i, f in enumerate(c["frame"].tolist())}
    rows = dpkt_rows(PCAPS / name)
    assert rows
    for frame, expect in rows:
        i = index[frame]
        got = {k: int(c[k][i]) for k in expect}
        assert got == expect, frame


# --- hand-made packets ------------------------------------------------------------------

def decode_frames(tmp_path: Path, data: list[bytes], linktype: int = 1,
                  **kw: object) -> Decoded:
    path = tmp_path / "t.pcap"
    write_pcap(str(path), [Frame(x, ts_ns=1_000_000_000 * (i + 1)) for i, x in enumerate(data)],
               linktype=linktype, **kw)  # type: ignore[arg-type]
    return decode_capture(str(path))


def test_columns_follow_the_schema(tmp_path: Path) -> None:
    d = decode_frames(tmp_path, [simple_tcp_frame(payload=b"hello")])
    assert list(d.columns) == list(PACKET_COLUMNS)
    for name, dtype in PACKET_COLUMNS.items():
        assert d.columns[name].dtype == dtype, name
    c = d.columns
    assert d.addresses == ["10.0.0.1", "10.0.0.2"]
    assert (c["src"][0], c["dst"][0], c["sport"][0], c["dport"][0]) == (0, 1, 1234, 80)
    assert (c["payload_len"][0], c["cap_payload_len"][0], c["csum_ok"][0]) == (5, 5, 1)
    assert c["payload_off"][0] == 24 + 16 + 14 + 20 + 20
    df = d.packets()
    assert df.src.tolist() == ["10.0.0.1"] and len(df) == 1


@pytest.mark.parametrize("tpids", [[0x8100], [0x88A8, 0x8100], [0x9100, 0x8100],
                                   [0x8100, 0x8100, 0x8100]])
def test_vlan_and_qinq(tmp_path: Path, tpids: list[int]) -> None:
    seg = tcp_segment(payload=b"abc")
    tags = [(tp, 100 + i) for i, tp in enumerate(tpids)]
    d = decode_frames(tmp_path, [ethernet(ipv4("10.1.1.1", "10.2.2.2", seg), tags=tags)])
    c = d.columns
    assert c["vlan"].tolist() == [100] and c["payload_len"].tolist() == [3]
    assert c["csum_ok"].tolist() == [1]


def test_ethernet_padding_does_not_count(tmp_path: Path) -> None:
    d = decode_frames(tmp_path, [ethernet(ipv4("1.1.1.1", "2.2.2.2", tcp_segment(flags=ACK)),
                                          pad_to=60)])
    assert d.columns["payload_len"].tolist() == [0]
    assert d.columns["csum_ok"].tolist() == [1]


def test_ipv6_extension_headers(tmp_path: Path) -> None:
    seg = tcp_segment(sport=4000, dport=443, payload=b"data!")
    atomic_frag = bytes([0]) + b"\0\0" + b"\0\0\0\x07"                 # offset 0, M=0
    plain = ipv6("2001:db8::1", "2001:db8::2", seg)
    chain = ipv6("2001:db8::1", "2001:db8::2", seg,
                 ext=[(0, ext_header(0)), (60, ext_header(1)), (44, atomic_frag)])
    routed = ipv6("2001:db8::1", "2001:db8::2", seg, ext=[(43, ext_header(0))])
    d = decode_frames(tmp_path, [ethernet(p, 0x86DD) for p in (plain, chain, routed)])
    c = d.columns
    assert c["frame"].tolist() == [1, 2, 3]
    assert c["sport"].tolist() == [4000] * 3 and c["payload_len"].tolist() == [5] * 3
    assert c["csum_ok"].tolist() == [1, 1, -1]          # routing header: final dst unknown
    assert c["ip_version"].tolist() == [6, 6, 6] and c["ip_id"].tolist() == [-1] * 3
    assert d.addresses == ["2001:db8::1", "2001:db8::2"]


def test_fragments_are_anomalies(tmp_path: Path) -> None:
    seg = tcp_segment(payload=b"x" * 40)
    first = ipv4("10.0.0.1", "10.0.0.2", seg, frag=0x2000)                # MF
    later = ipv4("10.0.0.1", "10.0.0.2", seg, frag=0x0005)                # offset 40
    frag6 = ipv6("fe80::1", "fe80::2", seg, ext=[(44, bytes([0]) + b"\x00\x01" + b"\0\0\0\x09")])
    whole = ipv4("10.0.0.1", "10.0.0.2", seg)
    d = decode_frames(tmp_path, [ethernet(first), ethernet(later), ethernet(frag6, 0x86DD),
                                 ethernet(whole)])
    assert d.columns["frame"].tolist() == [4]
    frags = d.anomalies[d.anomalies.code == "ip_fragment"]
    assert frags.frame.tolist() == [1, 2, 3]
    assert "offset 40" in frags.detail.iloc[1]


def test_bad_checksum(tmp_path: Path) -> None:
    seg = tcp_segment(flags=PSH | ACK, payload=b"odd length")
    good = ethernet(ipv4("10.0.0.1", "10.0.0.2", seg))
    bad = ethernet(ipv4("10.0.0.1", "10.0.0.2", seg, bad_csum=True))
    bad6 = ethernet(ipv6("::1", "::2", seg, bad_csum=True), 0x86DD)
    d = decode_frames(tmp_path, [good, bad, bad6, good[:-1] + b"!"])
    c = d.columns
    assert c["csum_ok"].tolist() == [1, 0, 0, 0]
    assert ((c["anomalies"] & ANOM_BAD_CHECKSUM) != 0).tolist() == [False, True, True, True]
    off = decode_capture(str(tmp_path / "t.pcap"), verify_checksums=False)
    assert off.columns["csum_ok"].tolist() == [-1] * 4
    assert not (off.columns["anomalies"] & ANOM_BAD_CHECKSUM).any()


def test_truncated_by_snaplen(tmp_path: Path) -> None:
    frame = simple_tcp_frame(flags=ACK, payload=b"y" * 100)
    opts = ethernet(ipv4("10.0.0.1", "10.0.0.2", tcp_segment(opts=b"\x01\x01\x08\x0a" + 8 * b"\1")))
    path = tmp_path / "snap.pcap"
    write_pcap(str(path), [Frame(frame[:80], origlen=len(frame)), Frame(frame[:40]),
                           Frame(opts[:60], origlen=len(opts))], snaplen=80)
    d = decode_capture(str(path))
    c = d.columns
    assert c["frame"].tolist() == [1, 3]
    assert c["payload_len"].tolist() == [100, 0]
    assert c["cap_payload_len"].tolist() == [80 - 54, 0]
    assert c["csum_ok"].tolist() == [-1, -1]
    assert c["anomalies"][0] & ANOM_TRUNCATED_PAYLOAD
    assert c["anomalies"][1] & ANOM_TRUNCATED_HEADER
    short = d.anomalies[d.anomalies.code == "truncated_tcp_header"]
    assert short.frame.tolist() == [2] and "6 bytes" in short.detail.iloc[0]


def test_options(tmp_path: Path) -> None:
    syn = b"\x02\x04\x05\xb4\x04\x02\x08\x0a" + struct.pack("!II", 7, 0) + b"\x01\x03\x03\x07"
    sack = b"\x01\x01\x05\x12" + struct.pack("!IIII", 100, 200, 300, 400)
    tfo = b"\x22\x0a" + b"c" * 8
    tfo_exp = b"\xfe\x04\xf9\x89"
    bad = b"\x02\x06\x05\xb4"                                # MSS runs past the header
    nop_ts = b"\x01\x01\x08\x0a" + struct.pack("!II", 11, 22)
    mss_only = b"\x02\x04\x21\x00"
    frames = [ethernet(ipv4("10.0.0.1", "10.0.0.2", tcp_segment(opts=o)))
              for o in (syn, sack, tfo, tfo_exp, bad, nop_ts, mss_only)]
    c = decode_frames(tmp_path, frames).columns
    assert c["opt_mss"].tolist() == [1460, -1, -1, -1, -1, -1, 0x2100]
    assert c["opt_wscale"].tolist() == [7, -1, -1, -1, -1, -1, -1]
    assert c["opt_sack_perm"].tolist() == [True] + [False] * 6
    assert c["opt_ts_val"].tolist() == [7, -1, -1, -1, -1, 11, -1]
    assert c["opt_ts_ecr"].tolist() == [0, -1, -1, -1, -1, 22, -1]
    assert c["opt_sack_blocks"].tolist() == [0, 2, 0, 0, 0, 0, 0]
    assert c["opt_sack_left"][1] == 100 and c["opt_sack_right"][1] == 200
    assert c["opt_tfo"].tolist() == [-1, -1, 1, 0, -1, -1, -1]
    assert ((c["anomalies"] & ANOM_BAD_OPTIONS) != 0).tolist() == [False] * 4 + [True, False,
                                                                              False]


def test_flag_and_port_anomalies(tmp_path: Path) -> None:
    frames = [simple_tcp_frame(flags=SYN | FIN), simple_tcp_frame(flags=0),
              simple_tcp_frame(sport=0, flags=ACK),
              ethernet(ipv4("1.1.1.1", "2.2.2.2", tcp_segment(flags=ACK, reserved=0x0E)))]
    c = decode_frames(tmp_path, frames).columns
    a = c["anomalies"]
    assert [bool(x & ANOM_BAD_FLAGS) for x in a] == [True, True, False, False]
    assert [bool(x & ANOM_ZERO_PORT) for x in a] == [False, False, True, False]
    assert bool(a[3] & ANOM_RESERVED_BITS) and c["flags"][3] == ACK


def test_ip_total_length_zero_and_too_long(tmp_path: Path) -> None:
    seg = tcp_segment(flags=ACK, payload=b"z" * 30)
    tso = ethernet(ipv4("10.0.0.1", "10.0.0.2", seg, total=0))
    long = ethernet(ipv4("10.0.0.1", "10.0.0.2", seg, total=200))
    c = decode_frames(tmp_path, [tso, long]).columns
    assert c["payload_len"].tolist() == [30, 30]
    assert c["anomalies"][0] & ANOM_BAD_IP_LEN == 0 and c["anomalies"][1] & ANOM_BAD_IP_LEN


@pytest.mark.parametrize(("linktype", "wrap"), [
    (113, lambda p: b"\0\0\0\1\0\6" + b"\2" * 8 + b"\x08\x00" + p),                 # SLL
    (276, lambda p: b"\x08\x00\0\0" + b"\0" * 16 + p),                              # SLL2
    (101, lambda p: p), (12, lambda p: p), (14, lambda p: p), (228, lambda p: p),   # raw
    (0, lambda p: struct.pack("<I", 2) + p), (0, lambda p: struct.pack(">I", 2) + p),
    (108, lambda p: struct.pack(">I", 2) + p),                                      # LOOP
    (1, lambda p: ethernet(b"\x11\x00\x00\x01" + struct.pack("!H", len(p) + 2) + b"\x00\x21" + p,
                           0x8864)),                                               # PPPoE
])
def test_link_types(tmp_path: Path, linktype: int, wrap: object) -> None:
    pkt = ipv4("192.0.2.1", "192.0.2.2", tcp_segment(payload=b"q"))
    d = decode_frames(tmp_path, [wrap(pkt)], linktype=linktype)  # type: ignore[operator]
    assert d.columns["payload_len"].tolist() == [1] and d.columns["csum_ok"].tolist() == [1]
    assert d.stats.linktypes == {linktype: 1}


def test_raw_ipv6_and_null_ipv6(tmp_path: Path) -> None:
    pkt = ipv6("2001:db8::a", "2001:db8::b", tcp_segment())
    for lt, data in ((229, pkt), (101, pkt), (0, struct.pack("<I", 30) + pkt),
                     (0, struct.pack("<I", 24) + pkt), (0, struct.pack("<I", 28) + pkt)):
        d = decode_frames(tmp_path, [data], linktype=lt)
        assert d.columns["ip_version"].tolist() == [6], lt


def test_non_tcp_counts(tmp_path: Path) -> None:
    udp = ipv4("10.0.0.1", "10.0.0.2", b"\0\x35\0\x35\0\x08\0\0", proto=17)
    icmp = ipv4("10.0.0.1", "10.0.0.2", b"\x08\0\0\0\0\0\0\0", proto=1)
    icmp6 = ipv6("::1", "::2", b"\x80\0\0\0\0\0\0\0", proto=58)
    gre = ipv4("10.0.0.1", "10.0.0.2", b"\0" * 8, proto=47)
    arp = ethernet(b"\0" * 28, 0x0806)
    lldp = ethernet(b"\0" * 30, 0x88CC)
    frames = [ethernet(udp), ethernet(icmp), ethernet(icmp6, 0x86DD), ethernet(gre), arp, lldp,
              simple_tcp_frame()]
    d = decode_frames(tmp_path, frames)
    assert d.stats.non_tcp == {"udp": 1, "icmp": 1, "icmpv6": 1, "arp": 1, "other_ip": 1,
                               "other": 1}
    assert set(d.stats.non_tcp) == set(NON_TCP_KINDS)
    assert d.stats.frames == 7 and d.stats.tcp_segments == 1


def test_pcapng_mixed_link_types_and_unsupported_interface(tmp_path: Path) -> None:
    pkt = simple_tcp_frame()
    ng = Pcapng().section().interface(1).interface(127).interface(101, tsresol=9)
    ng.epb(pkt, iface=0, ticks=1).epb(b"\0" * 40, iface=1, ticks=2).epb(pkt[14:], iface=2,
                                                                         ticks=3)
    path = tmp_path / "mixed.pcapng"
    ng.write(str(path))
    d = decode_capture(str(path))
    assert d.columns["frame"].tolist() == [1, 3]
    assert d.columns["iface"].tolist() == [0, 2]
    assert d.columns["ts_ns"].tolist() == [1000, 3]
    unsupported = d.anomalies[d.anomalies.code == "unsupported_linktype"]
    assert unsupported.frame.tolist() == [2] and "127" in unsupported.detail.iloc[0]
    assert d.stats.format == "pcapng" and d.stats.linktypes == {1: 1, 127: 1, 101: 1}


def test_progress_and_stats(tmp_path: Path) -> None:
    path = tmp_path / "p.pcap"
    write_pcap(str(path), [Frame(simple_tcp_frame(), ts_ns=t) for t in (5_000, 9_000, 7_000)])
    calls: list[tuple[int, int | None]] = []
    d = decode_capture(str(path), progress=lambda done, total: calls.append((done, total)))
    size = path.stat().st_size
    assert calls and calls[-1] == (size, size)
    s = d.stats
    assert (s.first_ts_ns, s.last_ts_ns, s.bytes_read, s.snaplen) == (5_000, 9_000, size, 65535)
    assert s.format == "pcap" and not s.gzip and s.warnings == []


def test_unsupported_pcap_link_type(tmp_path: Path) -> None:
    path = tmp_path / "u.pcap"
    write_pcap(str(path), [Frame(b"\0" * 40)], linktype=127)
    with pytest.raises(UnsupportedLinkTypeError, match=r"u\.pcap: byte 20: unsupported link"):
        decode_capture(str(path))


def test_many_batches_and_addresses(tmp_path: Path) -> None:
    """Rows, addresses and checksums stay right across chunk boundaries."""
    frames = []
    for i in range(3000):
        seg = tcp_segment(sport=1024 + i % 500, flags=PSH | ACK, payload=b"w" * (i % 97))
        src = f"10.{i % 7}.{i % 11}.{i % 13}"
        pkt = ipv4(src, "192.168.1.1", seg) if i % 3 else ipv6(f"2001:db8::{i % 17:x}",
                                                                 "2001:db8::ffff", seg)
        frames.append(ethernet(pkt, 0x0800 if i % 3 else 0x86DD))
    path = tmp_path / "many.pcap"
    write_pcap(str(path), [Frame(f, ts_ns=i) for i, f in enumerate(frames)])
    from analyzer.capture import open_capture
    from analyzer.decode import decoder

    reader = open_capture(str(path), chunk_size=4096)
    dec = decoder._Decoder(reader, True)
    for batch in reader.batches():
        dec.batch(batch)
    d = dec.finish()
    dec.close()
    c = d.columns
    assert c["frame"].tolist() == list(range(1, 3001))
    assert (c["csum_ok"] == 1).all()
    names = np.array(d.addresses)
    expect = [f"10.{i % 7}.{i % 11}.{i % 13}" if i % 3 else
              str(ipaddress.IPv6Address(f"2001:db8::{i % 17:x}")) for i in range(3000)]
    assert names[c["src"]].tolist() == expect
    assert len(set(d.addresses)) == len(d.addresses)


def test_anomaly_table_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from analyzer.decode import decoder

    monkeypatch.setattr(decoder, "MAX_ANOMALY_ROWS", 50)
    frag = ethernet(ipv4("10.0.0.1", "10.0.0.2", tcp_segment(), frag=0x2000))
    d = decode_frames(tmp_path, [frag] * 300)
    assert len(d.anomalies) == 50
    assert "capped at 50" in d.stats.warnings[-1] and "250 ip_fragment" in d.stats.warnings[-1]


@pytest.mark.parametrize("linktype", [1, 113, 276, 101, 0, 108, 228, 229])
def test_random_frames_never_raise(tmp_path: Path, linktype: int) -> None:
    """Frames of random bytes (and random mutations of real ones) become rows or anomalies."""
    rng = np.random.default_rng(linktype)
    base = simple_tcp_frame(payload=b"r" * 30)
    if linktype != 1:
        base = base[14:]
    frames = []
    for i in range(400):
        if i % 2:
            data = bytearray(base)
            for pos in rng.integers(0, len(data), 4):
                data[pos] = int(rng.integers(0, 256))
            frames.append(bytes(data[: int(rng.integers(0, len(data) + 1))]))
        else:
            frames.append(rng.integers(0, 256, int(rng.integers(0, 120)), np.uint8).tobytes())
    d = decode_frames(tmp_path, frames, linktype=linktype)
    assert d.stats.frames == 400
    assert len(d) <= 400 and (np.diff(d.columns["frame"]) > 0).all()


def test_mutated_captures_give_data_or_input_errors(tmp_path: Path) -> None:
    """Bit-flipped and truncated corpus files: only InputError may escape, never a crash."""
    import contextlib
    import random

    from analyzer.errors import InputError

    files = sorted(p for p in PCAPS.iterdir() if p.stat().st_size < 100_000)
    rnd = random.Random(20240601)
    target = tmp_path / "mutant"
    for _ in range(300):
        data = bytearray(rnd.choice(files).read_bytes())
        for _ in range(rnd.randint(1, 20)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
        if rnd.random() < 0.3:
            data = data[: rnd.randrange(len(data))]
        target.write_bytes(data)
        with contextlib.suppress(InputError):
            decode_capture(str(target))
