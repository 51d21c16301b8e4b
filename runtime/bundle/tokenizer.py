"""CLIP BPE tokenizer without torch: the `tokenizers` library fed with CLIP's own merges.

Matches open_clip's SimpleTokenizer id for id: same text cleaning (ftfy, html unescape, whitespace,
lower case), same pre-tokenising regex, byte-level BPE with an end-of-word suffix, truncation that
keeps the end token, zero padding.
"""
from __future__ import annotations

import gzip
import html
import re
from functools import lru_cache
from pathlib import Path

import ftfy
import numpy as np
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

DEFAULT_MERGES = Path(__file__).parent / "assets" / "bpe_simple_vocab_16e6.txt.gz"
CONTEXT_LENGTH = 77
# CLIP's pre-tokeniser: contractions, letter runs, single digits, runs of other non-space symbols.
SPLIT_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
N_MERGES = 49152 - 256 - 2  # CLIP uses the first 48894 merges of the file


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable unicode table, which CLIP's vocabulary is written in."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, chars)))


def clean_text(text: str) -> str:
    """open_clip's 'lower' cleaning: ftfy, html unescape (twice), collapse whitespace, lower case."""
    text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
    return re.sub(r"\s+", " ", text).strip().lower()


class ClipTokenizer:
    def __init__(self, merges_path: str | Path = DEFAULT_MERGES, context_length: int = CONTEXT_LENGTH):
        lines = gzip.open(merges_path).read().decode("utf-8").split("\n")[1:N_MERGES + 1]
        merges = [tuple(line.split()) for line in lines]
        units = list(bytes_to_unicode().values())
        vocab = units + [u + "</w>" for u in units] + ["".join(m) for m in merges]
        vocab += ["<start_of_text>", "<end_of_text>"]
        self.vocab = {tok: i for i, tok in enumerate(vocab)}
        self.sot_id, self.eot_id, self.pad_id = len(vocab) - 2, len(vocab) - 1, 0
        self.context_length = context_length
        self.merges_path = Path(merges_path)
        bpe = models.BPE(self.vocab, merges, continuing_subword_prefix="", end_of_word_suffix="</w>",
                         fuse_unk=False)
        self._tok = Tokenizer(bpe)
        self._tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
        self._tok.decoder = decoders.ByteLevel()
        # Written out in a text, the two markers are the special tokens, as in open_clip's regex.
        self._tok.add_special_tokens([AddedToken(t, normalized=False) for t in vocab[-2:]])

    def encode(self, text: str) -> list[int]:
        """BPE ids of one text, without start/end tokens or truncation."""
        return self._tok.encode(clean_text(text)).ids

    def __call__(self, texts: str | list[str]) -> np.ndarray:
        """(N, context_length) int64 ids: start, BPE ids, end, zero padding; cut to fit, end kept."""
        if isinstance(texts, str):
            texts = [texts]
        out = np.zeros((len(texts), self.context_length), dtype=np.int64)
        for row, encoding in zip(out, self._tok.encode_batch([clean_text(t) for t in texts])):
            ids = [self.sot_id] + encoding.ids[: self.context_length - 2] + [self.eot_id]
            row[: len(ids)] = ids
        return out


class HfTokenizer:
    """A Hugging Face `tokenizer.json` as a pulled model ships it (CLIP's BPE, SigLIP's SentencePiece, a
    multilingual XLM-R): the file's own normaliser, pre-tokeniser and special tokens, truncated to the text
    tower's context (room kept for the special tokens) and padded with the model's pad id."""

    def __init__(self, path: str | Path, context_length: int, pad_id: int):
        self._tok = Tokenizer.from_file(str(path))
        self.context_length = context_length
        self._tok.enable_truncation(max_length=context_length)
        self._tok.enable_padding(length=context_length, pad_id=pad_id, pad_token=self._tok.id_to_token(pad_id) or "")

    def __call__(self, texts: str | list[str]) -> np.ndarray:
        """(N, context_length) int64 ids."""
        if isinstance(texts, str):
            texts = [texts]
        return np.array([e.ids for e in self._tok.encode_batch(list(texts))], dtype=np.int64).reshape(
            len(texts), self.context_length)


@lru_cache(maxsize=4)
def load_tokenizer(merges_path: str | Path = DEFAULT_MERGES, context_length: int = CONTEXT_LENGTH) -> ClipTokenizer:
    return ClipTokenizer(merges_path, context_length)
