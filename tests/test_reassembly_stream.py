"""analyzer.reassembly: streams rebuilt from tiny pcaps with real payload bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from reassembly_util import HANDSHAKE, C, S, client_data, run

from analyzer.errors import UnreadableFileError, UsageError
from analyzer.reassembly import Gap, conversation, stream

DATA = bytes(range(32, 127)) * 3  # 285 distinct-ish printable bytes


def test_in_order_stream_and_api_shapes(tmp_path: Path):
    r = run(tmp_path, HANDSHAKE + client_data((0, DATA[:100]), (100, DATA[100:200])))
    s = stream(r, 0, "client")
    assert s.data == DATA[:200]
    assert (s.length, s.captured, s.gaps, s.overlaps) == (200, 200, [], [])
    assert [(c.offset, c.length, c.frame) for c in s.chunks()] == [(0, 100, 4), (100, 100, 5)]
    assert not s.starts_mid_stream and s.fin_offset is None
    assert stream(r, 0, "server").data == b""
    assert stream(r, 0, "c2s").data == stream(r, 0, 0).data


def test_out_of_order_arrival(tmp_path: Path):
    r = run(tmp_path, HANDSHAKE + client_data((200, DATA[200:]), (0, DATA[:100]),
                                              (100, DATA[100:200])))
    s = stream(r, 0, "client")
    assert s.data == DATA and s.gaps == [] and s.overlaps == []
    assert [c.frame for c in s.chunks()] == [5, 6, 4]


def test_retransmission_with_same_data_is_an_overlap_not_a_finding(tmp_path: Path):
    r = run(tmp_path, HANDSHAKE + client_data((0, DATA[:100]), (0, DATA[:100]),
                                              (50, DATA[50:150])))
    s = stream(r, 0, "client")
    assert s.data == DATA[:150]
    assert [(o.offset, o.length, o.kept_frame, o.other_frame, o.different)
            for o in s.overlaps] == [(0, 100, 4, 5, False), (50, 50, 4, 6, False)]
    assert "overlap_different_data" not in set(r.findings["check"])


@pytest.mark.parametrize("policy, want", [("first", b"GOOD-tail"), ("last", b"EVIL-tail")])
def test_overlap_with_different_data_both_policies(tmp_path: Path, policy: str, want: bytes):
    r = run(tmp_path, HANDSHAKE + client_data((0, b"GOOD-"), (0, b"EVIL"), (5, b"tail")))
    s = stream(r, 0, "client", policy)
    assert s.data == want
    (o,) = s.overlaps
    kept, other = (4, 5) if policy == "first" else (5, 4)
    assert (o.offset, o.length, o.kept_frame, o.other_frame) == (0, 4, kept, other)
    assert (o.different, o.differing_bytes, o.first_difference) == (True, 4, 0)
    assert (o.kept_start, o.other_start) == (0, 0)


def test_partial_overlap_keeps_first_copy_only_where_they_overlap(tmp_path: Path):
    # frame 4: "aaaa" at 0..3, frame 5: "BBBBBB" at 2..7 → first: aaaaBBBB; last: aaBBBBBB
    script = HANDSHAKE + client_data((0, b"aaaa"), (2, b"BBBBBB"))
    assert stream(run(tmp_path, script), 0, "client").data == b"aaaaBBBB"
    assert stream(run(tmp_path, script, "u.pcap"), 0, "client", "last").data == b"aaBBBBBB"
    (o,) = stream(run(tmp_path, script, "v.pcap"), 0, "client").overlaps
    assert (o.offset, o.length, o.other_start, o.differing_bytes) == (2, 2, 2, 2)


def test_gap_is_explicit_and_never_filled_silently(tmp_path: Path):
    r = run(tmp_path, HANDSHAKE + client_data((0, DATA[:100]), (150, DATA[150:200])))
    s = stream(r, 0, "client")
    assert s.gaps == [Gap(100, 50, "not_captured")] and s.length == 200
    with pytest.raises(UsageError, match="1 gap"):
        _ = s.data
    assert s.to_bytes(fill=b"\0") == DATA[:100] + b"\0" * 50 + DATA[150:200]
    kinds = [(c.offset, c.length, c.is_gap) for c in s.chunks()]
    assert kinds == [(0, 100, False), (100, 50, True), (150, 50, False)]
    assert [c.offset for c in s.chunks(gaps=False)] == [0, 150]


def test_leading_gap_after_the_syn_and_tail_gap_before_the_fin(tmp_path: Path):
    script = HANDSHAKE + [("c", "PA", C + 11, S + 1, b"x" * 10),
                          ("c", "FA", C + 31, S + 1, b"")]
    s = stream(run(tmp_path, script), 0, "client")
    assert s.gaps == [Gap(0, 10, "not_captured"), Gap(20, 10, "not_captured")]
    assert (s.length, s.fin_offset) == (30, 30)


def test_pure_ack_beyond_the_data_proves_missing_bytes(tmp_path: Path):
    script = HANDSHAKE + client_data((0, b"x" * 10)) + [("c", "A", C + 41, S + 1, b"")]
    assert stream(run(tmp_path, script), 0, "client").gaps == [Gap(10, 30, "not_captured")]


def test_snaplen_truncated_segment_leaves_a_snaplen_gap(tmp_path: Path):
    script = HANDSHAKE + [("c", "PA", C + 1, S + 1, DATA[:100], {"snap": 40}),
                          ("c", "PA", C + 101, S + 1, DATA[100:150])]
    s = stream(run(tmp_path, script), 0, "client")
    assert s.gaps == [Gap(40, 60, "snaplen")] and s.captured == 90
    assert s.to_bytes(fill=b"?") == DATA[:40] + b"?" * 60 + DATA[100:150]


def test_truncated_copy_completed_by_a_retransmission(tmp_path: Path):
    script = HANDSHAKE + [("c", "PA", C + 1, S + 1, DATA[:100], {"snap": 40}),
                          ("c", "PA", C + 1, S + 1, DATA[:100])]
    s = stream(run(tmp_path, script), 0, "client")
    assert s.data == DATA[:100] and s.gaps == []
    assert [(c.offset, c.frame) for c in s.chunks()] == [(0, 4), (40, 5)]


def test_sequence_number_wrap_around(tmp_path: Path):
    isn = (1 << 32) - 150
    script = [("c", "S", isn, 0, b""), ("s", "SA", S, isn + 1, b""),
              ("c", "A", isn + 1, S + 1, b"")] + client_data(
        (0, DATA[:100]), (200, DATA[200:]), (100, DATA[100:200]), isn=isn)
    s = stream(run(tmp_path, script), 0, "client")
    assert s.data == DATA and s.gaps == []


def test_data_after_fin_and_below_isn_are_left_out(tmp_path: Path):
    script = HANDSHAKE + [("c", "PA", C - 9, S + 1, b"0123456789ABC"),
                          ("c", "FPA", C + 4, S + 1, b"DEFG"),
                          ("c", "PA", C + 8, S + 1, b"late")]
    r = run(tmp_path, script)
    s = stream(r, 0, "client")
    assert s.data == b"ABCDEFG" and s.fin_offset == 7
    assert "data_below_isn" in set(r.findings["check"])


def test_keepalive_byte_is_not_data(tmp_path: Path):
    script = HANDSHAKE + client_data((0, b"hello")) + [("c", "A", C + 5, S + 1, b"\0")]
    s = stream(run(tmp_path, script), 0, "client")
    assert s.data == b"hello" and s.overlaps == []


def test_rst_payload_is_not_stream_data(tmp_path: Path):
    script = HANDSHAKE + client_data((0, b"hello")) + [("c", "RA", C + 6, S + 1, b"reason")]
    assert stream(run(tmp_path, script), 0, "client").data == b"hello"


def test_mid_stream_capture_starts_at_the_lowest_seq_seen(tmp_path: Path):
    script = [("c", "PA", 7000, 9000, b"world"), ("c", "PA", 6995, 9000, b"hello")]
    s = stream(run(tmp_path, script), 0, "client")
    assert s.starts_mid_stream and s.data == b"helloworld" and s.origin == -4  # rel seq


def test_gzip_capture_and_write(tmp_path: Path):
    r = run(tmp_path, HANDSHAKE + client_data((0, DATA[:100]), (100, DATA[100:])),
            compress=True)
    s = stream(r, 0, "client")
    assert s.data == DATA
    out = tmp_path / "out.bin"
    with open(out, "wb") as f:
        n, digest = s.write(f)
    assert out.read_bytes() == DATA and n == len(DATA)
    assert digest == hashlib.sha256(DATA).hexdigest()


def test_conversation_interleaves_in_delivery_order(tmp_path: Path):
    script = HANDSHAKE + [
        ("c", "PA", C + 1, S + 1, b"GET "),
        ("c", "PA", C + 9, S + 1, b"HTTP"),        # out of order: waits for "/ x "
        ("s", "PA", S + 1, C + 5, b"hi"),
        ("c", "PA", C + 5, S + 3, b"/ x "),
        ("s", "PA", S + 3, C + 13, b"!"),
    ]
    r = run(tmp_path, script)
    chunks = list(conversation([stream(r, 0, "client"), stream(r, 0, "server")]))
    assert [(c.direction, c.data) for c in chunks] == [
        ("client", b"GET "), ("server", b"hi"), ("client", b"/ x "), ("client", b"HTTP"),
        ("server", b"!")]


def test_errors(tmp_path: Path):
    r = run(tmp_path, HANDSHAKE)
    with pytest.raises(UsageError, match="no connection 5"):
        stream(r, 5, "client")
    with pytest.raises(UsageError, match="direction"):
        stream(r, 0, "sideways")
    with pytest.raises(UsageError, match="policy"):
        stream(r, 0, "client", "middle")
    r.source = "-"
    s = stream(r, 0, "client")
    assert s.length == 0 and s.overlaps == []
    with pytest.raises(UnreadableFileError, match="stdin"):
        list(s.chunks())


def test_result_stream_method(tmp_path: Path):
    r = run(tmp_path, HANDSHAKE + client_data((0, b"hello")))
    assert r.stream(0, "client").data == b"hello"


def test_huge_gap_is_metadata_only(tmp_path: Path):
    far = 3 << 29  # a segment 1.5 GiB ahead (crafted, or another connection's seq)
    r = run(tmp_path, HANDSHAKE + client_data((0, b"head"), (far, b"tail")))
    s = stream(r, 0, "client")
    assert s.gaps == [Gap(4, far - 4, "not_captured")] and s.length == far + 4
    assert [c.length for c in s.chunks()] == [4, far - 4, 4]
