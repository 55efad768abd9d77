"""Address codes: each distinct IP address of a capture gets a small integer.

The packet table stores codes (int32); :attr:`AddressBook.texts` turns them back into
text (IPv4 dotted quad, IPv6 compressed as :mod:`ipaddress` prints it). Lookups are
vectorized; Python work is done once per distinct address.
"""

from __future__ import annotations

import ipaddress

import numpy as np

__all__ = ["AddressBook"]


class AddressBook:
    """Assigns codes to IPv4 (int) and IPv6 (16-byte) addresses in order of appearance."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self._v4_keys = np.empty(0, np.int64)      # sorted
        self._v4_codes = np.empty(0, np.int32)
        self._v6: dict[bytes, int] = {}

    def v4(self, values: np.ndarray) -> np.ndarray:
        """Codes of IPv4 addresses given as integers."""
        keys = self._v4_keys
        if keys.size:          # usually every address of a batch is known already
            pos = np.minimum(np.searchsorted(keys, values), keys.size - 1)
            if bool((keys[pos] == values).all()):
                return self._v4_codes[pos]
        uniq, inv = np.unique(values, return_inverse=True)
        return self._v4_distinct(uniq.astype(np.int64))[inv.reshape(-1)]

    def _v4_distinct(self, values: np.ndarray) -> np.ndarray:
        """Codes of distinct IPv4 addresses; new ones numbered in ascending address order."""
        keys = self._v4_keys
        if keys.size:
            pos = np.minimum(np.searchsorted(keys, values), keys.size - 1)
            known = keys[pos] == values
            if known.all():
                return self._v4_codes[pos]
        else:
            pos, known = np.zeros(values.size, np.int64), np.zeros(values.size, np.bool_)
        new = np.unique(values[~known])
        first = len(self.texts)
        self.texts += [f"{v >> 24}.{v >> 16 & 255}.{v >> 8 & 255}.{v & 255}"
                       for v in new.tolist()]
        merged = np.concatenate([keys, new])
        order = np.argsort(merged, kind="stable")
        new_codes = np.arange(first, first + new.size, dtype=np.int32)
        self._v4_keys = merged[order]
        self._v4_codes = np.concatenate([self._v4_codes, new_codes])[order]
        codes = np.empty(values.size, np.int32)
        codes[known] = self._v4_codes[np.searchsorted(self._v4_keys, values[known])]
        codes[~known] = new_codes[np.searchsorted(new, values[~known])]
        return codes

    def codes_of(self, texts: list[str]) -> np.ndarray:
        """Codes of distinct addresses given as the texts of another book (new ones added)."""
        codes = np.empty(len(texts), np.int32)
        v6 = np.array([":" in t for t in texts], dtype=bool)
        v4_at, v6_at = np.flatnonzero(~v6), np.flatnonzero(v6)
        if v4_at.size:
            ints = [int(ipaddress.IPv4Address(texts[i])) for i in v4_at.tolist()]
            codes[v4_at] = self._v4_distinct(np.array(ints, np.int64))
        if v6_at.size:
            raw = b"".join(ipaddress.IPv6Address(texts[i]).packed for i in v6_at.tolist())
            codes[v6_at] = self.v6(np.frombuffer(raw, np.uint8).reshape(-1, 16))
        return codes

    def v6(self, rows: np.ndarray) -> np.ndarray:
        """Codes of IPv6 addresses given as an (n, 16) uint8 array."""
        if not rows.shape[0]:
            return np.empty(0, np.int32)
        keys = np.ascontiguousarray(rows).view("V16").reshape(-1)
        uniq, inv = np.unique(keys, return_inverse=True)
        codes = np.empty(uniq.size, np.int32)
        for i, key in enumerate(uniq.tolist()):
            code = self._v6.get(key)
            if code is None:
                code = self._v6[key] = len(self.texts)
                self.texts.append(str(ipaddress.IPv6Address(key)))
            codes[i] = code
        return codes[inv.reshape(-1)]
