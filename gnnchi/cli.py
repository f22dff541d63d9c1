"""Command line: ``python -m gnnchi <verb> ...`` (or ``gnnchi <verb> ...``); ``--help`` lists the verbs.

``fit``, ``validate`` and ``test`` go through LightningCLI (:mod:`gnnchi.training.cli`); the other
verbs are gnnchi's own. ``export``, ``predict``, ``screen``, ``encode`` and ``map`` do not import
Lightning, and ``predict``, ``screen``, ``encode`` and ``map`` with an ONNX model do not import torch.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gnnchi.errors import GnnChiError
from gnnchi.training import VERBS as TRAINING_VERBS

VERBS = {
    **TRAINING_VERBS,
    "export": "write ONNX models of a checkpoint or an ensemble, after a parity check against torch",
    "predict": "chi and P(soluble) for every row of a CSV of polymer-solvent pairs (x_co2 of ionic liquids, "
    "log10 conductivity of electrolyte formulations with those systems' inputs)",
    "screen": "rank candidate solvents for one polymer, or candidate polymers for one solvent (cations x anions; "
    "polymers x salts x loadings)",
    "encode": "each molecule's learned Hansen-like coordinates u and r, for every row of a CSV",
    "map": "a PNG map of candidate solvents around one polymer in the model's u-space, coloured by predicted chi",
    "evaluate": "score gnnchi and the baselines on every fold of a protocol",
    "tune": "Optuna search of settings, scored on grouped inner validation inside one outer training part; resumable",
    "calibrate": "give a fitted model the std calibration that evaluate fitted on every fold's test rows of its recipe",
    "info": "show a model's card: a shipped model's data, versions, recipe and measured metrics",
}


def program_name() -> str:
    """``python -m gnnchi`` when run as a module, else the script's name (``gnnchi``)."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "gnnchi"
    return "python -m gnnchi" if name == "__main__.py" else name


