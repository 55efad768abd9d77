"""Small typed helpers around pandas constructors used by several stages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

__all__ = ["categorical", "records"]


def categorical(codes: np.ndarray, categories: Sequence[str]) -> pd.Categorical:
    """A Categorical from integer codes (-1 = missing) and category names, without copying
    strings per row."""
    dtype = pd.CategoricalDtype(list(categories))
    made: Any = pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), dtype=dtype)
    return cast(pd.Categorical, made)


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with str keys (for rendering loops)."""
    return [{str(k): v for k, v in rec.items()} for rec in df.to_dict("records")]
