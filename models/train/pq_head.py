"""A product-quantization head trained by distillation (DCMQ): no labels, the teacher's text-image
similarities are the target.

Codeword choice is differentiable during training through Gumbel-softmax and hard at inference,
where it is the nearest codeword, exactly what runtime.pq.Codebooks.encode computes; a balance term
keeps every codeword in use (its usage entropy is reported).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from pocketclip.runtime.bundle.codebooks import Codebooks


class PQHead(nn.Module):
    def __init__(self, init: Codebooks):
        super().__init__()
        self.codebooks = nn.Parameter(torch.from_numpy(init.centroids.copy()))  # (M, K, d)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(B, M, K): 2 x.c - |c|^2, i.e. minus the squared distance up to a per-row constant."""
        M, K, d = self.codebooks.shape
        parts = x.view(x.shape[0], M, d)  # (B, M, d)
        return 2 * torch.einsum("bmd,mkd->bmk", parts, self.codebooks) - (self.codebooks ** 2).sum(-1)

    def forward(self, x: torch.Tensor, temperature: float = 0.005) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction (B, D), soft assignment (B, M, K)) with Gumbel noise, straight-through hard."""
        weights = F.gumbel_softmax(self.logits(x) / temperature, tau=1.0, hard=True)  # (B, M, K)
        recon = torch.einsum("bmk,mkd->bmd", weights, self.codebooks).reshape(x.shape[0], -1)
        return recon, F.softmax(self.logits(x) / temperature, dim=-1)

    def export(self) -> Codebooks:
        return Codebooks(self.codebooks.detach().numpy().astype(np.float32).copy())


def usage_entropy(assignment: torch.Tensor) -> torch.Tensor:
    """Mean over sub-spaces of the entropy of codeword usage in the batch, in nats (max log K)."""
    usage = assignment.mean(dim=0)  # (M, K)
    return -(usage * usage.clamp_min(1e-12).log()).sum(-1).mean()


def distill_codebooks(head: PQHead, images: torch.Tensor, texts: torch.Tensor, teacher_images: torch.Tensor,
                      teacher_texts: torch.Tensor, teacher_scale: float, steps: int = 300, batch: int = 256,
                      lr: float = 1e-3, scale: float = 50.0, balance: float = 0.1, temperature: float = 0.005,
                      seed: int = 0, progress: bool = False) -> list[float]:
    """Fit the codebooks so that text . quantized(image) ranks like the teacher's similarities.

    The logits are squared distances between sub-vectors of unit vectors, ~0.01-0.1 apart; at
    temperature 1 Gumbel noise (std 1.3) would pick codewords at random, hence 0.005.

    images (N, D) and texts (N, D) are the stored model's embeddings of N pairs, teacher_images and
    teacher_texts the teacher's (any width); the target of a batch is the teacher's text-to-image
    softmax at its own logit scale. Returns the loss per step.
    """
    torch.manual_seed(seed)  # the Gumbel noise
    generator = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    log_k = math.log(head.codebooks.shape[1])
    losses = []
    for _ in tqdm(range(steps), desc="pq distillation", unit="step", disable=not progress):
        idx = torch.randperm(len(images), generator=generator)[:batch]
        recon, soft = head(images[idx], temperature)
        student = scale * texts[idx] @ F.normalize(recon, dim=-1).T  # (B, B)
        target = F.log_softmax(teacher_scale * teacher_texts[idx] @ teacher_images[idx].T, dim=1)
        kd = F.kl_div(F.log_softmax(student, dim=1), target, log_target=True, reduction="batchmean")
        loss = kd + balance * (log_k - usage_entropy(soft))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
