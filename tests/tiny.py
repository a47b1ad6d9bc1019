"""A tiny randomly initialised BertModel + word-level tokenizer, for tests that need a real encoder
without a download (the shape of models/base, a few kilobytes)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import torch


def tiny_random_base(
    path: str | Path, texts: Sequence[str], hidden: int = 32, layers: int = 2, seed: int = 0
) -> Path:
    """Write a tiny randomly initialised BertModel + word-level tokenizer (for tests and smoke runs)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    words = sorted(
        {w.lower() for t in texts for w in re.findall(r"\w+|[^\w\s]", unicodedata.normalize("NFC", t))}
    )
    vocab = {w: i for i, w in enumerate(specials + words)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        model_max_length=512,
    )
    fast.save_pretrained(str(path))
    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=128,
        pad_token_id=0,
    )
    BertModel(cfg, add_pooling_layer=False).save_pretrained(str(path), safe_serialization=True)
    return path
