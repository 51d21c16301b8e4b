"""Training and evaluation data: sources of (key, image, caption), streaming loaders, the teacher cache."""
