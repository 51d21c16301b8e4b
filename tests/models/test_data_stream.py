"""Streaming: every sample once per epoch over ranks and workers, exact resume, skipped samples counted."""
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_data_sources import hostile_shard
from tests_support import demo_jpeg, tiny, write_shard

import pocketclip.models.train.loop as training
from pocketclip.models.data.feed import StreamFeed
from pocketclip.models.data.loader import StreamSpec
from pocketclip.models.data.sources import open_source
from pocketclip.models.towers.checkpoint import fingerprint, load_model, save_model
from pocketclip.models.towers.configs import ModelConfig, PreprocessConfig
from pocketclip.models.towers.dual_encoder import DualEncoder
from pocketclip.models.train.data_options import RunOptions
from pocketclip.models.train.run import run_recipe

SPEC = StreamSpec(batch_size=4, preprocess=dataclasses.asdict(PreprocessConfig(size=32)), shuffle_buffer=8)


def uneven_shards(folder: Path) -> tuple[str, list[str]]:
    """Five shards of 10, 10, 10, 7 and 7 samples: the two ranks get different numbers of samples."""
    keys = []
    for s, n in enumerate([10, 10, 10, 7, 7]):
        samples = []
        for i in range(n):
            jpeg, caption = demo_jpeg(s * 10 + i, size=40)
            samples.append({"__key__": f"s{s}-{i:02d}", "jpg": jpeg, "txt": caption})
            keys.append(f"s{s}-{i:02d}")
        write_shard(folder / f"part-{s:05d}.tar", samples)
    return f"{folder}/part-{{00000..00004}}.tar", keys


def epoch_keys(feed: StreamFeed, state=None, epochs: int = 1) -> tuple[list[str], dict]:
    """The valid keys of the epochs before `epochs`, and the state at their end."""
    seen, last = [], state
    for batch, state in feed.batches(state):
        if state["epoch"] == epochs:
            break
        seen += [k for k, ok in zip(batch["keys"], batch["valid"].tolist()) if ok]
        last = state
    return seen, last


@pytest.mark.slow
def test_two_ranks_with_two_workers_each_see_every_sample_once_per_epoch(tmp_path):
    pattern, keys = uneven_shards(tmp_path)
    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                          "--master_port", "29531", str(Path(__file__).parent / "rank_keys.py"), pattern, str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    for epoch in range(2):
        seen = ranks[0]["epochs"][epoch] + ranks[1]["epochs"][epoch]
        assert sorted(seen) == sorted(keys), f"epoch {epoch}"  # all 44, none twice
        assert set(ranks[0]["epochs"][epoch]).isdisjoint(ranks[1]["epochs"][epoch])
    assert ranks[0]["epochs"][0] != ranks[0]["epochs"][1]  # shards and buffer reshuffled per epoch
    assert ranks[0]["state"]["samples"] + ranks[1]["state"]["samples"] == 2 * len(keys)


def test_the_order_does_not_depend_on_the_number_of_workers(tmp_path):
    pattern, keys = uneven_shards(tmp_path)
    source = open_source(f"shards:{pattern}")
    orders = [epoch_keys(StreamFeed(source, SPEC, 0, 1, workers))[0] for workers in (0, 1, 3)]
    assert orders[0] == orders[1] == orders[2] and sorted(orders[0]) == sorted(keys)
    # resumed from the state after batch 3, with another worker count: the very next sample on
    first, state = [], None
    for n, (batch, state) in enumerate(StreamFeed(source, SPEC, 0, 1, 2).batches()):
        first += [k for k, ok in zip(batch["keys"], batch["valid"].tolist()) if ok]
        if n == 2:
            break
    rest, _ = epoch_keys(StreamFeed(source, SPEC, 0, 1, 3), state)
    assert first + rest == orders[0]


