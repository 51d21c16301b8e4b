"""Model repositories served by a local hub (benchmarks/hub_server.py) for the pull tests."""
from __future__ import annotations

import pytest

from benchmarks.hub_server import Hub, HubServer


@pytest.fixture(scope="session")
def immich_repo(tmp_path_factory):
    """The demo student in Immich's ONNX layout (trained weights, so its int8 variants can meet the bars)."""
    from benchmarks.hub_repos import write_immich_repo
    from pocketclip.models.towers.checkpoint import load_model

    return write_immich_repo(load_model("demo-student"), tmp_path_factory.mktemp("immich") / "repo")


@pytest.fixture(scope="session")
def transformers_repo(tmp_path_factory):
    """A tiny random-weight transformers CLIPModel, as `save_pretrained` writes it."""
    from benchmarks.hub_repos import write_transformers_repo

    return write_transformers_repo(tmp_path_factory.mktemp("transformers") / "repo")


@pytest.fixture
def hub(immich_repo, transformers_repo):
    """The two repositories on a hub at 127.0.0.1; yields (hub, url)."""
    served = Hub()
    served.add("immich-app/Tiny-CLIP", immich_repo, revisions=("main", "v1"))
    served.add("openai/tiny-clip", transformers_repo)
    with HubServer(served) as url:
        yield served, url


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private data home (pulled models, the default store) with the hub reachable: the suite's
    HF_HUB_OFFLINE is lifted for the pull tests only."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    import huggingface_hub.constants  # read the switch when the suite first imported it (transformers does)

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    return tmp_path / "data" / "pocketclip"
