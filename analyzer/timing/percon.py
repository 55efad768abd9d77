"""Per-connection timing columns, joined into the connections table."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["PER_CONNECTION_COLUMNS", "per_connection"]

KIND_COLUMNS = {"rto": "retx_rto", "fast": "retx_fast", "tlp": "retx_tlp",
                "spurious": "retx_spurious", "reply": "retx_reply", "duplicate": "dup_captured"}
PER_CONNECTION_COLUMNS = (
    "retransmissions", *KIND_COLUMNS.values(), "longest_backoff", "longest_backoff_s",
    "gave_up", "srtt_c2s_ms", "srtt_s2c_ms", "time_wait_side", "time_wait_until",
    "time_wait_observed_s", "timing_fit",
)


def per_connection(n_conn: int, tx: pd.DataFrame, chains: pd.DataFrame, tw: pd.DataFrame,
                   rtt: pd.DataFrame) -> pd.DataFrame:
    """Indexed by conn_id; counts are 0 and values NaN / "" where nothing applies."""
    idx = pd.RangeIndex(n_conn, name="conn_id")
    out = pd.DataFrame(index=idx)
    conn = tx["conn_id"].to_numpy(np.int64)
    real = (tx["kind"] != "duplicate").to_numpy()
    out["retransmissions"] = np.bincount(conn[real], minlength=n_conn)
    for kind, name in KIND_COLUMNS.items():
        out[name] = np.bincount(conn[(tx["kind"] == kind).to_numpy()], minlength=n_conn)
    by_chain = chains.groupby("conn_id")
    out["longest_backoff"] = by_chain["timeouts"].max().reindex(idx).fillna(0).astype(np.int64)
    out["longest_backoff_s"] = by_chain["span_s"].max().reindex(idx)
    gave = chains.loc[chains["outcome"].isin(["gave_up", "reset"]), "conn_id"].to_numpy() \
        if len(chains) else np.empty(0, np.int64)
    out["gave_up"] = idx.isin(gave)
    last = rtt.groupby(["conn_id", "direction"])["srtt_ms"].last()
    for d in ("c2s", "s2c"):
        sel = last.xs(d, level="direction") if d in last.index.get_level_values(1) \
            else pd.Series(dtype=np.float64)
        out[f"srtt_{d}_ms"] = sel.reindex(idx)
    out = out.join(_time_wait_columns(tw, idx))
    fit = tx.loc[tx["fits_profile"].notna()].groupby("conn_id")["fits_profile"]
    out["timing_fit"] = fit.mean().astype(np.float64).reindex(idx)
    return out[list(PER_CONNECTION_COLUMNS)]


def _time_wait_columns(tw: pd.DataFrame, idx: pd.RangeIndex) -> pd.DataFrame:
    out = pd.DataFrame(index=idx)
    if len(tw) == 0:
        out["time_wait_side"] = ""
        out["time_wait_until"] = ""
        out["time_wait_observed_s"] = np.nan
        return out
    g = tw.groupby("conn_id")
    side = pd.Series(np.where(g.size() > 1, "both", g["endpoint"].first().astype(str)),
                     index=g.size().index)
    longest = tw.sort_values("observed_s").groupby("conn_id").tail(1).set_index("conn_id")
    out["time_wait_side"] = side.reindex(idx).fillna("")
    out["time_wait_until"] = longest["until"].reindex(idx).fillna("")
    out["time_wait_observed_s"] = longest["observed_s"].reindex(idx)
    return out
