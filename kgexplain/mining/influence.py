"""Entity influence under TC, TS and WTS (main paper, Sec. 4.2), from per-entity occurrence counts.

``r+ = |Φ+| / |Φ|``. TC labels an entity 1 when ``r+ ≥ θ``, −1 when ``r+ ≤ 1 − θ``, else 0 (the
inclusive reading that makes θ = 1.0 label anything at all). TS is ``r+``. WTS keeps ``(|Φ+|, |Φ−|)``.
"""

from __future__ import annotations

import polars as pl

from ..errors import InputError

__all__ = ["influence", "COUNT_COLUMNS"]

COUNT_COLUMNS = ("entity", "n", "n_pos", "n_neg", "sum_pos", "sum_neg", "documents")


def influence(counts: pl.DataFrame, theta: float) -> pl.DataFrame:
    """Adds ``r_pos``, ``tc`` (−1/0/1) and ``ts`` to a frame of occurrence counts, one row per entity."""
    if not 0.5 < theta <= 1.0:
        raise InputError(f"theta must be in (0.5, 1.0], got {theta}")
    missing = [c for c in COUNT_COLUMNS if c not in counts.columns]
    if missing:
        raise InputError(f"occurrence counts lack column(s) {missing}")
    r_pos = pl.col("n_pos") / pl.col("n")
    return (
        counts.with_columns(r_pos.alias("r_pos"))
        .with_columns(
            pl.when(pl.col("r_pos") >= theta)
            .then(1)
            .when(pl.col("r_pos") <= 1 - theta)
            .then(-1)
            .otherwise(0)
            .cast(pl.Int8)
            .alias("tc"),
            pl.col("r_pos").alias("ts"),
        )
        .sort("entity")
    )
