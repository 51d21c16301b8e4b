"""Distillation: recipes and their checks, the training loop, losses, hard negatives, PQ codebook training.
May import towers/, data/, eval/ and the runtime. `python -m pocketclip.models.train RECIPE` runs a recipe."""
