"""Decoding frames into the columnar packet table (one row per TCP segment).

>>> d = decode_capture("trace.pcap")           # doctest: +SKIP
>>> d.columns["seq"], d.addresses, d.anomalies  # doctest: +SKIP

The fast path (Ethernet incl. VLAN/QinQ/PPPoE, Linux SLL/SLL2, raw IP, BSD loopback; IPv4
and IPv6 with extension headers; TCP with options and checksum) works on whole batches
with NumPy; no Python object is made per packet.
"""

from analyzer.decode.decoder import decode_capture
from analyzer.decode.link import SUPPORTED_LINKTYPES
from analyzer.decode.model import NON_TCP_KINDS, Decoded, DecodeStats

__all__ = ["NON_TCP_KINDS", "SUPPORTED_LINKTYPES", "DecodeStats", "Decoded", "decode_capture"]
