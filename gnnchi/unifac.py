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
CH2 stays CH2 where the capped monomer would read CH3. Energies: thermo's (MIT) original UNIFAC
parameters (Hansen et al. 1991 and later revisions). Both are installed packages; nothing is downloaded.
A molecule that ugropy cannot fully cover with groups, or a pair without parameters, has no estimate (NaN).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from rdkit import Chem, rdBase

from gnnchi.chem import capped_oligomer, make_mol
from gnnchi.errors import GnnChiError
from gnnchi.physics import ENTROPIC_CHI

INFINITE_DILUTION = 1e-7  # the solvent's mole fraction standing for infinite dilution
Groups = tuple[tuple[int, int], ...]  # (UNIFAC subgroup number, count), sorted: hashable for the caches


def _subgroups(smiles: str) -> Groups | None:
    """ugropy's original-UNIFAC subgroups of a small molecule, or None where it finds no full cover."""
    from ugropy import unifac

    try:
        with rdBase.BlockLogs():
            result = unifac.get_groups(smiles, "smiles")
    except Exception:  # ugropy raises several kinds on molecules it cannot fragment
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


@lru_cache(maxsize=1_000_000)
def residual_ln_gamma_inf(solvent: Groups, polymer: Groups, temperature_K: float) -> float:
    """UNIFAC's residual ln gamma of a solvent at infinite dilution in a polymer's repeat units
    (groups as :func:`molecule_groups`, :func:`repeat_unit_groups`); NaN without parameters."""
    from thermo.unifac import UNIFAC

    try:
        model = UNIFAC.from_subgroups(
            T=float(temperature_K),
            xs=[INFINITE_DILUTION, 1.0 - INFINITE_DILUTION],
            chemgroups=[dict(solvent), dict(polymer)],
            version=0,
        )
        value = float(model.lngammas_r()[0])
    except (KeyError, ValueError, ZeroDivisionError, FloatingPointError):
        return float("nan")
    return value if np.isfinite(value) else float("nan")


def unifac_chi(polymers, solvents, temperatures_K) -> np.ndarray:
    """chi_UNIFAC [n] of n (repeat unit SMILES, solvent SMILES, kelvin); NaN where either molecule has no
    group cover or the groups no parameters."""
    out = np.full(len(temperatures_K), np.nan)
    for i, (polymer, solvent, temperature) in enumerate(zip(polymers, solvents, temperatures_K)):
        p, s = repeat_unit_groups(polymer), molecule_groups(solvent)
        if p is not None and s is not None and np.isfinite(temperature):
            out[i] = ENTROPIC_CHI + residual_ln_gamma_inf(s, p, round(float(temperature), 2))
    return out
