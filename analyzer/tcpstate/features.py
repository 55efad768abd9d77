"""Per-row feature codes: everything the endpoint state machine may look at.

The state machine never sees raw numbers. Each selected row is summarised, vectorized,
into a small integer: who sent it, its SYN/ACK/FIN/RST bits, whether its ack covers the
peer's SYN or FIN, and how acceptable an RST is. Connections whose feature sequences are
equal therefore have the same state timeline, which lets the machine run once per
distinct sequence instead of once per connection.
"""

from __future__ import annotations

from typing import Final

import numpy as np

__all__ = [
    "F_ACK", "F_ACKS_FIN", "F_ACKS_SYN", "F_DATA", "F_FIN", "F_FROM_SERVER", "F_RST",
    "F_RST_INWIN", "F_RST_OUT", "F_SYN", "encode",
]

F_FROM_SERVER: Final = 1 << 0
F_SYN: Final = 1 << 1
F_ACK: Final = 1 << 2
F_FIN: Final = 1 << 3
F_RST: Final = 1 << 4
F_ACKS_SYN: Final = 1 << 5   # ACK set and ack >= peer ISN + 1 (peer's SYN acknowledged)
F_ACKS_FIN: Final = 1 << 6   # ACK set and ack >= end of the peer's FIN
F_RST_INWIN: Final = 1 << 7  # RST whose seq is inside the window but not RCV.NXT (RFC 5961)
F_RST_OUT: Final = 1 << 8    # RST whose seq is outside the receiver's window
F_DATA: Final = 1 << 9       # payload present


def encode(
    from_server: np.ndarray,
    flags: np.ndarray,
    acks_syn: np.ndarray,
    acks_fin: np.ndarray,
    rst_class: np.ndarray,
    has_data: np.ndarray,
) -> np.ndarray:
    """Pack the per-row facts into uint16 feature codes (vectorized).

    ``rst_class``: 0 acceptable (seq = RCV.NXT or unknown), 1 in window, 2 out of window.
    """
    zero = np.uint16(0)
    f = np.where(from_server, np.uint16(F_FROM_SERVER), zero)
    is_rst = (flags & 0x04) != 0
    for cond, bit in (((flags & 0x02) != 0, F_SYN), ((flags & 0x10) != 0, F_ACK),
                      ((flags & 0x01) != 0, F_FIN), (is_rst, F_RST), (acks_syn, F_ACKS_SYN),
                      (acks_fin, F_ACKS_FIN), (is_rst & (rst_class == 1), F_RST_INWIN),
                      (is_rst & (rst_class == 2), F_RST_OUT), (has_data, F_DATA)):
        f |= np.where(cond, np.uint16(bit), zero)
    return f
