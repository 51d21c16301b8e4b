import pytest

from pocketclip.models.towers.configs import ModelConfig, get_config, list_models, resolve_config
from pocketclip.models.towers.dual_encoder import DualEncoder, count_parameters


def test_registry_holds_the_named_configs():
    names = list_models()
    for name in ("clip-vit-b32", "demo-teacher", "demo-student"):
        assert name in names
    student = get_config("student-vit-s16+student-text-4l")
    assert (student.image.patch_size, student.image.width, student.image.layers) == (16, 384, 12)
    assert (student.text.width, student.text.layers) == (512, 4)


def test_clip_vit_b32_has_the_real_parameter_count():
    # OpenAI's ViT-B/32 CLIP: 151,277,313 parameters (87.8M image, 63.2M text, 1 logit scale).
    model = DualEncoder(get_config("clip-vit-b32"))
    assert count_parameters(model) == 151_277_313


def test_config_round_trips_through_a_dict():
    cfg = get_config("demo-student")
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert resolve_config(cfg.to_dict()) == cfg


def test_unknown_model_lists_the_valid_ones():
    with pytest.raises(KeyError, match="demo-student"):
        get_config("no-such-model")
