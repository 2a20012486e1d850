"""The record of a training run: one row per step with every logged term."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class History:
    """Per-step values of every term, keyed ``"<player>/<term>"`` (and ``"<player>/total"``).

    ``rows`` is a list of dicts so it survives a ``weights_only`` checkpoint round trip.
    """

    rows: list[dict[str, float]] = field(default_factory=list)

    def append(self, row: dict[str, float]) -> None:
        self.rows.append(row)

    def __len__(self) -> int:
        return len(self.rows)

    def keys(self) -> list[str]:
        seen: dict[str, None] = {}
        for row in self.rows:
            seen.update(dict.fromkeys(row))
        return list(seen)

    def __getitem__(self, key: str) -> np.ndarray:
        """All values of one key, NaN where a step did not log it."""
        if key not in self.keys():
            raise KeyError(f"{key!r} was not logged; logged keys: {', '.join(self.keys())}")
        return np.array([row.get(key, np.nan) for row in self.rows], dtype=float)

    def last(self, key: str, n: int = 1) -> float:
        """Mean of the last ``n`` logged values of ``key``."""
        values = self[key]
        values = values[~np.isnan(values)]
        return float(values[-n:].mean())

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.rows)

    def state_dict(self) -> list[dict[str, float]]:
        return [dict(r) for r in self.rows]

    @classmethod
    def from_state(cls, rows: list[dict[str, float]]) -> "History":
        return cls(rows=[dict(r) for r in rows])
