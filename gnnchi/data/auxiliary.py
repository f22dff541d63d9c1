"""Per-molecule auxiliary targets that anchor the encoders: Hansen solubility parameters.

The chi data measures 46 polymers; the Hansen tables give (dD, dP, dH) of 1,181 small molecules. Training
``u`` of both encoders to map, through one shared linear map, onto a molecule's standardised
(dD, dP, dH) gives the encoders the group-contribution chemistry of far more molecules than the pairs
hold (:class:`gnnchi.models.module.ChiModule`, ``hansen_weight``).

Every SMILES has gone through the RDKit gate in :func:`gnnchi.datasets.hansen.load_hansen` (excluded rows
with reasons in ``hansen_hspipy/excluded_rows.csv``); a molecule over the data module's heavy-atom limit
is left out here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, Sampler

from gnnchi.chem import make_mol, molecule_keys
from gnnchi.data.datamodule import as_tensor, collate_distinct
from gnnchi.errors import InvalidSmilesError
from gnnchi.featurizers import MolGraph, collate_graphs, featurize

HANSEN_TARGETS = ("dD", "dP", "dH")


@dataclass(frozen=True)
class HansenMolecules:
    """graphs: one per molecule; group_keys [M] (stereo-free, as splits group); values [M, 3]
    (dD, dP, dH in MPa^0.5); mean, std [3]: of the values, to standardise the targets."""

    graphs: tuple[MolGraph, ...]
    group_keys: np.ndarray
    values: np.ndarray
    mean: np.ndarray
    std: np.ndarray


@lru_cache(maxsize=4)
def hansen_molecules(max_heavy_atoms: int) -> HansenMolecules:
    """The bundled Hansen molecules, featurized once per process (evaluate fits many folds)."""
    from gnnchi.datasets.hansen import load_hansen

    table = load_hansen().table
    graphs, keys, values = [], [], []
    for smiles, row in zip(table["smiles"], table[list(HANSEN_TARGETS)].to_numpy(np.float32)):
        try:
            mol = make_mol(smiles, "solvent", max_heavy_atoms=max_heavy_atoms)
        except InvalidSmilesError:  # over the heavy-atom limit of this run
            continue
        graphs.append(featurize(mol))
        keys.append(molecule_keys(mol, "solvent")[1])
        values.append(row)
    values = np.stack(values)
    return HansenMolecules(tuple(graphs), np.array(keys), values, values.mean(axis=0), values.std(axis=0))


class MoleculeBatch(NamedTuple):
    """M molecules: their graph (x, edge_index, edge_attr, batch; PyG layout), standardised targets [M, 3]
    and rows [M] (each molecule's index in :class:`HansenMolecules`, to trace what each rank saw)."""

    graph: tuple[Tensor, Tensor, Tensor, Tensor]
    targets: Tensor
    rows: Tensor


class MoleculeTargetDataset(Dataset):
    """The molecules of ``molecules`` at ``rows``, with targets standardised by the data's mean and std."""

    def __init__(self, molecules: HansenMolecules, rows: np.ndarray):
        self.rows = np.asarray(rows)
        self.graphs = [molecules.graphs[i] for i in rows]
        self.targets = ((molecules.values[rows] - molecules.mean) / molecules.std).astype(np.float32)

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, i: int) -> int:
        return i

    def collate(self, items: list[int]) -> MoleculeBatch:
        graph = collate_graphs([self.graphs[i] for i in items])
        targets, rows = as_tensor(self.targets[items]), as_tensor(self.rows[items])
        return MoleculeBatch(tuple(as_tensor(a) for a in graph), targets, rows)


def rows_not_held_out(molecules: HansenMolecules, held_out_keys: set[str]) -> np.ndarray:
    """Rows of the molecules whose group key is not held out (a validation or test molecule that
    training never sees stays unseen: its Hansen values are not trained on either)."""
    return np.flatnonzero(~np.isin(molecules.group_keys, sorted(held_out_keys)))


@dataclass(frozen=True)
class IdacPairs:
    """Small-molecule pairs with ln gamma_inf: solute_graphs, solvent_graphs (distinct molecules);
    solute, solvent [N] (each pair's molecule among them); solute_group_keys, solvent_group_keys
    (per distinct molecule); inverse_temperature [N] (1/T standardised over the data); values [N]
    (ln gamma_inf); mean, std: of the values, to standardise the targets."""

    solute_graphs: tuple[MolGraph, ...]
    solvent_graphs: tuple[MolGraph, ...]
    solute: np.ndarray
    solvent: np.ndarray
    solute_group_keys: np.ndarray
    solvent_group_keys: np.ndarray
    inverse_temperature: np.ndarray
    values: np.ndarray
    mean: float
    std: float


