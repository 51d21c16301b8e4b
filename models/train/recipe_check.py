"""A training recipe's shape, checked before any work starts.

A wrong field must stop the run at once with one line naming it (`stage2.hard_negatives_pool must be ...`),
not as a traceback, and not after stage 1 has run for hours. Written by hand: the rules are few, and a
schema library would add a dependency to say the same things less plainly.
"""
from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Mapping
from pathlib import Path

from pocketclip.models.towers.configs import UnknownModel, resolve_config

REQUIRED = {"contrastive": ("model", "seed", "data", "schedule"),
            "distill": ("model", "teacher", "init", "seed", "data", "stage1", "stage2"),
            "pq": ("model", "teacher", "seed", "data", "pairs", "subspaces", "distill", "candidates")}
TOP = {"kind", "model", "teacher", "init", "seed", "data", "eval", "schedule", "stage1", "stage2", "name", "notes"}
SCHEDULE = {"steps", "batch_size", "lr", "warmup", "weight_decay", "save_every"}
STAGES = {"stage1": {"schedule", "temperature"}, "stage2": {"schedule", "kl_weight", "hard_negatives_pool"}}
DATA = {"train_size", "test_size", "seed", "source", "demo_shards", "images", "split", "shuffle_buffer",
        "teacher_cache", "augment"}
EVAL = {"source", "test_size", "images", "split"}
PQ = {"kind", "name", "model", "teacher", "seed", "data", "pairs", "subspaces", "codewords", "distill", "candidates",
      "notes"}
PQ_DISTILL = {"steps", "batch", "lr", "scale", "balance", "temperature"}  # distill_codebooks' options


class RecipeError(ValueError):
    """A recipe that cannot be run as written: the message says which field is wrong and why."""


def load_recipe(path: str | Path) -> dict:
    """A recipe file, read and checked; RecipeError names the file and the field."""
    try:
        recipe = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecipeError(f"{path}: not a readable JSON recipe ({exc})") from None
    try:
        check_recipe(recipe)
    except RecipeError as exc:
        raise RecipeError(f"{path}: {exc}") from None
    return recipe


def check_recipe(recipe: object) -> None:
    """Raise RecipeError for the first field that is missing, misspelt, of the wrong type or out of range."""
    if not isinstance(recipe, Mapping) or recipe.get("kind") not in REQUIRED:
        kind = recipe.get("kind") if isinstance(recipe, Mapping) else None
        raise RecipeError(f"recipe kind must be one of {sorted(REQUIRED)}, not {kind!r}")
    missing = [key for key in REQUIRED[recipe["kind"]] if key not in recipe]
    if missing:
        raise RecipeError(f"a {recipe['kind']} recipe needs {', '.join(missing)}")
    if recipe["kind"] == "pq":
        return _pq(recipe)
    _known("", recipe, TOP)
    _integer("seed", recipe["seed"], 0)
    _model("model", recipe["model"])
    schedules = {"schedule": recipe.get("schedule")} if recipe["kind"] == "contrastive" else {}
    if recipe["kind"] == "distill":
        _teacher(recipe["teacher"])
        if recipe["init"] not in ("inherit", "scratch"):
            raise RecipeError(f"init must be 'inherit' or 'scratch', not {recipe['init']!r}")
        for stage, keys in STAGES.items():
            _known(stage, recipe[stage], keys, needs=keys)
            schedules[f"{stage}.schedule"] = recipe[stage]["schedule"]
        _number("stage1.temperature", recipe["stage1"]["temperature"], above=0)
        _number("stage2.kl_weight", recipe["stage2"]["kl_weight"], least=0)
        _integer("stage2.hard_negatives_pool", recipe["stage2"]["hard_negatives_pool"], 1)
    for where, schedule in schedules.items():
        _schedule(where, schedule)
    _data(recipe)
    if "eval" in recipe:
        _known("eval", recipe["eval"], EVAL)
        _text("eval", recipe["eval"], ("source", "images", "split"))
        if "test_size" in recipe["eval"]:
            _integer("eval.test_size", recipe["eval"]["test_size"], 1)


def _pq(recipe: Mapping) -> None:
    """A `pq` recipe (models/train/pq.py): codebooks for a stored model, distilled from its teacher."""
    _known("", recipe, PQ)
    _integer("seed", recipe["seed"], 0)
    if not isinstance(recipe["model"], str) or not recipe["model"].strip():
        raise RecipeError(f"model must be a stored model's name or folder, not {recipe['model']!r}")
    _teacher(recipe["teacher"])
    if "name" in recipe and not (isinstance(recipe["name"], str) and re.fullmatch(r"[A-Za-z0-9_-]+", recipe["name"])):
        raise RecipeError(f"name must be letters, digits, '-' or '_' (it names the published files), "
                          f"not {recipe['name']!r}")
    _known("data", recipe["data"], {"train_size", "test_size", "seed"}, needs={"train_size", "test_size", "seed"})
    size = _integer("data.train_size", recipe["data"]["train_size"], 2)
    _integer("data.test_size", recipe["data"]["test_size"], 1)
    _integer("data.seed", recipe["data"]["seed"], 0)
    codewords = _integer("codewords", recipe.get("codewords", 256), 2)
    if codewords > 256:
        raise RecipeError(f"codewords must be at most 256 (a code is a byte), not {codewords}")
    pairs = _integer("pairs", recipe["pairs"], codewords)  # k-means needs a vector per codeword at least
    if pairs > size:
        raise RecipeError(f"pairs {pairs} is more than data.train_size {size}")
    _integer("subspaces", recipe["subspaces"], 1)
    _integer("candidates", recipe["candidates"], 1)
    _known("distill", recipe["distill"], PQ_DISTILL)
    for key, value in recipe["distill"].items():
        if key in ("steps", "batch"):
            _integer(f"distill.{key}", value, 1)
        elif key == "balance":
            _number("distill.balance", value, least=0)
        else:
            _number(f"distill.{key}", value, above=0)


