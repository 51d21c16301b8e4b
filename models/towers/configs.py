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
    arch: str = "vit"  # 'vit', or 'hybrid': a conv stem shrinks the grid before attention (hybrid_tower.py)
    # hybrid only: channels after each stride-2 stage (patch_size == 2 ** stages) and residual blocks per stage
    conv_widths: tuple[int, ...] = ()
    conv_depths: tuple[int, ...] = ()
    conv_expand: int = 3  # hybrid blocks' 1x1 expansion; 3 rather than 4 keeps the 56x56 stage cheap


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
        image = dict(d["image"])
        for key in ("conv_widths", "conv_depths"):  # JSON lists back to the tuples the frozen config holds
            if key in image:
                image[key] = tuple(image[key])
        return cls(
            name=d["name"],
            image=ImageConfig(**image),
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
    # Students by latency (docs/students.md): few tokens first. ViT-S/32: B/32's 50 tokens at half the width.
    "student-vit-s32": ImageConfig(patch_size=32, width=384, layers=12, heads=6),
    "student-vit-ti16": ImageConfig(patch_size=16, width=192, layers=12, heads=3),
    # Conv stages take 224 px to a 7x7 grid (MobileCLIP/FastViT idea), then 6 attention blocks on 50 tokens.
    "student-hybrid-s": ImageConfig(patch_size=32, width=384, layers=6, heads=6, arch="hybrid",
                                    conv_widths=(32, 64, 128, 256, 384), conv_depths=(0, 1, 1, 1, 0)),
    # Their demo-scale analogues (64 px, the demo teacher's 8x8 grid, widths and depths scaled alike).
    "demo-vit-s16": ImageConfig(image_size=64, patch_size=4, width=64, layers=6, heads=2, embed_dim=128, act="gelu"),
    "demo-vit-s32": ImageConfig(image_size=64, patch_size=8, width=64, layers=6, heads=2, embed_dim=128, act="gelu"),
    "demo-vit-ti16": ImageConfig(image_size=64, patch_size=4, width=32, layers=6, heads=1, embed_dim=128,
                                 act="gelu"),
    "demo-hybrid-s": ImageConfig(image_size=64, patch_size=8, width=64, layers=3, heads=2, embed_dim=128, act="gelu",
                                 arch="hybrid", conv_widths=(16, 32, 64), conv_depths=(1, 1, 0)),
}

TEXT_CONFIGS: dict[str, TextConfig] = {
    "clip-vit-b32": TextConfig(),
    "student-text-4l": TextConfig(layers=4),
    "demo-teacher": TextConfig(width=128, layers=6, heads=4, embed_dim=128, act="gelu"),
    # 32-wide token table: the 49408-row table would otherwise be most of the student's bytes.
    "demo-student": TextConfig(width=128, layers=2, heads=4, embed_dim=128, token_dim=32, act="gelu"),
    # Real-scale text students with the factorised table (SVD of the teacher's, inherit.py): 128-wide rows.
    "student-text-4l-384": TextConfig(width=384, layers=4, heads=6, token_dim=128),
    "student-text-4l-256": TextConfig(width=256, layers=4, heads=4, token_dim=128),
    "student-text-6l-256": TextConfig(width=256, layers=6, heads=4, token_dim=128),
    "demo-text-4l": TextConfig(width=128, layers=2, heads=4, embed_dim=128, act="gelu"),
    "demo-text-4l-384": TextConfig(width=96, layers=2, heads=3, embed_dim=128, token_dim=32, act="gelu"),
    "demo-text-4l-256": TextConfig(width=64, layers=2, heads=2, embed_dim=128, token_dim=32, act="gelu"),
    "demo-text-6l-256": TextConfig(width=64, layers=3, heads=2, embed_dim=128, token_dim=32, act="gelu"),
}

# Each real-scale student tower and the demo-scale tower that stands for it in quality checks
# (distilled from demo-teacher the way the real one is from clip-vit-b32).
DEMO_ANALOGUES: dict[str, str] = {
    "student-vit-s16": "demo-vit-s16", "student-text-4l": "demo-text-4l",  # the paper's student, for reference
    "student-vit-s32": "demo-vit-s32", "student-vit-ti16": "demo-vit-ti16", "student-hybrid-s": "demo-hybrid-s",
    "student-text-4l-384": "demo-text-4l-384", "student-text-4l-256": "demo-text-4l-256",
    "student-text-6l-256": "demo-text-6l-256",
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


class UnknownModel(KeyError):
    """A model name nothing is registered under; the message lists what is."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


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
    raise UnknownModel(f"unknown model {name!r}; registered: {', '.join(list_models())}; "
                       f"or IMAGE+TEXT with image towers {sorted(IMAGE_CONFIGS)} "
                       f"and text towers {sorted(TEXT_CONFIGS)}")


def demo_analogue(name: str) -> str:
    """'IMAGE+TEXT' of real-scale student towers -> the same pair at demo scale."""
    image, plus, text = name.partition("+")
    missing = [t for t in (image, text) if t not in DEMO_ANALOGUES]
    if not plus or missing:
        raise UnknownModel(f"{name!r} is not IMAGE+TEXT of towers with a demo analogue; "
                           f"they are {sorted(DEMO_ANALOGUES)}")
    return f"{DEMO_ANALOGUES[image]}+{DEMO_ANALOGUES[text]}"


def resolve_config(spec: str | dict) -> ModelConfig:
    """A recipe's `model`: a registered name, or a whole config written out as a mapping."""
    return ModelConfig.from_dict(spec) if isinstance(spec, dict) else get_config(spec)
