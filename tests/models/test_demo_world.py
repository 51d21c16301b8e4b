import numpy as np

from pocketclip.models.data.demo_world import COLOURS, SHAPES, sample


def test_same_index_draws_the_same_picture_and_caption():
    a_img, a_text, a_scene = sample(7, "train", 96)
    b_img, b_text, b_scene = sample(7, "train", 96)
    assert a_text == b_text and a_scene == b_scene
    assert np.array_equal(np.asarray(a_img), np.asarray(b_img))


def test_splits_are_different_streams():
    train = {sample(i, "train", 32)[1] for i in range(30)}
    test = {sample(i, "test", 32)[1] for i in range(30)}
    assert len(train & test) < 5


def test_captions_name_the_scene():
    for i in range(40):
        image, text, scene = sample(i, "val", 64)
        assert scene.colour in text.lower() and scene.shape[:4] in text.lower()
        assert scene.shape in SHAPES and scene.colour in COLOURS
        assert image.size == (64, 64) and image.mode == "RGB"


def test_shape_colour_is_visible_in_the_picture():
    # The object's colour must actually be drawn: some pixels close to the named colour.
    for i in range(20):
        image, _, scene = sample(i, "train", 128)
        pixels = np.asarray(image, dtype=np.int32).reshape(-1, 3)
        distance = np.abs(pixels - np.array(COLOURS[scene.colour])).max(axis=1)
        assert (distance < 40).sum() > 20, scene
