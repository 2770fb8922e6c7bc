"""Command line: ``python -m stablesgd_ref COMMAND [options]``.

Commands:

* ``exp1``       Experiment 1, both optimizers train the mini transformer.
* ``exp2``       Experiment 2, both optimizers on the challenging landscape.
* ``sweep``      Sensitivity of StableSGD to lr, temporal_stability,
                 energy_conservation and penalty_mode.
* ``oracle``     Write golden cases, or check another implementation's outputs.
* ``bench``      Time and memory of StableSGD against StandardSGD.
* ``reproduce``  Every experiment with the method's settings.

A bad argument prints a one-line error and exits with status 2.
"""

import argparse
import math
import os
import sys
import tempfile

from stablesgd_ref import bench, exp1, exp2, pipeline, runner
from stablesgd_ref.optimizers import PENALTY_MODES
from stablesgd_ref.oracle import add_oracle_parser


def positive_float(text):
    """Parse a finite float > 0 for argparse."""
    value = _parse_float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: must be a finite number > 0"
        )
    return value


def non_negative_float(text):
    """Parse a finite float >= 0 for argparse."""
    value = _parse_float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: must be a finite number >= 0"
        )
    return value


def momentum_float(text):
    """Parse a momentum in [0, 1) for argparse."""
    value = _parse_float(text)
    if not (0.0 <= value < 1.0):
        raise argparse.ArgumentTypeError(
            f"invalid momentum {text!r}: must be in [0, 1)"
        )
    return value


