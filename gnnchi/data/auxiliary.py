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
from torch.utils.data import Dataset

from gnnchi.chem import make_mol, molecule_keys
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
    """M molecules: their graph (x, edge_index, edge_attr, batch; PyG layout) and standardised targets [M, 3]."""

    graph: tuple[Tensor, Tensor, Tensor, Tensor]
    targets: Tensor


class MoleculeTargetDataset(Dataset):
    """The molecules of ``molecules`` at ``rows``, with targets standardised by the data's mean and std."""

    def __init__(self, molecules: HansenMolecules, rows: np.ndarray):
        self.graphs = [molecules.graphs[i] for i in rows]
        self.targets = ((molecules.values[rows] - molecules.mean) / molecules.std).astype(np.float32)

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, i: int) -> int:
        return i

    def collate(self, items: list[int]) -> MoleculeBatch:
        graph = collate_graphs([self.graphs[i] for i in items])
        return MoleculeBatch(
            tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in graph), torch.from_numpy(self.targets[items])
        )


def rows_not_held_out(molecules: HansenMolecules, held_out_keys: set[str]) -> np.ndarray:
    """Rows of the molecules whose group key is not held out (a validation or test molecule that
    training never sees stays unseen: its Hansen values are not trained on either)."""
    return np.flatnonzero(~np.isin(molecules.group_keys, sorted(held_out_keys)))
