import numpy as np

from analyzer.flows.groups import NONE, Grouping
from analyzer.flows.relative import bases, unwrap_relative
from analyzer.schema import ACK, SYN


def test_base_is_isn_with_syn_else_first_seq_minus_one():
    group = np.array([0, 1, 0])
    flags = np.array([SYN, ACK, ACK], dtype=np.uint16)
    seq = np.array([100, 500, 101], dtype=np.uint32)
    base, from_syn = bases(group, flags, seq, 2)
    assert base.tolist() == [100, 499] and from_syn.tolist() == [True, False]


def test_unwrap_across_the_32_bit_boundary():
    group = np.zeros(4, dtype=np.int64)
    seq = np.array([2**32 - 2, 2**32 - 1, 3, 1003], dtype=np.int64)
    rel = unwrap_relative(Grouping.of(group), seq, np.full(4, 2**32 - 2), np.ones(4, dtype=bool))
    assert rel.tolist() == [0, 1, 5, 1005]


def test_unmasked_rows_are_none():
    group = np.zeros(3, dtype=np.int64)
    rel = unwrap_relative(Grouping.of(group), np.array([5, 6, 7]), np.full(3, 4),
                          np.array([True, False, True]))
    assert rel.tolist() == [1, NONE, 3]


def test_more_than_4_gib_keeps_increasing():
    steps = np.arange(0, 10) * (2**30)  # 1 GiB apart: crosses the boundary twice
    seq = steps % (2**32)
    zeros = np.zeros(10, dtype=np.int64)
    rel = unwrap_relative(Grouping.of(zeros), seq, zeros,
                          np.ones(10, dtype=bool))
    assert rel.tolist() == steps.tolist()


def _unwrap_reference(group, values, base, mask):
    """Row-by-row unwrapping, one group at a time (what the vectorized code must equal)."""
    out = [NONE] * len(values)
    prev_value: dict[int, int] = {}
    prev_rel: dict[int, int] = {}
    for i, (g, v) in enumerate(zip(group.tolist(), values.tolist(), strict=True)):
        if not mask[i] or base[i] == NONE:
            continue
        d = (v - prev_value.get(g, int(base[i]))) % 2**32
        d -= 2**32 if d >= 2**31 else 0
        out[i] = prev_rel.get(g, 0) + d
        prev_value[g], prev_rel[g] = v, out[i]
    return out


def test_many_interleaved_groups_match_a_row_by_row_reference():
    rng = np.random.default_rng(7)
    n = 5000
    group = rng.integers(0, 60, n)
    start = rng.integers(0, 2**32, 60)
    # forward steps up to 1 MiB and small backward ones (retransmissions), wrapping freely
    values = (start[group] + np.cumsum(rng.integers(-3000, 2**20, n))) % 2**32
    base = np.where(group % 7 == 0, NONE, (start[group] - 1) % 2**32)  # some without base
    mask = rng.random(n) < 0.8
    got = unwrap_relative(Grouping.of(group), values.astype(np.uint32), base, mask)
    assert got.tolist() == _unwrap_reference(group, values, base, mask)
