"""The masked multitask loss: each task's mean loss over the rows that have its target, weighted and summed."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MaskedMultitaskLoss(nn.Module):
    """Weighted sum over tasks of the task's mean loss on the rows whose target is present (not NaN).

    kinds: per output column, ``classification`` (binary cross-entropy on a logit) or
    ``regression`` (squared error of value / scale, i.e. on the standardised target).
    weights: per output column. A task without any target in the batch adds nothing.
    huber_delta: None for the squared error; else a regression error larger than this (in the task's
    own units) counts linearly, with the squared error's value and slope where they meet (Huber's
    loss, doubled): outlying rows then pull on the fit less.
    """

    def __init__(self, kinds: Sequence[str], weights: Sequence[float], huber_delta: float | None = None):
        super().__init__()
        unknown = set(kinds) - {"classification", "regression"}
        if unknown or len(kinds) != len(weights):
            raise ValueError(
                f"need one kind (classification or regression) and one weight per task; got {kinds}, {weights}"
            )
        if huber_delta is not None and not huber_delta > 0:
            raise ValueError(f"huber_delta must be > 0 (or None for the squared error), got {huber_delta}")
        self.kinds = tuple(kinds)
        self.huber_delta = huber_delta
        self.register_buffer("weights", torch.tensor([float(w) for w in weights]), persistent=False)

    def forward(
        self, out: Tensor, targets: Tensor, scale: Tensor, row_weights: Tensor | None = None
    ) -> tuple[Tensor, dict[int, tuple[Tensor, Tensor]]]:
        """out, targets [P, T] (NaN targets are missing), scale [T], row_weights [P, T] (None: all 1) ->
        the total (a scalar) and, for each task with a target, its column -> (its mean loss, its row mask [P]).
        A task's mean loss is the mean over its rows of weight x loss."""
        total = out.new_zeros(())
        terms: dict[int, tuple[Tensor, Tensor]] = {}
        for j, kind in enumerate(self.kinds):
            mask = ~torch.isnan(targets[:, j])
            if not bool(mask.any()):
                continue
            pred, target = out[mask, j], targets[mask, j]
            if kind == "classification":
                per_row = F.binary_cross_entropy_with_logits(pred, target, reduction="none")
            else:
                per_row = self._regression_loss((pred - target).abs() / scale[j], scale[j])
            loss = (per_row * row_weights[mask, j]).mean() if row_weights is not None else per_row.mean()
            terms[j] = (loss, mask)
            total = total + self.weights[j] * loss
        return total, terms

    def _regression_loss(self, error: Tensor, scale: Tensor) -> Tensor:
        """|error| / scale [R] -> [R]: its square, or with ``huber_delta`` d (d / scale on this scale) the
        square up to d and 2 d |error| - d^2 beyond it."""
        if self.huber_delta is None:
            return error**2
        delta = self.huber_delta / scale
        return torch.where(error <= delta, error**2, 2 * delta * error - delta**2)
