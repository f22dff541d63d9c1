"""The masked multitask loss: each task's mean loss over the rows that have its target, weighted and summed."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MaskedMultitaskLoss(nn.Module):
    """Weighted sum over tasks of the task's mean loss on the rows whose target is present (not NaN).

    kinds: per output column, ``classification`` (binary cross-entropy on a logit) or
    ``regression`` (mean squared error of value / scale, i.e. on the standardised target).
    weights: per output column. A task without any target in the batch adds nothing.
    """

    def __init__(self, kinds: Sequence[str], weights: Sequence[float]):
        super().__init__()
        unknown = set(kinds) - {"classification", "regression"}
        if unknown or len(kinds) != len(weights):
            raise ValueError(f"need one kind (classification or regression) and one weight per task; got {kinds}, {weights}")
        self.kinds = tuple(kinds)
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
                per_row = F.mse_loss(pred / scale[j], target / scale[j], reduction="none")
            loss = (per_row * row_weights[mask, j]).mean() if row_weights is not None else per_row.mean()
            terms[j] = (loss, mask)
            total = total + self.weights[j] * loss
        return total, terms
