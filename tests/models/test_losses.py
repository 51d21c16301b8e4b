import torch
import torch.nn.functional as F

from pocketclip.models.train.losses import clip_loss, info_nce, similarity_kl


def unit(n, d, seed):
    return F.normalize(torch.randn(n, d, generator=torch.Generator().manual_seed(seed)), dim=-1)


def test_info_nce_is_low_when_each_row_matches_its_own_key():
    keys = unit(16, 32, 0)
    assert info_nce(keys, keys, 50.0) < 0.01
    assert info_nce(unit(16, 32, 1), keys, 50.0) > 1.0
    shuffled = keys[torch.randperm(16, generator=torch.Generator().manual_seed(3))]
    assert info_nce(shuffled, keys, 50.0) > 5.0


def test_hard_negatives_only_make_the_text_side_harder():
    image, text = unit(8, 16, 0), unit(8, 16, 0)
    plain = clip_loss(image, text, torch.tensor(20.0))
    with_copies = clip_loss(image, text, torch.tensor(20.0), extra_images=image.clone())  # perfect confusers
    assert with_copies > plain


def test_similarity_kl_is_zero_for_equal_distributions_and_positive_otherwise():
    logits = torch.randn(8, 16)
    assert similarity_kl(logits, logits).abs() < 1e-6
    assert similarity_kl(logits, torch.randn(8, 16)) > 0.05
