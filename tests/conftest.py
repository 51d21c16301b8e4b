"""Shared fixtures: a tiny model config, a private cache folder, no hub access."""
from __future__ import annotations

import os
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is fetched from a hub, ever, in the tests
os.environ.setdefault("POCKETCLIP_CACHE", tempfile.mkdtemp(prefix="pocketclip-test-cache-"))

import pytest  # noqa: E402

from tests_support import tiny  # noqa: E402


@pytest.fixture
def tiny_config():
    from models.configs import ModelConfig
    return ModelConfig.from_dict(tiny())

