"""The new student towers, at tiny sizes, through every export target: same numbers as eager where fp32."""
import numpy as np
import pytest
import torch

from pocketclip.exporter.targets import INPUT, TARGETS
from pocketclip.models.towers.configs import ImageConfig, ModelConfig, TextConfig
from pocketclip.models.towers.dual_encoder import DualEncoder
from pocketclip.runtime.bundle.backends import open_tower
from pocketclip.runtime.parity.quality import cosines


@pytest.fixture(scope="module")
def student():
    """A tiny hybrid image tower (3 conv stages, 2 attention blocks) and a factorised 2-layer text tower."""
    torch.manual_seed(0)
    cfg = ModelConfig("tiny-hybrid", ImageConfig(image_size=32, patch_size=8, width=32, layers=2, heads=2, embed_dim=16,
                                                 act="gelu", arch="hybrid", conv_widths=(8, 16, 32),
                                                 conv_depths=(1, 1, 0)),
                      TextConfig(width=32, layers=2, heads=2, embed_dim=16, token_dim=8, act="gelu"))
    model = DualEncoder(cfg)
    with torch.no_grad():  # batch norm with non-trivial statistics, so folding it at export is exercised
        for module in model.image.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
    return model.eval()


def inputs(kind: str, n: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    if kind == "image":
        return rng.normal(size=(n, 3, 32, 32)).astype(np.float32)
    ids = np.zeros((n, 77), dtype=np.int64)
    for row, length in zip(ids, rng.integers(2, 20, n)):
        row[0], row[1:length + 1], row[length + 1] = 49406, rng.integers(300, 40000, length), 49407
    return ids


@pytest.mark.parametrize("fmt,precision,kind", [(f, p, k) for f in ("onnx", "pte") for p in ("fp32", "int8")
                                                for k in ("image", "text")])
def test_runnable_targets_reproduce_the_eager_tower(student, tmp_path, fmt, precision, kind):
    tower = student.image if kind == "image" else student.text
    batch = inputs(kind, 8)
    path = tmp_path / f"{kind}.{fmt}"
    info = TARGETS[fmt].export(tower, kind, precision, torch.from_numpy(batch[:1]), inputs(kind, 32), path)
    with torch.no_grad():
        ref = tower(torch.from_numpy(batch)).numpy()
    runner = open_tower(path, fmt, INPUT[kind], threads=1)
    got = np.concatenate([runner(batch[i:i + 1]) for i in range(len(batch))])
    assert got.shape == ref.shape and np.isfinite(got).all()
    if precision == "fp32":
        assert np.abs(got - ref).max() <= 1e-4
    else:  # random weights: int8 is only roughly right, but it must be the same function
        assert cosines(got, ref).min() >= 0.9
        assert ("token_table" in info) == (kind == "text")


def test_coreml_converts_the_hybrid_tower(student, tmp_path):
    info = TARGETS["mlpackage"].export(student.image, "image", "fp16", torch.from_numpy(inputs("image", 1)), None,
                                       tmp_path / "image.mlpackage")
    assert info["inputs"][0]["name"] == "pixels" and info["outputs"][0]["name"] == "image_embeds"
    assert info["ops"].get("conv", 0) >= 6  # 3 strided stages, 2 blocks of (depthwise, expand, project)
    assert "batch_norm" not in info["ops"]  # folded into the convolutions


@pytest.mark.parametrize("fmt", ["onnx", "pte"])
def test_int8_keeps_the_class_token_when_the_stem_dwarfs_it(student, tmp_path, fmt):
    """A trained hybrid's stem outputs are ~50x its class embedding. Quantized in one concat with them, the
    class token (the pooled output) turned to noise: the trained demo hybrid's int8 image cosine was 0.94."""
    tower = type(student.image)(student.image.cfg)
    tower.load_state_dict(student.image.state_dict())
    with torch.no_grad():
        last = tower.patch_embed.stages[-1][0][1]  # the last stage's batch norm: its outputs x 100
        last.weight.mul_(100.0)
        last.bias.mul_(100.0)
        tower.class_embedding.mul_(0.1)
    tower.eval()
    batch = inputs("image", 16)
    path = tmp_path / f"image.{fmt}"
    TARGETS[fmt].export(tower, "image", "int8", torch.from_numpy(batch[:1]), inputs("image", 32), path)
    with torch.no_grad():
        ref = tower(torch.from_numpy(batch)).numpy()
    runner = open_tower(path, fmt, INPUT["image"], threads=1)
    got = np.concatenate([runner(batch[i:i + 1]) for i in range(len(batch))])
    assert cosines(got, ref).min() >= 0.98
