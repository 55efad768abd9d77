"""All scenarios, in file-name order."""

from __future__ import annotations

from . import sc_close, sc_faults, sc_special
from .runner import Scenario

SCENARIOS: list[Scenario] = sorted(
    sc_close.SCENARIOS + sc_faults.SCENARIOS + sc_special.SCENARIOS, key=lambda s: s.name)


def select(only: list[str] | None) -> list[Scenario]:
    """Scenarios named by ``--only`` (full name, or its NN number prefix)."""
    if not only:
        return SCENARIOS
    chosen = [sc for sc in SCENARIOS
              if any(sc.name == o or sc.name.split("_", 1)[0] == o.zfill(2) for o in only)]
    if not chosen:
        raise SystemExit(f"no scenario matches {only}; see --list")
    return chosen
