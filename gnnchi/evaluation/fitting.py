"""Models for evaluate and tune: fitted through the same LightningCLI as ``fit``, cached per folder,
and predicted on table rows."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from gnnchi.errors import GnnChiError


def config_fingerprint(cli) -> str:
    """sha256 of a parsed config (as LightningCLI dumps it), of the data file it names and of the
    split policy (a fit cached under other folds is never reused)."""
    from gnnchi.data.splits import SPLIT_POLICY

    digest = hashlib.sha256(cli.parser.dump(cli.config, skip_none=False).encode())
    digest.update(f"split policy {SPLIT_POLICY}".encode())
    data = cli.config.data.init_args.get("data")
    if data and Path(data).is_file():
        digest.update(Path(data).read_bytes())
    return digest.hexdigest()


def fit_cached(config_args: list[str], overrides: list[str], folder: Path, fingerprint: str) -> list[Path]:
    """Fit (in-process, through the same LightningCLI as ``fit``) unless ``folder`` holds a fit of the
    same arguments, config contents and data (``fingerprint``); return the model files."""
    from gnnchi.training.cli import run_lightning_cli

    stamp = folder / "evaluate_fit.json"
    args = [*config_args, *overrides, "--checkpoint.dirpath", str(folder)]
    if stamp.is_file():
        saved = json.loads(stamp.read_text())
        if saved["args"] == args and saved.get("fingerprint") == fingerprint:
            return [Path(m) for m in saved["models"]]
        stamp.unlink()
    (folder / "ensemble.json").unlink(missing_ok=True)
    extra = ["--trainer.logger", "false", "--trainer.enable_progress_bar", "false", "--trainer.limit_test_batches", "0"]
    cli = run_lightning_cli(["fit", *args, *extra])  # evaluate and tune score the models themselves
    manifest = folder / "ensemble.json"
    members = [manifest] if manifest.is_file() else [Path(cli.trainer.checkpoint_callback.best_model_path)]
    stamp.write_text(
        json.dumps({"args": args, "fingerprint": fingerprint, "models": [str(m) for m in members]}, indent=1)
    )
    return members


def predict_rows(models: list[Path], rows: pd.DataFrame, hp, calibrated: bool = True, system=None) -> pd.DataFrame:
    """Predictions of an ensemble (or one model) of ``system`` (default chi) for table rows, with the
    data's own limits; every row must be predicted (they all passed the same checks in training).
    ``calibrated``: see :class:`~gnnchi.inference.predictor.Predictor`."""
    from gnnchi.systems import CHI

    out = _PREDICT[(system or CHI).name](models, rows, hp, calibrated)
    failed = out["error"] != ""
    if failed.any():
        raise GnnChiError(
            f"{int(failed.sum())} evaluation row(s) could not be predicted: {out['error'][failed].iloc[0]}"
        )
    return out


def _predict_chi(models: list[Path], rows: pd.DataFrame, hp, calibrated: bool) -> pd.DataFrame:
    from gnnchi.inference.predictor import Predictor

    predictor = Predictor.from_file(
        models, temperature_range_K=tuple(hp.temperature_range_K), max_heavy_atoms=hp.max_heavy_atoms,
        calibrated=calibrated,
    )  # fmt: skip
    return predictor.predict(rows["polymer"].tolist(), rows["solvent"].tolist(), rows["temperature_K"].to_numpy())


def _predict_co2_il(models: list[Path], rows: pd.DataFrame, hp, calibrated: bool) -> pd.DataFrame:
    from gnnchi.inference.il_predictor import IonicLiquidPredictor

    predictor = IonicLiquidPredictor(
        [Path(m) for m in models], temperature_range_K=tuple(hp.temperature_range_K),
        pressure_range_kPa=tuple(hp.pressure_range_kPa), max_heavy_atoms=hp.max_heavy_atoms, calibrated=calibrated,
    )  # fmt: skip
    return predictor.predict(rows["cation"].tolist(), rows["anion"].tolist(), rows["temperature_K"].to_numpy(),
                             rows["pressure_kPa"].to_numpy())  # fmt: skip


def _predict_electrolyte(models: list[Path], rows: pd.DataFrame, hp, calibrated: bool) -> pd.DataFrame:
    from gnnchi.inference.electrolyte_predictor import ElectrolytePredictor

    predictor = ElectrolytePredictor([Path(m) for m in models], max_heavy_atoms=hp.max_heavy_atoms, calibrated=calibrated)
    inputs = [c for c in rows.columns if c.split("_")[0] in ("component", "role", "fraction") and c.split("_")[-1].isdigit()]
    return predictor.predict_frame(rows[[*inputs, "mn_g_mol", "temperature_K"]], "evaluation rows")


_PREDICT = {"chi": _predict_chi, "co2_il": _predict_co2_il, "electrolyte": _predict_electrolyte}  # system name -> predictions of table rows
