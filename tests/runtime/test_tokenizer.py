"""Our torch-free tokenizer against open_clip's reference SimpleTokenizer, id for id."""
import importlib.util
from importlib.metadata import distribution
from pathlib import Path

import numpy as np
import pytest

from pocketclip.runtime.bundle.tokenizer import ClipTokenizer, load_tokenizer

CORPUS = [
    "a dog on a beach at sunset", "", "   ", "\t\n", "A", "DOG", "dog's toys aren't they've I'd we'll",
    "Héllo Wörld — café ñ façade naïve", "日本語のテキスト 東京タワー", "Привет мир", "مرحبا بالعالم", "नमस्ते",
    "emoji 🐶🏖️🌅 and a family 👨‍👩‍👧 and flags 🇫🇷🇯🇵 and skin 👍🏽",
    "&amp;lt;b&amp;gt; html &quot;quoted&quot; &#39;x&#39;", "“curly” ‘quotes’ ﬁ ligature ＦＵＬＬＷＩＤＴＨ",
    "numbers 1234567890 3.14159 1st 2nd", "tabs\tand\nnew\r\nlines  and   spaces", "<start_of_text> literal", "x<end_of_text>y <START_OF_TEXT>",
    "x" * 300, "word " * 100, "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "mixed-case CamelCaseWords snake_case_words kebab-case-words", "!!! ??? ... --- ***", "a\u00a0b\u200bc",
    "ÅÄÖ åäö ß ẞ ǅ", "zero\x00byte", "Ⅻ ① ² ½",
]


@pytest.fixture(scope="module")
def reference():
    """open_clip's tokenizer module, loaded from its file alone (its package imports torchvision)."""
    files = distribution("open-clip-torch").files
    path = next(Path(f.locate()) for f in files if str(f).endswith("open_clip/tokenizer.py"))
    spec = importlib.util.spec_from_file_location("open_clip_reference_tokenizer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SimpleTokenizer()


def test_ids_identical_to_open_clip(reference):
    ours = load_tokenizer()
    expected = reference(CORPUS).numpy()
    got = ours(CORPUS)
    for text, a, b in zip(CORPUS, expected, got):
        assert np.array_equal(a, b), f"{text!r}: {a[:12]} vs {b[:12]}"


def test_long_text_keeps_the_end_token_and_empty_text_is_start_end():
    tok = load_tokenizer()
    ids = tok(["word " * 200, ""])
    assert ids.shape == (2, 77) and ids.dtype == np.int64
    assert ids[0, 0] == tok.sot_id and ids[0, -1] == tok.eot_id
    assert list(ids[1, :3]) == [tok.sot_id, tok.eot_id, 0]


def test_merges_come_from_the_wheel_file(reference):
    files = distribution("open-clip-torch").files
    wheel_merges = next(Path(f.locate()) for f in files if str(f).endswith("bpe_simple_vocab_16e6.txt.gz"))
    ours = load_tokenizer()
    assert ours.merges_path.read_bytes() == wheel_merges.read_bytes()
    assert len(ours.vocab) == 49408 == len(reference.encoder)
    assert ClipTokenizer(wheel_merges)("a photo")[0].tolist()[:4] == [49406, 320, 1125, 49407]
