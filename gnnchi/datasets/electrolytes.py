"""Ionic conductivity of polymer electrolytes: the bundled records and their checks (the data of the
electrolyte system, :data:`gnnchi.systems.ELECTROLYTE`).

Source: ``polymer_electrolytes/``, chemcognition-lab/chemixhub @6b878cc3
``datasets/polymer-electrolyte/processed_data/`` (CheMixHub), data CC-BY-4.0 from Bradford et al.,
ACS Cent. Sci. 2023, 9, 206 (DOI 10.1021/acscentsci.2c01123); see that folder's README.md.

A record is a mixture of components (polymers, salts, additives) with their mole fractions, the
polymer's Mn or Mw, a temperature and log10 of the ionic conductivity. The source lists each record's
``cmp_ids`` solvent slots S1-S4 first (polymers and additives; ``cmpN_mn_or_mw`` is slot N's Mn or Mw)
and salt slots last, with ``cmp_mole_fractions`` in the same order. A polymer is its ``monomeric_unit``
with the chain ends ``[Cu]`` and ``[Au]`` written as the repeat unit's two ``*``, as in the chi system.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem, rdBase

from gnnchi.chem import DEFAULT_MAX_HEAVY_ATOMS, make_mol, molecule_keys
from gnnchi.errors import InvalidSmilesError, RowProblem
from gnnchi.systems.electrolyte import MAX_COMPONENTS, TARGET, TEMPERATURE

HERE = Path(__file__).parent / "polymer_electrolytes"
SOURCE = "polymer_electrolytes/spe_conductivity.csv"
FRACTION_TOLERANCE = 1e-3  # a record's mole fractions may sum to 1 +- this without renormalising
CHAIN_ENDS = ("[Cu]", "[Au]")  # the source's two chain-end atoms of a polymer's monomeric unit
ROLES = ("polymer", "salt", "additive")
SET_SEPARATOR = " + "  # joins the components' "role group_key" into the record's component-set key


def repeat_unit(monomeric_unit: str) -> str:
    """``[Cu]CCO[Au]`` -> ``*CCO*``: the source's chain ends become the repeat unit's two ``*``."""
    for end in CHAIN_ENDS:
        monomeric_unit = monomeric_unit.replace(end, "*")
    return monomeric_unit


def load_compounds() -> pd.DataFrame:
    """The 402 compounds, indexed by ``compound_id``: ``smiles`` (polymers as repeat units with ``*``)
    and ``role`` (``polymer`` where flagged so, else ``salt`` where flagged so, else ``additive``)."""
    raw = pd.read_csv(HERE / "compounds.csv", index_col="compound_id")
    polymer, salt = raw["polymer"].astype(bool), raw["salt"].astype(bool)
    return pd.DataFrame(
        {
            "smiles": np.where(polymer, raw["monomeric_unit"].fillna("").map(repeat_unit), raw["smiles"]),
            "role": np.select([polymer, salt], ["polymer", "salt"], "additive"),
        },
        index=raw.index,
    )


def load_electrolytes() -> pd.DataFrame:
    """All 11,350 records, one row each, as many component slots as the widest record (5):
    ``component_i`` (SMILES, "" where absent), ``role_i``, ``fraction_i`` (mole fraction as given;
    NaN where absent, and for every component of a record that lists fewer fractions than components,
    since which is which is unknown), ``mn_g_mol`` (the ``cmpN_mn_or_mw`` of the record's polymer with
    the largest mole fraction, the first on a tie; NaN without a polymer), ``temperature_K``,
    ``log10_conductivity_S_cm``, ``source`` and ``row`` (the line in the source file)."""
    raw = pd.read_csv(HERE / "spe_conductivity.csv")
    compounds = load_compounds()
    ids = [[int(i) for i in json.loads(text)] for text in raw["cmp_ids"]]
    given = [json.loads(text) for text in raw["cmp_mole_fractions"]]
    mn_or_mw = raw[[c for c in raw.columns if c.endswith("_mn_or_mw")]].to_numpy(float)  # slot N -> column N
    width = max(map(len, ids))
    smiles, roles = np.full((len(raw), width), "", dtype=object), np.full((len(raw), width), "", dtype=object)
    fractions, mn = np.full((len(raw), width), np.nan), np.full(len(raw), np.nan)
    for r, (components, listed) in enumerate(zip(ids, given)):
        smiles[r, : len(components)] = compounds.loc[components, "smiles"].to_numpy()
        roles[r, : len(components)] = compounds.loc[components, "role"].to_numpy()
        if len(listed) == len(components):
            fractions[r, : len(components)] = listed
        polymers = [p for p in range(len(components)) if roles[r, p] == "polymer"]
        if polymers:
            mn[r] = mn_or_mw[r, max(polymers, key=lambda p: np.nan_to_num(fractions[r, p], nan=-1.0))]
    table = {}
    for i in range(width):
        table |= {
            f"component_{i + 1}": smiles[:, i],
            f"role_{i + 1}": roles[:, i],
            f"fraction_{i + 1}": fractions[:, i],
        }
    return pd.DataFrame(
        {
            **table,
            "mn_g_mol": mn,
            "temperature_K": raw["Temperature, K"].to_numpy(float),
            TARGET: raw["value"].to_numpy(float),
            "source": SOURCE,
            "row": np.arange(len(raw)) + 2,
        }
    )


def component_columns(table: pd.DataFrame) -> list[int]:
    """The component slot numbers of a wide table (1, 2, ...)."""
    return sorted(int(m[1]) for c in table.columns if (m := re.fullmatch(r"component_(\d+)", c)))


class _ComponentKeys:
    """Canonical key and group key of each distinct (role, SMILES), through the RDKit gate once."""

    def __init__(self, max_heavy_atoms: int):
        self.max_heavy_atoms = max_heavy_atoms
        self.keys: dict[tuple[str, str], tuple[str, str] | str] = {}  # keys, or the gate's reason

    def get(self, role: str, smiles: str, row: int) -> tuple[str, str] | str:
        if (role, smiles) not in self.keys:
            try:
                self.keys[(role, smiles)] = self._keys(role, smiles, row)
            except InvalidSmilesError as err:
                self.keys[(role, smiles)] = err.reason
        return self.keys[(role, smiles)]

    def _keys(self, role: str, smiles: str, row: int) -> tuple[str, str]:
        if role != "salt":
            kind = "polymer" if role == "polymer" else "solvent"
            return molecule_keys(make_mol(smiles, kind, row, self.max_heavy_atoms), kind)
        return salt_keys(smiles, row, self.max_heavy_atoms)


def _salt_fragments(smiles: str, row: int | None, max_heavy_atoms: int) -> list[tuple[Chem.Mol, str]]:
    """A salt's ``.``-separated fragments, each through the gate as a cation (net charge > 0), an anion
    (< 0) or a neutral molecule (``solvent``), with that kind; their charges must sum to zero."""
    fragments, charge = [], 0
    for fragment in smiles.split("."):
        with rdBase.BlockLogs():
            parsed = Chem.MolFromSmiles(fragment)
        sign = int(np.sign(sum(a.GetFormalCharge() for a in parsed.GetAtoms()))) if parsed is not None else 0
        kind = {1: "cation", -1: "anion", 0: "solvent"}[sign]
        mol = make_mol(fragment, kind, row, max_heavy_atoms)  # an unreadable fragment fails here
        charge += Chem.GetFormalCharge(mol)
        fragments.append((mol, kind))
    if charge != 0:
        raise InvalidSmilesError(
            smiles, f"a salt's formal charges must sum to zero; they sum to {charge:+d}", row, "salt"
        )
    return fragments


def salt_keys(smiles: str, row: int | None = None, max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS) -> tuple[str, str]:
    """Canonical and group key of a salt: its fragments' keys (:func:`_salt_fragments`), joined sorted by
    ``.``. The gate refuses a whole salt (several fragments), so it checks each fragment."""
    keys = [molecule_keys(mol, kind) for mol, kind in _salt_fragments(smiles, row, max_heavy_atoms)]
    return ".".join(sorted(k for k, _ in keys)), ".".join(sorted(g for _, g in keys))


def component_mol(role: str, smiles: str, row: int | None = None, max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS) -> Chem.Mol:
    """The checked molecule of a component (what the featurizer reads): a polymer's repeat unit, an
    additive, or a salt's checked fragments as one molecule of several fragments."""
    if role == "salt":
        fragments = [mol for mol, _ in _salt_fragments(smiles, row, max_heavy_atoms)]
        combined = fragments[0]
        for mol in fragments[1:]:
            combined = Chem.CombineMols(combined, mol)
        Chem.SanitizeMol(combined)  # the fragments were sanitised; this sets the ring information of the whole
        return combined
    return make_mol(smiles, "polymer" if role == "polymer" else "solvent", row, max_heavy_atoms)


