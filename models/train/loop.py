"""The training loop both recipes share: schedule, resumable checkpoints, progress, devices, torchrun/DDP.

Run single-process as is, or under `torchrun --nproc_per_node N -m pocketclip.models.train ...`: each rank
takes its slice of every global batch and embeddings are all-gathered, so the contrastive losses
see the whole batch whatever the number of processes. The process group is nccl when the run's
device is a GPU and gloo on CPU; each rank uses the GPU its LOCAL_RANK names.
"""
from __future__ import annotations

import json
import math
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from pocketclip.models.towers.checkpoint import load_state, save_model


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


_device = torch.device("cpu")
AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' | 'cpu' | 'cuda' | 'mps' -> the device this rank trains on (cuda: the LOCAL_RANK-th GPU)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda: this torch build sees no CUDA GPU")
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
    if name == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError("--device mps: Metal is not available here")
        return torch.device("mps")
    if name != "cpu":
        raise ValueError(f"device must be auto, cpu, cuda or mps, not {name!r}")
    return torch.device("cpu")


def use_device(device: torch.device) -> None:
    """Train on `device` from now on (and join the process group with the backend it needs)."""
    global _device
    _device = device
    if device.type == "cuda":
        torch.cuda.set_device(device)


def current_device() -> torch.device:
    return _device


def autocast_dtype(precision: str) -> torch.dtype | None:
    """'auto': bf16 on a GPU that has it, else fp16 on a GPU, fp32 on CPU and MPS."""
    if precision == "auto":
        if _device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if precision not in AUTOCAST:
        raise ValueError(f"precision must be auto, bf16, fp16 or fp32, not {precision!r}")
    return AUTOCAST[precision]


def world_size() -> int:
    """How many ranks torchrun started (1 when run as a plain process)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def distributed() -> tuple[int, int]:
    """(rank, world size); joins the process group torchrun describes, if any."""
    world = world_size()
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if _device.type == "cuda" else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def leave_process_group() -> None:
    """Destroy the process group, if any: the last collective is done and the rank works on alone."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def end_rank(code: int) -> NoReturn:
    """End a torchrun rank: leave the group, flush, and exit without the interpreter's shutdown.

    Why not a plain return: after training, gloo's worker threads outlive destroy_process_group (both
    pt_gloo_runloop threads stay once our model was wrapped in DDP, or went backward through
    torch.distributed.nn's all_gather; which object keeps the group is not known). One that drops the
    last reference to a Python-made tensor while the interpreter shuts down takes the GIL, which ends the
    thread inside a C++ destructor: "terminate called without an active exception", SIGABRT, and torchrun
    fails a run whose files were all written (about once in 11 two-rank runs here; pytorch/pytorch#179291,
    an atexit destroy, was abandoned upstream)."""
    leave_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def total_skipped(counts: dict) -> dict:
    """Skipped-sample counts summed over ranks."""
    if not (dist.is_available() and dist.is_initialized()):
        return dict(counts)
    every: list = [None] * dist.get_world_size()
    dist.all_gather_object(every, dict(counts))
    return dict(sum((Counter(c) for c in every), Counter()))


def gather(x: torch.Tensor) -> torch.Tensor:
    """Concatenate a tensor across ranks, keeping gradients (identity on one process)."""
    if not (dist.is_available() and dist.is_initialized()):
        return x
    import torch.distributed.nn.functional as dist_fn
    return torch.cat(dist_fn.all_gather(x))


def gather_mask(mask: torch.Tensor) -> torch.Tensor:
    """A boolean mask concatenated across ranks (sent as uint8, which every backend carries)."""
    return gather(mask.to(torch.uint8)).bool()


def batch_indices(seed: int, step: int, n: int, batch_size: int, stream: int = 0) -> np.ndarray:
    """The global batch of a step; a pure function of (seed, step), so a resumed run sees the same data."""
    return np.random.default_rng([seed, stream, step]).choice(n, size=batch_size, replace=False)


def rank_slice(indices: np.ndarray, rank: int, world: int) -> np.ndarray:
    return np.array_split(indices, world)[rank]


