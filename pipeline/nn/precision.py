"""Number format and threads of the encoder: the one place that decides fp32 or bf16, for scoring and
training alike (``score.precision``, ``bulk.precision``; ``train.precision`` may use the same).

``auto`` is bf16 where the hardware does bf16 matrix products natively (CUDA GPUs that support it,
CPUs with AVX512-BF16 or AMX) and fp32 elsewhere: on a CPU without them (AVX2 only, for example)
bf16 is emulated and several times slower than fp32. bf16 runs under ``torch.autocast``, so the
weights stay fp32 and only the matrix products round their inputs to bf16. Importing this module does
not import torch (a stage checks its params without it).
"""

from __future__ import annotations

import contextlib
import logging
import os
from functools import cache
from typing import TYPE_CHECKING

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    import torch

PRECISIONS = ("auto", "fp32", "bf16")
# /proc/cpuinfo flags that mean native bf16 dot products (Intel Cooper Lake+, Sapphire Rapids+, AMD Zen 4+)
CPU_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def check_precision(value: str, key: str = "precision") -> str:
    if value not in PRECISIONS:
        raise ValueError(f"{key}: expected one of {list(PRECISIONS)}, found {value!r}")
    return value


@cache
def cpu_flags(path: str = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo is not there, e.g. macOS)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_has_bf16(flags: frozenset[str] | None = None) -> bool:
    """True when the CPU multiplies bf16 natively: by its /proc/cpuinfo flags, or, where there are
    none (not Linux), by torch's oneDNN check."""
    import torch

    flags = cpu_flags() if flags is None else flags
    if flags:
        return bool(CPU_BF16_FLAGS & flags)
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(check()) if check is not None else False
    except RuntimeError:
        return False


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """``auto`` | ``fp32`` | ``bf16`` on ``device`` → the format that runs: ``fp32`` or ``bf16``."""
    import torch

    check_precision(precision)
    if precision != "auto":
        return precision
    dev = torch.device(device)
    if dev.type == "cuda":
        return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"
    if dev.type == "cpu":
        return "bf16" if cpu_has_bf16() else "fp32"
    return "fp32"


def autocast(precision: str, device: torch.device | str) -> contextlib.AbstractContextManager[None]:
    """The context the encoder runs in: bf16 autocast for ``bf16``, nothing for ``fp32``."""
    import torch

    dev = torch.device(device)
    if resolve_precision(precision, dev) == "bf16":
        return torch.autocast(device_type=dev.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def cores() -> int:
    """CPU cores this process may run on (its affinity mask, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def use_cores(threads: int = 0) -> int:
    """torch's intra-op threads = ``threads`` (0: every core this process may use); returns the count.

    Inter-op threads are left alone (one encoder runs at a time) and the tokenizer's Rust thread pool
    is told the same, so that batch tokenisation does not oversubscribe the cores; malloc is told to
    keep freed memory (keep_freed_memory).
    """
    import torch

    n = threads if threads > 0 else cores()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    os.environ.setdefault("RAYON_NUM_THREADS", str(n))
    keep_freed_memory()
    return n


# glibc's malloc gives every large block (a batch's activations: tens of MB) back to the kernel when it
# is freed and maps it again for the next batch, so each batch pays for fresh zeroed pages: measured on
# the bulk corpus, 0.5 M minor page faults and ~15 % of the time in the kernel for 8,500 tokens. Keeping
# freed memory in the heap (a high mmap threshold, trim threshold and top pad) removes them; the peak
# resident memory is the same, it is only not handed back between batches. Dask's nanny sets
# MALLOC_TRIM_THRESHOLD_ low in its workers, which this overrides for a scorer's process.
_MALLOPT = {"M_TRIM_THRESHOLD": (-1, 1 << 30), "M_TOP_PAD": (-2, 1 << 28), "M_MMAP_THRESHOLD": (-3, 1 << 30)}


@cache
def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed blocks for reuse (see above), once per process; False where it
    is not glibc."""
    import ctypes
    import ctypes.util

    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    ok = all(mallopt(param, value) == 1 for param, value in _MALLOPT.values())
    if not ok:
        log.debug("mallopt refused %s", _MALLOPT)
    return ok
