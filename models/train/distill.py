"""Two-stage distillation ("Leaner and Faster", Ren & Zhu 2022) of a student from a frozen teacher.

Stage 1, intra-modal: on unpaired images and unpaired captions, each student embedding must pick
the teacher embedding of its own input among the batch's (InfoNCE). Stage 2, cross-modal: on
pairs, CLIP's symmetric loss with hard negatives plus KL towards the teacher's in-batch similarity
distribution. The teacher's embeddings come from an index computed once (the in-memory demo split)
or from the on-disk teacher cache (streamed data: models/data).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from pocketclip.models.data.demo_data import PairSet, trim_ids
from pocketclip.models.data.feed import StreamFeed
from pocketclip.models.towers.checkpoint import load_model
from pocketclip.models.towers.configs import resolve_config
from pocketclip.models.towers.dual_encoder import DualEncoder
from pocketclip.models.towers.inherit import inherit_from
from pocketclip.models.train.data_options import RunOptions, StreamData, teacher_cache_for
from pocketclip.models.train.hard_negatives import mine_hard_negatives, teacher_index
from pocketclip.models.train.loop import Schedule, batch_indices, distributed, gather, gather_mask, rank_slice, train
from pocketclip.models.train.losses import clip_loss, info_nce, similarity_kl


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


def _nothing(image: torch.Tensor, text: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """The loss of a step whose every sample was unusable: zero, still connected to the graph."""
    return (image.sum() + text.sum()) * 0.0, {}


def stage1_loss(module: torch.nn.Module, batch: dict, scale: float, eot: int) -> tuple[torch.Tensor, dict]:
    """`batch`: pixels, ids, valid, t_image (teacher of the pixels), t_text (teacher of the ids)."""
    image, text = module(batch["pixels"], trim_ids(batch["ids"], eot))
    image, text, valid = gather(image), gather(text), gather_mask(batch["valid"])
    if not valid.any():
        return _nothing(image, text)
    l_img = info_nce(image[valid], gather(batch["t_image"])[valid], scale)
    l_txt = info_nce(text[valid], gather(batch["t_text"])[valid], scale)
    return l_img + l_txt, {"img": l_img.item(), "txt": l_txt.item()}


def stage2_loss(module: torch.nn.Module, batch: dict, scale: torch.Tensor, t_scale: torch.Tensor, kl_weight: float,
                eot: int) -> tuple[torch.Tensor, dict]:
    """`batch` adds neg_pixels, neg_valid and t_neg_image: one hard-negative picture per caption."""
    b = batch["pixels"].shape[0]
    images, text = module(torch.cat([batch["pixels"], batch["neg_pixels"]]), trim_ids(batch["ids"], eot))
    image, neg, text = gather(images[:b]), gather(images[b:]), gather(text)
    valid = gather_mask(batch["valid"])
    if not valid.any():
        return _nothing(images, text)
    neg_ok = gather_mask(batch["neg_valid"]) & valid
    image, text, neg = image[valid], text[valid], neg[neg_ok]
    contrastive = clip_loss(image, text, scale, extra_images=neg)
    s_logits = scale * text @ torch.cat([image, neg]).T  # (B, B + negatives)
    t_image, t_text = gather(batch["t_image"])[valid], gather(batch["t_text"])[valid]
    t_logits = t_scale * t_text @ torch.cat([t_image, gather(batch["t_neg_image"])[neg_ok]]).T
    kd = similarity_kl(s_logits.float(), t_logits.float())
    return contrastive + kl_weight * kd, {"clip": contrastive.item(), "kd": kd.item()}


def _teacher_live(teacher: DualEncoder, batch: dict) -> dict:
    """With augmentation on, the image targets are the teacher's embeddings of the very same crops."""
    with torch.no_grad():
        batch["t_image"] = teacher.image(batch["pixels"]).float()
        if "neg_pixels" in batch:
            batch["t_neg_image"] = teacher.image(batch["neg_pixels"]).float()
    return batch