def infer_role(smiles: str) -> str:
    """The role of a component written without one: ``polymer`` (a repeat unit: it has ``*``), ``salt``
    (charged, or several fragments) or ``additive``; "" for an empty cell. Used where a table has no
    ``role_i`` columns (a user's formulations)."""
    smiles = smiles.strip() if isinstance(smiles, str) else ""
    if not smiles:
        return ""
    if "*" in smiles:
        return "polymer"
    with rdBase.BlockLogs():
        parsed = Chem.MolFromSmiles(smiles)
    charged = parsed is not None and any(a.GetFormalCharge() for a in parsed.GetAtoms())
    return "salt" if "." in smiles or charged else "additive"


def check_electrolytes(
    frame: pd.DataFrame, max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS, require_target: bool = True
) -> tuple[pd.DataFrame, list[RowProblem], list[RowProblem]]:
    """Check every record of a wide table (:func:`load_electrolytes`'s columns); return the kept rows,
    every problem of the refused rows, and the warnings of kept rows (both as row reports).

    A record is refused if it has no component or more than :data:`MAX_COMPONENTS`, names one compound
    twice, has a component that fails the RDKit gate (polymers as ``polymer``, additives as ``solvent``,
    salts by :func:`salt_keys`) or an unknown role, a component without a mole fraction (or a fraction
    without a component), a fraction outside [0, 1], fractions summing to zero, an Mn that is not
    positive, a temperature outside the plausible range, or a conductivity that is not finite (missing
allowed without ``require_target``: formulations to predict). Fractions
    summing to 1 +- :data:`FRACTION_TOLERANCE` are kept as given, others renormalised with a warning.

    Kept table: ``component_i``, ``role_i``, ``fraction_i`` for i = 1..:data:`MAX_COMPONENTS`, each
    component's ``component_i_key`` (canonical) and ``component_i_group_key`` (no stereo; "" where
    absent), ``component_set`` (each component's role and group key, sorted and joined: what
    component-set splits group by),
    and the frame's other columns.
    """
    slots = component_columns(frame)
    gate = _ComponentKeys(max_heavy_atoms)
    fractions = frame[[f"fraction_{i}" for i in slots]].to_numpy(float, copy=True)  # renormalised in place
    keep, found, problems, warnings = [], [], [], []
    for r, record in enumerate(frame.to_dict("records")):
        source = str(record.get("source", ""))
        keys, mistakes = _component_problems(record, slots, fractions[r], gate)
        mistakes += _value_problems(record, require_target)
        if mistakes:
            problems += [replace(p, source=source) for p in mistakes]
            continue
        total = float(np.nansum(fractions[r]))
        if abs(total - 1.0) > FRACTION_TOLERANCE:
            fractions[r] /= total
            reason = f"the mole fractions sum to {total:g}; renormalised to 1"
            warnings.append(RowProblem(int(record["row"]), "fractions", f"{total:g}", reason, source))
        keep.append(r)
        found.append(keys)
    kept = frame.iloc[keep].reset_index(drop=True)
    kept[[f"fraction_{i}" for i in slots]] = fractions[keep]
    extra = [f"{column}_{i}" for i in slots if i > MAX_COMPONENTS for column in ("component", "role", "fraction")]
    kept = kept.drop(columns=extra)  # empty in every kept row
    for i in range(1, MAX_COMPONENTS + 1):
        kept[f"component_{i}_key"] = [k[i][0] if i in k else "" for k in found]
        kept[f"component_{i}_group_key"] = [k[i][1] if i in k else "" for k in found]
    roles = kept[[f"role_{i}" for i in range(1, MAX_COMPONENTS + 1)]].to_numpy()
    kept["component_set"] = [
        SET_SEPARATOR.join(sorted(f"{role[i - 1]} {group}" for i, (_, group) in k.items()))
        for role, k in zip(roles, found)
    ]
    return kept, problems, warnings


