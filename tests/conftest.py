"""Shared fixtures: a tiny model config, small demo splits, and a private cache folder."""
from __future__ import annotations

import os
import tempfile

os.environ.setdefault("POCKETCLIP_CACHE", tempfile.mkdtemp(prefix="pocketclip-test-cache-"))

import pytest  # noqa: E402

from tests_support import tiny  # noqa: E402


@pytest.fixture
def tiny_config():
    from models.configs import ModelConfig
    return ModelConfig.from_dict(tiny())


@pytest.fixture(scope="session")
def tiny_pairs():
    from models.configs import PreprocessConfig
    from models.demo_data import load_split
    return load_split("train", 96, PreprocessConfig(size=32), workers=1)
