"""Screening: every polymer x solvent x temperature from cached encodings, by matrix products, and
the ranked table of ``screen``. numpy and pandas only."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from gnnchi.errors import DataValidationError
from gnnchi.systems.chi import CHI_TASKS


class HeadParameters(NamedTuple):
    """One member's pair head as arrays: linear weight [O, k] and bias [O] (O = 1 + C (order + 1)), scalers."""

    weight: np.ndarray
    bias: np.ndarray
    inv_t_mean: float
    inv_t_std: float
    chi_mean: np.ndarray
    chi_std: np.ndarray
    order: int
    solubility_chi_slope: float = 0.0  # the logit follows chi task 0 away from the reference temperature
    reference_temperature_K: float = 298.15

    @classmethod
    def from_torch(cls, head) -> HeadParameters:
        """The arrays of a :class:`gnnchi.nn.ChiHead` (duck-typed: no torch import here)."""
        array = lambda t: t.detach().cpu().numpy().astype(np.float32)
        return cls(
            array(head.linear.weight), array(head.linear.bias), head.inv_t_mean.item(), head.inv_t_std.item(),
            array(head.chi_mean), array(head.chi_std), head.order, head.solubility_chi_slope,
            head.reference_temperature_K,
        )  # fmt: skip


class Grid(NamedTuple):
    """Screening results: ensemble means and standard deviations (NaN for a single model)."""

    chi: np.ndarray  # [C, P, S, T]
    p_soluble: np.ndarray  # [P, S, T]
    chi_std: np.ndarray  # [C, P, S, T]
    p_soluble_std: np.ndarray  # [P, S, T]


def screen_member(head: HeadParameters, polymer_latent: np.ndarray, solvent_latent: np.ndarray, temperatures_K):
    """Every polymer x solvent x temperature at once from one member's cached encodings.

    z is quadratic in u, so the head's linear map of z splits into per-molecule terms and one
    rank-k product: W z_ij = W(u_p^2 - r_p^2)_i + W(u_s^2 - r_s^2)_j - 2 sum_k W_k u_p,ik u_s,jk.
    One matrix product per output covers all P x S pairs; temperatures only reuse the coefficients.

    polymer_latent [P, 2k], solvent_latent [S, 2k], temperatures_K [T] ->
    chi [C, P, S, T] (one per chi task) and p_soluble [P, S, T].
    """
    k = polymer_latent.shape[1] // 2
    u_p, r_p = polymer_latent[:, :k].astype(np.float32), polymer_latent[:, k:].astype(np.float32)
    u_s, r_s = solvent_latent[:, :k].astype(np.float32), solvent_latent[:, k:].astype(np.float32)
    polymer_term = (u_p * u_p - r_p * r_p) @ head.weight.T  # [P, O]
    solvent_term = (u_s * u_s - r_s * r_s) @ head.weight.T  # [S, O]
    cross = np.einsum("pk,ok,sk->ops", u_p, head.weight, u_s, optimize=True)  # [O, P, S]
    out = polymer_term.T[:, :, None] + solvent_term.T[:, None, :] - 2.0 * cross + head.bias[:, None, None]
    g = out[1:].reshape(len(head.chi_mean), head.order + 1, *out.shape[1:])  # [C, order + 1, P, S]

    def chi_at(temperatures: np.ndarray) -> np.ndarray:  # [T] -> [C, P, S, T]
        t = (1.0 / temperatures.astype(np.float32) - head.inv_t_mean) / head.inv_t_std  # [T]
        powers = np.stack([t**d for d in range(head.order + 1)]).astype(np.float32)  # [order + 1, T]
        scaled = np.einsum("cdps,dt->cpst", g, powers, optimize=True)
        return head.chi_mean[:, None, None, None] + head.chi_std[:, None, None, None] * scaled

    chi = chi_at(np.asarray(temperatures_K, np.float32).reshape(-1))
    logit = np.broadcast_to(out[0][:, :, None], chi.shape[1:])  # [P, S, T]
    if head.solubility_chi_slope:
        at_reference = chi_at(np.array([head.reference_temperature_K], np.float32))[0]  # [P, S, 1]
        logit = logit - head.solubility_chi_slope * (chi[0] - at_reference)
    return chi, sigmoid(logit)


def screen_grid(heads: list[HeadParameters], polymer_latent: np.ndarray, solvent_latent: np.ndarray, temperatures_K) -> Grid:
    """:func:`screen_member` for each member (column block m of the [., n * 2k] encodings), then
    the mean and the standard deviation (ddof 1) over members."""
    width = polymer_latent.shape[1] // len(heads)
    chi_sum = chi_sq = p_sum = p_sq = 0.0
    for m, head in enumerate(heads):
        block = slice(m * width, (m + 1) * width)
        chi, p = screen_member(head, polymer_latent[:, block], solvent_latent[:, block], temperatures_K)
        chi, p = chi.astype(np.float64), p.astype(np.float64)  # sums of squares cancel badly in float32
        chi_sum, chi_sq, p_sum, p_sq = chi_sum + chi, chi_sq + chi * chi, p_sum + p, p_sq + p * p
    n = len(heads)
    chi_mean, p_mean = chi_sum / n, p_sum / n
    return Grid(
        chi_mean.astype(np.float32), p_mean.astype(np.float32), _std(chi_sq, chi_mean, n), _std(p_sq, p_mean, n)
    )