def test_broken_samples_are_skipped_and_counted_once(tmp_path):
    good = hostile_shard(tmp_path / "a.tar")
    data = (tmp_path / "a.tar").read_bytes()
    (tmp_path / "b.tar").write_bytes(data[: len(data) * 2 // 3 + 100])  # the end of the shard is cut off
    source = open_source(f"shards:{tmp_path}/{{a,b}}.tar")
    left = [s.key for s in source.samples(1) if s.key.startswith("good")]
    assert 0 < len(left) < len(good)
    seen, state = epoch_keys(StreamFeed(source, SPEC, 0, 1, 2))
    assert sorted(seen) == sorted(good + left)  # each usable sample once, no broken one
    b_broken = [s for s in source.samples(1) if not s.key.startswith("good")]
    assert state["skipped"].pop("unreadable shard data") == 1
    assert state["skipped"] == {"undecodable image": 1 + sum(s.key == "corrupt" for s in b_broken),
                                "no caption": 2 + sum(s.key in ("nocaption", "blankcaption") for s in b_broken),
                                "no image": 1 + sum(s.key == "noimage" for s in b_broken)}


def stream_recipe(teacher: Path, pattern: str, cache: Path, steps: int = 6) -> dict:
    stage = {"steps": steps, "batch_size": 8, "lr": 1e-3, "warmup": 1, "save_every": 3}
    return {"kind": "distill", "model": tiny("tiny-student", layers=1, token_dim=4), "teacher": str(teacher),
            "init": "inherit", "seed": 0,
            "data": {"source": f"shards:{pattern}", "shuffle_buffer": 16, "teacher_cache": str(cache)},
            "eval": {"source": f"shards:{pattern}"},
            "stage1": {"schedule": stage, "temperature": 0.05},
            "stage2": {"schedule": stage, "kl_weight": 1.0, "hard_negatives_pool": 4}}


class Killed(Exception):
    pass


def test_a_run_killed_mid_epoch_resumes_bit_identical(tmp_path, monkeypatch, capfd):
    torch.manual_seed(0)
    save_model(DualEncoder(ModelConfig.from_dict(tiny("tiny-teacher", token_dim=None))), tmp_path / "teacher")
    hostile_shard(tmp_path / "a.tar")
    pattern, _ = uneven_shards(tmp_path)
    pattern = f"{tmp_path}/{{a,part-00000,part-00001,part-00003}}.tar"  # 37 samples: 5 batches of 8 an epoch
    recipe = stream_recipe(tmp_path / "teacher", pattern, tmp_path / "cache")
    straight = run_recipe(recipe, tmp_path / "straight", opts=RunOptions("cpu", "auto", 0))
    assert "skipped" in capfd.readouterr().err

    real_save, saves = training.save_training_state, []

    def save_then_die(*args, **kwargs):
        real_save(*args, **kwargs)
        saves.append(1)
        if len(saves) == 3:  # stage 2's step-3 checkpoint: batch 3 of its first epoch
            raise Killed

    monkeypatch.setattr(training, "save_training_state", save_then_die)
    with pytest.raises(Killed):
        run_recipe(recipe, tmp_path / "broken", opts=RunOptions("cpu", "auto", 2))
    monkeypatch.setattr(training, "save_training_state", real_save)
    state = json.loads((tmp_path / "broken" / "stage2" / "checkpoint" / "state.json").read_text())
    assert state["step"] == 3 and state["feeds"][0]["epoch"] == 0 and state["feeds"][0]["batch"] == 3
    resumed = run_recipe(recipe, tmp_path / "broken", opts=RunOptions("cpu", "auto", 1))  # another worker count
    assert fingerprint(load_model(tmp_path / "broken" / "model")) == fingerprint(load_model(tmp_path / "straight" / "model"))
    assert resumed == straight
    data = [json.loads((tmp_path / run / "data.json").read_text()) for run in ("straight", "broken")]
    assert data[0] == data[1] and sum(data[0]["skipped"]["stage1"].values()) > 0


def test_teacher_cache_is_computed_once_and_resumes_by_unit(tmp_path):
    torch.manual_seed(0)
    save_model(DualEncoder(ModelConfig.from_dict(tiny("tiny-teacher", token_dim=None))), tmp_path / "teacher")
    pattern, _ = uneven_shards(tmp_path)
    recipe = stream_recipe(tmp_path / "teacher", pattern, tmp_path / "cache", steps=1)
    run_recipe(recipe, tmp_path / "one", opts=RunOptions("cpu", "auto", 0))
    [folder] = (tmp_path / "cache").iterdir()
    units = sorted(folder.glob("unit-*.npz"))
    assert len(units) == 5
    stamps = {u.name: u.stat().st_mtime_ns for u in units}
    units[2].unlink()  # as if the run was killed before this unit was written
    run_recipe(recipe, tmp_path / "two", opts=RunOptions("cpu", "auto", 0))
    assert {u.name: u.stat().st_mtime_ns for u in folder.glob("unit-*.npz") if u.name != units[2].name} == {
        k: v for k, v in stamps.items() if k != units[2].name}
    assert units[2].exists()
    import numpy as np
    with np.load(units[0]) as d:
        assert d["image"].dtype == np.float16 and d["image"].shape == (10, 16) and list(d["keys"][:2]) == ["s0-00", "s0-01"]


def test_random_resized_crops_are_off_by_default_and_repeat_by_seed(tmp_path):
    from pocketclip.models.data.decode import RandomResizedCrop

    pattern, _ = uneven_shards(tmp_path)
    source = open_source(f"shards:{pattern}")
    crop = RandomResizedCrop.from_recipe({"scale": [0.3, 0.6]})
    assert RandomResizedCrop.from_recipe(None) is None
    with pytest.raises(ValueError, match="scale"):
        RandomResizedCrop.from_recipe({"scale": [0.8, 0.2]})

    def first_batch(spec):
        return next(StreamFeed(source, spec, 0, 1, 0).batches())[0]

    plain, a, b = first_batch(SPEC), *(first_batch(dataclasses.replace(SPEC, augment=crop)) for _ in range(2))
    assert plain["keys"] == a["keys"] and torch.equal(a["pixels"], b["pixels"])
    assert (a["pixels"] - plain["pixels"]).abs().mean() > 0.05  # a crop of 30-60% of the area differs


def test_with_augmentation_the_teacher_sees_the_same_crops(tmp_path):
    torch.manual_seed(0)
    save_model(DualEncoder(ModelConfig.from_dict(tiny("tiny-teacher", token_dim=None))), tmp_path / "teacher")
    pattern, _ = uneven_shards(tmp_path)
    recipe = stream_recipe(tmp_path / "teacher", pattern, tmp_path / "cache", steps=2)
    recipe["data"]["augment"] = {"scale": [0.5, 1.0]}
    report = run_recipe(recipe, tmp_path / "run", opts=RunOptions("cpu", "auto", 0))
    assert report["images"] == 44
    recipe["model"]["preprocess"] = {"size": 40}
    recipe["model"]["image"]["image_size"] = 40
    with pytest.raises(ValueError, match="same input size"):
        run_recipe(recipe, tmp_path / "run2", opts=RunOptions("cpu", "auto", 0))
