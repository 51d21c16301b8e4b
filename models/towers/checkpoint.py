"""Checkpoints carry their own config: `model.safetensors` + `config.json` in one folder.

Loading takes the architecture from the checkpoint and refuses missing, unexpected or
wrongly-shaped tensors instead of loading half a model.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from pocketclip.models.towers.configs import ModelConfig, get_config
from pocketclip.models.towers.dual_encoder import DualEncoder
from pocketclip.models.towers.strict_load import CheckpointMismatch, load_state  # noqa: F401 - part of this API

WEIGHTS_DIR = Path(__file__).parents[1] / "weights"  # the committed demo models


def save_model(model: DualEncoder, folder: str | Path, dtype: torch.dtype = torch.float32,
               extra: dict | None = None) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu", dtype).contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(folder / "model.safetensors"))
    config = {"model": model.cfg.to_dict(), **(extra or {})}
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return folder


def load_model(source: str | Path) -> DualEncoder:
    """A checkpoint folder, a committed demo model name, a Hugging Face CLIP checkpoint
    ('hf:HUB_ID' or a folder saved by transformers), or a registered config (random weights)."""
    if str(source).startswith("hf:"):
        from pocketclip.models.towers.hf_clip import load_hf_clip
        return load_hf_clip(str(source)[3:])
    folder = Path(source)
    if not (folder / "config.json").exists() and (WEIGHTS_DIR / str(source) / "config.json").exists():
        folder = WEIGHTS_DIR / str(source)
    if (folder / "config.json").exists():
        config = json.loads((folder / "config.json").read_text())
        if config.get("model_type") == "clip":
            from pocketclip.models.towers.hf_clip import load_hf_clip
            return load_hf_clip(str(folder))
        cfg = ModelConfig.from_dict(config["model"])
        model = DualEncoder(cfg)
        load_state(model, load_file(str(folder / "model.safetensors")))
        model.trained_on = trained_on(config.get("recipe"))
        return model.eval()
    if folder.is_dir() or os.sep in str(source):  # a path, not a registered name
        raise FileNotFoundError(f"{source}: no checkpoint there (a folder with config.json and model.safetensors)")
    model = DualEncoder(get_config(str(source))).eval()
    model.random_weights = True  # an architecture, not a trained model: the exporter refuses it unless asked
    return model


DEMO_WORLD = "demo-world"  # the drawn shapes of models/data/demo_world.py: all a demo model knows


def trained_on(recipe: dict | None) -> str | None:
    """What a committed model was trained on, from the recipe its config.json records: the demo world
    unless the recipe names other data (shards:, karpathy:, csv:, jsonl:)."""
    if not recipe:
        return None
    data = recipe.get("data", {})
    source = data.get("source", "demo") if isinstance(data, dict) else str(data)
    return DEMO_WORLD if str(source).startswith("demo") else str(source)


def fingerprint(model: torch.nn.Module) -> str:
    """sha256 over the fp32 weights in name order: the model's identity in bundles and stores."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().to(torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()