def int_at_least(minimum):
    """Return an argparse type that parses an integer >= ``minimum``."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"invalid integer {text!r}: must be an integer >= {minimum}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"invalid value {text!r}: must be an integer >= {minimum}"
            )
        return value

    return parse


def seeds_list(text):
    """Parse ``--seeds`` (a count, or a comma-separated list) for argparse."""
    try:
        return runner.parse_seeds(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _parse_float(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None


def add_common_options(parser, figures_default=None):
    """Add the options every experiment command shares.

    ``figures_default`` None means ``OUT/figures``, so that a single run does
    not overwrite the committed figures of ``reproduce`` in ``figures/``.
    """
    parser.add_argument(
        "--seeds",
        type=seeds_list,
        default=runner.parse_seeds("5"),
        help="a count of seeds starting at 42 (5 runs 42..46), or a "
        "comma-separated list such as 42,43 (one seed: 42,); default 5",
    )
    parser.add_argument(
        "--jobs",
        type=int_at_least(1),
        default=1,
        help="worker processes running seeds in parallel, >= 1; results equal a "
        "serial run except wall-clock timings (default 1)",
    )
    parser.add_argument(
        "--out",
        default="results",
        metavar="DIR",
        help="folder for the JSON results (default results)",
    )
    default_text = figures_default or "OUT/figures"
    parser.add_argument(
        "--figures",
        default=figures_default,
        metavar="DIR",
        help=f"folder for the PNG figures (default {default_text})",
    )


def add_optimizer_options(parser, defaults):
    """Add the hyperparameters of both optimizers, defaulting to ``defaults``."""
    parser.add_argument(
        "--lr",
        type=positive_float,
        default=defaults["lr"],
        help=f"learning rate, > 0 (default {defaults['lr']})",
    )
    parser.add_argument(
        "--momentum",
        type=momentum_float,
        default=defaults["momentum"],
        help=f"momentum, in [0, 1) (default {defaults['momentum']})",
    )
    parser.add_argument(
        "--temporal-stability",
        type=non_negative_float,
        default=defaults["temporal_stability"],
        help="StableSGD penalty coefficient, >= 0 "
        f"(default {defaults['temporal_stability']})",
    )
    parser.add_argument(
        "--no-energy-conservation",
        dest="energy_conservation",
        action="store_false",
        help="StableSGD without the energy-based step size (adaptive_lr = lr)",
    )
    parser.add_argument(
        "--penalty-mode",
        choices=PENALTY_MODES,
        default=defaults["penalty_mode"],
        help="StableSGD penalty reading: literal (always 0, the default), "
        "previous_step or signed",
    )
    parser.add_argument(
        "--lr-in-velocity",
        dest="lr_in_velocity",
        action=argparse.BooleanOptionalAction,
        default=defaults["lr_in_velocity"],
        help="StableSGD multiplies the gradient by lr inside the velocity "
        "(default on, as in the method, so lr acts twice)",
    )
    parser.add_argument(
        "--history-limit",
        type=int_at_least(2),
        default=defaults["history_limit"],
        help="StableSGD keeps only this many newest snapshots, >= 2 "
        "(default: keep all, as in the method)",
    )


def optimizer_settings(args):
    """Return the optimizer settings dict from parsed arguments."""
    return {
        "lr": args.lr,
        "momentum": args.momentum,
        "temporal_stability": args.temporal_stability,
        "energy_conservation": args.energy_conservation,
        "penalty_mode": args.penalty_mode,
        "lr_in_velocity": args.lr_in_velocity,
        "history_limit": args.history_limit,
    }


class OneLineErrorParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser():
    """Return the argument parser with every command."""
    parser = OneLineErrorParser(
        prog="python -m stablesgd_ref",
        description="StableSGD reference implementation: experiments and tools.",
    )
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=OneLineErrorParser
    )
    commands.required = True

    exp1_parser = commands.add_parser(
        "exp1",
        help="Experiment 1: both optimizers train the mini transformer.",
        description="Train the mini transformer language model with StandardSGD "
        "and StableSGD from identical weights on identical batches; print a "
        "table, write OUT/exp1.json (OUT/exp1_pydoc.json with --corpus pydoc) "
        "and PNG figures.",
    )
    add_common_options(exp1_parser)
    add_optimizer_options(exp1_parser, exp1.DEFAULTS)
    exp1_parser.add_argument(
        "--corpus",
        choices=exp1.CORPORA,
        default="synthetic",
        help="synthetic next-token patterns (default) or pydoc, character "
        "windows of the vendored Python documentation excerpt",
    )
    exp1_parser.add_argument(
        "--epochs",
        type=int_at_least(1),
        default=None,
        help=f"training epochs, >= 1 (default {exp1.DEFAULTS['epochs']}; "
        f"{exp1.PYDOC_DEFAULTS['epochs']} with --corpus pydoc)",
    )
    exp1_parser.add_argument(
        "--batch-size",
        type=int_at_least(1),
        default=exp1.DEFAULTS["batch_size"],
        help=f"sequences per batch (default {exp1.DEFAULTS['batch_size']})",
    )
    exp1_parser.add_argument(
        "--log-every",
        type=int_at_least(0),
        default=1,
        help="print a progress line every N epochs per run, 0 for none (default 1)",
    )
    exp1_parser.set_defaults(handler=run_exp1)

    exp2_parser = commands.add_parser(
        "exp2",
        help="Experiment 2: both optimizers on the challenging landscape.",
        description="Run StandardSGD and StableSGD on the 50-dimensional noisy "
        "landscape, print a table, write OUT/exp2.json and PNG figures.",
    )
    add_common_options(exp2_parser)
    add_optimizer_options(exp2_parser, exp2.DEFAULTS)
    exp2_parser.add_argument(
        "--iterations",
        type=int_at_least(1),
        default=exp2.DEFAULTS["iterations"],
        help=f"iterations per run (default {exp2.DEFAULTS['iterations']})",
    )
    exp2_parser.set_defaults(handler=run_exp2)

    sweep_parser = commands.add_parser(
        "sweep",
        help="Sensitivity of StableSGD to its settings.",
        description="Run StableSGD over lr (0.001, 0.002, 0.005), temporal_stability "
        "(0 to 0.03), energy_conservation on and off and every penalty_mode, with "
        "StandardSGD per lr as reference; write a table, JSON and heatmaps.",
    )
    add_common_options(sweep_parser)
    sweep_parser.add_argument(
        "--experiment",
        choices=sorted(pipeline.SPECS) + ["all"],
        default="all",
        help="which experiment to sweep (default all)",
    )
    sweep_parser.set_defaults(handler=run_sweep)

    add_oracle_parser(commands, OneLineErrorParser)
    bench.add_bench_parser(commands, OneLineErrorParser)

    reproduce_parser = commands.add_parser(
        "reproduce",
        help="Every experiment, comparison and sweep, and REPORT.md.",
        description="Run both experiments with the method's settings on SEEDS, "
        "the matched-step and tuned comparisons, and the sensitivity sweeps on "
        "the first seed only; JSON results and REPORT.md go to OUT and figures "
        "to FIGURES.",
    )
    add_common_options(reproduce_parser, figures_default="figures")
    reproduce_parser.set_defaults(handler=run_reproduce)
    return parser


def run_exp2(args):
    """Run Experiment 2 from parsed arguments."""
    settings = {**optimizer_settings(args), "iterations": args.iterations}
    pipeline.run_experiment(
        "exp2",
        settings,
        args.seeds,
        jobs=args.jobs,
        out=args.out,
        figures=args.figures,
    )


def run_exp1(args):
    """Run Experiment 1 from parsed arguments."""
    settings = {
        **optimizer_settings(args),
        "corpus": args.corpus,
        "batch_size": args.batch_size,
        "log_every": args.log_every,
    }
    if args.corpus == "pydoc":
        settings = {**exp1.PYDOC_DEFAULTS, **settings}
    if args.epochs is not None:
        settings["epochs"] = args.epochs
    tag = "exp1_pydoc" if args.corpus == "pydoc" else "exp1"
    pipeline.run_experiment(
        "exp1",
        settings,
        args.seeds,
        jobs=args.jobs,
        out=args.out,
        figures=args.figures,
        tag=tag,
    )


def run_sweep(args):
    """Run the sensitivity sweep of one experiment or of all."""
    names = sorted(pipeline.SPECS) if args.experiment == "all" else [args.experiment]
    for name in names:
        pipeline.run_sweep(
            name, args.seeds, jobs=args.jobs, out=args.out, figures=args.figures
        )


def run_reproduce(args):
    """Run every experiment, comparison and sweep with the default settings."""
    pipeline.reproduce(args.seeds, jobs=args.jobs, out=args.out, figures=args.figures)


def prepare_output_folders(args, parser):
    """Create the output folders, or exit with status 2 if one is unusable.

    Checking before any run starts means a bad path costs no computing time.
    """
    if getattr(args, "out", None) is None:
        return
    if getattr(args, "figures", "missing") is None:
        args.figures = os.path.join(args.out, "figures")
    for option in ("out", "figures"):
        folder = getattr(args, option, None)
        if folder is None:
            continue
        try:
            os.makedirs(folder, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as error:
            parser.error(
                f"argument --{option}: cannot write to folder {folder!r} "
                f"({error.strerror or error}); choose a writable folder"
            )


def main(argv=None):
    """Parse ``argv`` and run the command; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    prepare_output_folders(args, parser)
    try:
        status = args.handler(args)
    except BrokenPipeError:
        # The reader of stdout went away (for example ``| head``). Stop without a
        # traceback and with the shell's status for SIGPIPE, so scripts notice.
        sys.stderr.close()
        return 141
    except KeyboardInterrupt:
        print(
            "interrupted: files written so far are complete; "
            "files not yet written keep their previous content",
            file=sys.stderr,
        )
        return 130
    except (ValueError, TypeError) as error:
        parser.error(str(error))
    return status if isinstance(status, int) else 0
