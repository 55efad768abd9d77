"""Which timing profile explains the observed timeouts best (``--profile auto``).

Each timer-driven gap gets a prediction from each profile: SYN and SYN-ACK gaps absolutely
(the profile's initial RTO times its table: Linux's tcp_syn_linear_timeouts is fitted too),
later data/FIN timeouts from the chain's base RTO times the backoff table (the base is the
smallest gap / multiplier in the chain: timers fire late, never early), the first data
timeout only from below (it can never be shorter than the profile's minimum RTO, but ACKs
may restart the timer, so it can be longer). A gap fits when it lies in the timer tolerance
(late by up to 15 %, early by up to 5 %, ± 20 ms). The profile with the most fitting gaps
wins; ties go to the smaller mean |log(observed / predicted)|, then to the order
linux, macos, windows, rfc (how common they are).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyzer.timing.profiles import (
    ABS_SLACK_S,
    EARLY,
    PROFILES,
    Profile,
    get_profile,
    within_tolerance,
)

__all__ = ["FIT_COLUMNS", "choose_profile", "fit_profiles", "predict"]

FIT_COLUMNS = ("profile", "label", "gaps", "fitting", "score", "mean_abs_log", "chosen")
PRIORITY = ("linux", "macos", "windows", "rfc")
LINEAR_RANGE = range(0, 9)


def predict(profile: Profile, tx: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per timeout row of ``tx``: predicted gap (s) and whether it is only a lower bound."""
    seg = tx["segment"].to_numpy()
    k = tx["timeout"].to_numpy()
    pred = np.full(len(tx), np.nan)
    hs = (seg == "syn") | (seg == "synack")
    for i in np.flatnonzero(hs):
        pred[i] = profile.handshake_gap(seg[i], int(k[i]))
    data = ~hs
    first = data & (k == 1)
    pred[first] = profile.rto(tx["srtt_s"].to_numpy()[first], np.zeros(int(first.sum())))
    later = data & (k >= 2)
    if later.any():
        mult = np.array([profile.data_multiplier(int(x)) for x in k], dtype=np.float64)
        base = _chain_base(profile, tx, mult, data & (k >= 1))
        pred[later] = np.minimum(base[later] * mult[later], profile.rto_max)
    return pred, first


def _chain_base(profile: Profile, tx: pd.DataFrame, mult: np.ndarray, sel: np.ndarray,
                ) -> np.ndarray:
    """Per row: its chain's base RTO, the smallest gap / backoff multiplier of the chain's
    timeouts (timers are never early, so the least late one is closest to nominal)."""
    gap = tx["gap_s"].to_numpy()
    ok = sel & (gap < profile.rto_max * (1 - EARLY)) & np.isfinite(gap)
    per = pd.Series(np.where(ok, gap / np.where(mult > 0, mult, 1.0), np.nan))
    return per.groupby(tx["chain_id"].to_numpy()).transform("min").to_numpy()


def _score(profile: Profile, tx: pd.DataFrame) -> tuple[int, int, float]:
    pred, lower_only = predict(profile, tx)
    gap = tx["gap_s"].to_numpy()
    ok = np.where(lower_only, gap >= pred * (1 - EARLY) - ABS_SLACK_S,
                  within_tolerance(gap, pred))
    with np.errstate(all="ignore"):
        err = np.abs(np.log(gap / pred))
    err = np.where(lower_only & (gap >= pred), 0.0, err)
    valid = np.isfinite(err)
    return int(valid.sum()), int((ok & valid).sum()), float(err[valid].mean()) \
        if valid.any() else 0.0


def _candidates() -> list[Profile]:
    linux = PROFILES["linux"]
    return [linux.with_linear(n) for n in LINEAR_RANGE] + [
        PROFILES[name] for name in PRIORITY if name != "linux"]


def fit_profiles(tx: pd.DataFrame) -> pd.DataFrame:
    """One row per profile (Linux: its best tcp_syn_linear_timeouts), best first.

    ``tx`` holds the timeout rows: segment, timeout, gap_s, prev_timeout_gap_s, srtt_s.
    """
    rows = []
    for prof in _candidates():
        n, ok, err = _score(prof, tx)
        rows.append({"profile": prof.name, "label": prof.label,
                     "linear": prof.syn_linear_timeouts, "gaps": n, "fitting": ok,
                     "score": ok / n if n else float("nan"), "mean_abs_log": err})
    df = pd.DataFrame(rows)
    df["prio"] = [PRIORITY.index(p) for p in df["profile"]]
    df["lin_pref"] = [0 if x == 4 else 1 if x == 0 else 2 for x in df["linear"]]
    df = df.sort_values(["fitting", "mean_abs_log", "prio", "lin_pref"],
                        ascending=[False, True, True, True], kind="stable")
    df = df.drop_duplicates("profile").reset_index(drop=True)
    df["chosen"] = False
    return df[[*FIT_COLUMNS[:-1], "chosen", "linear"]]


def choose_profile(name: str, tx: pd.DataFrame) -> tuple[Profile, pd.DataFrame]:
    """The profile to use and the fit table (``chosen`` marks it)."""
    fit = fit_profiles(tx)
    if name == "auto":
        if len(tx) == 0:
            chosen = PROFILES["linux"]
        else:
            best = fit.iloc[0]
            prof = PROFILES[str(best["profile"])]
            lin = best["linear"]
            chosen = prof.with_linear(int(lin)) if prof.name == "linux" and pd.notna(lin) \
                else prof
    else:
        chosen = get_profile(name)
        if chosen.name == "linux" and ":" not in name:
            lin = fit.loc[fit["profile"] == "linux", "linear"]
            if len(lin) and len(tx) and pd.notna(lin.iloc[0]):
                chosen = chosen.with_linear(int(lin.iloc[0]))
    fit["chosen"] = fit["profile"] == chosen.name
    fit.loc[fit["chosen"], "label"] = chosen.label
    return chosen, fit.drop(columns=["linear"])
