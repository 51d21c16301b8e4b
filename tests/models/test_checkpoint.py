import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from pocketclip.models.towers.checkpoint import CheckpointMismatch, fingerprint, load_model, save_model
from pocketclip.models.towers.dual_encoder import DualEncoder


def test_round_trip_keeps_weights_and_config(tiny_config, tmp_path):
    model = DualEncoder(tiny_config).eval()
    save_model(model, tmp_path / "m", extra={"note": "x"})
    loaded = load_model(tmp_path / "m")
    assert loaded.cfg == tiny_config
    assert fingerprint(loaded) == fingerprint(model)
    assert json.loads((tmp_path / "m" / "config.json").read_text())["note"] == "x"


def test_fingerprint_changes_with_one_weight(tiny_config):
    model = DualEncoder(tiny_config)
    before = fingerprint(model)
    with torch.no_grad():
        model.text.ln_final.bias[0] += 1e-3
    assert fingerprint(model) != before


def test_float16_storage_loads_as_float32(tiny_config, tmp_path):
    model = DualEncoder(tiny_config).eval()
    save_model(model, tmp_path / "m", dtype=torch.float16)
    assert all(t.dtype == torch.float16 for t in load_file(str(tmp_path / "m" / "model.safetensors")).values())
    loaded = load_model(tmp_path / "m")
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    assert torch.allclose(loaded.text.proj, model.text.proj, atol=1e-3)


def test_a_truncated_checkpoint_is_refused(tiny_config, tmp_path):
    save_model(DualEncoder(tiny_config), tmp_path / "m")
    tensors = load_file(str(tmp_path / "m" / "model.safetensors"))
    del tensors["image.ln_post.bias"]
    save_file(tensors, str(tmp_path / "m" / "model.safetensors"))
    with pytest.raises(CheckpointMismatch, match="image.ln_post.bias"):
        load_model(tmp_path / "m")
