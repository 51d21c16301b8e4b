"""The students by latency: registry entries, the hybrid (conv stem + attention) tower, inheriting from a ViT."""
import json

import pytest
import torch

from pocketclip.models.towers.configs import (
    DEMO_ANALOGUES,
    IMAGE_CONFIGS,
    TEXT_CONFIGS,
    ImageConfig,
    ModelConfig,
    TextConfig,
    demo_analogue,
    get_config,
)
from pocketclip.models.towers.dual_encoder import DualEncoder, count_parameters
from pocketclip.models.towers.hybrid_tower import HybridImageTower
from pocketclip.models.towers.inherit import inherit_from


def hybrid_config(**image) -> ModelConfig:
    cfg = dict(image_size=32, patch_size=8, width=32, layers=2, heads=2, embed_dim=16, act="gelu", arch="hybrid",
               conv_widths=(8, 16, 32), conv_depths=(1, 0, 1))
    return ModelConfig("h", ImageConfig(**{**cfg, **image}),
                       TextConfig(width=32, layers=1, heads=2, embed_dim=16, token_dim=8, act="gelu"))


def test_every_student_tower_has_a_demo_analogue_of_the_demo_teacher_kind():
    teacher = get_config("demo-teacher")
    for real, demo in DEMO_ANALOGUES.items():
        registry = IMAGE_CONFIGS if real in IMAGE_CONFIGS else TEXT_CONFIGS
        assert demo in registry, (real, demo)
        assert registry[demo].embed_dim == teacher.image.embed_dim
        if registry is IMAGE_CONFIGS:
            assert registry[demo].image_size == teacher.image.image_size
            assert registry[real].arch == registry[demo].arch
        else:
            assert (registry[real].token_dim is None) == (registry[demo].token_dim is None)
    assert demo_analogue("student-hybrid-s+student-text-4l-256") == "demo-hybrid-s+demo-text-4l-256"
    with pytest.raises(KeyError, match="demo analogue"):
        demo_analogue("clip-vit-b32")


def test_real_scale_students_are_a_fraction_of_the_teacher():
    teacher = DualEncoder(get_config("clip-vit-b32"))
    for image in ("student-vit-s32", "student-vit-ti16", "student-hybrid-s"):
        student = DualEncoder(get_config(f"{image}+student-text-4l-256"))
        assert count_parameters(student) < 0.25 * count_parameters(teacher), image
    assert get_config("student-hybrid-s+student-text-4l-384").preprocess.size == 224


def test_hybrid_stem_shrinks_the_grid_and_the_tower_returns_unit_vectors():
    model = DualEncoder(hybrid_config()).eval()
    assert isinstance(model.image, HybridImageTower)
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        grid = model.image.patch_embed(x)
        out = model.encode_image(x)
        singles = torch.cat([model.encode_image(x[i:i + 1]) for i in range(3)])
    assert grid.shape == (3, 32, 4, 4)  # 32 px / 2**3 stages, at the attention width
    assert model.image.positional_embedding.shape == (1 + 16, 32)
    assert out.shape == (3, 16) and torch.allclose(out.norm(dim=-1), torch.ones(3), atol=1e-6)
    assert torch.allclose(out, singles, atol=1e-5)  # batch norm in eval mode: no batch statistics


def test_hybrid_config_survives_a_json_round_trip():
    cfg = hybrid_config()
    back = ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg and back.image.conv_widths == (8, 16, 32)


def test_bad_hybrid_configs_fail_clearly():
    with pytest.raises(AssertionError, match="total stride"):
        DualEncoder(hybrid_config(patch_size=16, image_size=32))
    with pytest.raises(AssertionError, match="same, non-zero length"):
        DualEncoder(hybrid_config(conv_depths=(1, 1)))
    with pytest.raises(ValueError, match="unknown image arch 'convnext'; valid: vit, hybrid"):
        DualEncoder(hybrid_config(arch="convnext"))


def test_hybrid_student_inherits_the_teachers_blocks_and_keeps_a_fresh_stem():
    teacher = DualEncoder(get_config("demo-teacher"))
    student = DualEncoder(get_config("demo-hybrid-s+demo-text-4l-256"))
    origin = inherit_from(student, teacher)
    assert origin["image.blocks.2.attn.qkv.weight"] == "image.blocks.5.attn.qkv.weight"  # 6 -> 3: [0, 2, 5]
    assert origin["image.patch_embed.stages.0.0.0.weight"] == "fresh (no teacher counterpart)"
    q_rows = teacher.image.blocks[5].attn.qkv.weight[:64, :64]  # q of the teacher's last block, leading slice
    assert torch.equal(student.image.blocks[2].attn.qkv.weight[:64], q_rows)


def test_smaller_patch_student_takes_the_leading_kernel_and_fresh_positions():
    teacher = DualEncoder(get_config("demo-teacher"))
    student = DualEncoder(get_config("demo-vit-ti16+demo-text-4l-384"))
    origin = inherit_from(student, teacher)
    assert origin["image.positional_embedding"] == "fresh (different patch grid)"
    assert torch.equal(student.image.patch_embed.weight, teacher.image.patch_embed.weight[:32, :, :4, :4])


def test_factorised_student_table_is_the_teachers_best_rank_k_fit():
    teacher = DualEncoder(get_config("demo-teacher"))
    student = DualEncoder(get_config("demo-vit-s32+demo-text-4l-384"))
    origin = inherit_from(student, teacher)
    assert origin["text.token_embedding.weight"] == "svd(text.token_embedding)"
    table = teacher.text.token_embedding.weight.detach()  # (vocab, 128)
    u, s, vh = torch.linalg.svd(table, full_matrices=False)
    best = (u[:, :32] * s[:32]) @ vh[:32, :96]  # rank 32, the 96 leading output columns
    approx = student.text.token_embedding.weight @ student.text.token_up.weight.T  # (vocab, 96)
    assert torch.allclose(approx, best, atol=1e-4)
