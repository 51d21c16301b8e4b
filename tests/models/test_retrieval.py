"""The retrieval protocol on hand-made cases whose R@K is known, and the demo split's scene matching."""
import torch

from pocketclip.models.eval.evaluate import retrieval_metrics
from pocketclip.models.eval.retrieval import group_ids, protocol, recall_at_k


def test_three_images_five_captions_each():
    # Image i is the unit vector e_i; each image has five captions (no ties anywhere):
    #   image 0: 5 captions on e_0                       -> text->image rank 1
    #   image 1: 5 captions 0.9 e_2 + 0.1 e_1            -> rank 2 (image 2 first)
    #   image 2: 2 captions on e_2, 3 on 0.8 e_0 + 0.6 e_2 -> rank 1, and rank 2 (image 0 first)
    image = torch.eye(3)
    a, b, c = torch.eye(3)
    text = torch.stack([a] * 5 + [0.9 * c + 0.1 * b] * 5 + [c] * 2 + [0.8 * a + 0.6 * c] * 3)
    text_groups = torch.tensor([0] * 5 + [1] * 5 + [2] * 5)
    r = protocol(image, text, torch.arange(3), text_groups)
    assert r["t2i_r1"] == round(7 / 15 * 100, 2) and r["t2i_r5"] == 100.0 and r["t2i_r10"] == 100.0
    # image->text: each image's best caption is one of its own (image 1 scores 0.1 with its own, 0 with the rest)
    assert r["i2t_r1"] == r["i2t_r5"] == r["i2t_r10"] == 100.0
    assert r["mean_recall"] == round((7 / 15 * 100 + 500) / 6, 2)


def test_image_to_text_hits_when_any_caption_is_in_the_top_k():
    image = torch.eye(2)
    # Image 0 has two captions: one far off, one at rank 2 behind a caption of image 1.
    text = torch.tensor([[0.0, 1.0], [0.6, 0.8], [0.9, 0.1]])
    text_groups = torch.tensor([0, 0, 1])
    r = recall_at_k(text @ image.T, text_groups, torch.arange(2), ks=(1, 2))
    assert r == {1: 0.0, 2: 1.0}  # text->image: no caption's own image wins at 1; all within 2
    r = recall_at_k(image @ text.T, torch.arange(2), text_groups, ks=(1, 2, 3))
    assert r == {1: 0.0, 2: 0.5, 3: 1.0}  # image 0's captions rank 2nd/3rd, image 1's rank 3rd


def test_demo_pairs_count_items_of_the_same_scene():
    sim = torch.tensor([[0.9, 0.1, 0.0], [0.8, 0.2, 0.1], [0.0, 0.5, 0.4]])
    keys = group_ids([("a",), ("b",), ("c",)])
    assert recall_at_k(sim, keys, keys, ks=(1, 2)) == {1: 1 / 3, 2: 1.0}
    same = group_ids([("a",), ("a",), ("c",)])  # query 1's top hit shows its scene: a hit
    assert recall_at_k(sim, same, same, ks=(1,))[1] == 2 / 3


def test_perfect_embeddings_give_full_recall():
    x = torch.nn.functional.normalize(torch.randn(20, 8), dim=-1)
    metrics = retrieval_metrics(x, x, [(i,) for i in range(20)])
    assert metrics["t2i_r1"] == 100.0 and metrics["i2t_r1"] == 100.0
