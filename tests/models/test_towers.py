import pytest
import torch

from pocketclip.models.data.demo_data import trim_ids
from pocketclip.models.towers.configs import ImageConfig, ModelConfig, TextConfig
from pocketclip.models.towers.dual_encoder import DualEncoder


def ids_batch(lengths, eot=49407, context=77):
    ids = torch.zeros(len(lengths), context, dtype=torch.long)
    for row, n in zip(ids, lengths):
        row[0] = 49406
        row[1:n + 1] = torch.randint(300, 40000, (n,))
        row[n + 1] = eot
    return ids


def test_both_towers_return_unit_vectors(tiny_config):
    model = DualEncoder(tiny_config).eval()
    with torch.no_grad():
        image = model.encode_image(torch.randn(3, 3, 32, 32))
        text = model.encode_text(ids_batch([3, 10, 75]))
    assert image.shape == (3, 16) and text.shape == (3, 16)
    assert torch.allclose(image.norm(dim=-1), torch.ones(3), atol=1e-6)
    assert torch.allclose(text.norm(dim=-1), torch.ones(3), atol=1e-6)


def test_text_pools_at_end_token_and_ignores_what_follows(tiny_config):
    model = DualEncoder(tiny_config).eval()
    ids = ids_batch([4, 9])
    noisy = ids.clone()
    noisy[0, 6:] = torch.randint(300, 40000, (71,))  # garbage after the end token of row 0
    with torch.no_grad():
        assert torch.allclose(model.encode_text(ids), model.encode_text(noisy), atol=1e-6)
        changed = ids.clone()
        changed[0, 2] = 999  # a token before the end does matter
        assert not torch.allclose(model.encode_text(ids)[0], model.encode_text(changed)[0])


def test_trimmed_batch_gives_the_same_features_as_full_context(tiny_config):
    model = DualEncoder(tiny_config).eval()
    ids = ids_batch([2, 12, 7])
    trimmed = trim_ids(ids, 49407)
    assert trimmed.shape[1] == 14
    with torch.no_grad():
        assert torch.allclose(model.encode_text(ids), model.encode_text(trimmed), atol=1e-6)


def test_mean_pooling_and_batch_independence():
    cfg = ModelConfig("m", ImageConfig(image_size=32, patch_size=16, width=32, layers=1, heads=2, embed_dim=8,
                                       pool="mean"), TextConfig(width=32, layers=1, heads=2, embed_dim=8))
    model = DualEncoder(cfg).eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        batch = model.encode_image(x)
        singles = torch.cat([model.encode_image(x[i:i + 1]) for i in range(4)])
    assert torch.allclose(batch, singles, atol=1e-5)


def test_bad_configs_fail_clearly():
    with pytest.raises(AssertionError, match="multiple of patch_size"):
        DualEncoder(ModelConfig("bad", ImageConfig(image_size=30, patch_size=8), TextConfig()))
    with pytest.raises(AssertionError, match="divisible"):
        DualEncoder(ModelConfig("bad", ImageConfig(width=30, heads=4, image_size=32, patch_size=8),
                                TextConfig(width=32, heads=2)))
    with pytest.raises(ValueError, match="unknown activation"):
        DualEncoder(ModelConfig("bad", ImageConfig(image_size=32, patch_size=8, width=32, heads=2, act="relu6"),
                                TextConfig(width=32, heads=2)))
