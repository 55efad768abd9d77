"""OS timing profiles and the ``auto`` fit (analyzer.timing.profiles / fit)."""

from __future__ import annotations

import numpy as np
import pytest
from timing_util import C, run, timing

from analyzer.timing import PROFILES, get_profile
from analyzer.timing.profiles import ratio_ok, within_tolerance


def _syn_gaps(name: str, n: int) -> list[float]:
    p = get_profile(name)
    return [p.syn_gap(k) for k in range(1, n + 1)]


def test_linux_syn_schedules():
    assert _syn_gaps("linux:0", 5) == [1, 2, 4, 8, 16]
    assert _syn_gaps("linux:4", 8) == [1, 1, 1, 1, 1, 2, 4, 8]   # total_rto > 4 doubles
    assert _syn_gaps("linux", 6) == _syn_gaps("linux:4", 6)      # the default since 6.x
    p = PROFILES["linux"]
    assert [p.synack_gap(k) for k in (1, 2, 3)] == [1, 2, 4]
    assert (p.rto_min, p.initial_rto, p.rto_max, p.time_wait_s) == (0.2, 1.0, 120.0, 60.0)


def test_other_profiles():
    assert _syn_gaps("macos", 8) == [1, 1, 1, 1, 1, 2, 4, 8]
    assert _syn_gaps("windows", 3) == [3, 6, 12]
    assert _syn_gaps("rfc", 3) == [1, 2, 4]
    assert {n: p.time_wait_s for n, p in PROFILES.items()} == {
        "linux": 60.0, "rfc": 240.0, "macos": 30.0, "windows": 240.0}
    assert PROFILES["rfc"].rto(np.array([0.01]), np.array([0.0]))[0] == 1.0
    assert PROFILES["linux"].rto(np.array([np.nan]), np.array([np.nan]))[0] == 1.0


def test_unknown_profile():
    with pytest.raises(ValueError, match="unknown timing profile"):
        get_profile("solaris")
    with pytest.raises(ValueError):
        get_profile("rfc:3")


def test_timer_tolerance_is_late_not_early():
    assert within_tolerance(np.array([1.14]), np.array([1.0]))[0]
    assert not within_tolerance(np.array([1.2]), np.array([1.0]))[0]
    assert not within_tolerance(np.array([0.9]), np.array([1.0]))[0]
    assert ratio_ok(1.9, 2.0, 1.0) and not ratio_ok(1.3, 2.0, 1.0)


def _syn_chain(gaps: list[float]) -> list[tuple]:
    times = np.concatenate([[0.0], np.cumsum(gaps)])
    return [("c", "S", C, 0, 0, float(t)) for t in times]


@pytest.mark.parametrize(("gaps", "best", "linear"), [
    ([1.01, 2.02, 4.05, 8.1], "linux", 0),              # ties with rfc: linux preferred
    ([1.01, 1.02, 1.01, 1.02, 1.02, 2.03, 4.1], "linux", 4),  # ties with macos
    ([3.02, 6.05], "windows", None),
])
def test_auto_picks_the_profile_that_fits(gaps, best, linear):
    t = timing(run(_syn_chain(gaps)))
    assert t.profile.name == best
    assert t.profile.syn_linear_timeouts == linear
    chosen = t.fit[t.fit["chosen"]].iloc[0]
    assert chosen["score"] == 1.0 and chosen["gaps"] == len(gaps)


def test_explicit_profile_is_used_even_if_it_fits_worse():
    t = timing(run(_syn_chain([3.02, 6.05]), profile="linux"))
    assert t.profile.name == "linux"
    assert not t.retransmissions["fits_profile"].all()
