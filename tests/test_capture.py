"""analyzer.capture: pcap/pcapng/gzip/stdin reading, chunking, cuts, garbage, bad input."""

from __future__ import annotations

import csv
import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _pcap_builders import Frame, Pcapng, simple_tcp_frame, write_pcap

from analyzer.capture import NO_LINKTYPE, FrameBatch, open_capture, read_bytes
from analyzer.errors import CaptureFormatError, UnreadableFileError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "captures"
PCAPS = SHARED / "pcaps"
T0 = 1_600_000_000_123_456_789


def read_all(path: str | Path, chunk_size: int | None = None) -> tuple[dict[str, np.ndarray],
                                                                        object]:
    """Every frame of a capture as concatenated arrays, plus the reader's info."""
    kw = {} if chunk_size is None else {"chunk_size": chunk_size}
    reader = open_capture(str(path), **kw)  # type: ignore[arg-type]
    out: dict[str, list[np.ndarray]] = {k: [] for k in
                                        ("frame", "ts_ns", "caplen", "origlen", "linktype",
                                         "iface", "stream_off")}
    data: list[bytes] = []
    for batch in reader.batches():
        for k in out:
            out[k].append(getattr(batch, k))
        data += frame_bytes(batch)
    reader.close()
    cols = {k: np.concatenate(v) if v else np.empty(0, np.int64) for k, v in out.items()}
    cols["data"] = np.array(data, dtype=object)
    return cols, reader.info


def frame_bytes(batch: FrameBatch) -> list[bytes]:
    return [bytes(batch.buf[o:o + c]) for o, c in zip(batch.data_off.tolist(),
                                                      batch.caplen.tolist(), strict=True)]


def frames(n: int = 5, step_ns: int = 1_000_001) -> list[Frame]:
    return [Frame(simple_tcp_frame(sport=1000 + i, payload=b"x" * i), ts_ns=T0 + i * step_ns)
            for i in range(n)]


# --- classic pcap -----------------------------------------------------------------------

@pytest.mark.parametrize("nano", [False, True])
@pytest.mark.parametrize("big", [False, True])
def test_pcap_resolution_and_byte_order(tmp_path: Path, nano: bool, big: bool) -> None:
    fr = frames()
    path = tmp_path / "t.pcap"
    write_pcap(str(path), fr, nano=nano, big=big)
    cols, info = read_all(path)
    assert info.format == "pcap" and not info.gzip
    assert cols["frame"].tolist() == [1, 2, 3, 4, 5]
    expect = [f.ts_ns if nano else f.ts_ns // 1000 * 1000 for f in fr]
    assert cols["ts_ns"].tolist() == expect
    assert cols["caplen"].tolist() == [len(f.data) for f in fr]
    assert list(cols["data"]) == [f.data for f in fr]
    assert set(cols["linktype"].tolist()) == {1}
    assert info.interfaces[0].ts_units == (10**9 if nano else 10**6)


def test_pcap_kuznetzov_variant_and_fcs_bits(tmp_path: Path) -> None:
    fr = frames(3)
    path = tmp_path / "k.pcap"
    write_pcap(str(path), fr, kuznetzov=True, linktype=1 | (1 << 26) | (2 << 28))
    cols, info = read_all(path)
    assert list(cols["data"]) == [f.data for f in fr]
    assert info.interfaces[0].linktype == 1
    assert info.interfaces[0].fcs_len == 4


def test_origlen_and_stream_offsets(tmp_path: Path) -> None:
    fr = [Frame(simple_tcp_frame()[:40], origlen=60)]
    path = tmp_path / "o.pcap"
    write_pcap(str(path), fr)
    cols, _ = read_all(path)
    assert cols["origlen"].tolist() == [60] and cols["caplen"].tolist() == [40]
    assert read_bytes(str(path), int(cols["stream_off"][0]), 40) == fr[0].data


@pytest.mark.parametrize("chunk", [64, 100, 1000])
def test_small_chunks_carry_partial_records(tmp_path: Path, chunk: int) -> None:
    fr = frames(40)
    path = tmp_path / "c.pcap"
    write_pcap(str(path), fr)
    cols, info = read_all(path, chunk_size=chunk)
    assert cols["frame"].tolist() == list(range(1, 41))
    assert list(cols["data"]) == [f.data for f in fr]
    assert info.warnings == []


def test_cut_short_yields_frames_before_and_warns(tmp_path: Path) -> None:
    fr = frames(4)
    path = tmp_path / "cut.pcap"
    write_pcap(str(path), fr)
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size - 10)
    cols, info = read_all(path)
    assert cols["frame"].tolist() == [1, 2, 3]
    offset = 24 + sum(16 + len(f.data) for f in fr[:3])
    assert len(info.warnings) == 1
    assert "frame 4" in info.warnings[0] and f"byte {offset}" in info.warnings[0]


