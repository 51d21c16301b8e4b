"""Losses of the two-stage recipe: InfoNCE, CLIP's symmetric loss, and similarity distillation."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def info_nce(queries: torch.Tensor, keys: torch.Tensor, scale: float | torch.Tensor) -> torch.Tensor:
    """Row i of `queries` must pick row i of `keys` among all rows; extra rows of `keys` are negatives."""
    logits = scale * queries @ keys.T  # (B, B + extra)
    return F.cross_entropy(logits, torch.arange(queries.shape[0], device=queries.device))


def clip_loss(image: torch.Tensor, text: torch.Tensor, scale: torch.Tensor,
              extra_images: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric contrastive loss; `extra_images` (hard negatives) only enlarge the text->image side."""
    images = image if extra_images is None else torch.cat([image, extra_images])
    return 0.5 * (info_nce(text, images, scale) + info_nce(image, text, scale))


def similarity_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """KL(teacher || student) between in-batch similarity distributions, row-wise, both directions."""
    def kl(s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return F.kl_div(F.log_softmax(s, dim=1), F.log_softmax(t, dim=1), log_target=True, reduction="batchmean")
    return 0.5 * (kl(student_logits, teacher_logits) + kl(student_logits.T, teacher_logits.T))
