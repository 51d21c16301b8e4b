import torch

from pocketclip.models.evaluate import recall_at_k, retrieval_metrics


def test_recall_counts_the_pair_and_same_scene_items():
    sim = torch.tensor([[0.9, 0.1, 0.0], [0.8, 0.2, 0.1], [0.0, 0.5, 0.4]])
    keys = [("a",), ("b",), ("c",)]
    r = recall_at_k(sim, keys, keys, ks=(1, 2))
    assert r == {1: 1 / 3, 2: 1.0}
    same = [("a",), ("a",), ("c",)]  # query 1's top hit shows its scene: a hit
    assert recall_at_k(sim, same, same, ks=(1,))[1] == 2 / 3


def test_perfect_embeddings_give_full_recall():
    x = torch.nn.functional.normalize(torch.randn(20, 8), dim=-1)
    keys = [(i,) for i in range(20)]
    metrics = retrieval_metrics(x, x, keys)
    assert metrics["t2i_r1"] == 100.0 and metrics["i2t_r1"] == 100.0
