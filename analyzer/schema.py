"""Column contracts shared by the pipeline stages.

The packet table is columnar: one NumPy array per column, one row per TCP segment, in
capture order. This module names the columns, their dtypes and the constants stored in
them (TCP flag bits, anomaly codes), so every stage speaks the same language.
"""

from __future__ import annotations

from typing import Final

import numpy as np

# --- TCP flag bits, as in the TCP header's flags byte (RFC 9293 §3.1; RFC 3168 for ECE/CWR).
FIN: Final = 0x001
SYN: Final = 0x002
RST: Final = 0x004
PSH: Final = 0x008
ACK: Final = 0x010
URG: Final = 0x020
ECE: Final = 0x040
CWR: Final = 0x080
AE: Final = 0x100  # formerly NS (RFC 3540), now AccECN (RFC 9768)

FLAG_LETTERS: Final = (
    (SYN, "S"), (ACK, "."), (FIN, "F"), (RST, "R"), (PSH, "P"), (URG, "U"), (ECE, "E"), (CWR, "W"),
)

# --- Per-row anomaly bits (column ``anomalies``). Frames that never become a row
#     (not TCP, malformed below TCP) go to the separate anomalies table instead.
ANOM_TRUNCATED_PAYLOAD: Final = 0x0001   # payload cut by the snaplen (cap_payload_len<payload_len)
ANOM_BAD_TCP_HDR_LEN: Final = 0x0002     # data offset < 5 or beyond the IP payload
ANOM_BAD_IP_LEN: Final = 0x0004          # IP total/payload length inconsistent with the frame
ANOM_BAD_CHECKSUM: Final = 0x0008        # TCP checksum verified and wrong
ANOM_BAD_OPTIONS: Final = 0x0010         # TCP options could not be parsed to the end
ANOM_ZERO_PORT: Final = 0x0020           # source or destination port 0
ANOM_BAD_FLAGS: Final = 0x0040           # impossible combination: SYN+FIN, SYN+RST, no flags at all
ANOM_TRUNCATED_HEADER: Final = 0x0080    # TCP header itself cut by the snaplen (options lost)
ANOM_RESERVED_BITS: Final = 0x0100       # reserved header bits set (0x0E00 of the 12-bit field;
                                         # they are not part of the ``flags`` column)

ANOMALY_NAMES: Final = {
    ANOM_TRUNCATED_PAYLOAD: "truncated_payload",
    ANOM_BAD_TCP_HDR_LEN: "bad_tcp_header_length",
    ANOM_BAD_IP_LEN: "bad_ip_length",
    ANOM_BAD_CHECKSUM: "bad_checksum",
    ANOM_BAD_OPTIONS: "bad_tcp_options",
    ANOM_ZERO_PORT: "zero_port",
    ANOM_BAD_FLAGS: "bad_flag_combination",
    ANOM_TRUNCATED_HEADER: "truncated_tcp_header",
    ANOM_RESERVED_BITS: "reserved_bits_set",
}

# --- The packet table produced by analyzer.decode (name -> dtype). -1 means "absent"
#     for the signed option columns. Addresses are codes into a per-capture address
#     list (``Decoded.addresses``), turned into a pandas Categorical for the API.
PACKET_COLUMNS: Final[dict[str, np.dtype]] = {
    "frame": np.dtype(np.int64),         # 1-based frame number in the file (as Wireshark counts)
    "ts_ns": np.dtype(np.int64),         # capture timestamp, ns since the Unix epoch
    "iface": np.dtype(np.int16),         # pcapng interface id (0 for classic pcap)
    "ip_version": np.dtype(np.uint8),    # 4 or 6
    "src": np.dtype(np.int32),           # address code (index into addresses)
    "dst": np.dtype(np.int32),
    "sport": np.dtype(np.uint16),
    "dport": np.dtype(np.uint16),
    "seq": np.dtype(np.uint32),          # raw sequence number
    "ack": np.dtype(np.uint32),          # raw ack number (as on the wire, even without ACK)
    "flags": np.dtype(np.uint16),        # FIN..CWR bits + AE (see constants above)
    "window": np.dtype(np.uint16),       # raw, unscaled
    "hdr_len": np.dtype(np.uint8),       # TCP header length in bytes
    "payload_len": np.dtype(np.int32),   # TCP payload length from the IP lengths (what was sent)
    "cap_payload_len": np.dtype(np.int32),  # payload bytes actually present in the capture
    "payload_off": np.dtype(np.int64),   # payload offset in the (decompressed) capture stream
    "ip_id": np.dtype(np.int32),         # IPv4 identification; -1 for IPv6
    "ttl": np.dtype(np.uint8),           # IPv4 TTL / IPv6 hop limit
    "vlan": np.dtype(np.int32),          # outermost 802.1Q VLAN id, -1 if none
    "opt_mss": np.dtype(np.int32),
    "opt_wscale": np.dtype(np.int16),
    "opt_sack_perm": np.dtype(np.bool_),
    "opt_ts_val": np.dtype(np.int64),
    "opt_ts_ecr": np.dtype(np.int64),
    "opt_sack_blocks": np.dtype(np.int8),   # number of SACK blocks (0 if none)
    "opt_sack_left": np.dtype(np.int64),    # first SACK block, raw; -1 if none
    "opt_sack_right": np.dtype(np.int64),
    "opt_tfo": np.dtype(np.int8),        # -1 no TFO option, 0 cookie request (empty), 1 cookie
    "csum_ok": np.dtype(np.int8),        # 1 good, 0 bad, -1 not verified (truncated or disabled)
    "anomalies": np.dtype(np.uint32),    # ANOM_* bits
}

# --- Anomalies table (frames or packets with problems): frame, code, message.
ANOMALY_TABLE_COLUMNS: Final = ("frame", "ts_ns", "code", "detail")

# --- Codes of the anomalies table (column ``code``): frames that never became a row, or
#     whose row is unreliable for a reason found below TCP (capture or IP level).
FRAME_IP_FRAGMENT: Final = "ip_fragment"                  # IPv4/IPv6 fragment (not reassembled)
FRAME_UNSUPPORTED_LINKTYPE: Final = "unsupported_linktype"  # not decoded natively
FRAME_TRUNCATED_LINK: Final = "truncated_link_header"     # link-layer header cut short
FRAME_TRUNCATED_IP: Final = "truncated_ip_header"         # IP header (or extension) cut short
FRAME_BAD_IP: Final = "bad_ip_header"                     # version, header or total length wrong
FRAME_TRUNCATED_TCP: Final = "truncated_tcp_header"       # fewer than 20 TCP bytes captured
FRAME_BAD_TIMESTAMP: Final = "bad_timestamp"              # sub-second field out of range, clamped
FRAME_MISSING_TIMESTAMP: Final = "missing_timestamp"      # pcapng block without a timestamp
FRAME_BAD_INTERFACE: Final = "bad_interface_id"           # pcapng interface not described

FRAME_ANOMALY_CODES: Final = (
    FRAME_IP_FRAGMENT, FRAME_UNSUPPORTED_LINKTYPE, FRAME_TRUNCATED_LINK, FRAME_TRUNCATED_IP,
    FRAME_BAD_IP, FRAME_TRUNCATED_TCP, FRAME_BAD_TIMESTAMP, FRAME_MISSING_TIMESTAMP,
    FRAME_BAD_INTERFACE,
)
