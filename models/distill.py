"""Two-stage distillation ("Leaner and Faster", Ren & Zhu 2022) of a student from a frozen teacher.

Stage 1, intra-modal: on unpaired images and unpaired captions, each student embedding must pick
the teacher embedding of its own input among the batch's (InfoNCE). Stage 2, cross-modal: on
pairs, CLIP's symmetric loss with corpus-wide hard negatives plus KL towards the teacher's in-batch
similarity distribution.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from pocketclip.models.checkpoint import load_model
from pocketclip.models.configs import resolve_config
from pocketclip.models.demo_data import PairSet, trim_ids
from pocketclip.models.dual_encoder import DualEncoder
from pocketclip.models.hard_negatives import mine_hard_negatives, teacher_index
from pocketclip.models.inherit import inherit_from
from pocketclip.models.losses import clip_loss, info_nce, similarity_kl
from pocketclip.models.training import Schedule, batch_indices, distributed, gather, rank_slice, train


def make_student(recipe: dict, teacher: DualEncoder) -> DualEncoder:
    torch.manual_seed(recipe["seed"])
    student = DualEncoder(resolve_config(recipe["model"]))
    if student.cfg.image.embed_dim != teacher.cfg.image.embed_dim:
        raise ValueError("stage 1 matches embeddings directly: student and teacher need the same embed_dim")
    if recipe["init"] == "inherit":
        inherit_from(student, teacher)
    elif recipe["init"] != "scratch":
        raise ValueError(f"init must be 'inherit' or 'scratch', not {recipe['init']!r}")
    return student


def stage1(student: DualEncoder, recipe: dict, data: PairSet, t_image: torch.Tensor, t_text: torch.Tensor,
           out: Path) -> DualEncoder:
    schedule = Schedule(**recipe["stage1"]["schedule"])
    scale = 1.0 / recipe["stage1"]["temperature"]
    student.logit_scale.requires_grad_(False)  # stage 1 has a fixed temperature; DDP needs no unused params
    rank, world = distributed()
    eot = student.cfg.text.eot_id

    def loss_fn(module: torch.nn.Module, step: int) -> tuple[torch.Tensor, dict]:
        # Images and captions drawn independently: stage 1 never uses the pairing.
        img_idx = batch_indices(recipe["seed"], step, len(data), schedule.batch_size, stream=1)
        txt_idx = batch_indices(recipe["seed"], step, len(data), schedule.batch_size, stream=2)
        image, text = module(data.pixels(rank_slice(img_idx, rank, world)),
                             trim_ids(data.ids[rank_slice(txt_idx, rank, world)], eot))
        l_img = info_nce(gather(image), t_image[img_idx], scale)
        l_txt = info_nce(gather(text), t_text[txt_idx], scale)
        return l_img + l_txt, {"img": l_img.item(), "txt": l_txt.item()}

    return train(student, loss_fn, schedule, out / "stage1", {"recipe": recipe, "stage": 1}, "distill stage 1")


def stage2(student: DualEncoder, teacher: DualEncoder, recipe: dict, data: PairSet, t_image: torch.Tensor,
           t_text: torch.Tensor, out: Path) -> DualEncoder:
    cfg = recipe["stage2"]
    schedule = Schedule(**cfg["schedule"])
    student.logit_scale.requires_grad_(True)
    hard = mine_hard_negatives(t_text, t_image, data.keys, cfg["hard_negatives_pool"])  # (N, pool)
    t_scale = teacher.scale().detach()
    rank, world = distributed()
    eot = student.cfg.text.eot_id

    def loss_fn(module: torch.nn.Module, step: int) -> tuple[torch.Tensor, dict]:
        idx = batch_indices(recipe["seed"], step, len(data), schedule.batch_size, stream=3)
        pick = np.random.default_rng([recipe["seed"], 4, step]).integers(0, hard.shape[1], size=len(idx))
        neg = hard[idx, pick].numpy()  # one hard negative image per caption
        mine, mine_neg = rank_slice(idx, rank, world), rank_slice(neg, rank, world)
        images, text = module(data.pixels(np.concatenate([mine, mine_neg])), trim_ids(data.ids[mine], eot))
        image, neg_image = gather(images[: len(mine)]), gather(images[len(mine):])
        text = gather(text)
        scale = student.scale()
        contrastive = clip_loss(image, text, scale, extra_images=neg_image)
        s_logits = scale * text @ torch.cat([image, neg_image]).T  # (B, 2B)
        t_logits = t_scale * t_text[idx] @ torch.cat([t_image[idx], t_image[neg]]).T
        kd = similarity_kl(s_logits, t_logits)
        return contrastive + cfg["kl_weight"] * kd, {"clip": contrastive.item(), "kd": kd.item()}

    return train(student, loss_fn, schedule, out / "stage2", {"recipe": recipe, "stage": 2}, "distill stage 2")


def distill(recipe: dict, data: PairSet, out: Path) -> DualEncoder:
    teacher = load_model(recipe["teacher"])
    for p in teacher.parameters():
        p.requires_grad_(False)
    cache = out / "teacher_index.safetensors"
    if cache.exists():
        index = load_file(str(cache))
        t_image, t_text = index["image"], index["text"]
    else:
        t_image, t_text = teacher_index(teacher, data)
        out.mkdir(parents=True, exist_ok=True)
        save_file({"image": t_image.contiguous(), "text": t_text.contiguous()}, str(cache))
    student = make_student(recipe, teacher)
    student = stage1(student, recipe, data, t_image, t_text, out)
    return stage2(student, teacher, recipe, data, t_image, t_text, out)