def _run_stages(student: DualEncoder, teacher: DualEncoder, recipe: dict, out: Path, batch1, batch2, feeds=(None, None),
                precision: str = "auto", live: bool = False) -> tuple[DualEncoder, dict]:
    eot = student.cfg.text.eot_id
    s1, s2 = recipe["stage1"], recipe["stage2"]
    student.logit_scale.requires_grad_(False)  # stage 1 has a fixed temperature; DDP needs no unused params
    scale1 = 1.0 / s1["temperature"]

    def loss1(module: torch.nn.Module, step: int, batch: dict | None) -> tuple[torch.Tensor, dict]:
        batch = batch1(step) if batch is None else (_teacher_live(teacher, batch) if live else batch)
        return stage1_loss(module, batch, scale1, eot)

    student, state1 = train(student, loss1, Schedule(**s1["schedule"]), out / "stage1", {"recipe": recipe, "stage": 1},
                            "distill stage 1", feeds[0], precision)
    student.logit_scale.requires_grad_(True)
    t_scale = teacher.scale().detach()

    def loss2(module: torch.nn.Module, step: int, batch: dict | None) -> tuple[torch.Tensor, dict]:
        batch = batch2(step) if batch is None else (_teacher_live(teacher, batch) if live else batch)
        return stage2_loss(module, batch, student.scale(), t_scale.to(batch["pixels"].device), s2["kl_weight"], eot)

    student, state2 = train(student, loss2, Schedule(**s2["schedule"]), out / "stage2", {"recipe": recipe, "stage": 2},
                            "distill stage 2", feeds[1], precision)
    return student, {"stage1": state1, "stage2": state2}


def _frozen_teacher(recipe: dict) -> DualEncoder:
    teacher = load_model(recipe["teacher"])
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def distill_in_memory(recipe: dict, data: PairSet, out: Path, opts: RunOptions) -> tuple[DualEncoder, dict]:
    teacher = _frozen_teacher(recipe)
    cache = out / "teacher_index.safetensors"
    if cache.exists():
        index = load_file(str(cache))
        t_image, t_text = index["image"], index["text"]
    else:
        t_image, t_text = teacher_index(teacher, data)
        out.mkdir(parents=True, exist_ok=True)
        save_file({"image": t_image.contiguous(), "text": t_text.contiguous()}, str(cache))
    student = make_student(recipe, teacher)
    rank, world = distributed()
    seed, s1, s2 = recipe["seed"], recipe["stage1"]["schedule"], recipe["stage2"]["schedule"]
    hard = mine_hard_negatives(t_text, t_image, data.keys, recipe["stage2"]["hard_negatives_pool"])  # (N, pool)
    teacher.to(opts.device_obj)

    def batch1(step: int) -> dict:
        # Images and captions drawn independently: stage 1 never uses the pairing.
        img = rank_slice(batch_indices(seed, step, len(data), s1["batch_size"], stream=1), rank, world)
        txt = rank_slice(batch_indices(seed, step, len(data), s1["batch_size"], stream=2), rank, world)
        return _on_device({"pixels": data.pixels(img), "ids": data.ids[txt], "valid": torch.ones(len(img), dtype=torch.bool),
                           "t_image": t_image[img], "t_text": t_text[txt]}, opts)

    def batch2(step: int) -> dict:
        idx = batch_indices(seed, step, len(data), s2["batch_size"], stream=3)
        pick = np.random.default_rng([seed, 4, step]).integers(0, hard.shape[1], size=len(idx))
        neg = hard[idx, pick].numpy()  # one hard negative image per caption
        mine, mine_neg = rank_slice(idx, rank, world), rank_slice(neg, rank, world)
        ok = torch.ones(len(mine), dtype=torch.bool)
        return _on_device({"pixels": data.pixels(mine), "neg_pixels": data.pixels(mine_neg), "ids": data.ids[mine],
                           "valid": ok, "neg_valid": ok, "t_image": t_image[mine], "t_text": t_text[mine],
                           "t_neg_image": t_image[mine_neg]}, opts)

    return _run_stages(student, teacher, recipe, out, batch1, batch2, precision=opts.precision)


def _on_device(batch: dict, opts: RunOptions) -> dict:
    return {k: v.to(opts.device_obj) for k, v in batch.items()}


def distill_streaming(recipe: dict, data: StreamData, out: Path, opts: RunOptions) -> tuple[DualEncoder, dict]:
    teacher = _frozen_teacher(recipe)
    cache = teacher_cache_for(teacher, data, opts)
    student = make_student(recipe, teacher)
    teacher.to(opts.device_obj)
    live = data.augment is not None
    if live and teacher.cfg.preprocess.size != student.cfg.preprocess.size:
        raise ValueError("augment: the teacher runs on the student's crops, so both need the same input size")
    rank, world = distributed()
    feeds = [StreamFeed(data.source, data.spec(student.cfg, recipe[stage]["schedule"]["batch_size"], world,
                                               seed=recipe["seed"] + n, cache=cache,
                                               hard_negatives=recipe["stage2"]["hard_negatives_pool"] if n else 0),
                        rank, world, opts.workers, cache, opts.device_obj)
             for n, stage in enumerate(("stage1", "stage2"))]
    return _run_stages(student, teacher, recipe, out, None, None, feeds, opts.precision, live)


def distill(recipe: dict, data: PairSet | StreamData, out: Path, opts: RunOptions) -> tuple[DualEncoder, dict]:
    if isinstance(data, PairSet):
        return distill_in_memory(recipe, data, out, opts)
    return distill_streaming(recipe, data, out, opts)