def _optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    state = opt.state_dict()
    tensors = {f"{i}.{k}": v.detach().cpu().contiguous() for i, s in state["state"].items() for k, v in s.items()}
    return tensors, {"param_groups": state["param_groups"]}


def save_training_state(folder: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, step: int,
                        extra: dict, feed_states: list | None = None) -> None:
    """Weights, optimizer and step, written to a temporary folder first so a kill never leaves half."""
    tmp = folder.with_name(folder.name + ".tmp")
    save_model(model, tmp, extra=extra)
    tensors, groups = _optimizer_tensors(opt)
    save_file(tensors, str(tmp / "optimizer.safetensors"))
    (tmp / "state.json").write_text(json.dumps({"step": step, "feeds": feed_states, **groups}) + "\n")
    if folder.exists():
        old = folder.with_name(folder.name + ".old")
        folder.rename(old)
        tmp.rename(folder)
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    else:
        tmp.rename(folder)


def load_training_state(folder: Path, model: torch.nn.Module, opt: torch.optim.Optimizer) -> tuple[int, dict | None]:
    """Restore weights and optimizer from `folder`; returns the step to continue from and the data position."""
    load_state(model, load_file(str(folder / "model.safetensors")))
    meta = json.loads((folder / "state.json").read_text())
    per_param: dict[int, dict] = {}
    for key, value in load_file(str(folder / "optimizer.safetensors")).items():
        index, name = key.split(".", 1)
        per_param.setdefault(int(index), {})[name] = value
    opt.load_state_dict({"state": per_param, "param_groups": meta["param_groups"]})
    feeds = meta.get("feeds") or [None]
    rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
    return int(meta["step"]), feeds[rank] if rank < len(feeds) else None


class Feed:
    """Where the loop's batches come from: `batches(state)` yields (batch, state after it).

    This one feeds nothing (the in-memory recipes draw their batch from the step number)."""

    def batches(self, state: dict | None) -> Iterator[tuple[None, dict | None]]:
        while True:
            yield None, None


LossFn = Callable[[torch.nn.Module, int, dict | None], tuple[torch.Tensor, dict]]


def train(model: torch.nn.Module, loss_fn: LossFn, schedule: Schedule, out: Path, extra: dict, desc: str,
          feed: Feed | None = None, precision: str = "auto") -> tuple[torch.nn.Module, dict | None]:
    """Run `loss_fn(module, step, batch)` for the schedule's steps, resuming from `out/checkpoint` if present.

    Returns the model (back on the CPU) and the feed's final state (its skipped-sample counts)."""
    rank, world = distributed()
    device, dtype = current_device(), autocast_dtype(precision)
    model.to(device)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": schedule.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=schedule.lr, betas=(0.9, 0.98))
    ckpt = out / "checkpoint"
    start, feed_state = load_training_state(ckpt, model, opt) if (ckpt / "state.json").exists() else (0, None)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    module = model
    if world > 1:
        module = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda"
                                                           else None)
    module.train()
    bar = tqdm(range(start, schedule.steps), initial=start, total=schedule.steps, desc=desc, unit="step",
               disable=rank != 0, dynamic_ncols=True)
    batches = (feed or Feed()).batches(feed_state)
    for step in bar:
        batch, feed_state = next(batches)
        if batch is not None:
            batch = {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}
        for group in opt.param_groups:
            group["lr"] = schedule.lr_at(step)
        with torch.autocast(device.type, dtype=dtype) if dtype else nullcontext():
            loss, logs = loss_fn(module, step, batch)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        bar.set_postfix(loss=f"{loss.item():.3f}", **{k: f"{v:.3f}" for k, v in logs.items()})
        done = step + 1
        if done % schedule.save_every == 0 or done == schedule.steps:
            states = [feed_state]  # every rank's data position goes into the one checkpoint
            if world > 1:
                states = [None] * world
                dist.all_gather_object(states, feed_state)
            if rank == 0:
                save_training_state(ckpt, model, opt, done, extra, states)
    batches.close()  # stops the loader's worker processes now, not whenever the generator is collected
    model.eval().cpu()
    return model, feed_state