def test_absurd_caplen_is_garbage_after_the_cut(tmp_path: Path) -> None:
    path = tmp_path / "g.pcap"
    write_pcap(str(path), frames(2))
    with open(path, "ab") as f:
        f.write(b"\x01\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\x7f\xff\xff\xff\x7f" + b"z" * 100)
    cols, info = read_all(path)
    assert cols["frame"].tolist() == [1, 2]
    assert "frame 3" in info.warnings[0] and "garbage" in info.warnings[0]


def test_invalid_subsecond_fields_are_clamped(tmp_path: Path) -> None:
    path = tmp_path / "ts.pcap"
    write_pcap(str(path), frames(3), nano=True,
               raw_ts=[(100, 5), (100, 1_000_000_000), (100, 2_147_483_648)])
    reader = open_capture(str(path))
    batches = list(reader.batches())
    ts = np.concatenate([b.ts_ns for b in batches])
    assert ts.tolist() == [100 * 10**9 + 5, 101 * 10**9 - 1, 101 * 10**9 - 1]
    anomalies = [a for b in batches for a in b.anomalies]
    assert [(a[0], a[2]) for a in anomalies] == [(2, "bad_timestamp"), (3, "bad_timestamp")]


# --- pcapng -----------------------------------------------------------------------------

def test_pcapng_interfaces_with_own_linktype_and_resolution(tmp_path: Path) -> None:
    eth = simple_tcp_frame()
    raw = eth[14:]
    ng = Pcapng().section()
    ng.interface(1, snaplen=262144, tsresol=9, name="eth0")          # ns
    ng.interface(101, tsresol=0x80 | 10, tsoffset=1000)               # 2^-10 s, +1000 s
    ng.skip()
    ng.epb(eth, iface=0, ticks=T0)
    ng.epb(raw, iface=1, ticks=5 * 1024 + 512)                        # 5.5 s
    ng.epb(eth, iface=0, ticks=T0 + 7)
    path = tmp_path / "two.pcapng"
    ng.write(str(path))
    cols, info = read_all(path)
    assert info.format == "pcapng"
    assert cols["frame"].tolist() == [1, 2, 3]
    assert cols["iface"].tolist() == [0, 1, 0]
    assert cols["linktype"].tolist() == [1, 101, 1]
    assert cols["ts_ns"].tolist() == [T0, 1005 * 10**9 + 500_000_000, T0 + 7]
    assert list(cols["data"]) == [eth, raw, eth]
    assert [i.name for i in info.interfaces] == ["eth0", ""]


def test_pcapng_sections_of_both_byte_orders(tmp_path: Path) -> None:
    pkt = simple_tcp_frame()
    ng = Pcapng().section(big=False).interface(1).epb(pkt, ticks=1_000_000)
    ng.section(big=True).interface(0).interface(1, tsresol=3).epb(pkt, iface=1, ticks=2_000)
    ng.section(big=False).interface(101).epb(pkt[14:], ticks=3_000_000)
    path = tmp_path / "sections.pcapng"
    ng.write(str(path))
    cols, info = read_all(path)
    assert cols["frame"].tolist() == [1, 2, 3]
    assert cols["iface"].tolist() == [0, 1, 0]          # per-section id, as Wireshark shows
    assert cols["linktype"].tolist() == [1, 1, 101]
    assert cols["ts_ns"].tolist() == [10**9, 2 * 10**9, 3 * 10**9]
    assert [i.section for i in info.interfaces] == [0, 1, 1, 2]


def test_pcapng_simple_obsolete_and_custom_blocks_are_frames(tmp_path: Path) -> None:
    pkt = simple_tcp_frame()
    ng = Pcapng().section().interface(1, snaplen=50)
    ng.epb(pkt, ticks=10_000_000).custom().spb(pkt).pb(pkt, ticks=20_000_000).skip()
    path = tmp_path / "blocks.pcapng"
    ng.write(str(path))
    reader = open_capture(str(path))
    batches = list(reader.batches())
    lt = np.concatenate([b.linktype for b in batches]).tolist()
    caplen = np.concatenate([b.caplen for b in batches]).tolist()
    ts = np.concatenate([b.ts_ns for b in batches]).tolist()
    assert lt == [1, NO_LINKTYPE, 1, 1]
    assert caplen == [len(pkt), 0, 50, len(pkt)]           # SPB: min(origlen, snaplen)
    assert ts == [10 * 10**9, 10 * 10**9, 10 * 10**9, 20 * 10**9]
    codes = [a[2] for b in batches for a in b.anomalies]
    assert codes == ["missing_timestamp"]


def test_pcapng_cut_short(tmp_path: Path) -> None:
    pkt = simple_tcp_frame()
    ng = Pcapng().section().interface(1)
    for i in range(3):
        ng.epb(pkt, ticks=i)
    path = tmp_path / "cut.pcapng"
    ng.write(str(path))
    data = path.read_bytes()
    path.write_bytes(data[:-7])
    cols, info = read_all(path)
    assert cols["frame"].tolist() == [1, 2]
    assert "frame 3" in info.warnings[0] and "cut short" in info.warnings[0]


