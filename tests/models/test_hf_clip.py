"""Loading a real Hugging Face CLIP checkpoint, tested on one this test makes (random weights)."""
import pytest
import torch
import torch.nn.functional as F
from transformers import CLIPConfig, CLIPModel

from pocketclip.models.towers.checkpoint import CheckpointMismatch, load_model, load_state
from pocketclip.models.towers.hf_clip import convert_state, load_hf_clip


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    cfg = CLIPConfig(
        text_config=dict(hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4),
        vision_config=dict(hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
                           image_size=64, patch_size=16),
        projection_dim=48)
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("hf-clip")
    CLIPModel(cfg).eval().save_pretrained(folder)
    return folder


def features(output):
    # transformers 5 returns a model output whose pooler_output holds the projected features.
    return output if torch.is_tensor(output) else output.pooler_output


def test_our_towers_reproduce_transformers(hf_folder):
    hf = CLIPModel.from_pretrained(hf_folder).eval()
    ours = load_hf_clip(str(hf_folder))
    pixels = torch.randn(3, 3, 64, 64)
    ids = torch.randint(1, 49000, (3, 77))
    ids[:, 0] = 49406
    for row, end in zip(ids, (5, 30, 76)):
        row[end] = 49407
    with torch.no_grad():
        ref_image = F.normalize(features(hf.get_image_features(pixel_values=pixels)), dim=-1)
        ref_text = F.normalize(features(hf.get_text_features(input_ids=ids)), dim=-1)
        assert (ours.encode_image(pixels) - ref_image).abs().max() <= 1e-5
        assert (ours.encode_text(ids) - ref_text).abs().max() <= 1e-5
    assert ours.cfg.image.act == "quick_gelu" and ours.cfg.text.eot_id == 49407
    assert torch.allclose(ours.logit_scale, hf.logit_scale)


def test_load_model_accepts_an_hf_folder(hf_folder):
    model = load_model(hf_folder)
    assert model.cfg.image.width == 64 and model.cfg.text.layers == 2
    assert model.cfg.name == hf_folder.name  # the manifest's model name: never this machine's path


def test_missing_or_misshapen_tensors_are_refused(hf_folder):
    model = load_hf_clip(str(hf_folder))
    state = convert_state(CLIPModel.from_pretrained(hf_folder).state_dict())
    del state["text.ln_final.weight"]
    with pytest.raises(CheckpointMismatch, match="text.ln_final.weight"):
        load_state(model, state)
    state = convert_state(CLIPModel.from_pretrained(hf_folder).state_dict())
    state["image.proj"] = state["image.proj"][:, :10]
    with pytest.raises(CheckpointMismatch, match="image.proj"):
        load_state(model, state)
    with pytest.raises(KeyError, match="unexpected tensor"):
        convert_state({"vision_model.something_new.weight": torch.zeros(1)})
