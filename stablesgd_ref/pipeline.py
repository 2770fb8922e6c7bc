"""Run an experiment over seeds, print its table, write its JSON and figures.

Each experiment is described by a ``Spec``: its ``run_pair`` function, the
rows of its table and its figures. The command line and ``reproduce`` both go
through :func:`run_experiment`.
"""

import os
from dataclasses import dataclass

from stablesgd_ref import exp2, output, plotting, runner

VERSION = 1


@dataclass(frozen=True)
class Spec:
    """What the pipeline needs to know about one experiment."""

    name: str
    run_pair: object
    defaults: dict
    rows: tuple
    figures: tuple


EXP2_ROWS = (
    ("final_loss", "final loss (noiseless)", ".5g"),
    ("final_noisy_loss", "final loss (noisy)", ".5g"),
    ("stability_coefficient", "stability coef. (noisy, last 20)", ".4g"),
    ("loss_std", "loss std (noisy, last 20)", ".4g"),
    ("clean_stability_coefficient", "stability coef. (noiseless)", ".4g"),
    ("clean_loss_std", "loss std (noiseless, last 20)", ".4g"),
    ("distance_to_minimizer", "distance to minimizer", ".4g"),
    ("distance_to_target", "distance to target", ".4g"),
    ("seconds_per_step", "optimizer time per step (s)", ".3g"),
    ("history_bytes", "history bytes", ".4g"),
)

EXP2_FIGURES = (
    ("exp2_loss.png", "losses", "Experiment 2: noisy loss per iteration", "loss", True),
    (
        "exp2_clean_loss.png",
        "clean_losses",
        "Experiment 2: noiseless loss per iteration",
        "loss",
        True,
    ),
    (
        "exp2_energy.png",
        "energy_trace",
        "Experiment 2: energy 0.5*v^2 + 0.5*g^2 summed over params",
        "energy (loss units)",
        True,
    ),
)

SPECS = {
    "exp2": Spec("exp2", exp2.run_pair, exp2.DEFAULTS, EXP2_ROWS, EXP2_FIGURES),
}


def run_experiment(name, settings, seeds, jobs=1, out="results", figures="figures",
                   log=runner.print_line):
    """Run experiment ``name`` and write ``OUT/NAME.json`` and its figures.

    Returns
    -------
    dict
        The content of the JSON file: settings, machine, summary and runs.
    """
    spec = SPECS[name]
    settings = {**spec.defaults, **settings}
    log(f"{name}: {len(seeds)} seed(s) {seeds}, settings {settings}")
    pairs = runner.run_seeds(spec.run_pair, settings, seeds, jobs=jobs, log=log)
    metric_names = [metric for metric, _, _ in spec.rows]
    summary = runner.summarize(pairs, metric_names)
    log("")
    log(runner.format_table(summary, spec.rows, f"{name}: side by side"))
    report = {
        "format_version": VERSION,
        "experiment": name,
        "settings": settings,
        "seeds": seeds,
        "machine": output.machine_info(),
        "summary": summary,
        "runs": pairs,
    }
    json_path = os.path.join(out, f"{name}.json")
    output.write_json_atomic(json_path, report)
    log(f"wrote {json_path}")
    for path in write_figures(spec, pairs, figures):
        log(f"wrote {path}")
    return report


def write_figures(spec, pairs, folder):
    """Save the experiment's trajectory figures under ``folder``; return paths."""
    paths = []
    for filename, key, title, ylabel, log_y in spec.figures:
        figure = plotting.plot_trajectories(pairs, key, title, ylabel, log_y=log_y)
        path = os.path.join(folder, filename)
        output.save_figure_atomic(figure, path)
        paths.append(path)
    return paths
