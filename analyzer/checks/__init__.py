"""Checks: connections + timelines → findings (see ``model`` for the contract)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from analyzer.checks.model import REGISTRY, CheckSpec, Finding, findings_frame, register

if TYPE_CHECKING:
    from analyzer.result import AnalysisResult

__all__ = ["REGISTRY", "CheckSpec", "Finding", "register", "run_checks"]


def _load_catalogue() -> None:
    """Import every module that registers checks (each registers on import)."""
    import importlib
    import pkgutil

    import analyzer.checks as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name not in ("model",):
            importlib.import_module(f"analyzer.checks.{mod.name}")


def run_checks(result: AnalysisResult) -> pd.DataFrame:
    """Run every registered check on ``result``; return the findings table."""
    _load_catalogue()
    found: list[Finding] = []
    for spec in REGISTRY.values():
        if spec.fn is not None:
            found.extend(spec.fn(result))
    return findings_frame(found)
