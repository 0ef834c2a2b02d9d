"""Shared fixtures: where the real data lives, and one seed for every RNG."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path:
    override = os.environ.get("KGX_SHARED_DATA")
    return Path(override) if override else ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the project root. Fails loudly in CI, skips elsewhere."""
    path = _shared_data_dir()
    if not (path / "wikidata" / "wikidata-subset.nt.gz").is_file():
        message = f"real data not found at {path} (set KGX_SHARED_DATA to point at shared/data)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(autouse=True)
def seed() -> int:
    """Seeds Python, NumPy and torch the same way for every test."""
    value = 1234
    random.seed(value)
    np.random.seed(value)
    try:
        import torch

        torch.manual_seed(value)
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
    return value
