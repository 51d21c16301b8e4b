"""Load a Hugging Face CLIP checkpoint (local folder or hub id) into our towers, names and shapes asserted."""
from __future__ import annotations

import re
from pathlib import Path

import torch

from pocketclip.models.towers.configs import ImageConfig, ModelConfig, PreprocessConfig, TextConfig
from pocketclip.models.towers.dual_encoder import DualEncoder
from pocketclip.models.towers.strict_load import load_state
from pocketclip.runtime.bundle.privacy import HF_LOCAL

LAYER = re.compile(r"^(text|vision)_model\.encoder\.layers\.(\d+)\.(.+)$")
LAYER_PARTS = {"self_attn.out_proj": "attn.out", "layer_norm1": "ln_1", "layer_norm2": "ln_2",
               "mlp.fc1": "mlp.0", "mlp.fc2": "mlp.2"}
TOWER = {"text": "text", "vision": "image"}
RENAMES = {
    "text_model.embeddings.token_embedding.weight": "text.token_embedding.weight",
    "text_model.embeddings.position_embedding.weight": "text.positional_embedding",
    "text_model.final_layer_norm.weight": "text.ln_final.weight",
    "text_model.final_layer_norm.bias": "text.ln_final.bias",
    "vision_model.embeddings.class_embedding": "image.class_embedding",
    "vision_model.embeddings.patch_embedding.weight": "image.patch_embed.weight",
    "vision_model.embeddings.position_embedding.weight": "image.positional_embedding",
    "vision_model.pre_layrnorm.weight": "image.ln_pre.weight",  # (sic) HF's spelling
    "vision_model.pre_layrnorm.bias": "image.ln_pre.bias",
    "vision_model.post_layernorm.weight": "image.ln_post.weight",
    "vision_model.post_layernorm.bias": "image.ln_post.bias",
    "logit_scale": "logit_scale",
}
IGNORED = {"text_model.embeddings.position_ids", "vision_model.embeddings.position_ids"}


def config_from_hf(hf_config, name: str) -> ModelConfig:
    v, t = hf_config.vision_config, hf_config.text_config
    image = ImageConfig(image_size=v.image_size, patch_size=v.patch_size, width=v.hidden_size,
                        layers=v.num_hidden_layers, heads=v.num_attention_heads,
                        mlp_ratio=v.intermediate_size / v.hidden_size, embed_dim=hf_config.projection_dim,
                        act=v.hidden_act, ln_eps=v.layer_norm_eps)
    # HF's legacy configs say eos_token_id=2 and pool at argmax(ids): CLIP's end token is the largest id.
    eot = t.eos_token_id if t.eos_token_id != 2 else t.vocab_size - 1
    text = TextConfig(vocab_size=t.vocab_size, context_length=t.max_position_embeddings, width=t.hidden_size,
                      layers=t.num_hidden_layers, heads=t.num_attention_heads,
                      mlp_ratio=t.intermediate_size / t.hidden_size, embed_dim=hf_config.projection_dim,
                      eot_id=eot, act=t.hidden_act, ln_eps=t.layer_norm_eps)
    return ModelConfig(name, image, text, PreprocessConfig(size=v.image_size))


def convert_state(hf_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """HF CLIPModel tensor names -> ours; q/k/v are concatenated, projections transposed."""
    out: dict[str, torch.Tensor] = {}
    qkv: dict[str, dict[str, torch.Tensor]] = {}
    for name, tensor in hf_state.items():
        if name in IGNORED:
            continue
        if name in RENAMES:
            out[RENAMES[name]] = tensor
        elif name == "text_projection.weight":
            out["text.proj"] = tensor.T  # HF Linear (embed, width) -> our (width, embed) matrix
        elif name == "visual_projection.weight":
            out["image.proj"] = tensor.T
        elif m := LAYER.match(name):
            tower, index, rest = m.groups()
            prefix = f"{TOWER[tower]}.blocks.{index}."
            part, _, kind = rest.rpartition(".")
            if part in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"):
                qkv.setdefault(f"{prefix}attn.qkv.{kind}", {})[part[10]] = tensor
            elif part in LAYER_PARTS:
                out[f"{prefix}{LAYER_PARTS[part]}.{kind}"] = tensor
            else:
                raise KeyError(f"unexpected tensor in CLIP checkpoint: {name}")
        else:
            raise KeyError(f"unexpected tensor in CLIP checkpoint: {name}")
    for name, parts in qkv.items():
        if sorted(parts) != ["k", "q", "v"]:
            raise KeyError(f"{name}: q/k/v incomplete, found {sorted(parts)}")
        out[name] = torch.cat([parts["q"], parts["k"], parts["v"]])
    return out


def load_hf_clip(path_or_id: str) -> DualEncoder:
    """A transformers CLIPModel checkpoint as our DualEncoder (in eval mode)."""
    from transformers import CLIPModel  # only loading real checkpoints needs transformers

    hf = CLIPModel.from_pretrained(path_or_id, torch_dtype=torch.float32, **HF_LOCAL)
    # A local folder is named by its last part: a manifest never carries this machine's paths.
    name = Path(path_or_id).resolve().name if Path(path_or_id).exists() else str(path_or_id)
    model = DualEncoder(config_from_hf(hf.config, name))
    load_state(model, convert_state(hf.state_dict()))
    return model.eval()