@lru_cache(maxsize=4)
def idac_pairs(max_heavy_atoms: int) -> IdacPairs:
    """The bundled activity coefficients (:func:`gnnchi.datasets.idac.load_idac`, already through the
    RDKit gate), each distinct molecule featurized once per process; pairs with a molecule over
    ``max_heavy_atoms`` are left out."""
    from gnnchi.datasets.idac import load_idac

    table = load_idac().table
    columns = {}
    for role in ("solute", "solvent"):
        graphs, keys, index = [], [], {}
        for smiles, key in dict(zip(table[f"{role}_smiles"], table[f"{role}_group_key"])).items():
            try:
                graphs.append(featurize(make_mol(smiles, "solvent", max_heavy_atoms=max_heavy_atoms)))
            except InvalidSmilesError:  # over the heavy-atom limit of this run
                continue
            index[smiles] = len(keys)
            keys.append(key)
        columns[role] = (tuple(graphs), np.array(keys), table[f"{role}_smiles"].map(index).to_numpy(float))
    kept = ~(np.isnan(columns["solute"][2]) | np.isnan(columns["solvent"][2]))
    inverse = 1.0 / table["temperature_K"].to_numpy(float)[kept]
    values = table["ln_gamma_inf"].to_numpy(float)[kept]
    return IdacPairs(
        columns["solute"][0], columns["solvent"][0],
        columns["solute"][2][kept].astype(np.int64), columns["solvent"][2][kept].astype(np.int64),
        columns["solute"][1], columns["solvent"][1],
        ((inverse - inverse.mean()) / inverse.std()).astype(np.float32), values.astype(np.float32),
        float(values.mean()), float(values.std()),
    )  # fmt: skip


class MoleculePairBatch(NamedTuple):
    """P small-molecule pairs: the distinct solutes' and solvents' graphs (PyG layout), each pair's
    solute and solvent among them [P], standardised 1/T [P], standardised targets [P] and rows [P]
    (each pair's index in :class:`IdacPairs`)."""

    solute_graph: tuple[Tensor, Tensor, Tensor, Tensor]
    solute: Tensor
    solvent_graph: tuple[Tensor, Tensor, Tensor, Tensor]
    solvent: Tensor
    inverse_temperature: Tensor
    targets: Tensor
    rows: Tensor


class PairTargetDataset(Dataset):
    """The pairs of ``pairs`` at ``rows``; each batch encodes a molecule it repeats once."""

    def __init__(self, pairs: IdacPairs, rows: np.ndarray):
        self.pairs, self.rows = pairs, np.asarray(rows)
        self.targets = ((pairs.values[self.rows] - pairs.mean) / pairs.std).astype(np.float32)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> int:
        return i

    def collate(self, items: list[int]) -> MoleculePairBatch:
        rows = self.rows[items]
        solute = collate_distinct(self.pairs.solute_graphs, self.pairs.solute[rows])
        solvent = collate_distinct(self.pairs.solvent_graphs, self.pairs.solvent[rows])
        inverse_temperature, targets = as_tensor(self.pairs.inverse_temperature[rows]), as_tensor(self.targets[items])
        return MoleculePairBatch(*solute, *solvent, inverse_temperature, targets, as_tensor(rows))


def idac_rows_not_held_out(pairs: IdacPairs, held_out_keys: set[str]) -> np.ndarray:
    """Rows of the pairs with neither molecule held out (see :func:`rows_not_held_out`)."""
    held = sorted(held_out_keys)
    solute_out = np.isin(pairs.solute_group_keys, held)[pairs.solute]
    solvent_out = np.isin(pairs.solvent_group_keys, held)[pairs.solvent]
    return np.flatnonzero(~(solute_out | solvent_out))


class RandomDraws(Sampler[int]):
    """``num_samples`` of ``range(size)`` drawn without replacement, new ones each pass, from a generator
    of its own seeded with ``seed``: every DDP rank draws the same indices (Lightning's wrapper then
    gives each rank its share), where a ``RandomSampler`` would be swapped for a plain shuffle of all."""

    def __init__(self, size: int, num_samples: int, seed: int):
        self.size, self.num_samples = size, min(num_samples, size)
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self):
        return iter(torch.randperm(self.size, generator=self.generator)[: self.num_samples].tolist())
