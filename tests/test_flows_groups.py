import numpy as np

from analyzer.flows.groups import (
    NONE,
    Grouping,
    first_where,
    group_cummax_excl,
    last_value_ffill,
    last_where,
)


def test_first_and_last_where():
    g = np.array([0, 1, 0, 1, 0, 2])
    m = np.array([False, True, True, True, True, False])
    assert first_where(g, m, 4).tolist() == [2, 1, -1, -1]
    assert last_where(g, m, 4).tolist() == [4, 3, -1, -1]


def test_cummax_excludes_the_row_itself_and_other_groups():
    g = np.array([0, 1, 0, 1, 0, 0])
    v = np.array([5, 7, 3, 9, NONE, 10])
    assert group_cummax_excl(Grouping.of(g), v).tolist() == [NONE, NONE, 5, 7, 5, 5]


def test_cummax_handles_negative_values():
    g = np.array([0, 0, 0])
    v = np.array([-5, -9, -1])
    assert group_cummax_excl(Grouping.of(g), v).tolist() == [NONE, -5, -5]


def test_ffill_of_latest_masked_value():
    g = np.array([0, 1, 0, 1, 0, 0])
    m = np.array([False, True, True, False, False, True])
    got = last_value_ffill(Grouping.of(g), m, np.arange(6) * 10)
    assert got.tolist() == [NONE, 10, 20, 10, 20, 50]


def test_split_equals_sorting_by_the_finer_key():
    rng = np.random.default_rng(1)
    for _ in range(300):
        n = int(rng.integers(1, 60))
        g, f = rng.integers(0, 6, n), rng.integers(0, 2, n).astype(bool)
        fine, ref = Grouping.of(g).split(f), Grouping.of(g * 2 + f)
        assert fine.order.tolist() == ref.order.tolist()
        assert fine.starts.tolist() == ref.starts.tolist()


def test_subset_keeps_group_order():
    g = np.array([1, 0, 1, 0, 1])
    sub = Grouping.of(g).subset(np.array([True, True, False, True, True]))
    assert sub.order.tolist() == [1, 3, 0, 4] and sub.starts.tolist() == [True, False, True, False]
