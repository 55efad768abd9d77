"""Reading a pcap in parts (analyzer/decode/split.py): always the table a sequential read
gives, on a real capture cut into parts, in either byte order, cut short, with garbage,
with a wrong cut and with a failing helper."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest

from analyzer import analyze
from analyzer.decode import decoder, split
from analyzer.decode.decoder import decode_capture
from analyzer.decode.model import Decoded
from analyzer.schema import FRAME_BAD_TIMESTAMP, PACKET_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
BUSY = ROOT / "sample_pcaps" / "15_busy.pcap"   # 500 KB, 300 connections, 2 % loss
IPV6 = ROOT / "sample_pcaps" / "13_ipv6_clean_close.pcap"


@pytest.fixture(autouse=True)
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(split, "MIN_PART_BYTES", 64 << 10)


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the helper processes started (a test must not pass by never splitting)."""
    started: list[int] = []
    real = split.start_helper

    def counting(work, table):  # type: ignore[no-untyped-def]
        helper = real(work, table)
        started.append(helper.pid)
        return helper

    monkeypatch.setattr(split, "start_helper", counting)
    return started


def _record_starts(data: bytes, order: str = "<") -> list[int]:
    offs, off = [], 24
    while off + 16 <= len(data):
        offs.append(off)
        off += 16 + struct.unpack_from(order + "I", data, off + 8)[0]
    return offs


def _assert_same(a: Decoded, b: Decoded, *, differ: tuple[str, ...] = ()) -> None:
    """Same packet table and anomalies; same statistics except the fields ``differ``."""
    assert len(a) == len(b) > 0
    for name in PACKET_COLUMNS:
        x, y = a.columns[name], b.columns[name]
        if name in ("src", "dst"):
            x, y = np.array(a.addresses)[x], np.array(b.addresses)[y]
        assert np.array_equal(x, y), name
    assert a.anomalies.equals(b.anomalies)
    sa, sb = vars(a.stats), vars(b.stats)
    assert {k: v for k, v in sa.items() if k not in differ} == \
        {k: v for k, v in sb.items() if k not in differ}


def _no_children_left() -> None:
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def _big_endian_ns(data: bytes) -> bytes:
    """The same capture as a big-endian nanosecond pcap."""
    out = bytearray(struct.pack(">IHHiIII", 0xA1B23C4D, 2, 4, 0, 0,
                                *struct.unpack_from("<II", data, 16)))
    for off in _record_starts(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, off)
        out += struct.pack(">IIII", sec, usec * 1000, incl, orig)
        out += data[off + 16:off + 16 + incl]
    return bytes(out)


@pytest.mark.parametrize("jobs", [2, 3, 4, 7])
def test_cuts_fall_on_record_starts(jobs: int) -> None:
    data = BUSY.read_bytes()
    with BUSY.open("rb") as f:
        cuts = split.plan_parts(f, len(data), data[:40], jobs)
    assert len(cuts) == min(jobs, len(data) // split.MIN_PART_BYTES) - 1
    assert set(cuts) <= set(_record_starts(data)) and cuts == sorted(cuts)


def test_no_cut_in_zeros_or_noise() -> None:
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, 1 << 20, dtype=np.uint8).tobytes()
    for window in (bytes(1 << 20), noise):
        assert split.find_boundary(window, 0xA1B2C3D4, 262144, 1_700_000_000) is None


@pytest.mark.parametrize("jobs", [2, 3, 4])
def test_parts_give_the_sequential_table(jobs: int, forks: list[int]) -> None:
    serial = decode_capture(str(BUSY), jobs=1)
    assert not forks
    parts = decode_capture(str(BUSY), jobs=jobs)
    assert len(forks) == jobs - 1
    _assert_same(serial, parts)
    _no_children_left()


def test_big_endian_nanosecond_file(tmp_path: Path, forks: list[int]) -> None:
    path = tmp_path / "be.pcap"
    path.write_bytes(_big_endian_ns(BUSY.read_bytes()))
    serial = decode_capture(str(path), jobs=1)
    _assert_same(serial, decode_capture(str(path), jobs=3))
    _assert_same(serial, decode_capture(str(BUSY), jobs=1),  # same packets, same times
                 differ=("path", "interfaces"))
    assert len(forks) == 2


def test_ipv6_addresses_merge(tmp_path: Path, forks: list[int]) -> None:
    """IPv6 and IPv4 captures glued: the later part brings addresses of its own."""
    v4, v6 = BUSY.read_bytes(), IPV6.read_bytes()
    assert v4[20:24] == v6[20:24]                      # same link type
    path = tmp_path / "mixed.pcap"
    path.write_bytes(v4 + v6[24:] * 40)
    serial = decode_capture(str(path), jobs=1)
    parts = decode_capture(str(path), jobs=2)
    assert forks and any(":" in a for a in parts.addresses)
    _assert_same(serial, parts)


