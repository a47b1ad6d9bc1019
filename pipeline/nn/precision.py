"""Number format of the encoder's matrix products: ``auto`` | ``fp32`` | ``bf16`` (train and score).

bf16 halves the bytes moved and, on hardware with bf16 matrix units (NVIDIA GPUs from Ampere on;
x86 CPUs with AVX512-BF16 or AMX, as oneDNN reports them), runs the products several times faster
than fp32 at a precision the scores do not notice (the heads and the calibration stay in fp32).
On a CPU without them bf16 is *emulated* and far slower: on an AMD EPYC with AVX2 only, a 2048²
matmul ran at 90 GFLOP/s in fp32 and 0.3 in bf16. ``auto`` therefore picks bf16 only where the
device has the units, else fp32; ``bf16`` forces it (for a test, or a machine known to have them).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

PRECISIONS = ("auto", "fp32", "bf16")


def bf16_supported(device: torch.device | str) -> bool:
    """Whether ``device`` multiplies bf16 matrices natively (not by emulation)."""
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        check = getattr(getattr(torch.ops, "mkldnn", None), "_is_mkldnn_bf16_supported", None)
        try:
            return bool(check()) if check is not None else False
        except RuntimeError:  # a torch build without oneDNN
            return False
    return False


def resolve(precision: str, device: torch.device | str) -> str:
    """``auto`` | ``fp32`` | ``bf16`` → the format used on ``device`` (``fp32`` or ``bf16``)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision: expected one of {PRECISIONS}, found {precision!r}")
    if precision == "auto":
        return "bf16" if bf16_supported(device) else "fp32"
    return precision


@contextlib.contextmanager
def autocast(precision: str, device: torch.device | str) -> Iterator[str]:
    """Run the block's matrix products in the resolved format; yields it (``fp32`` or ``bf16``)."""
    fmt = resolve(precision, device)
    device = torch.device(device)
    if fmt == "fp32":
        yield fmt
        return
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
        yield fmt
