import torch
import torch.nn.functional as F
from tests_support import tiny

from pocketclip.models.towers.configs import ModelConfig, get_config
from pocketclip.models.towers.dual_encoder import DualEncoder
from pocketclip.models.towers.inherit import inherit_from, layer_map, select


def test_layer_map_spans_the_teacher():
    assert layer_map(3, 6) == [0, 2, 5]
    assert layer_map(2, 6) == [0, 5]
    assert layer_map(4, 12) == [0, 4, 7, 11]


def test_same_width_student_takes_a_subset_of_teacher_layers():
    teacher = DualEncoder(ModelConfig.from_dict(tiny(layers=4, token_dim=None)))
    student = DualEncoder(ModelConfig.from_dict(tiny(layers=2, token_dim=None)))
    origin = inherit_from(student, teacher)
    assert origin["image.blocks.1.attn.qkv.weight"] == "image.blocks.3.attn.qkv.weight"
    assert torch.equal(student.image.blocks[1].mlp[0].weight, teacher.image.blocks[3].mlp[0].weight)
    assert torch.equal(student.text.token_embedding.weight, teacher.text.token_embedding.weight)


def test_narrower_student_selects_leading_weights_per_q_k_v():
    w = torch.arange(6 * 2, dtype=torch.float32).reshape(6, 2)  # q rows 0-1, k rows 2-3, v rows 4-5
    picked = select(w, torch.Size([3, 1]), "x.attn.qkv.weight")
    assert picked.flatten().tolist() == [0.0, 4.0, 8.0]


def test_factorised_token_table_is_the_best_low_rank_fit():
    teacher = DualEncoder(ModelConfig.from_dict(tiny(layers=2, token_dim=None)))
    student = DualEncoder(ModelConfig.from_dict(tiny(layers=1, token_dim=8)))
    inherit_from(student, teacher)
    approx = student.text.token_embedding.weight @ student.text.token_up.weight.T  # (vocab, width)
    full = teacher.text.token_embedding.weight
    u, s, vh = torch.linalg.svd(full, full_matrices=False)
    best = (u[:, :8] * s[:8]) @ vh[:8]
    assert torch.allclose(approx, best, atol=1e-4)


def test_inherited_student_starts_closer_to_the_teacher_than_a_random_one():
    torch.manual_seed(0)
    teacher = DualEncoder(get_config("demo-teacher")).eval()
    inherited = DualEncoder(get_config("demo-student")).eval()
    inherit_from(inherited, teacher)
    fresh = DualEncoder(get_config("demo-student")).eval()
    x = torch.randn(8, 3, 64, 64)
    with torch.no_grad():
        ref = teacher.encode_image(x)
        near = F.cosine_similarity(inherited.encode_image(x), ref).mean()
        far = F.cosine_similarity(fresh.encode_image(x), ref).mean()
    assert near > far + 0.2
