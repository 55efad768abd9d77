"""Timing: retransmissions and their backoff, RTT/RTO estimates, profiles, TIME_WAIT.

``analyze_timing(result, profile="auto")`` returns a :class:`Timing`; the pieces:
``context`` (per-row facts), ``segments`` (what was sent again; duplicated captures come
from ``analyzer.checks.artefacts.duplicate_mask``),
``rtt`` (RFC 6298 from ACK samples), ``classify`` (rto / fast / tlp / spurious / reply /
duplicate), ``chains`` and ``outcomes`` (backoff chains), ``profiles`` and ``fit``
(OS timing profiles and ``auto``), ``timewait`` (TIME_WAIT table and per-host series).
"""

from analyzer.timing.analysis import Timing, analyze_timing
from analyzer.timing.profiles import PROFILE_NAMES, PROFILES, Profile, get_profile

__all__ = ["PROFILES", "PROFILE_NAMES", "Profile", "Timing", "analyze_timing", "get_profile"]