def test_cut_short_file_names_the_right_frame(tmp_path: Path, forks: list[int]) -> None:
    data = BUSY.read_bytes()
    path = tmp_path / "cut.pcap"
    path.write_bytes(data[:_record_starts(data)[-5] + 30])   # inside the 5th-last record
    serial = decode_capture(str(path), jobs=1)
    parts = decode_capture(str(path), jobs=3)
    assert forks
    assert any("cut short" in w for w in serial.stats.warnings)
    _assert_same(serial, parts)
    frames = len(_record_starts(data)) - 5
    assert f"frame {frames + 1} at byte" in parts.stats.warnings[0]


def test_garbage_in_the_first_part_ends_the_reading_there(tmp_path: Path,
                                                         forks: list[int]) -> None:
    data = bytearray(BUSY.read_bytes())
    starts = _record_starts(bytes(data))
    bad = starts[len(starts) // 5]
    struct.pack_into("<I", data, bad + 8, 1 << 30)          # a captured length of 1 GiB
    path = tmp_path / "garbage.pcap"
    path.write_bytes(bytes(data))
    serial = decode_capture(str(path), jobs=1)
    assert serial.columns["frame"][-1] < len(starts) // 5 + 1
    # bytes_read: a sequential read had read the whole first chunk before it met garbage
    _assert_same(serial, decode_capture(str(path), jobs=4), differ=("bytes_read",))
    assert forks
    _no_children_left()


def test_anomalies_of_later_parts_keep_their_frame_numbers(tmp_path: Path,
                                                          forks: list[int]) -> None:
    data = bytearray(BUSY.read_bytes())
    starts = _record_starts(bytes(data))
    k = len(starts) * 9 // 10
    struct.pack_into("<I", data, starts[k] + 4, 2_000_000)   # µs field out of range
    path = tmp_path / "ts.pcap"
    path.write_bytes(bytes(data))
    parts = decode_capture(str(path), jobs=3)
    assert forks
    found = parts.anomalies[parts.anomalies["code"] == FRAME_BAD_TIMESTAMP]
    assert found["frame"].tolist() == [k + 1]
    _assert_same(decode_capture(str(path), jobs=1), parts)


def test_a_cut_inside_a_record_is_noticed(monkeypatch: pytest.MonkeyPatch,
                                          forks: list[int]) -> None:
    data = BUSY.read_bytes()
    starts = _record_starts(data)
    wrong = starts[len(starts) // 2] + 7
    monkeypatch.setattr(split, "plan_parts", lambda *a: [wrong])
    parts = decode_capture(str(BUSY), jobs=2)
    assert len(forks) == 1                     # it tried, then read again in one piece
    assert not parts.stats.warnings
    _assert_same(decode_capture(str(BUSY), jobs=1), parts)
    _no_children_left()


def test_a_failing_helper_is_replaced(monkeypatch: pytest.MonkeyPatch,
                                      forks: list[int]) -> None:
    def broken(*args: object) -> None:
        raise MemoryError("no room")

    monkeypatch.setattr(decoder, "_decode_part", broken)
    parts = decode_capture(str(BUSY), jobs=3)
    assert len(forks) == 2
    _assert_same(decode_capture(str(BUSY), jobs=1), parts)
    _no_children_left()


def test_a_helper_that_dies_is_replaced(monkeypatch: pytest.MonkeyPatch,
                                        forks: list[int]) -> None:
    def dies(*args: object) -> None:
        os._exit(3)

    monkeypatch.setattr(decoder, "_decode_part", dies)
    _assert_same(decode_capture(str(BUSY), jobs=1), decode_capture(str(BUSY), jobs=2))
    assert forks
    _no_children_left()


def test_no_room_for_shared_memory_reads_in_one_piece(monkeypatch: pytest.MonkeyPatch,
                                                       forks: list[int]) -> None:
    def no_room(*args: object) -> None:
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(split, "SharedTable", no_room)
    _assert_same(decode_capture(str(BUSY), jobs=1), decode_capture(str(BUSY), jobs=3))
    assert not forks
    _no_children_left()


def test_analysis_is_the_same_in_parts(forks: list[int]) -> None:
    one, four = analyze(str(BUSY), jobs=1), analyze(str(BUSY), jobs=4)
    assert len(forks) == 3
    assert one.connections.equals(four.connections)
    assert one.transitions.equals(four.transitions)


def test_gzip_stdin_and_pcapng_are_read_in_one_piece(tmp_path: Path, forks: list[int],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import gzip
    import io

    whole = decode_capture(str(BUSY), jobs=1)
    gz = tmp_path / "busy.pcap.gz"
    gz.write_bytes(gzip.compress(BUSY.read_bytes()))
    _assert_same(whole, decode_capture(str(gz), jobs=4), differ=("path", "gzip", "bytes_read"))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(BUSY.read_bytes())))
    _assert_same(whole, decode_capture("-", jobs=4), differ=("path",))
    ng = ROOT / "sample_pcaps" / "14_sll2_any_nano_ng.pcapng"
    monkeypatch.setattr(split, "MIN_PART_BYTES", 512)       # 2.6 KB would be cut
    assert ng.stat().st_size > 4 * split.MIN_PART_BYTES
    assert len(decode_capture(str(ng), jobs=4)) > 0
    assert not forks
