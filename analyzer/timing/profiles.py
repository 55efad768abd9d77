"""Operating-system timing profiles: retransmission timers, backoff and TIME_WAIT.

Every number comes with its source (see docs/timing.md for the full list):

* **linux** — include/net/tcp.h: ``TCP_TIMEOUT_INIT`` 1 s (initial RTO, SYN and SYN-ACK),
  ``TCP_RTO_MIN`` 200 ms (``tcp_rto_min_us``), ``TCP_RTO_MAX`` 120 s (``tcp_rto_max_ms``),
  ``TCP_TIMEWAIT_LEN`` 60 s (not restarted by a timer tweak, only by a resent FIN).
  RTO = SRTT + max(4·RTTVAR, rto_min) (``__tcp_set_rto``: rttvar_us is floored at
  rto_min). SYN retries (net/ipv4/tcp_timer.c, ``tcp_retransmit_timer``): the RTO is not
  doubled while ``total_rto <= tcp_syn_linear_timeouts`` (default 4 since Linux 6.x; 0 or
  absent before), so the first N+1 gaps are 1 s, then 2, 4, 8 s. SYN-ACK retries
  (``reqsk_timer_handler``): ``TCP_TIMEOUT_INIT << num_timeout``: 1, 2, 4, 8 s. Timers
  fire late, never early (timer-wheel granularity: up to 1/8 of the timeout).
* **rfc** — RFC 6298 §2 (initial RTO 1 s, RTO = max(1 s, SRTT + max(G, 4·RTTVAR)),
  §5.5 doubling, §2.5 maximum ≥ 60 s) and RFC 9293 §3.4.2 (MSL 2 min → 2·MSL 240 s).
* **macos** — XNU bsd/netinet/tcp_timer.c/.h: ``TCPTV_RTOBASE`` 1 s,
  ``tcp_syn_backoff = {1, 1, 1, 1, 1, 2, 4, 8, 16, 32, 64, 64, 64}``,
  ``tcp_backoff = {1, 2, 4, 8, 16, 32, 64, 64, ...}``, ``TCPTV_REXMTMIN`` 30 ms plus the
  200 ms ``tcp_rexmt_slop`` once established, ``TCPTV_REXMTMAX`` 64 s, ``TCPTV_MSL`` 15 s
  (TIME_WAIT 2·MSL = 30 s). FreeBSD shares the SYN table and uses MSL 30 s.
* **windows** (legacy, XP/2003/7 defaults) — Microsoft KB 170359 / KB 314053: initial RTO
  3 s doubling (``TcpMaxConnectRetransmissions`` 2: SYNs at 0, 3, 9 s),
  ``TcpTimedWaitDelay`` 240 s; minimum RTO 300 ms (``MinRto`` of later releases).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

__all__ = [
    "ABS_SLACK_S", "EARLY", "LATE", "PROFILES", "PROFILE_NAMES", "Profile", "get_profile",
    "ratio_ok", "ratios_ok", "within_tolerance",
]

Kind = Literal["syn", "synack", "data"]

LATE = 0.15        # timers fire late by up to ~1/8 (timer wheel) plus scheduling: allow 15 %
EARLY = 0.05       # never early, but the capture clock and the capture point jitter: 5 %
ABS_SLACK_S = 0.02  # and 20 ms absolute, for short timers


@dataclass(frozen=True, slots=True)
class Profile:
    """Timer constants of one TCP implementation (seconds)."""

    name: str
    title: str
    initial_rto: float
    rto_min: float
    rto_max: float
    msl: float
    syn_table: tuple[int, ...]      # multiplier of initial_rto for the k-th SYN gap (k = 1..)
    synack_table: tuple[int, ...]   # same for SYN-ACK retries of a passive open
    data_table: tuple[int, ...]     # backoff multiplier of the base RTO after k timeouts
    rto_slop: float = 0.0           # added to the computed RTO once established (BSD)
    rto_rule: Literal["linux", "rfc", "bsd"] = "rfc"
    syn_linear_timeouts: int | None = None  # Linux only: tcp_syn_linear_timeouts
    sources: tuple[str, ...] = ()

    @property
    def time_wait_s(self) -> float:
        """2·MSL: how long TIME_WAIT lasts."""
        return 2.0 * self.msl

    @property
    def label(self) -> str:
        if self.syn_linear_timeouts is None:
            return self.name
        return f"{self.name} (tcp_syn_linear_timeouts={self.syn_linear_timeouts})"

    def syn_gap(self, k: int) -> float:
        """Nominal gap before the k-th SYN retry (k = 1 is original → first retry)."""
        return min(self.initial_rto * _table(self.syn_table, k), self.rto_max)

    def synack_gap(self, k: int) -> float:
        return min(self.initial_rto * _table(self.synack_table, k), self.rto_max)

    def handshake_gap(self, kind: Kind, k: int) -> float:
        return self.syn_gap(k) if kind == "syn" else self.synack_gap(k)

    def data_ratio(self, k: int) -> float:
        """Expected ratio of the gap before the k-th timeout retry to the (k-1)-th one."""
        if k < 2:
            return float("nan")
        return _table(self.data_table, k) / _table(self.data_table, k - 1)

    def data_multiplier(self, k: int) -> float:
        """Backoff multiplier of the k-th timeout relative to the first (1, 2, 4, ...)."""
        return _table(self.data_table, k) / _table(self.data_table, 1) if k >= 1 else 1.0

    def rto(self, srtt: np.ndarray, rttvar: np.ndarray) -> np.ndarray:
        """The RTO the sender computes from its estimates (NaN SRTT → initial RTO)."""
        srtt = np.asarray(srtt, dtype=np.float64)
        rttvar = np.asarray(rttvar, dtype=np.float64)
        if self.rto_rule == "linux":
            value = srtt + np.maximum(4.0 * rttvar, self.rto_min)
        elif self.rto_rule == "bsd":
            value = np.maximum(srtt + 4.0 * rttvar, self.rto_min) + self.rto_slop
        else:
            value = np.maximum(srtt + np.maximum(0.001, 4.0 * rttvar), self.rto_min)
        value = np.minimum(value, self.rto_max)
        return np.where(np.isnan(srtt), self.initial_rto, value)

    def with_linear(self, n: int) -> Profile:
        """Linux with another tcp_syn_linear_timeouts: n+1 one-second SYN gaps, then doubling."""
        table = tuple([1] * (n + 1) + [2 ** i for i in range(1, 13)])
        return replace(self, syn_table=table, syn_linear_timeouts=n)


def _table(table: tuple[int, ...], k: int) -> int:
    return table[min(max(k, 1), len(table)) - 1]


def within_tolerance(observed: np.ndarray, nominal: np.ndarray) -> np.ndarray:
    """True where a timer that should fire after ``nominal`` s fired after ``observed`` s.

    Late by up to LATE (plus ABS_SLACK_S) is normal; early only by capture jitter.
    """
    obs = np.asarray(observed, dtype=np.float64)
    nom = np.asarray(nominal, dtype=np.float64)
    return (obs >= nom * (1 - EARLY) - ABS_SLACK_S) & (obs <= nom * (1 + LATE) + ABS_SLACK_S)


def ratio_ok(ratio: float, expected: float, prev_gap: float) -> bool:
    """Is a backoff ratio (gap / previous gap) consistent with ``expected``?

    Each gap may be late by up to LATE and early by EARLY (± ABS_SLACK_S), independently.
    """
    return bool(ratios_ok(np.array([ratio]), np.array([expected]), np.array([prev_gap]))[0])


def ratios_ok(ratio: np.ndarray, expected: np.ndarray, prev_gap: np.ndarray) -> np.ndarray:
    """Vectorized :func:`ratio_ok` (False where the ratio is NaN)."""
    with np.errstate(all="ignore"):
        slack = np.where(prev_gap > 0, ABS_SLACK_S / prev_gap, 0.0)
    lo = expected * (1 - EARLY) / (1 + LATE) - slack
    hi = expected * (1 + LATE) / (1 - EARLY) + slack
    return (lo <= ratio) & (ratio <= hi)


_DOUBLING = tuple(2 ** i for i in range(16))

LINUX = Profile(
    "linux", "Linux (tcp_rto_min 200 ms, TIME_WAIT 60 s)", initial_rto=1.0, rto_min=0.2,
    rto_max=120.0, msl=30.0, syn_table=(), synack_table=_DOUBLING, data_table=_DOUBLING,
    rto_rule="linux",
    sources=("include/net/tcp.h: TCP_TIMEOUT_INIT, TCP_RTO_MIN, TCP_RTO_MAX, TCP_TIMEWAIT_LEN",
             "net/ipv4/tcp_timer.c: tcp_retransmit_timer (tcp_syn_linear_timeouts), "
             "reqsk_timer_handler",
             "Documentation/networking/ip-sysctl.rst: tcp_syn_linear_timeouts"),
).with_linear(4)

RFC = Profile(
    "rfc", "RFC 6298 / RFC 9293 (RTO ≥ 1 s, MSL 2 min)", initial_rto=1.0, rto_min=1.0,
    rto_max=60.0, msl=120.0, syn_table=_DOUBLING, synack_table=_DOUBLING,
    data_table=_DOUBLING, rto_rule="rfc",
    sources=("RFC 6298 §2.1, §2.4, §2.5, §5.5, §5.7", "RFC 9293 §3.4.2 (MSL), §3.10.7.4"))

MACOS = Profile(
    "macos", "macOS / BSD (SYN table 1,1,1,1,1,2,4…, MSL 15 s)", initial_rto=1.0,
    rto_min=0.03, rto_max=64.0, msl=15.0, syn_table=(1, 1, 1, 1, 1, 2, 4, 8, 16, 32, 64, 64, 64),
    synack_table=(1, 2, 4, 8, 16, 32, 64, 64, 64, 64, 64, 64, 64),
    data_table=(1, 2, 4, 8, 16, 32, 64, 64, 64, 64, 64, 64, 64), rto_slop=0.2, rto_rule="bsd",
    sources=("XNU bsd/netinet/tcp_timer.h: TCPTV_MSL 15 s, TCPTV_RTOBASE 1 s, "
             "TCPTV_REXMTMIN, TCPTV_REXMTSLOP 200 ms, TCPTV_REXMTMAX 64 s",
             "XNU bsd/netinet/tcp_timer.c: tcp_syn_backoff[], tcp_backoff[]",
             "FreeBSD sys/netinet/tcp_timer.c: tcp_syn_backoff[] (same table), MSL 30 s"))

WINDOWS = Profile(
    "windows", "legacy Windows (initial RTO 3 s, TIME_WAIT 240 s)", initial_rto=3.0,
    rto_min=0.3, rto_max=240.0, msl=120.0, syn_table=_DOUBLING, synack_table=_DOUBLING,
    data_table=_DOUBLING, rto_rule="rfc",
    sources=("Microsoft KB 170359 (TCP retransmission time-out: 3 s initial, doubling)",
             "Microsoft KB 314053 (TcpMaxConnectRetransmissions 2, TcpTimedWaitDelay 240 s)",
             "netsh interface tcp show global: MinRto 300 ms (Windows Server 2008 and later)"))

PROFILES: dict[str, Profile] = {p.name: p for p in (LINUX, RFC, MACOS, WINDOWS)}
PROFILE_NAMES = ("auto", *PROFILES)

def get_profile(name: str) -> Profile:
    """A profile by name; "linux:N" pins tcp_syn_linear_timeouts=N."""
    base, _, arg = name.partition(":")
    if base not in PROFILES:
        raise ValueError(f"unknown timing profile {name!r}: choose one of "
                         f"{', '.join(PROFILE_NAMES)}")
    prof = PROFILES[base]
    if arg:
        if base != "linux" or not arg.isdigit():
            raise ValueError(f"bad timing profile {name!r}: only linux:N takes a parameter")
        prof = prof.with_linear(int(arg))
    return prof
