"""Which predictor serves which system, and how a data module's limits become its arguments."""

from __future__ import annotations


def predictor_class(system: str):
    """The predictor class of a system (``chi``: :class:`~gnnchi.inference.predictor.Predictor`,
    ``co2_il``: :class:`~gnnchi.inference.il_predictor.IonicLiquidPredictor`, ``electrolyte``:
    :class:`~gnnchi.inference.electrolyte_predictor.ElectrolytePredictor`)."""
    if system == "electrolyte":
        from gnnchi.inference.electrolyte_predictor import ElectrolytePredictor

        return ElectrolytePredictor
    if system == "co2_il":
        from gnnchi.inference.il_predictor import IonicLiquidPredictor

        return IonicLiquidPredictor
    from gnnchi.inference.predictor import Predictor

    return Predictor


def predictor_for_data(models, datamodule, calibrated: bool = True):
    """A predictor of ``models`` with the limits the data module checked its rows with (each condition's
    range, the largest molecule), so every row it accepted can be predicted."""
    ranges = {f"{name.split('_')[0]}_range_{name.rsplit('_', 1)[-1]}": tuple(r) for name, r in datamodule.condition_ranges().items()}
    cls = predictor_class(datamodule.system.name)
    return cls(models, max_heavy_atoms=datamodule.hparams.max_heavy_atoms, calibrated=calibrated, **ranges)


def predict_table_rows(predictor, rows, system):
    """The predictor's output for records-table rows: molecule columns, then conditions, in the system's order."""
    return predictor.predict(
        *(rows[column].tolist() for column in system.molecule_columns),
        *(rows[condition.name].to_numpy() for condition in system.conditions),
    )
