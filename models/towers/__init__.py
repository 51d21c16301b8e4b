"""The encoders: configs, blocks, image and text towers, the dual encoder, checkpoints, HF CLIP loading.
May import torch and the runtime; never train/, data/ or eval/."""