def _teacher(spec: object) -> None:
    if not isinstance(spec, str) or not spec.strip():
        raise RecipeError(f"teacher must be a checkpoint folder, a model name or hf:HUB_ID, not {spec!r}")


def _data(recipe: Mapping) -> None:
    data = recipe["data"]
    _known("data", data, DATA)
    _text("data", data, ("source", "images", "split", "teacher_cache"))
    for key in ("seed", "test_size", "shuffle_buffer"):
        if key in data:
            _integer(f"data.{key}", data[key], 0 if key == "seed" else 1)
    if "augment" in data and not isinstance(data["augment"], Mapping | None):
        raise RecipeError(f"data.augment must be an object like {{\"scale\": [0.5, 1.0]}}, not {data['augment']!r}")
    if "demo_shards" in data:
        shards = data["demo_shards"]
        _known("data.demo_shards", shards, {"folder", "count", "per_shard"}, needs={"folder", "count"})
        _text("data.demo_shards", shards, ("folder",))
        _integer("data.demo_shards.count", shards["count"], 1)
        if "per_shard" in shards:
            _integer("data.demo_shards.per_shard", shards["per_shard"], 1)
    if "source" in data or "demo_shards" in data:
        return
    # In memory: the demo split drawn by (train_size, seed); a batch is a sample of it without repeats.
    for key in ("train_size", "seed"):
        if key not in data:
            raise RecipeError("data needs train_size and seed (the demo split), or a source, or demo_shards")
    size = _integer("data.train_size", data["train_size"], 2)
    stages = [("schedule", recipe.get("schedule"))] if recipe["kind"] == "contrastive" else [
        (f"{s}.schedule", recipe[s]["schedule"]) for s in STAGES]
    for where, schedule in stages:
        if schedule["batch_size"] > size:
            raise RecipeError(f"{where}.batch_size {schedule['batch_size']} is more than data.train_size {size}")
    if recipe["kind"] == "distill" and recipe["stage2"]["hard_negatives_pool"] >= size:
        raise RecipeError(f"stage2.hard_negatives_pool {recipe['stage2']['hard_negatives_pool']} must be less than "
                          f"data.train_size {size}")


def _schedule(where: str, schedule: object) -> None:
    _known(where, schedule, SCHEDULE, needs={"steps", "batch_size", "lr"})
    _integer(f"{where}.steps", schedule["steps"], 1)
    _integer(f"{where}.batch_size", schedule["batch_size"], 1)
    _number(f"{where}.lr", schedule["lr"], above=0)
    for key, least in (("warmup", 0), ("save_every", 1)):
        if key in schedule:
            _integer(f"{where}.{key}", schedule[key], least)
    if "weight_decay" in schedule:
        _number(f"{where}.weight_decay", schedule["weight_decay"], least=0)


def _model(where: str, spec: object) -> None:
    if not isinstance(spec, str | Mapping):
        raise RecipeError(f"{where} must be a registered name or a config object, not {spec!r}")
    try:
        resolve_config(spec)
    except UnknownModel as exc:
        raise RecipeError(f"{where}: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise RecipeError(f"{where}: not a model config ({type(exc).__name__}: {exc})") from None


def _known(where: str, value: object, allowed: set, needs: set | tuple = ()) -> None:
    name = where or "the recipe"
    if not isinstance(value, Mapping):
        raise RecipeError(f"{name} must be an object, not {value!r}")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise RecipeError(f"{name}: unknown field {', '.join(map(repr, unknown))}; known: {', '.join(sorted(allowed))}")
    missing = sorted(set(needs) - set(value))
    if missing:
        raise RecipeError(f"{name} needs {', '.join(missing)}")


def _text(where: str, value: Mapping, keys: tuple) -> None:
    for key in keys:
        if key in value and (not isinstance(value[key], str) or not value[key].strip()):
            raise RecipeError(f"{where}.{key} must be a non-empty string, not {value[key]!r}")


def _integer(where: str, value: object, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise RecipeError(f"{where} must be an integer of at least {least}, not {value!r}")
    return int(value)


def _number(where: str, value: object, above: float | None = None, least: float | None = None) -> float:
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)
    if ok and above is not None:
        ok = value > above
    if ok and least is not None:
        ok = value >= least
    if not ok:
        bound = f"above {above}" if above is not None else f"at least {least}"
        raise RecipeError(f"{where} must be a finite number {bound}, not {value!r}")
    return float(value)