@pytest.mark.parametrize("chunk", [50, 333])
def test_pcapng_small_chunks(tmp_path: Path, chunk: int) -> None:
    pkt = simple_tcp_frame(payload=b"p" * 100)
    ng = Pcapng().section().interface(1)
    for i in range(10):
        ng.epb(pkt, ticks=i)
    ng.section(big=True).interface(1)
    for i in range(10):
        ng.epb(pkt, ticks=i)
    path = tmp_path / "small.pcapng"
    ng.write(str(path))
    cols, info = read_all(path, chunk_size=chunk)
    assert cols["frame"].tolist() == list(range(1, 21))
    assert all(d == pkt for d in cols["data"])
    assert info.warnings == []


# --- gzip and stdin ---------------------------------------------------------------------

def test_gzip_is_transparent(tmp_path: Path) -> None:
    fr = frames(6)
    plain = tmp_path / "p.pcap"
    write_pcap(str(plain), fr)
    gz = tmp_path / "p.pcap.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    cols, info = read_all(gz)
    assert info.gzip and cols["frame"].tolist() == list(range(1, 7))
    assert list(cols["data"]) == [f.data for f in fr]
    off = int(cols["stream_off"][3])
    assert read_bytes(str(gz), off, len(fr[3].data)) == fr[3].data


def test_gzip_cut_short(tmp_path: Path) -> None:
    plain = tmp_path / "p.pcap"
    write_pcap(str(plain), frames(50))
    gz = tmp_path / "p.pcap.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes())[:-30])
    cols, info = read_all(gz)
    assert 0 < cols["frame"].size < 50
    text = " ".join(info.warnings)
    assert "cut short" in text or "ended early" in text


@pytest.mark.parametrize("compress", [False, True])
def test_stdin_pipe(tmp_path: Path, compress: bool) -> None:
    path = tmp_path / "s.pcap"
    write_pcap(str(path), frames(7))
    data = path.read_bytes()
    if compress:
        data = gzip.compress(data)
    code = ("from analyzer.capture import open_capture\n"
            "r = open_capture('-')\n"
            "n = [int(b.frame[-1]) for b in r.batches()]\n"
            "print(n[-1], r.info.gzip)\n")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True,
                         env=env, check=True, timeout=60)
    assert out.stdout.decode().split() == ["7", str(compress)]


# --- bad input --------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"", b"<html>not a capture</html>", b"\xa1\xb2"])
def test_not_a_capture(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    with pytest.raises(CaptureFormatError) as err:
        open_capture(str(path))
    assert err.value.offset == 0
    assert str(path) in str(err.value) and "byte 0" in str(err.value)
    assert "pcap or pcapng magic" in str(err.value)


def test_gzip_of_garbage_and_bad_gzip(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(b"hello world, no capture here"))
    with pytest.raises(CaptureFormatError):
        open_capture(str(path))
    path.write_bytes(b"\x1f\x8b" + b"\x00" * 30)
    with pytest.raises(CaptureFormatError):
        open_capture(str(path))


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match="no such file"):
        open_capture(str(tmp_path / "nope.pcap"))
    with pytest.raises(UnreadableFileError, match="directory"):
        open_capture(str(tmp_path))


# --- the shared corpus ------------------------------------------------------------------

def _corpus() -> list[dict[str, str]]:
    path = SHARED / "truth" / "_files.csv"
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("row", _corpus(), ids=lambda r: r["name"])
def test_frame_counts_match_wireshark(row: dict[str, str]) -> None:
    cols, info = read_all(PCAPS / row["name"])
    assert cols["frame"].tolist() == list(range(1, int(row["frames"]) + 1))
    cut = "cut short" in row["tshark_stderr"]
    assert bool(info.warnings) == cut
    if cut:
        assert f"frame {int(row['frames']) + 1} at byte" in info.warnings[0]


def test_tiny_gzip_cut_short(tmp_path: Path) -> None:
    plain = tmp_path / "p.pcap"
    write_pcap(str(plain), frames(3))
    gz = tmp_path / "p.pcap.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes())[:-8])      # lose the gzip trailer
    cols, info = read_all(gz)
    assert cols["frame"].tolist() == [1, 2, 3]
    assert info.warnings and "ended early" in info.warnings[0]


def test_multi_member_gzip_and_trailing_garbage(tmp_path: Path) -> None:
    plain = tmp_path / "p.pcap"
    fr = frames(8)
    write_pcap(str(plain), fr)
    data = plain.read_bytes()
    gz = tmp_path / "m.pcap.gz"
    gz.write_bytes(gzip.compress(data[:100]) + gzip.compress(data[100:]) + b"\0" * 16)
    cols, info = read_all(gz)
    assert list(cols["data"]) == [f.data for f in fr] and info.warnings == []
    assert read_bytes(str(gz), int(cols["stream_off"][5]), 10) == fr[5].data[:10]
