"""Process-wide settings, made in one place: entry points call :func:`configure_process`; library
code never changes them (importing gnnchi changes nothing).

Scripts that train or predict with torch models through the Python API may call it too: without
flushing denormals, CPU inference and training can be many times slower.
"""

from __future__ import annotations

import warnings

QUIET_WARNINGS = (
    # evaluate and tune hand LightningCLI argument lists of their own, not sys.argv
    "LightningCLI's args parameter",
)


def configure_process(torch_threads: int | None = None, uses_torch: bool = True) -> None:
    """Silence known third-party noise; with ``uses_torch``, flush denormal floats to zero (tiny
    Adam moments and trained weights hold them; they slowed CPU math up to 100x here, at no cost
    in accuracy) and set torch's intra-op threads if given. Safe to call more than once.
    ``uses_torch=False`` (the ONNX predictor) does not import torch."""
    for message in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    if not uses_torch:
        return
    import torch

    torch.set_flush_denormal(True)
    if torch_threads is not None:
        torch.set_num_threads(torch_threads)
