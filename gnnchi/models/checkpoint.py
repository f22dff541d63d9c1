"""Checkpoints: the model card that says what a saved model needs, and loading the pure model
from a Lightning checkpoint without unpickling any object (torch only; no Lightning import)."""

from __future__ import annotations

import io
from pathlib import Path

import torch

import gnnchi
from gnnchi.errors import CheckpointWriteError, ModelFileError
from gnnchi.featurizers import ATOM_DIM, BOND_DIM, FEATURIZER_VERSION
from gnnchi.systems import DEFAULT_SYSTEM, get_system


def model_card(system: str = DEFAULT_SYSTEM) -> dict:
    """Plain values that say what a saved model needs: system, versions, feature sizes, task names."""
    return {
        "version": gnnchi.__version__,
        "system": system,
        "featurizer_version": FEATURIZER_VERSION,
        "atom_dim": ATOM_DIM,
        "bond_dim": BOND_DIM,
        "tasks": list(get_system(system).task_names),
    }


def check_model_card(card: dict | None, what: str) -> str:
    """Refuse a model that is not gnnchi's or was trained on other features; return its system
    (cards written before systems were declared are chi models)."""
    if not isinstance(card, dict):
        raise ModelFileError(f"this {what} is not a gnnchi model (no gnnchi model card)")
    if card.get("featurizer_version") != FEATURIZER_VERSION:
        raise ModelFileError(
            f"this {what} was trained with featurizer version {card.get('featurizer_version')}, "
            f"gnnchi {gnnchi.__version__} uses version {FEATURIZER_VERSION}: retrain it"
        )
    system = card.get("system", DEFAULT_SYSTEM)
    try:
        expected = model_card(system)
    except KeyError as err:
        raise ModelFileError(f"this {what} is a model of {err.args[0]}") from None
    for key in ("atom_dim", "bond_dim", "tasks"):
        if card.get(key) != expected[key]:
            raise ModelFileError(f"this {what} has {key} {card.get(key)!r}; this gnnchi expects {expected[key]!r}")
    return system


def read_checkpoint(path: str | Path) -> dict:
    """The checked contents of a gnnchi checkpoint, read without unpickling any object."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"checkpoint {str(path)!r} does not exist")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated files, tampered pickles and non-zip data all land here
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelFileError(f"{path} is not a readable gnnchi checkpoint ({reason})") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ModelFileError(f"{path} is not a Lightning checkpoint")
    check_model_card(checkpoint.get("gnnchi"), f"checkpoint {path}")
    return checkpoint


UNCERTAINTY_KEY = "gnnchi_uncertainty"  # a checkpoint's uncertainty record (gnnchi.inference.calibration)


def write_checkpoint(checkpoint: dict, path: str | Path) -> None:
    """Save a checkpoint atomically (:func:`gnnchi.files.atomic_write`); a failed write (a full disk, no
    permission) raises :class:`CheckpointWriteError` naming the file, and leaves the previous file as it was."""
    from gnnchi.files import atomic_write

    data = io.BytesIO()
    torch.save(checkpoint, data)  # in memory first: torch turns a failed file write into a bare RuntimeError
    try:
        atomic_write(path, lambda file: file.write(data.getbuffer()))
    except OSError as err:
        raise CheckpointWriteError(path, err) from err


def write_uncertainty(path: str | Path, uncertainty_record: dict) -> None:
    """Add the uncertainty record fitted after training to a checkpoint (rewritten atomically)."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    checkpoint[UNCERTAINTY_KEY] = uncertainty_record
    write_checkpoint(checkpoint, path)


def build_net(system: str = DEFAULT_SYSTEM, **hyperparameters) -> torch.nn.Module:
    """The system's pure pair model from a module's hyperparameters (training settings are ignored)."""
    spec = get_system(system)
    arguments = {k: v for k, v in hyperparameters.items() if k in spec.net_arguments}
    return spec.net(ATOM_DIM, BOND_DIM, **arguments)


def load_net(path: str | Path) -> torch.nn.Module:
    """The trained pure model (eval mode) of a checkpoint written by ``fit``."""
    checkpoint = read_checkpoint(path)
    system = check_model_card(checkpoint["gnnchi"], f"checkpoint {path}")
    net = build_net(system, **checkpoint.get("hyper_parameters", {}))
    weights = {k[len("net.") :]: v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
    try:
        net.load_state_dict(weights)
    except RuntimeError as err:
        raise ModelFileError(f"{path}: weights do not fit the model its hyperparameters describe ({err})") from None
    return net.eval()