def _component_problems(
    record: dict, slots: list[int], fractions: np.ndarray, gate: _ComponentKeys
) -> tuple[dict[int, tuple[str, str]], list[RowProblem]]:
    """(canonical, group) key of each present component by slot, and the problems of the components and
    their mole fractions (``fractions``: the record's, by slot position)."""
    row = int(record["row"])
    keys, problems, present = {}, [], 0
    for p, i in enumerate(slots):
        smiles, role = (
            record[f"{c}_{i}"].strip() if isinstance(record[f"{c}_{i}"], str) else "" for c in ("component", "role")
        )
        fraction = fractions[p]
        if not smiles:
            if not np.isnan(fraction):
                problems.append(
                    RowProblem(row, f"fraction_{i}", f"{fraction:g}", "a mole fraction without a component")
                )
            continue
        present += 1
        if role not in ROLES:
            problems.append(RowProblem(row, f"role_{i}", role, f"the role must be one of {', '.join(ROLES)}"))
        elif isinstance(found := gate.get(role, smiles, row), str):
            problems.append(RowProblem(row, f"component_{i}", smiles, found))
        else:
            keys[i] = found
        if np.isnan(fraction):
            problems.append(RowProblem(row, f"fraction_{i}", "", "no mole fraction for this component"))
        elif not 0.0 <= fraction <= 1.0:
            problems.append(RowProblem(row, f"fraction_{i}", f"{fraction:g}", "a mole fraction must lie in [0, 1]"))
    if present == 0:
        problems.append(RowProblem(row, "component_1", "", "no component"))
    if present > MAX_COMPONENTS:
        problems.append(
            RowProblem(row, "components", str(present), f"a record takes at most {MAX_COMPONENTS} components")
        )
    canonical = [k for k, _ in keys.values()]
    if len(set(canonical)) < len(canonical):
        twice = sorted({k for k in canonical if canonical.count(k) > 1})
        problems.append(RowProblem(row, "components", "; ".join(twice), "the record names the same compound twice"))
    total = float(np.nansum(fractions))
    if present and not any(p.column.startswith("fraction") for p in problems) and total <= 0:
        problems.append(RowProblem(row, "fractions", f"{total:g}", "the mole fractions sum to zero"))
    return keys, problems


