"""Architectures as data: one flat config per tower and a registry of named configs."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

# CLIP's defaults, used by every registered config.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
CLIP_VOCAB = 49408
CLIP_SOT, CLIP_EOT = 49406, 49407


@dataclass(frozen=True)
class ImageConfig:
    image_size: int = 224
    patch_size: int = 32
    width: int = 768
    layers: int = 12
    heads: int = 12
    mlp_ratio: float = 4.0
    embed_dim: int = 512  # joint space
    pool: str = "cls"  # 'cls' (CLIP) or 'mean' over patch tokens
    act: str = "quick_gelu"  # OpenAI CLIP was trained with x*sigmoid(1.702x)
    ln_eps: float = 1e-5


@dataclass(frozen=True)
class TextConfig:
    vocab_size: int = CLIP_VOCAB
    context_length: int = 77
    width: int = 512
    layers: int = 12
    heads: int = 8
    mlp_ratio: float = 4.0
    embed_dim: int = 512
    token_dim: int | None = None  # factorised token table (vocab x token_dim, then up to width); None = CLIP
    eot_id: int = CLIP_EOT  # pooling takes the first position holding this id
    act: str = "quick_gelu"
    ln_eps: float = 1e-5


@dataclass(frozen=True)
class PreprocessConfig:
    """How a photo becomes the image tower's input; the runtime and the phones apply exactly this."""

    size: int = 224
    resize: str = "shortest_side"  # scale so the shorter side equals `size`, keep aspect
    crop: str = "center"
    resample: str = "bicubic"
    mean: tuple[float, ...] = CLIP_MEAN
    std: tuple[float, ...] = CLIP_STD
    channel_order: str = "RGB"
    layout: str = "NCHW"
    exif_transpose: bool = True  # applied before anything else
    background: tuple[int, int, int] = (255, 255, 255)  # alpha is flattened onto white


@dataclass(frozen=True)
class ModelConfig:
    name: str
    image: ImageConfig
    text: TextConfig
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    init_logit_scale: float = 2.6592  # ln(1/0.07), CLIP's initial temperature

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        pre = dict(d.get("preprocess", {}))
        for key in ("mean", "std", "background"):
            if key in pre:
                pre[key] = tuple(pre[key])
        return cls(
            name=d["name"],
            image=ImageConfig(**d["image"]),
            text=TextConfig(**d["text"]),
            preprocess=PreprocessConfig(**pre),
            init_logit_scale=d.get("init_logit_scale", 2.6592),
        )


IMAGE_CONFIGS: dict[str, ImageConfig] = {
    "clip-vit-b32": ImageConfig(),
    "student-vit-s16": ImageConfig(patch_size=16, width=384, layers=12, heads=6),
    "demo-teacher": ImageConfig(image_size=64, patch_size=8, width=128, layers=6, heads=4, embed_dim=128,
                                act="gelu"),
    "demo-student": ImageConfig(image_size=64, patch_size=8, width=128, layers=3, heads=4, embed_dim=128,
                                act="gelu"),
}

TEXT_CONFIGS: dict[str, TextConfig] = {
    "clip-vit-b32": TextConfig(),
    "student-text-4l": TextConfig(layers=4),
    "demo-teacher": TextConfig(width=128, layers=6, heads=4, embed_dim=128, act="gelu"),
    # 32-wide token table: the 49408-row table would otherwise be most of the student's bytes.
    "demo-student": TextConfig(width=128, layers=2, heads=4, embed_dim=128, token_dim=32, act="gelu"),
}

DEMO_PREPROCESS = PreprocessConfig(size=64)

MODEL_CONFIGS: dict[str, ModelConfig] = {
    "clip-vit-b32": ModelConfig("clip-vit-b32", IMAGE_CONFIGS["clip-vit-b32"], TEXT_CONFIGS["clip-vit-b32"]),
    "student-vit-s16+student-text-4l": ModelConfig(
        "student-vit-s16+student-text-4l", IMAGE_CONFIGS["student-vit-s16"], TEXT_CONFIGS["student-text-4l"]),
    "demo-teacher": ModelConfig("demo-teacher", IMAGE_CONFIGS["demo-teacher"], TEXT_CONFIGS["demo-teacher"],
                                DEMO_PREPROCESS),
    "demo-student": ModelConfig("demo-student", IMAGE_CONFIGS["demo-student"], TEXT_CONFIGS["demo-student"],
                                DEMO_PREPROCESS),
}


def list_models() -> list[str]:
    return sorted(MODEL_CONFIGS)


def get_config(name: str) -> ModelConfig:
    """A registered model, or 'IMAGE+TEXT' combining two registered towers (e.g. the paper's student)."""
    if name in MODEL_CONFIGS:
        return MODEL_CONFIGS[name]
    image_name, plus, text_name = name.partition("+")
    if plus and image_name in IMAGE_CONFIGS and text_name in TEXT_CONFIGS:
        image = IMAGE_CONFIGS[image_name]
        return ModelConfig(name, image, TEXT_CONFIGS[text_name], PreprocessConfig(size=image.image_size))
    raise KeyError(f"unknown model {name!r}; registered: {', '.join(list_models())}; "
                   f"or IMAGE+TEXT with image towers {sorted(IMAGE_CONFIGS)} and text towers {sorted(TEXT_CONFIGS)}")


def resolve_config(spec: str | dict) -> ModelConfig:
    """A recipe's `model`: a registered name, or a whole config written out as a mapping."""
    return ModelConfig.from_dict(spec) if isinstance(spec, dict) else get_config(spec)
