"""The torch floor: towers/ (encoders), data/ (sources, loaders, the demo world), train/ (distillation,
PQ training) and eval/ (the retrieval protocol). Stands on the runtime; never imports the exporter."""