def _value_problems(record: dict, require_target: bool = True) -> list[RowProblem]:
    """Problems of a record's Mn (may be missing), temperature and conductivity (may be missing without
    ``require_target``)."""
    row, problems = int(record["row"]), []
    mn, temperature, target = record["mn_g_mol"], record["temperature_K"], record[TARGET]
    if not (np.isnan(mn) or (np.isfinite(mn) and mn > 0)):
        problems.append(RowProblem(row, "mn_g_mol", f"{mn:g}", "Mn must be a positive number (g/mol)"))
    low, high = TEMPERATURE.valid_range
    if np.isnan(temperature):
        problems.append(RowProblem(row, "temperature_K", "", "missing temperature"))
    elif not low <= temperature <= high:
        problems.append(
            RowProblem(row, "temperature_K", f"{temperature:g}", f"outside the plausible range {low:g}-{high:g} K")
        )
    if (require_target or not np.isnan(target)) and not np.isfinite(target):
        problems.append(RowProblem(row, TARGET, f"{target:g}", "the conductivity must be a finite number"))
    return problems


SPLIT_ROLES = {"polymers": "polymer", "salts": "salt"}  # split group column -> the role it leaves out


def split_group_keys(kept: pd.DataFrame) -> pd.DataFrame:
    """What each split groups a checked record by (``<name>_group_key``, as :mod:`gnnchi.data.splits` reads):

    - ``component_set``: the record's set of compounds (roles and group keys);
    - ``polymers`` / ``salts``: the connected set of polymers (salts) the record belongs to, where two
      compounds of a role are connected when a record holds both (a blend of two polymers): no polymer
      of a test record is then in any training record. A record without a compound of that role is
      grouped by its component set.
    """
    slots = range(1, MAX_COMPONENTS + 1)
    keys = kept[[f"component_{i}_group_key" for i in slots]].to_numpy()
    roles = kept[[f"role_{i}" for i in slots]].to_numpy()
    out = pd.DataFrame({"component_set_group_key": kept["component_set"].to_numpy()}, index=kept.index)
    for name, role in SPLIT_ROLES.items():
        members = [sorted({k for k, r in zip(row_keys, row_roles) if r == role and k}) for row_keys, row_roles in zip(keys, roles)]
        root = _connected_roots(members)
        out[f"{name}_group_key"] = [
            f"{role} {root[found[0]]}" if found else f"without {role}: {component_set}"
            for found, component_set in zip(members, out["component_set_group_key"])
        ]
    return out


