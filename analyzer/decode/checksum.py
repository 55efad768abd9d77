"""TCP checksum verification, vectorized over a whole batch buffer (RFC 9293 §3.1, RFC 1071).

The Internet checksum is a ones'-complement sum of 16-bit words, i.e. a sum modulo 65535.
Since 2**16 ≡ 1 (mod 65535), the sum of native little-endian 32-bit words of the buffer
equals, modulo 65535, the ones'-complement sum with bytes at even positions weighted 1 and
odd positions 256. One ``np.add.reduceat`` over the aligned words covers every segment;
the up to 3 unaligned bytes at each end are added one by one, and a segment that starts
at an even position is multiplied by 256 (a byte swap, RFC 1071 §2(B)). A segment is
correct when its sum plus the pseudo-header sum is 0 modulo 65535.
"""

from __future__ import annotations

import numpy as np

__all__ = ["verify_tcp_checksums"]

MOD = 0xFFFF
WINDOW = 1 << 19


def _edge_bytes(b: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Weighted sum of the bytes in [lo, hi) (fewer than 4 of them) in little-endian space."""
    total = np.zeros(lo.size, np.int64)
    last = b.size - 1
    for j in range(3):
        pos = lo + j
        inside = pos < hi
        byte = b[np.minimum(pos, last)].astype(np.int64)
        total += np.where(inside, np.where(pos & 1, byte << 8, byte), 0)
    return total


def verify_tcp_checksums(b: np.ndarray, start: np.ndarray, length: np.ndarray,
                         pseudo: np.ndarray) -> np.ndarray:
    """True where the segment ``b[start:start+length]`` has a correct TCP checksum.

    ``start`` must be increasing and segments must not overlap, every segment at least 8
    bytes long and fully inside ``b``; ``pseudo`` is the pseudo-header's word sum.
    """
    if not start.size:
        return np.zeros(0, np.bool_)
    end = start + length
    a = (start + 3) & ~3
    z = end & ~3
    words = b[: (int(z[-1]) // 4) * 4].view("<u4")
    mid = np.empty(start.size, np.uint64)
    # in windows of about WINDOW words, so that reduceat's uint64 copy of its input stays small
    cuts = np.searchsorted(a, np.arange(0, int(z[-1]) + 4 * WINDOW, 4 * WINDOW)[1:])
    lo = 0
    for hi in np.unique(cuts).tolist():
        if hi > lo:
            first, last = int(a[lo]) // 4, int(z[hi - 1]) // 4
            bounds = np.empty(2 * (hi - lo), np.int64)
            bounds[0::2], bounds[1::2] = a[lo:hi] // 4 - first, z[lo:hi] // 4 - first
            mid[lo:hi] = np.add.reduceat(words[first:last], bounds[:-1], dtype=np.uint64)[0::2]
            lo = hi
    total = (mid % MOD).astype(np.int64) + _edge_bytes(b, start, a) + _edge_bytes(b, z, end)
    total = np.where(start & 1, total, (total % MOD) << 8) % MOD
    return (total + pseudo) % MOD == 0
