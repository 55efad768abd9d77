"""Segmented recurrences and per-group search (analyzer.timing.scan)."""

from __future__ import annotations

import numpy as np

from analyzer.timing.scan import affine_scan, group_key, rfc6298, search_in_groups, take


def _reference(r: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    srtt, var = np.empty(len(r)), np.empty(len(r))
    for i, x in enumerate(r):
        if starts[i]:
            srtt[i], var[i] = x, x / 2
        else:
            var[i] = 0.75 * var[i - 1] + 0.25 * abs(srtt[i - 1] - x)
            srtt[i] = 0.875 * srtt[i - 1] + 0.125 * x
    return srtt, var


def test_rfc6298_matches_a_plain_loop():
    rng = np.random.default_rng(7)
    r = rng.lognormal(-3, 1, 5000)
    starts = rng.random(5000) < 0.01
    starts[0] = True
    srtt, var = rfc6298(r, starts)
    ref_srtt, ref_var = _reference(r, starts)
    assert np.allclose(srtt, ref_srtt) and np.allclose(var, ref_var)


def test_affine_scan_restarts_where_a_is_zero():
    y = affine_scan(np.array([0.0, 0.5, 0.5, 0.0, 0.5]), np.array([4.0, 1.0, 1.0, 2.0, 1.0]))
    assert np.allclose(y, [4.0, 3.0, 2.5, 2.0, 2.0])


def test_search_in_groups_stays_inside_the_group():
    g = np.array([0, 0, 0, 2, 2])
    v = np.array([10, 20, 30, 5, 15])
    keys = group_key(g, v)
    q_g = np.array([0, 0, 2, 1, 2])
    q_v = np.array([25, 5, 100, 0, 5])
    assert list(search_in_groups(keys, g, q_g, q_v, "last")) == [1, -1, 4, -1, 3]
    assert list(search_in_groups(keys, g, q_g, q_v, "left")) == [2, 0, -1, -1, 3]


def test_take_fills_missing():
    assert list(take(np.array([5, 6]), np.array([1, -1]), -9)) == [6, -9]
    assert list(take(np.array([], dtype=np.int64), np.array([0]), -9)) == [-9]
