import numpy as np

from analyzer.flows.groups import (
    NONE, first_where, group_cummax_excl, last_value_ffill, last_where,
)


def test_first_and_last_where():
    g = np.array([0, 1, 0, 1, 0, 2])
    m = np.array([False, True, True, True, True, False])
    assert first_where(g, m, 4).tolist() == [2, 1, -1, -1]
    assert last_where(g, m, 4).tolist() == [4, 3, -1, -1]


def test_cummax_excludes_the_row_itself_and_other_groups():
    g = np.array([0, 1, 0, 1, 0, 0])
    v = np.array([5, 7, 3, 9, NONE, 10])
    assert group_cummax_excl(g, v).tolist() == [NONE, NONE, 5, 7, 5, 5]


def test_cummax_handles_negative_values():
    g = np.array([0, 0, 0])
    v = np.array([-5, -9, -1])
    assert group_cummax_excl(g, v).tolist() == [NONE, -5, -5]


def test_ffill_of_latest_masked_value():
    g = np.array([0, 1, 0, 1, 0, 0])
    m = np.array([False, True, True, False, False, True])
    assert last_value_ffill(g, m, np.arange(6) * 10).tolist() == [NONE, 10, 20, 10, 20, 50]