def _std(sum_sq: np.ndarray, mean: np.ndarray, n: int) -> np.ndarray:
    """Sample standard deviation (float32) from float64 sums of squares and means of n values; NaN for n = 1."""
    if n == 1:
        return np.full(mean.shape, np.nan, np.float32)
    return np.sqrt(np.maximum(sum_sq - n * mean * mean, 0.0) / (n - 1)).astype(np.float32)


def sigmoid(logit: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x); exp overflows to inf for very negative logits, which gives exactly 0."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-logit))


def rank_candidates(
    predictor,
    fixed_kind: str,
    fixed: str,
    candidates: pd.DataFrame,
    temperatures_K,
    rank_by: str,
    column: str | None = None,
) -> pd.DataFrame:
    """All ``candidates`` (a table whose ``column``, by default the one named for the other kind, holds
    SMILES) at all temperatures against one ``fixed`` polymer or solvent.

    Rows come grouped by temperature, in the order given; within each temperature they are ranked by
    ``rank_by`` (chi_exp ascending, p_soluble descending), ``rank`` starting at 1. Candidates that
    fail come last, once each, with their ``error``. The candidates' own columns are kept (one named
    like an added column gets ``_input``)."""
    candidates_kind = "solvent" if fixed_kind == "polymer" else "polymer"
    column = column or candidates_kind
    temps = np.asarray(list(dict.fromkeys(np.atleast_1d(np.asarray(temperatures_K, dtype=np.float32)))), np.float32)
    problems = [problem for t in temps if (problem := predictor.temperature_problem(float(t)))]
    if problems:
        raise DataValidationError("screen", [], f"{'; '.join(problems)} (--temperature_range_K)")
    fixed_latent, fixed_error = predictor.encode([fixed], fixed_kind)
    if fixed_error[0]:
        raise DataValidationError("screen", [], f"the {fixed_kind} {fixed!r} is invalid: {fixed_error[0]}")
    smiles = candidates[column].tolist()
    latent, errors = predictor.encode(smiles, candidates_kind)
    ok = np.array([not e for e in errors], dtype=bool)
    good = [s for s, fine in zip(smiles, ok) if fine]
    if fixed_kind == "polymer":
        grid = predictor.grid(fixed_latent, latent[ok], temps, [fixed], good)  # chi [C, 1, N, T], p_soluble [1, N, T]
        chi, chi_std, p, p_std = grid.chi[:, 0], grid.chi_std[:, 0], grid.p_soluble[0], grid.p_soluble_std[0]
    else:
        grid = predictor.grid(latent[ok], fixed_latent, temps, good, [fixed])  # chi [C, N, 1, T], p_soluble [N, 1, T]
        chi, chi_std, p, p_std = grid.chi[:, :, 0], grid.chi_std[:, :, 0], grid.p_soluble[:, 0], grid.p_soluble_std[:, 0]
    predicted = [c for task in (*CHI_TASKS, "p_soluble") for c in (task, f"{task}_std")]
    added = ["rank", fixed_kind, "temperature_K", *predicted, "error", "warning"]
    own = candidates.rename(columns={c: f"{c}_input" for c in candidates.columns if c in added and c != column})
    good_candidates = own[ok].reset_index(drop=True)
    notes = [predictor.molecule_notes({fixed_kind: fixed, candidates_kind: s}) for s in good]
    blocks = []
    for t, temperature in enumerate(temps):  # one block per temperature, ranked within it
        block = good_candidates.copy()
        block["temperature_K"] = temperature
        for c, task in enumerate(CHI_TASKS):
            block[task] = chi[c][:, t]
            block[f"{task}_std"] = chi_std[c][:, t]
        block["p_soluble"] = p[:, t]
        block["p_soluble_std"] = p_std[:, t]
        block["error"] = ""
        block["warning"] = notes
        block = block.sort_values(rank_by, ascending=rank_by == "chi_exp", kind="stable")
        block.insert(0, "rank", np.arange(1, len(block) + 1))
        blocks.append(block)
    bad = own[~ok].copy()
    bad["error"] = [e for e in errors if e]
    ranked = pd.concat([*blocks, bad], ignore_index=True)
    ranked["rank"] = ranked["rank"].astype("Int64")  # empty for bad candidates
    ranked.insert(1, fixed_kind, fixed)
    return ranked