def main(args: list[str] | None = None):
    """Run the command line; tests call ``main([...])`` in-process."""
    from gnnchi.settings import configure_process

    argv = list(sys.argv[1:] if args is None else args)
    configure_process(uses_torch=False)  # warning filters; each verb sets up torch when it uses it
    try:
        if argv and argv[0] in TRAINING_VERBS:
            from gnnchi.training.cli import run_lightning_cli

            if {"-h", "--help"} & set(argv):  # Lightning's long help, after what the verb does
                print(f"{program_name()} {argv[0]}: {VERBS[argv[0]]}.\n", flush=True)

            return run_lightning_cli(args, prog=program_name())
        status = run_own_verb(argv)
        if status:
            raise SystemExit(status)
        return None
    except GnnChiError as err:  # the user's input is wrong: say what and how to fix it, no traceback
        print(f"gnnchi: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def build_parser() -> argparse.ArgumentParser:
    from gnnchi.chem import DEFAULT_MAX_HEAVY_ATOMS
    from gnnchi.evaluation.baselines import BASELINES, DEFAULT_BASELINES
    from gnnchi.evaluation.protocols import ALL_PROTOCOLS, PROTOCOLS, protocols_help
    from gnnchi.evaluation.tuning import DEFAULT_PROTOCOL, DEFAULT_STUDY_NAME, STUDY_FILE
    from gnnchi.systems import DEFAULT_SYSTEM, SHIPPED
    from gnnchi.systems.chi import DEFAULT_TEMPERATURE_RANGE_K

    parser = argparse.ArgumentParser(
        prog=program_name(),
        description="gnnchi: Flory-Huggins chi(T) and solubility of polymer-solvent pairs from molecular graphs.",
        epilog=f"'{program_name()} VERB --help' shows a verb's options.",
        allow_abbrev=False,
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name: str, **kwargs) -> argparse.ArgumentParser:
        purpose = VERBS[name]
        return verbs.add_parser(name, help=purpose, description=f"{purpose[0].upper()}{purpose[1:]}.",
                                allow_abbrev=False, **kwargs)  # fmt: skip

    for name in TRAINING_VERBS:  # listed here; main() hands them to LightningCLI before parsing
        verb(name, add_help=False)

    export = verb("export")
    export.add_argument("--ckpt", required=True, nargs="+",
                        help="a checkpoint written by fit; several, or an ensemble.json, export an ensemble")  # fmt: skip
    export.add_argument("--output", default="export/gnnchi.onnx", help="the pair model; its parts go beside it")
    export.add_argument("--tolerance", type=float, default=1e-5, help="largest allowed |onnx - torch|")

    calibrate = verb("calibrate")
    calibrate.add_argument("--ckpt", required=True, help="the checkpoint or ensemble.json written by fit (changed in place)")
    calibrate.add_argument("--calibration", required=True,
                           help="the calibration.json that evaluate wrote for the same recipe and number of members")  # fmt: skip

    model_help = ("an exported .onnx model, or .ckpt checkpoints / an ensemble.json (an ensemble); default: the "
                  "shipped model of the system asked for (co2_il for ionic liquids: --cations/--anions, or an input "
                  "with cation and anion columns; else chi)")  # fmt: skip
    predict = verb("predict")
    predict.add_argument("--model", nargs="+", help=model_help)
    predict.add_argument("--input", required=True,
                         help="CSV of pairs: columns polymer, solvent and temperature_K or temperature_C (or name "
                         "yours below); for a co2_il model: cation, anion, temperature_K or temperature_C, and "
                         "pressure_kPa, pressure_bar or pressure_MPa; for an electrolyte model: component_1.., "
                         "fraction_1.. (mole fractions), temperature_K or temperature_C, optionally mn_g_mol")  # fmt: skip
    predict.add_argument("--output",
                         help="CSV: the input rows as given, then the predictions, error and warning (default "
                         "<input stem>_preds.csv beside the input; - for standard output)")  # fmt: skip
    predict.add_argument("--temperature_column", help="the input's temperature column (give --temperature_unit)")
    predict.add_argument("--temperature_unit", choices=["K", "C"], help="unit of --temperature_column")
    one_temperature = predict.add_mutually_exclusive_group()
    for unit in ("K", "C"):
        one_temperature.add_argument(f"--temperature_{unit}", type=float,
                                     help="one temperature for every row (an input without a temperature column)")  # fmt: skip

    screen = verb("screen")
    screen.add_argument("--model", nargs="+", help=model_help)
    target = screen.add_mutually_exclusive_group()
    target.add_argument("--polymer", help="repeat unit SMILES to screen solvents for")
    target.add_argument("--solvent", help="solvent SMILES to screen polymers for")
    screen.add_argument("--solvents", help="CSV of candidate solvents (column 'solvent', or --solvent_column)")
    screen.add_argument("--polymers", help="CSV of candidate polymers (column 'polymer', or --polymer_column)")
    screen.add_argument("--cations", help="co2_il model: CSV of candidate cations (column 'cation')")
    screen.add_argument("--anions", help="co2_il model: CSV of candidate anions (column 'anion'); every cation x anion is scored")
    pressures = screen.add_mutually_exclusive_group()
    for unit in ("kPa", "bar", "MPa"):
        pressures.add_argument(f"--pressure_{unit}", type=float, nargs="+",
                               help="co2_il model: pressures, one per temperature (or one for all); ranks restart at each condition")  # fmt: skip
    screen.add_argument("--top", type=int, help="co2_il or electrolyte model: keep the best N per condition (default: all)")
    screen.add_argument("--salts", help="electrolyte model: CSV of candidate salts (column 'salt'); every polymer x salt x loading is scored")
    screen.add_argument("--salt_fractions", type=float, nargs="+", help="electrolyte model: salt mole fractions to try")
    screen.add_argument("--mn_g_mol", type=float, help="electrolyte model: the polymers' Mn (default: unknown)")
    temps = screen.add_mutually_exclusive_group(required=True)
    temps.add_argument("--temperature_C", type=float, nargs="+", help="temperatures to rank at; ranks restart at each")
    temps.add_argument("--temperature_K", type=float, nargs="+", help="temperatures to rank at; ranks restart at each")
    screen.add_argument("--output",
                        help="CSV: rank within each temperature, then the candidates' columns and predictions "
                        "(default <candidates stem>_ranked.csv beside the candidates; - for standard output)")  # fmt: skip
    screen.add_argument("--rank_by", choices=["chi_exp", "p_soluble"], default="chi_exp",
                        help="chi_exp ascending (most miscible first) or p_soluble descending")  # fmt: skip
    for each in (predict, screen):
        each.add_argument("--polymer_column", help="the input's column of polymer repeat unit SMILES (default polymer)")
        each.add_argument("--solvent_column", help="the input's column of solvent SMILES (default solvent)")
        each.add_argument("--max_heavy_atoms", type=int, default=DEFAULT_MAX_HEAVY_ATOMS,
                          help="larger molecules (heavy atoms of a solvent or repeat unit) are errors")  # fmt: skip
        each.add_argument("--temperature_range_K", type=float, nargs=2, default=DEFAULT_TEMPERATURE_RANGE_K,
                          metavar=("LOW", "HIGH"), help="temperatures outside are errors")  # fmt: skip

    encode = verb("encode", epilog="One model gives the columns u_1..u_k, r_1..r_k. An ensemble of n gives each "
                  "member's own, m0_u_1..m0_r_k, m1_u_1, ..., and no mean or std: each member learns its own axes "
                  "(permuting, shifting, flipping or rescaling them changes no prediction), so axis i of two members "
                  "are unrelated numbers.")  # fmt: skip
    encode.add_argument("--input", required=True, help="CSV of molecules: a 'polymer' or a 'solvent' column")
    encode.add_argument("--kind", choices=["polymer", "solvent"],
                        help="which encoder (default: the one the input's 'polymer' or 'solvent' column names)")  # fmt: skip
    encode.add_argument("--column", help="the input's SMILES column (default: the kind's name; 'smiles' with --kind)")
    encode.add_argument("--output",
                        help="CSV: the input rows as given, then u, r, error and warning (default <input stem>_encoded.csv "
                        "beside the input; - for standard output)")  # fmt: skip
    solvent_map = verb("map", epilog="Axes: a PCA of the learned u of the solvents and the polymer (for an ensemble, "
                       "all members' u side by side). Nearness is a guide; the colour is the prediction.")  # fmt: skip
    solvent_map.add_argument("--polymer", required=True, help="repeat unit SMILES (two '*')")
    solvent_map.add_argument("--polymer_name", help="its name on the map (default: the SMILES)")
    solvent_map.add_argument("--solvents", required=True,
                             help="CSV of candidate solvents: column 'solvent'; a 'name' column labels the points")  # fmt: skip
    map_temperature = solvent_map.add_mutually_exclusive_group()
    map_temperature.add_argument("--temperature_K", type=float, help="default 298.15")
    map_temperature.add_argument("--temperature_C", type=float)
    solvent_map.add_argument("--labels", type=int, default=12,
                             help="solvents labelled: half those of lowest predicted chi, half of highest")  # fmt: skip
    solvent_map.add_argument("--output", required=True, help="the PNG")
    solvent_map.add_argument("--temperature_range_K", type=float, nargs=2, default=DEFAULT_TEMPERATURE_RANGE_K,
                             metavar=("LOW", "HIGH"), help="temperatures outside are errors")  # fmt: skip
    for each in (encode, solvent_map):
        each.add_argument("--model", nargs="+",
                          help="an exported .onnx model, or .ckpt checkpoints / an ensemble.json (an ensemble); "
                          "default: the shipped model")  # fmt: skip
        each.add_argument("--max_heavy_atoms", type=int, default=DEFAULT_MAX_HEAVY_ATOMS,
                          help="larger molecules (heavy atoms of a solvent or repeat unit) are errors")  # fmt: skip

    def training_verb(name: str, outputs: str, protocol: str | None = None) -> argparse.ArgumentParser:
        """A verb that trains through the fit config: --config (repeatable), --protocol (required
        unless a default ``protocol`` is given), --output; any other --section.key value goes to the config."""
        each = verb(name, epilog="Other --section.key value arguments go to the training config, as for fit "
                    "(e.g. --trainer.max_epochs 30).")  # fmt: skip
        each.add_argument("--config", action="append", required=True, help="training config (as for fit); repeatable")
        each.add_argument("--protocol", required=protocol is None, default=protocol,
                          choices=list(ALL_PROTOCOLS if name == "evaluate" else PROTOCOLS),
                          help=f"a protocol of the config's system ({protocols_help()})" if name == "evaluate"
                          else None if protocol is None else f"default {protocol}")  # fmt: skip
        each.add_argument("--output", required=True, help=f"folder for {outputs}")
        return each

    evaluate = training_verb("evaluate", "metrics.json, report.md, predictions.csv and the plots")
    evaluate.add_argument("--members", type=int, help="ensemble size (default: the config's ensemble_members)")
    evaluate.add_argument("--folds", type=int, nargs="+", help="a subset of the 5 folds (default all)")
    evaluate.add_argument("--baselines", nargs="*", choices=list(BASELINES),
                          help=f"default: {', '.join(DEFAULT_BASELINES)}")  # fmt: skip
    evaluate.add_argument("--models_dir", help="where trained models are kept and reused (default <output>/models)")
    evaluate.add_argument("--chemprop_venv", help="virtualenv for the chemprop baseline (created on first use)")
    evaluate.add_argument("--experiment_name", default="gnnchi-evaluate", help="MLflow experiment")

    tune = training_verb("tune", f"trials.csv, best.yaml, the trial models and the study ({STUDY_FILE})",
                         DEFAULT_PROTOCOL)  # fmt: skip
    tune.epilog = (f"{tune.epilog} The default protocol, {DEFAULT_PROTOCOL}, chooses settings for new polymers: "
                   "polymer-grouped outer folds and inner validation draws. The study is kept in Optuna's storage: "
                   "running tune again with the same --output (or --storage and --study_name) resumes it, up to "
                   "--trials completed trials, without refitting finished fits. Failed trials (a diverged fit) are "
                   "recorded in trials.csv.")  # fmt: skip
    tune.add_argument("--test_fold", type=int, default=0, help="outer test fold, never seen by the search")
    tune.add_argument("--trials", type=int, default=20,
                      help="completed trials the study should hold (a resumed study adds the missing ones)")  # fmt: skip
    tune.add_argument("--inner", type=int, default=3,
                      help="grouped validation draws per trial, from the outer training part")  # fmt: skip
    tune.add_argument("--seed", type=int, default=0, help="seed of the TPE sampler (same seed, same first trials)")
    tune.add_argument("--val_fraction", type=float, default=0.2,
                      help="share of the outer training rows per inner validation draw")  # fmt: skip
    tune.add_argument("--storage",
                      help=f"Optuna storage URL, e.g. sqlite:///study.db (default: <output>/{STUDY_FILE})")  # fmt: skip
    tune.add_argument("--study_name", default=DEFAULT_STUDY_NAME, help="the study's name in the storage")
    info = verb("info").add_mutually_exclusive_group()
    info.add_argument("--model", help="an exported .onnx model: its gnnchi metadata")
    info.add_argument("--system", choices=list(SHIPPED), default=DEFAULT_SYSTEM,
                      help="the card of this system's shipped model, and whether it is current (default chi)")  # fmt: skip
    return parser


def run_own_verb(argv: list[str]) -> int:
    """gnnchi's own verbs (all but fit, validate and test); the exit status."""
    from gnnchi.settings import configure_process

    parser = build_parser()
    options, extra = parser.parse_known_args(argv)
    if extra and options.verb not in ("evaluate", "tune"):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if options.verb in ("evaluate", "tune"):  # LightningCLI arguments: the configs, then any overrides
        configure_process()
        config_args = [a for path in options.config for a in ("--config", path)] + extra
        if options.verb == "tune":
            from gnnchi.evaluation.tuning import tune

            tune(config_args, options.output, protocol=options.protocol, test_fold=options.test_fold,
                 num_trials=options.trials, inner=options.inner, seed=options.seed, val_fraction=options.val_fraction,
                 storage=options.storage, study_name=options.study_name)  # fmt: skip
            return 0
        from gnnchi.evaluation.run import evaluate

        evaluate(config_args, options.protocol, options.output, members=options.members, folds=options.folds,
                 baselines=options.baselines, models_dir=options.models_dir, chemprop_venv=options.chemprop_venv,
                 experiment_name=options.experiment_name)  # fmt: skip
        return 0
    if options.verb == "info":
        print(model_info(options.model, options.system))
        return 0
    if options.verb == "calibrate":
        from gnnchi.training.calibrate import adopt_calibration, describe_pooled

        print(describe_pooled(*adopt_calibration(Path(options.ckpt), Path(options.calibration))))
        return 0
    if options.verb == "export":
        configure_process()
        from gnnchi.inference.export import export_checkpoint

        export_checkpoint(options.ckpt, options.output, options.tolerance)
        return 0
    if options.verb in ("encode", "map"):
        return encode_or_map(options)
    return predict_or_screen(parser, options)


def option_kelvin(kelvin, celsius):
    """``--temperature_K`` or ``--temperature_C`` (one value or a list) in kelvin, converted as the
    system declares the unit; None when neither was given."""
    from gnnchi.systems.chi import TEMPERATURE

    if celsius is None:
        return kelvin
    to_kelvin = TEMPERATURE.units["temperature_C"]
    return [to_kelvin(t) for t in celsius] if isinstance(celsius, list) else to_kelvin(celsius)


def predict_or_screen(parser: argparse.ArgumentParser, options) -> int:
    """``predict`` (1 if any row failed) and ``screen``; the model defaults to the shipped one of the system
    asked for. With ``--output -`` the table goes to standard output, and a reader that stops early
    (``| head``) ends it quietly with status 0."""
    if options.verb == "predict" and options.temperature_unit and not options.temperature_column:
        parser.error("--temperature_unit goes with --temperature_column")
    if options.verb == "predict" and options.temperature_column:
        if options.temperature_K is not None or options.temperature_C is not None:
            parser.error("give --temperature_column, or one temperature for every row, not both")
        if not options.temperature_unit and options.temperature_column not in ("temperature_K", "temperature_C"):
            parser.error(f"give --temperature_unit K or C for --temperature_column {options.temperature_column}")
    models = options.model or [shipped_model_asked_for(options)]
    if model_system(models) == "electrolyte":
        options.model = models
        return ends_quietly_if_the_reader_leaves(lambda: electrolyte_predict_or_screen(parser, options))
    limits = {"temperature_range_K": options.temperature_range_K, "max_heavy_atoms": options.max_heavy_atoms}
    predictor = open_predictor(models, **limits)
    if predictor.backend.system.name == "co2_il":
        return ends_quietly_if_the_reader_leaves(lambda: ionic_liquid_predict_or_screen(parser, predictor, options))
    if options.verb == "screen" and options.polymer is None and options.solvent is None:
        parser.error("give --polymer (to rank solvents) or --solvent (to rank polymers)")
    if options.verb == "screen":
        return ends_quietly_if_the_reader_leaves(lambda: screen(predictor, options))
    from gnnchi.inference.predict_table import predict_file

    columns = {"polymer": options.polymer_column, "solvent": options.solvent_column,
               "temperature": options.temperature_column}  # fmt: skip
    one = option_kelvin(options.temperature_K, options.temperature_C)
    return ends_quietly_if_the_reader_leaves(
        lambda: 1 if predict_file(predictor, options.input, options.output, columns, options.temperature_unit, one) else 0
    )


def shipped_model_asked_for(options) -> Path:
    """The shipped model of the system ``predict`` or ``screen`` is asked about: co2_il for ionic liquids
    (``screen --cations/--anions``, a ``predict`` input with cation and anion columns), electrolyte for
    formulations (``screen --salts``, a ``predict`` input with a component_1 column), else chi."""
    import gnnchi.release
    from gnnchi.data.tables import read_csv_table
    from gnnchi.systems import CO2_IL, DEFAULT_SYSTEM, ELECTROLYTE

    if options.verb == "screen":
        ionic_liquids = options.cations is not None or options.anions is not None
        formulations = options.salts is not None
    else:
        columns = set(read_csv_table(options.input, nrows=0).columns)
        ionic_liquids, formulations = set(CO2_IL.molecule_columns) <= columns, "component_1" in columns
    system = CO2_IL.name if ionic_liquids else ELECTROLYTE.name if formulations else DEFAULT_SYSTEM
    return gnnchi.release.shipped_model(system)


def open_predictor(models: list[str] | None, **limits):
    """The predictor of ``models`` (default: the shipped model) for their system, after the process
    settings it needs (torch's only when a model is a checkpoint)."""
    import gnnchi.release
    from gnnchi.inference.predictor import load_backend
    from gnnchi.inference.systems import predictor_class
    from gnnchi.settings import configure_process

    models = models or [gnnchi.release.shipped_model()]
    configure_process(uses_torch=not all(str(m).endswith(".onnx") for m in models))
    backend = load_backend(models)
    if backend.system.name != "chi":  # the chi options' temperature range is not this system's
        limits = {"max_heavy_atoms": limits["max_heavy_atoms"]}
    return predictor_class(backend.system.name)(backend, **limits)


def ionic_liquid_predict_or_screen(parser: argparse.ArgumentParser, predictor, options) -> int:
    """``predict`` and ``screen`` with a co2_il model."""
    from gnnchi.data.tables import output_beside, read_text_table, say_written, write_csv
    from gnnchi.systems.co2_il import PRESSURE

    if options.verb == "predict":
        from gnnchi.inference.predict_table import predict_ionic_liquid_file

        return 1 if predict_ionic_liquid_file(predictor, options.input, options.output) else 0
    if not options.cations or not options.anions:
        parser.error("a co2_il model screens --cations CSV x --anions CSV")
    given = [(unit, values) for unit in ("kPa", "bar", "MPa") if (values := getattr(options, f"pressure_{unit}"))]
    if not given:
        parser.error("give the pressures to rank at: --pressure_kPa, --pressure_bar or --pressure_MPa")
    unit, values = given[0]
    pressures = [PRESSURE.units[f"pressure_{unit}"](v) for v in values]
    temperatures = option_kelvin(options.temperature_K, options.temperature_C)
    cations = read_text_table(options.cations, ["cation"])["cation"].tolist()
    anions = read_text_table(options.anions, ["anion"])["anion"].tolist()
    ranked = predictor.screen(cations, anions, temperatures, pressures, top=options.top)
    output = options.output or output_beside(options.cations, "_ranked")
    write_csv(ranked, output)
    scored = int((ranked["error"] == "").sum())
    say_written(output, f"ranked {scored} ionic-liquid-condition rows, rank 1 the highest x_co2 at each condition -> {{where}}")
    return 0


def model_system(models: list[str]) -> str | None:
    """The system of the models given: an ONNX file's metadata, or the first member's model card of checkpoints
    or an ensemble manifest; None where the first file is missing (the backend then says so)."""
    if not Path(models[0]).is_file():
        return None
    if str(models[0]).endswith(".onnx"):
        from gnnchi.errors import ModelFileError
        from gnnchi.inference.onnx_format import SYSTEM, read_metadata

        try:
            return read_metadata(models[0]).get(SYSTEM, "chi")
        except Exception as err:  # onnx raises several types for a file that is not a model, all meaning that
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ModelFileError(f"{models[0]} is not a readable ONNX model ({reason})") from None
    from gnnchi.models.checkpoint import check_model_card, read_checkpoint
    from gnnchi.models.ensemble import member_checkpoints

    first = member_checkpoints([Path(m) for m in models])[0]
    return check_model_card(read_checkpoint(first)["gnnchi"], f"checkpoint {first}")


def electrolyte_predict_or_screen(parser: argparse.ArgumentParser, options) -> int:
    """``predict`` (1 if any row failed) and ``screen`` with an electrolyte model (ONNX, or checkpoints with torch)."""
    from gnnchi.data.tables import output_beside, read_csv_table, read_text_table, row_problems, say_written, write_csv
    from gnnchi.inference.electrolyte_predictor import ElectrolytePredictor, screen_formulations
    from gnnchi.settings import configure_process

    configure_process(uses_torch=not all(str(m).endswith(".onnx") for m in options.model))
    predictor = ElectrolytePredictor([Path(m) for m in options.model], max_heavy_atoms=options.max_heavy_atoms)
    if options.verb == "predict":
        out = predictor.predict_frame(read_csv_table(options.input, dtype=str), options.input)
        output = options.output or output_beside(options.input, "_preds")
        write_csv(out, output)
        failed, problems = row_problems(out)
        say_written(output, f"predicted {len(out) - failed} formulation(s) -> {{where}}{problems}")
        return 1 if failed else 0
    if not options.polymers or not options.salts or not options.salt_fractions:
        parser.error("an electrolyte model screens --polymers CSV x --salts CSV x --salt_fractions X [X ...]")
    polymers = read_text_table(options.polymers, ["polymer"])["polymer"].tolist()
    salts = read_text_table(options.salts, ["salt"])["salt"].tolist()
    temperatures = option_kelvin(options.temperature_K, options.temperature_C)
    ranked = screen_formulations(predictor, polymers, salts, options.salt_fractions, temperatures, options.mn_g_mol, options.top)
    output = options.output or output_beside(options.polymers, "_ranked")
    write_csv(ranked, output)
    scored = int((ranked["error"] == "").sum())
    say_written(output, f"ranked {scored} formulations, rank 1 the highest conductivity at each temperature -> {{where}}")
    return 0


def ends_quietly_if_the_reader_leaves(write_table) -> int:
    """``write_table()``'s status; 0 when the reader of standard output has gone (``... --output - | head``),
    quietly, as ``cat file | head`` does."""
    import os

    try:
        return write_table()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left for exit to flush into the pipe
        return 0


def encode_or_map(options) -> int:
    """``encode`` (1 if any molecule failed) and ``map``; the model defaults to the shipped one."""
    limits = {"max_heavy_atoms": options.max_heavy_atoms}
    if options.verb == "map":
        limits["temperature_range_K"] = options.temperature_range_K
    predictor = open_predictor(options.model, **limits)
    if options.verb == "encode":
        from gnnchi.inference.encode_table import encode_file

        return ends_quietly_if_the_reader_leaves(
            lambda: 1 if encode_file(predictor, options.input, options.output, options.kind, options.column) else 0
        )
    from gnnchi.data.tables import read_text_table
    from gnnchi.inference.solvent_map import plot_solvent_map, solvent_map

    temperature = option_kelvin(options.temperature_K, options.temperature_C)
    data = solvent_map(predictor, options.polymer, read_text_table(options.solvents, ["solvent"]),
                       298.15 if temperature is None else temperature, options.labels)  # fmt: skip
    Path(options.output).parent.mkdir(parents=True, exist_ok=True)
    plot_solvent_map(data, options.output, options.polymer_name)
    failed = "".join(f"\n  skipped {s!r}: {e}" for s, e in zip(data.failed["solvent"], data.failed["error"]))
    print(f"mapped {len(data.points)} solvents around {options.polymer} -> {options.output}{failed}")
    return 0


def screen(predictor, options) -> int:
    from gnnchi.data.tables import output_beside, read_text_table, say_written, write_csv
    from gnnchi.errors import DataValidationError
    from gnnchi.inference.screening import rank_candidates

    fixed_kind = "polymer" if options.polymer is not None else "solvent"
    candidates_kind = "solvent" if fixed_kind == "polymer" else "polymer"
    candidates_file = options.solvents if fixed_kind == "polymer" else options.polymers
    column = (options.solvent_column if fixed_kind == "polymer" else options.polymer_column) or candidates_kind
    if not candidates_file:
        raise DataValidationError("screen", [], f"give --{candidates_kind}s CSV with a '{candidates_kind}' column")
    candidates = read_text_table(candidates_file, [column], hint=f"(name yours with --{candidates_kind}_column)")
    temperatures = option_kelvin(options.temperature_K, options.temperature_C)
    fixed = options.polymer if fixed_kind == "polymer" else options.solvent
    ranked = rank_candidates(predictor, fixed_kind, fixed, candidates, temperatures, options.rank_by, column)
    output = options.output or output_beside(candidates_file, "_ranked")
    write_csv(ranked, output)
    say_written(output, f"ranked {int((ranked['error'] == '').sum())} candidate-temperature rows, rank 1 the best "
                "at each temperature -> {where}")  # fmt: skip
    return 0


def model_info(model: str | None, system: str) -> str:
    """``system``'s shipped model card as text, or an exported ``model``'s gnnchi metadata."""
    if model is None:
        from gnnchi.release import regenerate_command, shipped_model
        from gnnchi.release.card import read_card, staleness

        card = read_card(system)
        lines = [f"shipped {system} model: {shipped_model(system)}"]
        lines += [f"  {key}: {card[key]}" for key in ("gnnchi_version", "featurizer_version", "export_format",
                                                      "data_sha256", "size_bytes", "fit_seconds") if key in card]  # fmt: skip
        recipe = card.get("recipe", {})
        lines.append(f"  recipe: {recipe.get('command')} ({recipe.get('members')} members)")
        pooled = card.get("uncertainty")
        if pooled:  # the calibration the release gave the model (gnnchi.evaluation.pooled_calibration)
            from gnnchi.inference.calibration import TaskCalibration
            from gnnchi.training.calibrate import describe_pooled

            calibration = {task: TaskCalibration(**c) for task, c in pooled["calibration"].items()}
            lines.append("  " + describe_pooled(calibration, pooled["source"], pooled["fitted_on"]))
        for protocol, m in card.get("evaluate", {}).get("protocols", {}).items():
            spread = f" ± {m['std']:.3f}" if m.get("std") is not None else ""
            lines.append(f"  evaluate {protocol}: {m['metric']} = {m['mean']:.3f}{spread} "
                         f"({m['members']} members; {m['config_args']})")  # fmt: skip
        problems = staleness(card, system)
        lines.append(f"  STALE: {'; '.join(problems)} ({regenerate_command(system)})" if problems else "  up to date")
        return "\n".join(lines)
    from gnnchi.inference.onnx_format import read_metadata

    meta = read_metadata(model)
    short = {k: v for k, v in meta.items() if k not in ("head_linear", "chi_scaling", "temperature_scaling")}
    return f"{model}\n" + "\n".join(f"  {k}: {v}" for k, v in short.items())
