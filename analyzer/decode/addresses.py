"""Address codes: each distinct IP address of a capture gets a small integer.

The packet table stores codes (int32); :attr:`AddressBook.texts` turns them back into
text (IPv4 dotted quad, IPv6 compressed as :mod:`ipaddress` prints it). Lookups are
vectorized; Python work is done once per distinct address.
"""

from __future__ import annotations

import ipaddress
import sys

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
        # A batch repeats few distinct addresses: look up each distinct one once. pandas'
        # hash-based factorize is ten times faster than NumPy's sort-based unique, but
        # reading must not wait for importing pandas: it is used once something else
        # has imported it (the codes are the same either way).
        pd = sys.modules.get("pandas")
        if pd is not None:
            inv, uniq = pd.factorize(values, sort=False)
        else:
            uniq, inv = np.unique(values, return_inverse=True)
        return self._v4_distinct(np.asarray(uniq, dtype=np.int64))[inv.reshape(-1)]

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

    def keys(self) -> tuple[np.ndarray, dict[int, bytes]]:
        """Every address by code: the IPv4 integer per code (-1 for IPv6 codes), and the
        16 bytes of each IPv6 code (to merge another book with :meth:`codes_of`)."""
        v4 = np.full(len(self.texts), -1, np.int64)
        v4[self._v4_codes] = self._v4_keys
        return v4, {code: key for key, code in self._v6.items()}

    def codes_of(self, v4: np.ndarray, v6: dict[int, bytes]) -> np.ndarray:
        """Codes in this book (new addresses added) of another book's :meth:`keys`."""
        codes = np.empty(len(v4), np.int32)
        at4 = np.flatnonzero(v4 >= 0)
        if at4.size:
            codes[at4] = self._v4_distinct(v4[at4])
        if v6:
            at6 = np.array(list(v6), np.int64)
            raw = np.frombuffer(b"".join(v6.values()), np.uint8).reshape(-1, 16)
            codes[at6] = self.v6(raw)
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
