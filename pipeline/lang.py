"""Text normalisation shared by every stage: NFC, one newline convention, no stray controls."""

from __future__ import annotations

import re
import unicodedata

# Icelandic eth (U+00D0/U+00F0) is used for Đ/đ in some Vietnamese sources ("Ðiều 317").
_LOOKALIKES = str.maketrans({"\u00d0": "\u0110", "\u00f0": "\u0111"})
_CONTROLS = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b\ufeff]")


def normalise(text: str, lang: str | None = None) -> str:
    """NFC, LF line ends, control characters and BOMs removed; in Vietnamese, look-alikes fixed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROLS.sub("", text)
    text = unicodedata.normalize("NFC", text)
    if lang == "vi":
        text = text.translate(_LOOKALIKES)
    return text


def clean_text(text: str, lang: str) -> str:
    """NFC, LF, trailing spaces trimmed, runs of blank lines collapsed."""
    text = normalise(text, lang)
    lines = [re.sub(r"[ \t\u00a0]+$", "", line) for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
