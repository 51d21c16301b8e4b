"""Model repositories as a hub publishes them, made from our own models (needs torch), for the pull tests and
the pull benchmark: nothing can be downloaded here, so the repositories are written, then served by
benchmarks/hub_server.py.

- Immich's ONNX layout: visual/model.onnx (input "image") and textual/model.onnx (input "text", int32), their
  outputs left unnormalised as a caller-normalised export would; preprocess_cfg.json; config.json; a
  transformers-written tokenizer.json of CLIP's own vocabulary and merges.
- A transformers CLIP checkpoint: `CLIPModel(config).save_pretrained` with random weights.
"""
from __future__ import annotations

import gzip
import json
import logging
from dataclasses import asdict
from pathlib import Path

import torch

from pocketclip.models.towers.dual_encoder import DualEncoder
from pocketclip.runtime.bundle.tokenizer import DEFAULT_MERGES, N_MERGES, SPLIT_PATTERN, ClipTokenizer

UNNORMALISED = 3.5  # the scale the written towers leave on their outputs (the runtime normalises)


class _Visual(torch.nn.Module):
    def __init__(self, model: DualEncoder):
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(image) * UNNORMALISED


class _Textual(torch.nn.Module):
    def __init__(self, model: DualEncoder):
        super().__init__()
        self.model = model

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        return self.model.encode_text(text.to(torch.int64)) * UNNORMALISED


def _onnx(module: torch.nn.Module, example: torch.Tensor, name: str, path: Path) -> None:
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    path.parent.mkdir(parents=True, exist_ok=True)
    program = torch.onnx.export(module.eval(), (example,), dynamo=True, input_names=[name],
                                output_names=[f"{name}_embeds"], verbose=False,
                                dynamic_shapes=({0: torch.export.Dim("batch_size", min=1, max=1024)},))
    program.save(str(path))


def write_clip_tokenizer(folder: Path, pad_token: str = "!") -> None:
    """tokenizer.json of CLIP's vocabulary and merges as Hugging Face's CLIP tokenizer is built (NFC, whitespace,
    lower case; byte-level BPE; start and end tokens added by the post-processor), and tokenizer_config.json
    naming `pad_token` ("!", id 0, pads as open_clip does)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    clip = ClipTokenizer()
    specials = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}
    vocab = {specials.get(tok, tok): i for tok, i in clip.vocab.items()}
    lines = gzip.open(DEFAULT_MERGES).read().decode("utf-8").split("\n")[1:N_MERGES + 1]
    tok = Tokenizer(models.BPE(vocab, [tuple(line.split()) for line in lines], continuing_subword_prefix="",
                               end_of_word_suffix="</w>", fuse_unk=False, unk_token="<|endoftext|>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "),
                                           normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"<\|startoftext\|>|<\|endoftext\|>|" + SPLIT_PATTERN), behavior="removed",
                             invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.RobertaProcessing(("<|endoftext|>", clip.eot_id), ("<|startoftext|>", clip.sot_id),
                                                      trim_offsets=False, add_prefix_space=False)
    tok.add_special_tokens(["<|startoftext|>", "<|endoftext|>"])
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": pad_token,
        "unk_token": "<|endoftext|>", "model_max_length": 77, "tokenizer_class": "CLIPTokenizer"}, indent=2))


def write_immich_repo(model: DualEncoder, folder: Path, resize_mode: str = "shortest") -> Path:
    """`model` in Immich's published layout under `folder`."""
    pre = model.cfg.preprocess
    size = pre.size
    _onnx(_Visual(model), torch.zeros(1, 3, size, size), "image", folder / "visual" / "model.onnx")
    _onnx(_Textual(model), torch.zeros(1, model.cfg.text.context_length, dtype=torch.int32), "text",
          folder / "textual" / "model.onnx")
    (folder / "visual" / "preprocess_cfg.json").write_text(json.dumps({
        "size": [size, size], "mode": "RGB", "mean": list(pre.mean), "std": list(pre.std),
        "interpolation": pre.resample, "resize_mode": resize_mode, "fill_color": 0}, indent=2))
    (folder / "config.json").write_text(json.dumps({
        "embed_dim": model.cfg.image.embed_dim,
        "vision_cfg": {"image_size": size},
        "text_cfg": {"context_length": model.cfg.text.context_length, "vocab_size": model.cfg.text.vocab_size},
        "source_model": asdict(model.cfg.preprocess)}, indent=2))
    write_clip_tokenizer(folder / "textual")
    (folder / "README.md").write_text("---\ntags: [immich, clip]\n---\nA tiny CLIP for the pull tests.\n")
    return folder


def write_transformers_repo(folder: Path, seed: int = 0) -> Path:
    """A tiny random-weight transformers CLIPModel (CLIP's full vocabulary, so our tokenizer's ids fit)."""
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(seed)
    config = CLIPConfig(
        text_config={"vocab_size": 49408, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "max_position_embeddings": 77, "eos_token_id": 49407},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "image_size": 32, "patch_size": 8},
        projection_dim=16)
    CLIPModel(config).eval().save_pretrained(str(folder))
    write_clip_tokenizer(folder, pad_token="<|endoftext|>")
    return folder
