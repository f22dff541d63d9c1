"""EnsembleNet: n trained pair models as one module (the export target of an ensemble).

Encodings of the members are concatenated, so a molecule is still encoded once per call,
and pair outputs are stacked per member: the spread over members is the uncertainty.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import Tensor, nn

from gnnchi.errors import ModelFileError
from gnnchi.models.chinet import HansenPairNet, PairModel


class EnsembleNet(PairModel):
    """n pair models with the same k: encodings [G, n * 2k], outputs [P, n, 1 + num_chi_tasks] (same inputs as ChiNet)."""

    system_name = "chi"

    def __init__(self, members: list[HansenPairNet]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        sizes = {m.latent_dim for m in members}
        if len(sizes) != 1:
            raise ModelFileError(f"ensemble members must share latent_dim; got {sorted(sizes)}")
        self.members = nn.ModuleList(members)
        self.latent_dim = members[0].latent_dim

    @property
    def num_members(self) -> int:
        return len(self.members)

    def encode_polymers(
        self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor, num_graphs: int
    ) -> Tensor:
        """[num_graphs, n * 2k]: member m's encoding in columns m * 2k .. (m + 1) * 2k."""
        return torch.cat([m.encode_polymers(x, edge_index, edge_attr, batch, num_graphs) for m in self.members], dim=1)

    def encode_solvents(
        self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor, num_graphs: int
    ) -> Tensor:
        """[num_graphs, n * 2k], laid out like :meth:`encode_polymers`."""
        return torch.cat([m.encode_solvents(x, edge_index, edge_attr, batch, num_graphs) for m in self.members], dim=1)

    def pair_head(self, polymer_latent: Tensor, solvent_latent: Tensor, temperature_K: Tensor) -> Tensor:
        """[P, n * 2k], [P, n * 2k], [P] -> [P, n, 1 + num_chi_tasks]."""
        width = 2 * self.latent_dim
        outputs = [
            m.pair_head(
                polymer_latent[:, i * width : (i + 1) * width],
                solvent_latent[:, i * width : (i + 1) * width],
                temperature_K,
            )
            for i, m in enumerate(self.members)
        ]
        return torch.stack(outputs, dim=1)


MANIFEST_NAME = "ensemble.json"
UNCERTAINTY_KEY = "uncertainty"  # the ensemble's uncertainty record (gnnchi.inference.calibration)


def write_manifest(path: str | Path, checkpoints: list[str | Path], uncertainty_record: dict | None = None) -> Path:
    """``ensemble.json``: the member checkpoints, relative to the manifest's folder, and the
    ensemble's uncertainty record once it is fitted."""
    from gnnchi.files import atomic_write

    path = Path(path)
    members = [str(Path(c).resolve().relative_to(path.parent.resolve())) for c in checkpoints]
    manifest = {"gnnchi_ensemble": 1, "members": members}
    if uncertainty_record is not None:
        manifest[UNCERTAINTY_KEY] = uncertainty_record
    atomic_write(path, lambda file: file.write((json.dumps(manifest, indent=1) + "\n").encode()))
    return path


def uncertainty_record_of(paths: list[str | Path]) -> dict | None:
    """The uncertainty record of one model file (a manifest or a checkpoint); None for several files
    (members put together by hand were never calibrated together) or a file without one."""
    from gnnchi.models.checkpoint import UNCERTAINTY_KEY as CHECKPOINT_KEY
    from gnnchi.models.checkpoint import read_checkpoint

    if len(paths) != 1:
        return None
    path = Path(paths[0])
    if path.suffix == ".json":
        member_checkpoints([path])  # refuses a file that is not a manifest
        return json.loads(path.read_text()).get(UNCERTAINTY_KEY)
    return read_checkpoint(path).get(CHECKPOINT_KEY)


def member_checkpoints(paths: list[str | Path]) -> list[Path]:
    """Checkpoint files of the given ``.ckpt`` files and ``ensemble.json`` manifests, in order."""
    found = []
    for path in map(Path, paths):
        if path.suffix != ".json":
            found.append(path)
            continue
        if not path.is_file():
            raise ModelFileError(f"ensemble manifest {str(path)!r} does not exist")
        try:
            manifest = json.loads(path.read_text())
            members = manifest["members"] if manifest.get("gnnchi_ensemble") == 1 else None
        except (ValueError, KeyError, AttributeError, UnicodeDecodeError):
            members = None
        if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
            raise ModelFileError(
                f"{path} is not a gnnchi ensemble manifest (expected {{'gnnchi_ensemble': 1, 'members': [...]}})"
            )
        found.extend(path.parent / m for m in members)
    return found


def load_ensemble(paths: list[str | Path]):
    """An eval-mode ensemble from checkpoints and/or manifests (weights only, no pickled objects): an
    :class:`EnsembleNet` of chi models, an :class:`~gnnchi.models.ionic_liquid.IonicLiquidEnsemble` or an
    :class:`~gnnchi.models.electrolyte.ElectrolyteEnsemble`; its ``system_name`` says which."""
    from gnnchi.models.checkpoint import load_net
    from gnnchi.models.electrolyte import ElectrolyteEnsemble
    from gnnchi.models.ionic_liquid import IonicLiquidEnsemble

    members = [load_net(p) for p in member_checkpoints(paths)]
    systems = {getattr(m, "system_name", "chi") for m in members}
    if len(systems) > 1:
        raise ModelFileError("an ensemble's members must be models of one system")
    ensemble = {"co2_il": IonicLiquidEnsemble, "electrolyte": ElectrolyteEnsemble}.get(systems.pop(), EnsembleNet)
    return ensemble(members).eval()
