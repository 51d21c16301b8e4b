"""Training and evaluation data: sources of (key, image, caption), streaming loaders, the teacher cache,
and the demo world (its generator and splits). May import towers/ and the runtime."""
