"""Demo-scale quality of a student family: its demo analogue distilled from the demo teacher, R@1 both ways.

The recipe is the standard one (models/recipes/demo-student.json: two-stage distillation, inherit init,
the same learning rates, temperature, KL weight and hard negatives) on its own schedule or a shorter one,
run through `pocketclip.models.train.run_recipe`; the demo teacher is evaluated on the same held-out split.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from pocketclip.models.towers.configs import DEMO_ANALOGUES, get_config

DEMO_TEACHER = "demo-teacher"


def demo_name(candidate: str) -> str:
    """The demo-scale model standing for `candidate` ('IMAGE+TEXT'); demo-scale towers stand for themselves."""
    image, plus, text = candidate.partition("+")
    demo_towers = set(DEMO_ANALOGUES.values())
    if not plus:
        raise ValueError(f"a candidate is IMAGE+TEXT, not {candidate!r}")
    names = []
    for tower in (image, text):
        if tower not in DEMO_ANALOGUES and tower not in demo_towers:
            raise ValueError(f"{tower!r} has no demo-scale analogue; towers with one: {sorted(DEMO_ANALOGUES)}")
        names.append(DEMO_ANALOGUES.get(tower, tower))
    return "+".join(names)


def schedule(steps: int, lr: float) -> dict:
    return {"steps": steps, "batch_size": 256, "lr": lr, "warmup": max(1, min(50, steps // 10)),
            "weight_decay": 0.05, "save_every": steps}


def demo_recipe(model: str, steps: tuple[int, int], train_size: int, test_size: int,
                teacher: str = DEMO_TEACHER) -> dict:
    """models/recipes/demo-student.json for `model`, with `steps` (stage 1, stage 2) for its 1000 each."""
    get_config(model)  # an unknown name fails here, before any data is drawn
    return {
        "kind": "distill", "model": model, "teacher": teacher, "init": "inherit",
        "data": {"train_size": train_size, "test_size": test_size, "seed": 0},
        "stage1": {"schedule": schedule(steps[0], 0.0005), "temperature": 0.05},
        "stage2": {"schedule": schedule(steps[1], 0.0002), "kl_weight": 1.0, "hard_negatives_pool": 16},
        "seed": 0,
    }


# distill.py's cache of the teacher's embeddings of the training split: the same for every student distilled
# from one teacher on one split, so a run seeds it from an earlier one (a renamed cache only costs time).
TEACHER_INDEX = "teacher_index.safetensors"


def distill_demo(model: str, steps: tuple[int, int], train_size: int, test_size: int, work: Path) -> dict:
    """Distil demo-scale `model` from the demo teacher (resuming a run left in `work`); R@1 and wall time."""
    from pocketclip.models.train.run import run_recipe

    recipe = demo_recipe(model, steps, train_size, test_size)
    # another schedule or split: another run folder
    out = work / f"{model.replace('+', '__')}-{steps[0]}+{steps[1]}steps-train{train_size}"
    shared = work / f"{DEMO_TEACHER}-train{train_size}-{TEACHER_INDEX}"
    if shared.exists() and not (out / TEACHER_INDEX).exists():
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(shared, out / TEACHER_INDEX)
    start = time.perf_counter()
    report = run_recipe(recipe, out, command=f"benchmarks.students ({steps[0]} + {steps[1]} steps)")
    if (out / TEACHER_INDEX).exists() and not shared.exists():
        shutil.copy(out / TEACHER_INDEX, shared)
    return {"name": model, "steps": list(steps), "train_s": round(time.perf_counter() - start, 1),
            **{k: report[k] for k in ("params", "bytes", "t2i_r1", "i2t_r1", "t2i_r5", "i2t_r5")}}


def teacher_quality(test_size: int, teacher: str = DEMO_TEACHER) -> dict:
    """The demo teacher on the held-out split the students are evaluated on."""
    from pocketclip.models.data.demo_data import load_split
    from pocketclip.models.eval.evaluate import evaluate
    from pocketclip.models.towers.checkpoint import WEIGHTS_DIR, load_model

    committed = WEIGHTS_DIR / teacher / "eval.json"
    if committed.exists() and json.loads(committed.read_text()).get("pairs") == test_size:
        report = json.loads(committed.read_text())
    else:
        model = load_model(teacher)
        report = evaluate(model, load_split("test", test_size, model.cfg.preprocess, 0))
    return {"name": teacher, **{k: report[k] for k in ("params", "bytes", "t2i_r1", "i2t_r1", "t2i_r5", "i2t_r5")}}
