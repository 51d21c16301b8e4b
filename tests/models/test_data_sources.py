"""Data sources: WebDataset shards (with broken members), Karpathy split files, CSV/JSONL, demo shards."""
import json

import pytest
from tests_support import demo_jpeg, write_shard

from pocketclip.models.data.demo_shards import write_demo_shards
from pocketclip.models.data.sources import DataError, open_source


def hostile_shard(path):
    """Good samples around every kind of broken one; returns the good keys."""
    good = []
    samples = []
    for i in range(6):
        jpeg, caption = demo_jpeg(i)
        samples.append({"__key__": f"good{i}", "jpg": jpeg, "txt": caption})
        good.append(f"good{i}")
    jpeg, caption = demo_jpeg(7)
    samples[2:2] = [{"__key__": "corrupt", "jpg": b"\xff\xd8\xff\xe0 this is not a jpeg", "txt": "a cat"},
                    {"__key__": "nocaption", "jpg": jpeg},
                    {"__key__": "blankcaption", "jpg": jpeg, "txt": "   "},
                    {"__key__": "noimage", "txt": "a caption without its picture"}]
    write_shard(path, samples)
    return good


def test_shard_samples_keep_their_order_and_flag_what_is_missing(tmp_path):
    good = hostile_shard(tmp_path / "a.tar")
    source = open_source(f"shards:{tmp_path}/a.tar")
    samples = list(source.samples(0))
    assert [s.key for s in samples][:4] == ["good0", "good1", "corrupt", "nocaption"]
    by_key = {s.key: s for s in samples}
    assert by_key["nocaption"].caption is None and by_key["noimage"].image is None
    assert all(isinstance(by_key[k].image, bytes) and by_key[k].caption for k in good)


def test_brace_patterns_expand_and_missing_shards_are_named(tmp_path):
    for i in range(3):
        write_shard(tmp_path / f"s-{i:05d}.tar", [{"__key__": f"k{i}", "jpg": demo_jpeg(i)[0], "txt": "x"}])
    assert len(open_source(f"shards:{tmp_path}/s-{{00000..00002}}.tar").units()) == 3
    with pytest.raises(DataError, match="1 of 4 shards not found"):
        open_source(f"shards:{tmp_path}/s-{{00000..00003}}.tar")


def test_a_truncated_shard_becomes_a_counted_error_sample(tmp_path):
    hostile_shard(tmp_path / "a.tar")
    data = (tmp_path / "a.tar").read_bytes()
    (tmp_path / "cut.tar").write_bytes(data[: len(data) * 2 // 3 + 100])
    samples = list(open_source(f"shards:{tmp_path}/cut.tar").samples(0))
    assert any(s.error for s in samples) and any(s.key == "good0" for s in samples)


def test_json_group_marks_interchangeable_pictures(tmp_path):
    write_demo_shards(tmp_path, 5, per_shard=5, workers=1)
    samples = list(open_source(f"shards:{tmp_path}/train-00000.tar").samples(0))
    assert [s.key for s in samples] == [f"train-{i:08d}" for i in range(5)]
    demo = list(open_source("demo:5").samples(0))
    assert [s.group for s in samples] == [s.group for s in demo] and "|" in samples[0].group
    assert [s.caption for s in samples] == [s.caption for s in demo]


def karpathy_fixture(root):
    """Four images in COCO's layout (filepath/filename): 2 train, 1 restval, 1 test, five captions each."""
    (root / "val2014").mkdir(parents=True)
    images = []
    for i, split in enumerate(["train", "train", "restval", "test"]):
        name = f"img{i}.jpg"
        (root / "val2014" / name).write_bytes(demo_jpeg(i)[0])
        images.append({"filepath": "val2014", "filename": name, "split": split, "imgid": i,
                       "sentences": [{"raw": f"caption {j} of image {i}"} for j in range(5)]})
    (root / "dataset_coco.json").write_text(json.dumps({"images": images, "dataset": "coco"}))
    return root / "dataset_coco.json"


def test_karpathy_split_file_yields_five_captions_per_image(tmp_path):
    path = karpathy_fixture(tmp_path)
    train = open_source(f"karpathy:{path}", tmp_path, "train")  # train counts restval too, as is standard
    rows = [s for u in range(len(train.units())) for s in train.samples(u)]
    assert len(rows) == 15 and rows[0].key == "val2014/img0.jpg#0" and rows[0].image == tmp_path / "val2014/img0.jpg"
    assert {s.image_id for s in rows} == {"val2014/img0.jpg", "val2014/img1.jpg", "val2014/img2.jpg"}
    test = list(open_source(f"karpathy:{path}", tmp_path, "test").samples(0))
    assert [s.caption for s in test] == [f"caption {j} of image 3" for j in range(5)]
    with pytest.raises(DataError, match="needs the image folder"):
        open_source(f"karpathy:{path}")
    with pytest.raises(DataError, match="split must be one of"):
        open_source(f"karpathy:{path}", tmp_path, "nope")
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(DataError, match="not a Karpathy split file"):
        open_source(f"karpathy:{tmp_path / 'bad.json'}", tmp_path)


@pytest.mark.parametrize("kind", ["csv", "tsv", "jsonl"])
def test_tables_of_image_and_caption(tmp_path, kind):
    for i in range(3):
        (tmp_path / f"p{i}.jpg").write_bytes(demo_jpeg(i)[0])
    rows = [("p0.jpg", "a red circle"), ("p1.jpg", ""), ("p2.jpg", "two, blue, squares")]
    if kind == "jsonl":
        path = tmp_path / "pairs.jsonl"
        path.write_text("".join(json.dumps({"image": a, "caption": b}) + "\n" for a, b in rows))
    else:
        sep = "," if kind == "csv" else "\t"
        path = tmp_path / "pairs.csv"
        lines = [f"filepath{sep}title"] + [f'{a}{sep}"{b}"' if sep == "," else f"{a}{sep}{b}" for a, b in rows]
        path.write_text("\n".join(lines) + "\n")
    samples = list(open_source(f"{'jsonl' if kind == 'jsonl' else 'csv'}:{path}").samples(0))
    assert [s.caption for s in samples] == ["a red circle", None, "two, blue, squares"]
    assert samples[2].image == tmp_path / "p2.jpg"


def test_a_table_without_the_columns_says_which_it_needs(tmp_path):
    (tmp_path / "x.csv").write_text("name,label\na.jpg,cat\n")
    with pytest.raises(DataError, match="needs an image column"):
        open_source(f"csv:{tmp_path / 'x.csv'}")
    with pytest.raises(DataError, match="use shards:PATTERN"):
        open_source("parquet:x")
