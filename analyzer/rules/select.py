"""Selectors applied to a capture: boolean masks over its connections and its findings."""

from __future__ import annotations

import fnmatch
import ipaddress
from pathlib import PurePath

import numpy as np
import pandas as pd

from analyzer.rules.model import IpNetwork, PortRange, Selector

__all__ = ["capture_matches", "connection_mask", "finding_mask"]


def capture_matches(patterns: tuple[str, ...], capture: str) -> bool:
    """A glob matches the capture's path as given or its file name."""
    name = PurePath(capture).name
    return any(fnmatch.fnmatch(capture, p) or fnmatch.fnmatch(name, p) for p in patterns)


def connection_mask(sel: Selector, conns: pd.DataFrame, capture: str) -> np.ndarray:
    """True for each connection (row of ``conns``) that ``sel`` selects."""
    n = len(conns)
    if sel.captures and not capture_matches(sel.captures, capture):
        return np.zeros(n, dtype=bool)
    mask = np.ones(n, dtype=bool)
    if sel.server_ports:
        mask &= _in_ports(conns["server_port"], sel.server_ports)
    if sel.client_ports:
        mask &= _in_ports(conns["client_port"], sel.client_ports)
    if sel.servers:
        mask &= _in_nets(conns["server"], sel.servers)
    if sel.clients:
        mask &= _in_nets(conns["client"], sel.clients)
    if sel.hosts:
        mask &= _in_nets(conns["client"], sel.hosts) | _in_nets(conns["server"], sel.hosts)
    if sel.conns:
        mask &= np.isin(conns["conn_id"].to_numpy(), np.asarray(sel.conns, dtype=np.int64))
    return mask


def finding_mask(sel: Selector, findings: pd.DataFrame, conn_mask: np.ndarray,
                 capture: str) -> np.ndarray:
    """Findings of selected connections; capture-wide ones (conn_id < 0) only when the
    selector names no connection property."""
    ids = findings["conn_id"].to_numpy(np.int64)
    inside = (ids >= 0) & (ids < len(conn_mask))
    mask = np.zeros(len(ids), dtype=bool)
    mask[inside] = conn_mask[ids[inside]]
    if sel.connection_free() and (not sel.captures or capture_matches(sel.captures, capture)):
        mask[ids < 0] = True
    return mask


def _in_ports(col: pd.Series, ranges: tuple[PortRange, ...]) -> np.ndarray:
    ports = col.to_numpy(np.int64)
    mask = np.zeros(len(ports), dtype=bool)
    for lo, hi in ranges:
        mask |= (ports >= lo) & (ports <= hi)
    return mask


def _in_nets(col: pd.Series, nets: tuple[IpNetwork, ...]) -> np.ndarray:
    """Address strings in any of ``nets``; each distinct address is parsed once."""
    codes, uniques = pd.factorize(col.astype(str))
    hit = np.array([_member(str(u), nets) for u in uniques], dtype=bool)
    return hit[codes] if len(codes) else np.zeros(0, dtype=bool)


def _member(address: str, nets: tuple[IpNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in nets)
