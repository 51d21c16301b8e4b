"""The distilled PQ head: hard assignment is the runtime's nearest codeword; training lowers its loss."""
import numpy as np
import torch
import torch.nn.functional as F

from pocketclip.models.train.pq_head import PQHead, distill_codebooks, usage_entropy
from pocketclip.models.train.pq_kmeans import fit_kmeans_codebooks


def pairs(n=600, dim=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = F.normalize(torch.randn(n, dim, generator=g), dim=-1)
    texts = F.normalize(images + 0.3 * torch.randn(n, dim, generator=g), dim=-1)
    return images, texts


def test_hard_assignment_is_the_runtime_encoding():
    images, _ = pairs()
    books = fit_kmeans_codebooks(images.numpy(), subspaces=8, codewords=32)
    head = PQHead(books)
    hard = head.logits(images).argmax(-1).T.numpy().astype(np.uint8)  # (M, N)
    assert np.array_equal(hard, head.export().encode(images.numpy()))


def test_distillation_lowers_the_loss_and_keeps_codewords_in_use():
    images, texts = pairs()
    head = PQHead(fit_kmeans_codebooks(images.numpy(), subspaces=8, codewords=32))
    losses = distill_codebooks(head, images, texts, images, texts, 50.0, steps=60, batch=128, lr=5e-3)
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    entropy = usage_entropy(F.one_hot(head.logits(images).argmax(-1), 32).float())
    assert 0.5 * np.log(32) < float(entropy) <= np.log(32) + 1e-6