def _connected_roots(sets: list[list[str]]) -> dict[str, str]:
    """Each key of ``sets`` -> one key of its connected set (keys connected when a set holds both; union-find)."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for found in sets:
        for key in found:
            parent[find(key)] = find(found[0])
    return {key: find(key) for key in list(parent)}


def mixture_identity(kept: pd.DataFrame) -> pd.DataFrame:
    """What makes two checked records the same measurement: the mixture (canonical components with their
    mole fractions, in any order), Mn and temperature, one column each."""
    slots = range(1, MAX_COMPONENTS + 1)
    mixture = [
        tuple(sorted((k, round(f, 4)) for k, f in zip(keys, fractions) if k))
        for keys, fractions in zip(
            kept[[f"component_{i}_key" for i in slots]].to_numpy(),
            kept[[f"fraction_{i}" for i in slots]].to_numpy(float),
        )
    ]
    return pd.DataFrame(
        {"mixture": mixture, "mn": kept["mn_g_mol"].round(4), "t": kept["temperature_K"].round(4)}, index=kept.index
    )


def duplicate_counts(kept: pd.DataFrame) -> dict[str, int]:
    """Records that repeat one measurement (:func:`mixture_identity`): ``repeated_rows`` (rows after the
    first of such a group), ``identical_rows`` (of those, with the first row's conductivity),
    ``conflicting_groups`` (groups whose conductivities differ)."""
    identity = mixture_identity(kept)
    groups = kept[TARGET].groupby([identity[c] for c in identity.columns], dropna=False, sort=False)
    first = groups.transform("first")
    repeated = groups.cumcount() > 0
    return {
        "repeated_rows": int(repeated.sum()),
        "identical_rows": int((repeated & (kept[TARGET] - first).abs().le(1e-9)).sum()),
        "conflicting_groups": int((groups.max() - groups.min()).gt(1e-9).sum()),
    }


def summary(table: pd.DataFrame) -> None:
    """Print what :func:`check_electrolytes` keeps and refuses of ``table``, and what the kept rows hold."""
    kept, problems, warnings = check_electrolytes(table)
    refused = pd.DataFrame([p.__dict__ for p in problems], columns=["row", "column", "reason"])
    refused["reason"] = refused["column"].str.rstrip("0123456789_") + ": " + refused["reason"]  # per column kind
    print(f"{len(table)} records: {len(kept)} kept ({len(warnings)} renormalised with a warning), "
          f"{refused['row'].nunique()} refused; refused rows per reason:")  # fmt: skip
    print(refused.drop_duplicates(["row", "reason"]).groupby("reason").size().sort_values(ascending=False).to_string())
    slots = range(1, MAX_COMPONENTS + 1)
    roles = pd.concat(
        [kept[[f"component_{i}_group_key", f"role_{i}"]].set_axis(["key", "role"], axis=1) for i in slots]
    )
    distinct = roles[roles["key"] != ""].drop_duplicates().groupby("role").size()
    sizes = kept[[f"component_{i}" for i in slots]].ne("").sum(axis=1).value_counts().sort_index()
    polymers = kept[[f"role_{i}" for i in slots]].eq("polymer").sum(axis=1).value_counts().sort_index()
    print(f"distinct compounds (group keys): {distinct.to_dict()}; component sets: {kept['component_set'].nunique()}")
    print(f"records by number of components: {sizes.to_dict()}; by number of polymers: {polymers.to_dict()}")
    print(f"temperature {kept['temperature_K'].min():.2f}-{kept['temperature_K'].max():.2f} K; "
          f"Mn {kept['mn_g_mol'].min():g}-{kept['mn_g_mol'].max():g} g/mol, missing in "
          f"{kept['mn_g_mol'].isna().sum()} rows; {TARGET} {kept[TARGET].min():g} to {kept[TARGET].max():g}")  # fmt: skip
    print(f"duplicates: {duplicate_counts(kept)}")


if __name__ == "__main__":
    summary(load_electrolytes())
