"""Timing: retransmissions and their backoff, RTT/RTO estimates, profiles, TIME_WAIT.

``analyze_timing(result, profile="auto")`` returns a :class:`Timing`; the pieces:
``context`` (per-row facts), ``segments`` (what was sent again; duplicated captures come
from ``analyzer.checks.artefacts.duplicate_mask``),
``rtt`` (RFC 6298 from ACK samples), ``classify`` (rto / fast / tlp / spurious / reply /
duplicate), ``chains`` and ``outcomes`` (backoff chains), ``profiles`` and ``fit``
(OS timing profiles and ``auto``), ``timewait`` (TIME_WAIT table and per-host series).

``Timing`` and ``analyze_timing`` are imported on first use, so that reading the profile
names (the command line does) does not import the whole analysis.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from analyzer.timing.profiles import PROFILE_NAMES, PROFILES, Profile, get_profile

if TYPE_CHECKING:
    from analyzer.timing.analysis import Timing, analyze_timing

__all__ = ["PROFILES", "PROFILE_NAMES", "Profile", "Timing", "analyze_timing", "get_profile"]


def __getattr__(name: str) -> Any:
    if name in ("Timing", "analyze_timing"):
        return getattr(importlib.import_module("analyzer.timing.analysis"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
