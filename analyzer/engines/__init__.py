"""Engines that turn a capture into synack's packet table.

* ``native`` — :func:`analyzer.decode.decode_capture`: NumPy over whole batches; Ethernet
  (VLAN, QinQ, PPPoE), Linux SLL/SLL2, raw IP, BSD loopback.
* ``tshark`` — :func:`analyzer.engines.tshark.decode_with_tshark`: Wireshark's dissectors
  (every link type and tunnel tshark knows); needs tshark installed.
* ``auto`` — native, falling back to tshark for what the native reader cannot decode
  (:mod:`analyzer.engines.auto`).
"""

from __future__ import annotations

ENGINES = ("auto", "native", "tshark")

__all__ = ["ENGINES"]
