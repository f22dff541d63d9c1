"""A physical estimate of chi from group contributions: UNIFAC's residual activity coefficient of the
solvent at infinite dilution in the polymer.

Flory-Huggins writes the solvent's activity in a polymer as ln a_s = ln phi_s + (1 - 1/N) phi_p + chi phi_p^2.
UNIFAC splits ln gamma into a combinatorial part (sizes and shapes, Flory-Huggins' own entropy) and a
residual part (the energies of the groups' contacts). The residual part of the solvent at infinite
dilution depends only on the group fractions around it, so for a polymer it needs only the groups of
one repeat unit, not the chain length:

    chi_UNIFAC(T) = 0.34 + ln gamma_s^(R, inf)(T)

with 0.34 the usual entropic term (as in Hansen's estimate, :mod:`gnnchi.evaluation.baselines.hansen`).

Groups: ugropy (MIT) assigns the original UNIFAC subgroups of a molecule. A repeat unit's groups inside
a chain are those of its hydrogen-capped 4-mer less those of its 3-mer (the caps cancel), so a chain
CH2 stays CH2 where the capped monomer would read CH3. Parameters: thermo's (MIT) tables of original
UNIFAC (group areas Q, main-group energies a_mn; Hansen et al. 1991 and later revisions); the residual
activity is computed here, for every polymer x solvent pair of a table at once. Both are installed
packages; nothing is downloaded. A molecule that ugropy cannot fully cover with groups, or a pair
without parameters, has no estimate (NaN).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from rdkit import Chem, rdBase

from gnnchi.chem import capped_oligomer, make_mol
from gnnchi.errors import GnnChiError
from gnnchi.physics import ENTROPIC_CHI

Groups = tuple[tuple[int, int], ...]  # (UNIFAC subgroup number, count), sorted: hashable for the caches


def _subgroups(smiles: str) -> Groups | None:
    """ugropy's original-UNIFAC subgroups of a small molecule, or None where it finds no full cover."""
    from ugropy import unifac

    try:
        with rdBase.BlockLogs():
            result = unifac.get_groups(smiles, "smiles")
    except Exception:  # noqa: BLE001 - ugropy raises several kinds on molecules it cannot fragment
        return None
    return tuple(sorted(result.subgroups_num.items())) if result.subgroups else None


@lru_cache(maxsize=100_000)
def molecule_groups(smiles: str) -> Groups | None:
    """A solvent's UNIFAC subgroups (through the RDKit gate), or None."""
    try:
        mol = make_mol(smiles, "solvent")
    except GnnChiError:
        return None
    return _subgroups(Chem.MolToSmiles(mol))


@lru_cache(maxsize=100_000)
def repeat_unit_groups(smiles: str) -> Groups | None:
    """The UNIFAC subgroups of one repeat unit (two `*`) inside a chain: groups of the capped 4-mer
    less those of the capped 3-mer; None where either has no cover or a difference is not positive."""
    try:
        unit = make_mol(smiles, "polymer")
    except GnnChiError:
        return None
    tetramer, trimer = (_subgroups(Chem.MolToSmiles(capped_oligomer(unit, n))) for n in (4, 3))
    if tetramer is None or trimer is None:
        return None
    longer, shorter = dict(tetramer), dict(trimer)
    difference = {g: longer.get(g, 0) - shorter.get(g, 0) for g in longer.keys() | shorter.keys()}
    difference = {g: n for g, n in difference.items() if n}
    if not difference or any(n < 0 for n in difference.values()):
        return None
    return tuple(sorted(difference.items()))


