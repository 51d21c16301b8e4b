"""Run under torchrun by test_data_stream: each rank writes the sample keys it saw, per epoch.

    python -m torch.distributed.run --nproc_per_node 2 tests/models/rank_keys.py PATTERN OUT_DIR
"""
import dataclasses
import json
import sys

from pocketclip.models.data.feed import StreamFeed
from pocketclip.models.data.loader import StreamSpec
from pocketclip.models.data.sources import open_source
from pocketclip.models.towers.configs import PreprocessConfig
from pocketclip.models.train.loop import distributed, end_rank

pattern, out = sys.argv[1], sys.argv[2]
rank, world = distributed()
spec = StreamSpec(batch_size=4, preprocess=dataclasses.asdict(PreprocessConfig(size=32)), shuffle_buffer=8)
feed = StreamFeed(open_source(f"shards:{pattern}"), spec, rank, world, workers=2)
epochs: list[list[str]] = [[], []]
last = None
batches = feed.batches()
for batch, state in batches:
    if state["epoch"] == 2:
        break
    epochs[state["epoch"]] += [k for k, ok in zip(batch["keys"], batch["valid"].tolist()) if ok]
    last = state
batches.close()  # stops the loader's worker processes before end_rank skips the interpreter's shutdown
with open(f"{out}/rank{rank}.json", "w") as f:
    json.dump({"epochs": epochs, "state": last}, f)
end_rank(0)
