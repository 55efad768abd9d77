"""Growable column storage for the packet table.

Columns are allocated with a generous capacity up front (estimated from the file size);
pages that are never written are never touched, so over-estimating costs address space,
not memory. When the estimate is too small the columns grow by doubling. The finished
table is a view of the first ``n`` rows: no final concatenation, no second copy.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ColumnStore"]

MIN_CAPACITY = 1 << 16


class ColumnStore:
    """Append batches of columns; take the result as views."""

    def __init__(self, schema: dict[str, np.dtype], capacity: int = MIN_CAPACITY,
                 columns: dict[str, np.ndarray] | None = None) -> None:
        self.schema = schema
        self.n = 0
        self.fixed = columns is not None    # given columns: they never grow
        if columns is not None:
            self.columns = columns
            self.capacity = len(next(iter(columns.values())))
        else:
            self.capacity = max(capacity, MIN_CAPACITY)
            self.columns = {k: np.empty(self.capacity, dt) for k, dt in schema.items()}

    def reserve(self, rows: int) -> None:
        """Make room for at least ``rows`` rows in total (given columns: nothing to do;
        appending beyond them raises MemoryError)."""
        if rows <= self.capacity or self.fixed:
            return
        self.capacity = max(rows, 2 * self.capacity)
        for name, old in self.columns.items():
            new = np.empty(self.capacity, old.dtype)
            new[: self.n] = old[: self.n]
            self.columns[name] = new

    def append(self, part: dict[str, np.ndarray]) -> slice:
        """Append one batch (every column of the schema); returns where it went."""
        k = len(part["frame"])
        self.reserve(self.n + k)
        if self.n + k > self.capacity:
            raise MemoryError(f"column store full ({self.capacity} rows)")
        where = slice(self.n, self.n + k)
        for name, col in self.columns.items():
            col[where] = part[name]
        self.n += k
        return where

    def result(self) -> dict[str, np.ndarray]:
        """The columns, ``n`` rows each (views; copied only when little of them is used)."""
        if self.n < self.capacity // 2 and not self.fixed:
            return {k: v[: self.n].copy() for k, v in self.columns.items()}
        return {k: v[: self.n] for k, v in self.columns.items()}
