"""Machine-readable outputs: CSV, JSON and Parquet files of the result."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analyzer.result import AnalysisResult

__all__ = ["connections_records", "summary_dict", "write_output_dir"]


def _clean(v: Any) -> Any:
    if v is pd.NA or v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return None if math.isnan(v) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v if isinstance(v, (int, float, str, bool)) else str(v)


def connections_records(conns: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _clean(v) for k, v in row.items()} for row in conns.to_dict("records")]


def summary_dict(result: AnalysisResult) -> dict[str, Any]:
    """Capture-level facts and counts, for summary.json and ``--format json``."""
    st = result.stats
    conns = result.connections
    return {
        "schema_version": 1,
        "source": result.source,
        "format": getattr(st, "format", None),
        "frames": getattr(st, "frames", None),
        "tcp_segments": len(result.columns["frame"]),
        "non_tcp": dict(getattr(st, "non_tcp", {}) or {}),
        "connections": len(conns),
        "by_summary": {str(k): int(v) for k, v in
                       conns["summary"].value_counts().sort_index().items() if v},
        "anomalies": len(result.anomalies),
        "warnings": list(result.warnings),
    }


def write_output_dir(result: AnalysisResult, out: Path) -> list[Path]:
    """Write connections, transitions, anomalies and findings (.csv), packets.(parquet|csv)
    and summary.json."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in (("connections", result.connections), ("transitions", result.transitions),
                     ("anomalies", result.anomalies), ("findings", result.findings)):
        p = out / f"{name}.csv"
        df.to_csv(p, index=False)
        written.append(p)
    try:
        import pyarrow  # noqa: F401
        p = out / "packets.parquet"
        result.packets.to_parquet(p, index=False)
    except ImportError:
        p = out / "packets.csv"
        result.packets.to_csv(p, index=False)
    written.append(p)
    p = out / "summary.json"
    p.write_text(json.dumps(summary_dict(result), indent=2) + "\n")
    written.append(p)
    return written
