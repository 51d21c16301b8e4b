"""The training loop both recipes share: schedule, resumable checkpoints, progress, torchrun/DDP.

Run single-process as is, or under `torchrun --nproc_per_node N -m pocketclip.models.train ...`: each rank
takes its slice of every global batch and embeddings are all-gathered, so the contrastive losses
see the whole batch whatever the number of processes.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from pocketclip.models.checkpoint import load_state, save_model


@dataclass(frozen=True)
class Schedule:
    steps: int
    batch_size: int
    lr: float
    warmup: int = 100
    weight_decay: float = 0.1
    save_every: int = 200

    def lr_at(self, step: int) -> float:
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        progress = (step - self.warmup) / max(1, self.steps - self.warmup)
        return self.lr * 0.5 * (1 + math.cos(math.pi * progress))


def distributed() -> tuple[int, int]:
    """(rank, world size); joins the process group torchrun describes, if any."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def gather(x: torch.Tensor) -> torch.Tensor:
    """Concatenate a tensor across ranks, keeping gradients (identity on one process)."""
    if not (dist.is_available() and dist.is_initialized()):
        return x
    import torch.distributed.nn.functional as dist_fn
    return torch.cat(dist_fn.all_gather(x))


def batch_indices(seed: int, step: int, n: int, batch_size: int, stream: int = 0) -> np.ndarray:
    """The global batch of a step; a pure function of (seed, step), so a resumed run sees the same data."""
    return np.random.default_rng([seed, stream, step]).choice(n, size=batch_size, replace=False)


def rank_slice(indices: np.ndarray, rank: int, world: int) -> np.ndarray:
    return np.array_split(indices, world)[rank]


def _optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    state = opt.state_dict()
    tensors = {f"{i}.{k}": v.contiguous() for i, s in state["state"].items() for k, v in s.items()}
    return tensors, {"param_groups": state["param_groups"]}


def save_training_state(folder: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, step: int,
                        extra: dict) -> None:
    """Weights, optimizer and step, written to a temporary folder first so a kill never leaves half."""
    tmp = folder.with_name(folder.name + ".tmp")
    save_model(model, tmp, extra=extra)
    tensors, groups = _optimizer_tensors(opt)
    save_file(tensors, str(tmp / "optimizer.safetensors"))
    (tmp / "state.json").write_text(json.dumps({"step": step, **groups}) + "\n")
    if folder.exists():
        old = folder.with_name(folder.name + ".old")
        folder.rename(old)
        tmp.rename(folder)
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    else:
        tmp.rename(folder)


def load_training_state(folder: Path, model: torch.nn.Module, opt: torch.optim.Optimizer) -> int:
    """Restore weights and optimizer from `folder`; returns the step to continue from."""
    load_state(model, load_file(str(folder / "model.safetensors")))
    meta = json.loads((folder / "state.json").read_text())
    per_param: dict[int, dict] = {}
    for key, value in load_file(str(folder / "optimizer.safetensors")).items():
        index, name = key.split(".", 1)
        per_param.setdefault(int(index), {})[name] = value
    opt.load_state_dict({"state": per_param, "param_groups": meta["param_groups"]})
    return int(meta["step"])


def train(model: torch.nn.Module, loss_fn: Callable[[torch.nn.Module, int], tuple[torch.Tensor, dict]],
          schedule: Schedule, out: Path, extra: dict, desc: str) -> torch.nn.Module:
    """Run `loss_fn(module, step)` for the schedule's steps, resuming from `out/checkpoint` if present."""
    rank, world = distributed()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": schedule.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=schedule.lr, betas=(0.9, 0.98))
    ckpt = out / "checkpoint"
    start = load_training_state(ckpt, model, opt) if (ckpt / "state.json").exists() else 0
    module = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    module.train()
    bar = tqdm(range(start, schedule.steps), initial=start, total=schedule.steps, desc=desc, unit="step",
               disable=rank != 0, dynamic_ncols=True)
    for step in bar:
        for group in opt.param_groups:
            group["lr"] = schedule.lr_at(step)
        loss, logs = loss_fn(module, step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        bar.set_postfix(loss=f"{loss.item():.3f}", **{k: f"{v:.3f}" for k, v in logs.items()})
        done = step + 1
        if rank == 0 and (done % schedule.save_every == 0 or done == schedule.steps):
            save_training_state(ckpt, model, opt, done, extra)
    model.eval()
    return model
