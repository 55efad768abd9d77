"""The test bed: two namespaces joined by a veth pair, agents, sysctls, offloads, iptables."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .agentproxy import Agent
from .system import add_namespace, delete_namespace, in_ns, now_ns, run

CLIENT_NS, SERVER_NS = "synack_c", "synack_s"
CLIENT_IF, SERVER_IF = "synack_cv", "synack_sv"
CLIENT_V4, SERVER_V4 = "10.213.0.1", "10.213.0.2"
SILENT_V4 = "10.213.0.3"  # extra server-side address whose packets are all dropped at INPUT
CLIENT_V6, SERVER_V6 = "fd00:213::1", "fd00:213::2"

# Short kernel timers for every scenario (both namespaces); scenarios override some.
BASE_SYSCTLS: dict[str, int | str] = {
    "net.ipv4.tcp_syn_retries": 4,
    "net.ipv4.tcp_synack_retries": 3,
    "net.ipv4.tcp_retries2": 8,
    "net.ipv4.tcp_orphan_retries": 3,
    "net.ipv4.tcp_fin_timeout": 10,
}

# Read back from /proc/sys in each namespace into the truth file (absent keys skipped).
SYSCTL_KEYS = [
    "net.ipv4.tcp_syn_retries", "net.ipv4.tcp_synack_retries", "net.ipv4.tcp_syn_linear_timeouts",
    "net.ipv4.tcp_retries1", "net.ipv4.tcp_retries2", "net.ipv4.tcp_orphan_retries",
    "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_tw_reuse_delay",
    "net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_timestamps", "net.ipv4.tcp_sack",
    "net.ipv4.tcp_window_scaling", "net.ipv4.tcp_ecn", "net.ipv4.tcp_syncookies",
    "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_abort_on_overflow",
    "net.ipv4.tcp_congestion_control", "net.ipv4.tcp_early_retrans", "net.ipv4.tcp_recovery",
    "net.ipv4.tcp_frto", "net.ipv4.tcp_thin_linear_timeouts", "net.ipv4.tcp_rto_min_us",
    "net.ipv4.tcp_rto_max_ms", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_mtu_probing",
    "net.ipv4.tcp_no_metrics_save", "net.ipv4.ip_local_port_range", "net.core.somaxconn",
]

OFFLOAD_FEATURES = [
    "tcp-segmentation-offload", "generic-segmentation-offload", "generic-receive-offload",
    "large-receive-offload", "tx-checksumming", "rx-checksumming", "scatter-gather",
]


@dataclass
class LabConfig:
    sysctls: dict[str, int | str] = field(default_factory=dict)  # both namespaces
    client_sysctls: dict[str, int | str] = field(default_factory=dict)
    server_sysctls: dict[str, int | str] = field(default_factory=dict)
    offloads_off: bool = True
    ipv6: bool = False
    silent_address: bool = False  # add SILENT_V4 to the server side, drop all to it


@dataclass
class Rule:
    """One iptables rule inserted at INPUT of one namespace."""

    side: str
    ns: str
    family: str
    spec: list[str]
    comment: str
    t_added_ns: int
    t_removed_ns: int | None = None
    packets: int | None = None
    bytes: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"side": self.side, "namespace": self.ns, "family": self.family,
                "table": "filter", "chain": "INPUT", "rule": " ".join(self.spec),
                "t_added_ns": self.t_added_ns, "t_removed_ns": self.t_removed_ns,
                "packets_matched": self.packets, "bytes_matched": self.bytes}


class Lab:
    """Namespaces + veth + agents for one scenario run (a context manager)."""

    def __init__(self, cfg: LabConfig) -> None:
        self.cfg = cfg
        self.rules: list[Rule] = []
        self.agents: dict[str, Agent] = {}
        self.ns = {"client": CLIENT_NS, "server": SERVER_NS}
        self.iface = {"client": CLIENT_IF, "server": SERVER_IF}

    def __enter__(self) -> Lab:
        try:
            self.setup()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.teardown()

    # ------------------------------------------------------------------ setup
    def setup(self) -> None:
        for ns in self.ns.values():
            add_namespace(ns)
            in_ns(ns, ["ip", "link", "set", "lo", "up"])
        run(["ip", "link", "add", CLIENT_IF, "netns", CLIENT_NS, "type", "veth",
             "peer", "name", SERVER_IF, "netns", SERVER_NS])
        for side, ns in self.ns.items():
            self.agents[side] = Agent(ns, side)
        for side in self.ns:
            self._sysctls(side)
            self._addresses(side)
        for side, ns in self.ns.items():
            in_ns(ns, ["ip", "link", "set", self.iface[side], "up"])
            if self.cfg.offloads_off:
                in_ns(ns, ["ethtool", "-K", self.iface[side], "tso", "off", "gso", "off",
                           "gro", "off", "tx", "off", "rx", "off"])
        if self.cfg.silent_address:
            self.drop("server", ["-d", SILENT_V4])
        self._wait_ready()

    def _sysctls(self, side: str) -> None:
        dev = self.iface[side]
        items: dict[str, int | str] = {f"net.ipv6.conf.{dev}.disable_ipv6": 0 if self.cfg.ipv6
                                       else 1}
        if self.cfg.ipv6:
            items.update({f"net.ipv6.conf.{dev}.accept_dad": 0,
                          f"net.ipv6.conf.{dev}.router_solicitations": 0})
        items.update(BASE_SYSCTLS)
        items.update(self.cfg.sysctls)
        items.update(self.cfg.client_sysctls if side == "client" else self.cfg.server_sysctls)
        self.agents[side].call("sysctl_set", items=items)

    def _addresses(self, side: str) -> None:
        ns, dev = self.ns[side], self.iface[side]
        v4, v6 = (CLIENT_V4, CLIENT_V6) if side == "client" else (SERVER_V4, SERVER_V6)
        in_ns(ns, ["ip", "addr", "add", f"{v4}/24", "dev", dev])
        if side == "server" and self.cfg.silent_address:
            in_ns(ns, ["ip", "addr", "add", f"{SILENT_V4}/24", "dev", dev])
        if self.cfg.ipv6:
            in_ns(ns, ["ip", "-6", "addr", "add", f"{v6}/64", "dev", dev, "nodad"])

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            links = [in_ns(ns, ["ip", "link", "show", self.iface[s]]) for s, ns in self.ns.items()]
            tentative = [in_ns(ns, ["ip", "-6", "addr", "show", "tentative"])
                         for ns in self.ns.values()] if self.cfg.ipv6 else []
            if all("LOWER_UP" in out for out in links) and not any(t.strip() for t in tentative):
                time.sleep(0.5 if self.cfg.ipv6 else 0.1)  # let link-up chatter pass
                return
            time.sleep(0.05)
        raise TimeoutError("veth pair did not come up")

    # --------------------------------------------------------------- teardown
    def teardown(self) -> None:
        for agent in self.agents.values():
            agent.close()
        self.agents.clear()
        for ns in self.ns.values():
            delete_namespace(ns)

    # ------------------------------------------------------------- iptables
    def drop(self, side: str, spec: list[str], family: str = "ipv4") -> Rule:
        """Insert ``-j DROP`` at INPUT in one namespace (never OUTPUT: that is EPERM, not loss)."""
        comment = f"synack-r{len(self.rules)}"
        tool = "ip6tables" if family == "ipv6" else "iptables"
        rule = Rule(side, self.ns[side], family, [*spec, "-j", "DROP"], comment, 0)
        in_ns(self.ns[side], [tool, "-w", "-A", "INPUT", *spec, "-m", "comment",
                              "--comment", comment, "-j", "DROP"])
        rule.t_added_ns = now_ns()
        self.rules.append(rule)
        return rule

    def read_counters(self, rule: Rule) -> None:
        tool = "ip6tables" if rule.family == "ipv6" else "iptables"
        out = in_ns(rule.ns, [tool, "-w", "-L", "INPUT", "-n", "-v", "-x"])
        for line in out.splitlines():
            if f"/* {rule.comment} */" in line:
                fields = line.split()
                rule.packets, rule.bytes = int(fields[0]), int(fields[1])

    def undrop(self, rule: Rule) -> None:
        self.read_counters(rule)
        tool = "ip6tables" if rule.family == "ipv6" else "iptables"
        spec = rule.spec[:-2]
        in_ns(rule.ns, [tool, "-w", "-D", "INPUT", *spec, "-m", "comment", "--comment",
                        rule.comment, "-j", "DROP"])
        rule.t_removed_ns = now_ns()

    def final_counters(self) -> None:
        for rule in self.rules:
            if rule.t_removed_ns is None:
                self.read_counters(rule)

    # ------------------------------------------------------------ readbacks
    def sysctls(self) -> dict[str, dict[str, Any]]:
        return {side: agent.call("sysctl_get", keys=SYSCTL_KEYS)["values"]
                for side, agent in self.agents.items()}

    def offloads(self) -> dict[str, dict[str, str]]:
        result: dict[str, dict[str, str]] = {}
        for side, ns in self.ns.items():
            out = in_ns(ns, ["ethtool", "-k", self.iface[side]])
            feats: dict[str, str] = {}
            for line in out.splitlines():
                name, _, value = line.strip().partition(":")
                if name in OFFLOAD_FEATURES:
                    feats[name] = value.strip()
            result[side] = feats
        return result

    def counters(self) -> dict[str, dict[str, int]]:
        return {side: agent.call("netstat")["counters"] for side, agent in self.agents.items()}

    def mac(self, side: str) -> str:
        out = in_ns(self.ns[side], ["cat", f"/sys/class/net/{self.iface[side]}/address"])
        return out.strip()
