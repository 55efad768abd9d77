"""What the HTML report shows, as plain data (dicts and lists) for the template."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analyzer.checks import REGISTRY
from analyzer.pdutil import records
from analyzer.render.findings import catalogue
from analyzer.result import AnalysisResult

__all__ = ["choose_sections", "connection_rows", "findings_groups", "summary"]

_RANK = {"error": 0, "warning": 1, "info": 2}
MAX_PER_GROUP = 50


def _per_conn_findings(fd: pd.DataFrame) -> pd.DataFrame:
    """Per connection: number of findings, worst severity rank, check ids."""
    if len(fd) == 0:
        return pd.DataFrame(columns=["n", "worst", "checks"])
    rank = fd["severity"].astype(str).map(_RANK).astype(int)
    g = fd.assign(rank=rank).groupby("conn_id")
    return pd.DataFrame({"n": g.size(), "worst": g["rank"].min(),
                         "checks": g["check"].agg(lambda s: sorted(set(map(str, s))))})


def choose_sections(result: AnalysisResult, limit: int) -> list[int]:
    """The connections that get a detailed section: findings first (worst severity, then
    most findings), then retransmissions, then anything that did not close cleanly."""
    conns = result.connections
    if len(conns) <= limit:
        return conns["conn_id"].astype(int).tolist()
    per = _per_conn_findings(result.findings).reindex(conns["conn_id"])
    score = pd.DataFrame({
        "worst": per["worst"].fillna(9).to_numpy(),
        "n": -per["n"].fillna(0).to_numpy(),
        "retx": -conns["retransmissions"].fillna(0).to_numpy(),
        "clean": (conns["summary"].astype(str) == "CLOSED").to_numpy(),
        "id": conns["conn_id"].to_numpy(),
    })
    order = score.sort_values(["worst", "n", "retx", "clean", "id"], kind="stable")
    return sorted(order["id"].head(limit).astype(int).tolist())


def _endpoint(addr: Any, port: Any, v: Any) -> str:
    return f"{addr}:{port}" if int(v) == 4 else f"[{addr}]:{port}"


def connection_rows(result: AnalysisResult, sections: set[int], limit: int,
                    ) -> list[dict[str, Any]]:
    """One dict per connection of the table (at most ``limit``: sections first)."""
    conns = result.connections
    per = _per_conn_findings(result.findings)
    ids = conns["conn_id"].to_numpy()
    if len(conns) > limit:
        keep = np.isin(ids, list(sections))
        rest = np.flatnonzero(~keep)[: max(limit - int(keep.sum()), 0)]
        conns = conns.iloc[np.sort(np.concatenate([np.flatnonzero(keep), rest]))]
    t0 = int(conns["start_ns"].min()) if len(conns) else 0
    out = []
    per_rec: dict[int, dict[str, Any]] = {int(k): v for k, v in
                                          zip(per.index, records(per), strict=True)}
    for r in records(conns):
        cid = int(r["conn_id"])
        f = per_rec.get(cid)
        checks = list(f["checks"]) if f is not None else []
        worst = int(f["worst"]) if f is not None else 9
        rtt = r.get("handshake_rtt_ms")
        out.append({
            "id": cid, "client": _endpoint(r["client"], r["client_port"], r["ip_version"]),
            "server": _endpoint(r["server"], r["server_port"], r["ip_version"]),
            "summary": str(r["summary"]), "conn_state": str(r["conn_state"]),
            "history": str(r["history"]), "start_s": (int(r["start_ns"]) - t0) / 1e9,
            "duration_s": float(r["duration_s"]),
            "packets": int(r["pkts_c2s"]) + int(r["pkts_s2c"]),
            "bytes": int(r["bytes_c2s"]) + int(r["bytes_s2c"]),
            "retx": int(r.get("retransmissions", 0) or 0),
            "rtt_ms": None if rtt is None or pd.isna(rtt) else float(rtt),
            "findings": int(f["n"]) if f is not None else 0,
            "worst": {0: "error", 1: "warning", 2: "info"}.get(worst, ""),
            "checks": checks, "section": cid in sections,
            "final": f"{r['client_final']} / {r['server_final']}",
        })
    return out


def findings_groups(result: AnalysisResult, lang: str, sections: set[int],
                    ) -> list[dict[str, Any]]:
    """Findings grouped by check, in catalogue order, with up to 50 instances each."""
    fd = result.findings
    if len(fd) == 0:
        return []
    zh = lang == "zh"
    col = "message_zh" if zh else "message"
    groups = []
    by_check = {str(k): g for k, g in fd.groupby("check", observed=True)}
    for spec in catalogue():
        g = by_check.get(spec.id)
        if g is None:
            continue
        items = [{"conn": int(r["conn_id"]), "frame": int(r["frame"]),
                  "severity": str(r["severity"]), "message": str(r[col]),
                  "expected": str(r["expected"]), "observed": str(r["observed"]),
                  "linked": int(r["conn_id"]) in sections}
                 for r in records(g.head(MAX_PER_GROUP))]
        groups.append({"id": spec.id, "title": spec.title_zh if zh else spec.title,
                       "severity": spec.severity, "rfc": spec.rfc, "count": len(g),
                       "connections": int(g["conn_id"].nunique()),
                       "explanation": spec.explanation_zh if zh else spec.explanation,
                       "instances": items, "more": max(len(g) - MAX_PER_GROUP, 0)})
    return groups


def summary(result: AnalysisResult) -> dict[str, Any]:
    """Capture-wide facts for the page's head."""
    cols, conns, fd = result.columns, result.core_connections, result.findings
    ts = cols["ts_ns"]
    sev = fd["severity"].astype(str).value_counts() if len(fd) else pd.Series(dtype=int)
    stats = result.stats
    ifaces = [{"name": str(getattr(i, "name", "")), "linktype": int(getattr(i, "linktype", 0))}
              for i in getattr(stats, "interfaces", []) or []]
    return {
        "segments": len(ts), "connections": len(conns),
        "first": int(ts.min()) if len(ts) else 0, "last": int(ts.max()) if len(ts) else 0,
        "duration_s": (int(ts.max()) - int(ts.min())) / 1e9 if len(ts) else 0.0,
        "by_summary": {str(k): int(v) for k, v in
                       conns["summary"].astype(str).value_counts().items()},
        "findings": len(fd), "errors": int(sev.get("error", 0)),
        "warnings": int(sev.get("warning", 0)), "infos": int(sev.get("info", 0)),
        "anomalies": len(result.anomalies), "warnings_list": list(result.warnings),
        "profile": result.timing.profile.label, "interfaces": ifaces,
        "checks": {k: v.title for k, v in REGISTRY.items()},
        "format": str(getattr(stats, "format", "")), "frames": int(getattr(stats, "frames", 0)),
        "non_tcp": dict(getattr(stats, "non_tcp", {}) or {}),
    }
