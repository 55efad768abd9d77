"""analyzer.reassembly.layout: the vectorized plan against a byte-by-byte model."""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.reassembly.layout import GAP_REASONS, MAX_OVERLAP_INTERVALS, cover_min, lay_out
from analyzer.reassembly.segments import Segments


def test_cover_min_matches_brute_force():
    rng = np.random.default_rng(1)
    for m in (1, 2, 7, 64, 100):
        ks = rng.integers(0, m, 50)
        ke = np.minimum(ks + rng.integers(0, m, 50), m)
        prio = rng.integers(-1000, 1000, 50)
        want = np.full(m, np.iinfo(np.int64).max)
        for a, b, p in zip(ks, ke, prio, strict=True):
            want[a:b] = np.minimum(want[a:b], p)
        assert np.array_equal(cover_min(ks, ke, prio, m), want)


def _segments(rows, groups, starts, caps, lens) -> Segments:
    start = np.asarray(starts, dtype=np.int64)
    return Segments(np.asarray(rows, dtype=np.int64), np.asarray(groups, dtype=np.int64),
                    start, start + np.asarray(caps), start + np.asarray(lens),
                    1000 * np.asarray(rows, dtype=np.int64), np.zeros(len(start), dtype=bool))


def _model(seg: Segments, group: int, length: int, policy: str):
    """Per byte of one stream: the row supplying it (-1 gap), and per byte 'sent' coverage."""
    owner = np.full(length, -1)
    sent = np.zeros(length, dtype=bool)
    order = np.argsort(seg.row) if policy == "first" else np.argsort(-seg.row)
    for i in order[::-1]:  # lowest priority first, the winner written last
        if seg.group[i] != group:
            continue
        owner[seg.start[i]:seg.cap_end[i]] = seg.row[i]
    for i in range(len(seg.row)):
        if seg.group[i] == group:
            sent[seg.start[i]:seg.sent_end[i]] = True
    return owner, sent


def _expand(lay, group: int, length: int):
    owner = np.full(length, -2)
    for g, o, n, r, f in zip(lay.p_group, lay.p_off, lay.p_len, lay.p_row, lay.p_file,
                             strict=True):
        if g == group:
            assert f == 1000 * r + (o - lay.seg.start[np.searchsorted(lay.seg.row, r)])
            owner[o:o + n] = r
    reasons = {}
    for g, o, n, why in zip(lay.g_group, lay.g_off, lay.g_len, lay.g_reason, strict=True):
        if g == group:
            owner[o:o + n] = -1
            for k in range(o, o + n):
                reasons[k] = GAP_REASONS[why]
    return owner, reasons


@pytest.mark.parametrize("policy", ["first", "last"])
def test_random_layouts_match_the_byte_model(policy: str):
    rng = np.random.default_rng(7)
    for _trial in range(200):
        n = int(rng.integers(1, 12))
        groups = rng.integers(0, 3, n)
        starts = rng.integers(0, 40, n)
        lens = rng.integers(1, 15, n)
        caps = np.minimum(lens, rng.integers(0, 16, n))
        seg = _segments(np.arange(n) * 3 + 1, groups, starts, caps, lens)
        length = np.zeros(3, dtype=np.int64)
        for g in range(3):
            ends = seg.sent_end[seg.group == g]
            length[g] = max(int(ends.max()) if len(ends) else 0, int(rng.integers(0, 60)))
        lay = lay_out(seg, np.arange(3), length, policy)
        for g in range(3):
            owner, sent = _model(seg, g, int(length[g]), policy)
            got, reasons = _expand(lay, g, int(length[g]))
            assert np.array_equal(got, owner), (g, policy)
            for k, why in reasons.items():
                assert why == ("snaplen" if sent[k] else "not_captured")
        _check_overlaps(lay, seg, policy)


def _check_overlaps(lay, seg: Segments, policy: str) -> None:
    """Every captured byte covered by two copies appears once per losing copy."""
    want = set()
    for i in range(len(seg.row)):
        for j in range(len(seg.row)):
            if i == j or seg.group[i] != seg.group[j]:
                continue
            lo = max(seg.start[i], seg.start[j])
            hi = min(seg.cap_end[i], seg.cap_end[j])
            for k in range(lo, hi):
                want.add((int(seg.group[i]), k, i))
    got = set()
    for g, o, n, kept, other in zip(lay.o_group, lay.o_off, lay.o_len, lay.o_kept,
                                    lay.o_other, strict=True):
        better = seg.row[kept] < seg.row[other] if policy == "first" else \
            seg.row[kept] > seg.row[other]
        assert better
        got |= {(int(g), k, int(other)) for k in range(o, o + n)}
    # a byte lost by segment i: covered by i and by at least one other copy, i not the winner
    winners = {}
    for g, o, n, r in zip(lay.p_group, lay.p_off, lay.p_len, lay.p_row, strict=True):
        for k in range(o, o + n):
            winners[(int(g), k)] = int(np.searchsorted(seg.row, r))
    assert got == {(g, k, i) for g, k, i in want if winners[(g, k)] != i}


def test_gap_between_streams_is_not_invented():
    seg = _segments([1, 2], [0, 1], [0, 0], [5, 5], [5, 5])
    lay = lay_out(seg, np.array([0, 1]), np.array([5, 8]))
    assert list(lay.g_group) == [1] and list(lay.g_off) == [5] and list(lay.g_len) == [3]


def test_overlap_enumeration_is_capped(monkeypatch: pytest.MonkeyPatch):
    import analyzer.reassembly.layout as layout

    monkeypatch.setattr(layout, "MAX_OVERLAP_INTERVALS", 3)
    seg = _segments(np.arange(1, 11), np.zeros(10), np.zeros(10), np.full(10, 5),
                    np.full(10, 5))
    lay = layout.lay_out(seg, np.array([0]), np.array([5]))
    assert lay.capped and MAX_OVERLAP_INTERVALS > 3
    assert list(lay.p_row) == [1]


def test_unknown_policy():
    seg = _segments([1], [0], [0], [1], [1])
    with pytest.raises(ValueError, match="policy"):
        lay_out(seg, np.array([0]), np.array([1]), "middle")