def _group_parameters(groups: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Q [G] of the subgroups and the interaction energies a_mn [G, G] (kelvin) of their main groups
    (0 within one main group, NaN where UNIFAC has no parameter)."""
    from thermo.unifac import UFIP, UFSG

    main = [UFSG[g].main_group_id for g in groups]
    energy = np.array([[0.0 if m == n else UFIP.get(m, {}).get(n, np.nan) for n in main] for m in main])
    return np.array([UFSG[g].Q for g in groups]), energy


def _ln_group_gamma(counts: np.ndarray, q: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """ln Gamma_k [M, G] of every group k in each of M group mixtures (counts [M, G]): UNIFAC's residual
    group activity, Q_k (1 - ln sum_m theta_m psi_mk - sum_m theta_m psi_km / sum_n theta_n psi_nm);
    NaN where a group of the mixture lacks an interaction parameter with k, and for every k where two
    groups of the mixture lack one (thermo would take a missing parameter as 0; here it is no estimate)."""
    area = counts * q  # [M, G]
    theta = area / area.sum(axis=1, keepdims=True)
    known = np.nan_to_num(psi, nan=0.0)
    present = (theta > 0).astype(float)
    lacking = present @ np.isnan(psi).astype(float)  # [M, G]: > 0 where k lacks one with a group present
    lacking = lacking + (lacking * present).sum(axis=1, keepdims=True)  # every k where two present groups lack one
    inward = theta @ known  # [M, G]: sum_m theta_m psi_mk
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(theta > 0, theta / inward, 0.0)  # theta_m / sum_n theta_n psi_nm; 0 for absent groups
        ln_gamma = q * (1.0 - np.log(inward) - share @ known.T)
    return np.where(lacking > 0, np.nan, ln_gamma)


def residual_ln_gamma_inf(
    solvents: list[Groups], polymers: list[Groups], temperature_K: float
) -> np.ndarray:  # fmt: skip
    """[S, P] UNIFAC's residual ln gamma of each solvent at infinite dilution in each polymer's repeat units
    at one temperature: sum_k nu_k (ln Gamma_k in the polymer - ln Gamma_k in the pure solvent); NaN where
    a parameter is missing. Every pair at once: the polymers' and the solvents' group activities are
    computed once each, then one matrix product."""
    groups = sorted({g for molecule in (*solvents, *polymers) for g, _ in molecule})
    column = {g: i for i, g in enumerate(groups)}

    def counts(molecules: list[Groups]) -> np.ndarray:
        out = np.zeros((len(molecules), len(groups)))
        for row, molecule in enumerate(molecules):
            for g, n in molecule:
                out[row, column[g]] = n
        return out

    q, energy = _group_parameters(groups)
    psi = np.exp(-energy / float(temperature_K))  # [G, G], NaN where a parameter is missing
    nu, polymer_counts = counts(solvents), counts(polymers)
    in_polymer = _ln_group_gamma(polymer_counts, q, psi)  # [P, G]
    own = _ln_group_gamma(nu, q, psi)  # [S, G]: each group in the pure solvent
    in_itself = np.where(nu > 0, nu * own, 0.0).sum(axis=1)  # [S], NaN where its own groups lack a parameter
    lacking = (nu > 0).astype(float) @ np.isnan(in_polymer).T.astype(float)  # [S, P]
    values = nu @ np.nan_to_num(in_polymer, nan=0.0).T - in_itself[:, None]
    return np.where(lacking > 0, np.nan, values)


def unifac_chi(polymers, solvents, temperatures_K) -> np.ndarray:
    """chi_UNIFAC [n] of n (repeat unit SMILES, solvent SMILES, kelvin); NaN where either molecule has no
    group cover or the groups no parameters."""
    temperatures = np.asarray(temperatures_K, float).reshape(-1)
    polymer_groups = [repeat_unit_groups(p) for p in polymers]
    solvent_groups = [molecule_groups(s) for s in solvents]
    out = np.full(len(temperatures), np.nan)
    covered = [i for i, (p, s) in enumerate(zip(polymer_groups, solvent_groups)) if p is not None and s is not None]
    by_temperature: dict[float, list[int]] = {}
    for i in covered:
        if np.isfinite(temperatures[i]):
            by_temperature.setdefault(round(float(temperatures[i]), 2), []).append(i)
    for temperature, rows in by_temperature.items():
        distinct_p = list(dict.fromkeys(polymer_groups[i] for i in rows))
        distinct_s = list(dict.fromkeys(solvent_groups[i] for i in rows))
        values = residual_ln_gamma_inf(distinct_s, distinct_p, temperature)  # [S, P]
        p_index, s_index = {g: k for k, g in enumerate(distinct_p)}, {g: k for k, g in enumerate(distinct_s)}
        out[rows] = (
            ENTROPIC_CHI
            + values[[s_index[solvent_groups[i]] for i in rows], [p_index[polymer_groups[i]] for i in rows]]
        )
    return out
