"""Run experiments over seeds, print tables, write JSON, figures and REPORT.md.

Each experiment is described by a ``Spec``: how to run one optimizer on one
seed, the rows of its table and its figures. The ``exp1``, ``exp2``, ``sweep``
and ``reproduce`` commands all go through the functions here.
"""

import os
from dataclasses import dataclass, field

from stablesgd_ref import (
    comparisons,
    exp1,
    exp2,
    output,
    plotting,
    report,
    runner,
    sweep,
)

VERSION = 1


@dataclass(frozen=True)
class Spec:
    """Description of one experiment: its run functions, table rows and figures."""

    name: str
    title: str
    run_pair: object
    run_optimizer: object
    defaults: dict
    rows: tuple
    timing_rows: tuple
    figures: tuple
    convergence_key: str
    convergence_labels: tuple
    convergence_xlabel: str
    sweep_settings: dict = field(default_factory=dict)
    sweep_note: str = ""


EXP2_ROWS = (
    ("final_loss", "final loss (noiseless)", ".5g"),
    ("final_noisy_loss", "final loss (noisy)", ".5g"),
    ("stability_coefficient", "stability coef. (noisy, last 20)", ".4g"),
    ("loss_std", "loss std (noisy, last 20)", ".4g"),
    ("clean_stability_coefficient", "stability coef. (noiseless)", ".4g"),
    ("clean_loss_std", "loss std (noiseless, last 20)", ".4g"),
    ("distance_to_minimizer", "distance to minimizer", ".4g"),
    ("distance_to_target", "distance to target", ".4g"),
)

EXP2_TIMING_ROWS = (
    ("diverged", "diverged runs (fraction)", ".3g"),
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
        "energy (squared gradient units)",
        True,
    ),
)

EXP1_ROWS = (
    ("final_loss", "final training loss (nats)", ".4g"),
    ("final_val_loss", "final validation loss (nats)", ".4g"),
    ("final_val_bits_per_char", "final validation bits per token", ".4g"),
    ("unigram_val_loss", "unigram baseline, validation (nats)", ".4g"),
    ("unigram_val_bits_per_char", "unigram baseline, bits per token", ".4g"),
    ("stability_coefficient", "stability coef. (last 20 steps)", ".4g"),
    ("loss_std", "loss std (last 20 steps)", ".4g"),
    ("distance_to_reference", "distance to reference optimum", ".4g"),
)

EXP1_TIMING_ROWS = (
    ("diverged", "diverged runs (fraction)", ".3g"),
    ("seconds_per_step", "optimizer time per step (s)", ".3g"),
    ("train_seconds", "training time (s)", ".3g"),
    ("overhead", "training time / StandardSGD's", ".3g"),
    ("history_bytes", "history bytes", ".4g"),
)

EXP1_FIGURES = (
    (
        "exp1_loss.png",
        "losses",
        "Experiment 1: training loss per step (batch of 4)",
        "cross-entropy (nats)",
        False,
    ),
    (
        "exp1_energy.png",
        "energy_trace",
        "Experiment 1: energy 0.5*v^2 + 0.5*g^2 summed over params",
        "energy (squared gradient units)",
        True,
    ),
)

EXP1_SWEEP_EPOCHS = 10

SPECS = {
    "exp1": Spec(
        name="exp1",
        title="Experiment 1: the mini transformer language model",
        run_pair=exp1.run_pair,
        run_optimizer=exp1.run_optimizer,
        defaults=exp1.DEFAULTS,
        rows=EXP1_ROWS,
        timing_rows=EXP1_TIMING_ROWS,
        figures=EXP1_FIGURES,
        convergence_key="iterations_to_loss",
        convergence_labels=tuple(str(t) for t in exp1.LOSS_THRESHOLDS),
        convergence_xlabel="training loss threshold (nats)",
        sweep_settings={"epochs": EXP1_SWEEP_EPOCHS},
        sweep_note=f"The Experiment 1 sweep trains for {EXP1_SWEEP_EPOCHS} epochs "
        f"instead of {exp1.DEFAULTS['epochs']} to keep it short.",
    ),
    "exp2": Spec(
        name="exp2",
        title="Experiment 2: the challenging landscape",
        run_pair=exp2.run_pair,
        run_optimizer=exp2.run_optimizer,
        defaults=exp2.DEFAULTS,
        rows=EXP2_ROWS,
        timing_rows=EXP2_TIMING_ROWS,
        figures=EXP2_FIGURES,
        convergence_key="iterations_to_excess_fraction",
        convergence_labels=tuple(str(f) for f in exp2.EXCESS_FRACTIONS),
        convergence_xlabel="fraction of the initial excess loss over the minimum",
    ),
}


def run_experiment(
    name,
    settings,
    seeds,
    jobs=1,
    out="results",
    figures="figures",
    log=runner.print_line,
    tag=None,
):
    """Run experiment ``name`` on ``seeds``; write ``OUT/TAG.json`` and figures.

    ``tag`` names the output files and defaults to ``name``; the figures are
    ``FIGURES/TAG_*.png``.

    Returns
    -------
    dict
        The content of the JSON file: settings, machine, summary and runs.
    """
    spec = SPECS[name]
    settings = {**spec.defaults, **settings}
    log(f"{name}: {len(seeds)} seed(s) {seeds}, settings {settings}")
    pairs = runner.run_seeds(spec.run_pair, settings, seeds, jobs=jobs, log=log)
    rows = spec.rows + spec.timing_rows
    summary = runner.summarize(pairs, [metric for metric, _, _ in rows])
    log("")
    tag = tag or name
    log(runner.format_table(summary, rows, f"{tag}: side by side"))
    for pair in pairs[:1]:
        for optimizer, record in pair.items():
            for text in record.get("samples", {}).values():
                log(f"sample, {optimizer}, seed {record['seed']}: {text!r}")
    result = {
        "format_version": VERSION,
        "experiment": name,
        "settings": settings,
        "seeds": seeds,
        "machine": output.machine_info(),
        "summary": summary,
        "runs": pairs,
    }
    json_path = os.path.join(out, f"{tag}.json")
    output.write_json_atomic(json_path, result)
    log(f"wrote {json_path}")
    for path in write_figures(spec, pairs, figures, tag):
        log(f"wrote {path}")
    return result


def write_figures(spec, pairs, folder, tag=None):
    """Save the experiment's per-seed figures under ``folder``; return the paths."""
    tag = tag or spec.name
    paths = []
    # Outputs of a variant, such as exp1 on the pydoc corpus, say so in titles.
    suffix = "" if tag == spec.name else f" ({tag})"
    title = spec.title + suffix
    for filename, key, figure_title, ylabel, log_y in spec.figures:
        figure = plotting.plot_trajectories(
            pairs, key, figure_title + suffix, ylabel, log_y=log_y
        )
        paths.append(_save(figure, folder, tag + filename[len(spec.name) :]))
    figure = plotting.plot_metric_by_seed(
        pairs,
        "stability_coefficient",
        f"{title}\nstability coefficient: std / mean of the last 20 losses",
        "stability coefficient (dimensionless)",
    )
    paths.append(_save(figure, folder, f"{tag}_stability.png"))
    figure = plotting.plot_convergence(
        pairs,
        spec.convergence_key,
        spec.convergence_labels,
        f"{title}\niterations to reach each loss threshold",
        spec.convergence_xlabel,
    )
    paths.append(_save(figure, folder, f"{tag}_convergence.png"))
    return paths


def run_sweep(
    name, seeds, jobs=1, out="results", figures="figures", log=runner.print_line
):
    """Run the sensitivity sweep of experiment ``name``; write JSON, table, heatmaps."""
    spec = SPECS[name]
    settings = {**spec.defaults, **spec.sweep_settings}
    configs = sweep.grid_configs(sweep.GRID)
    log(f"{name} sweep: {len(configs)} configs x {len(seeds)} seed(s) {seeds}")
    if spec.sweep_note:
        log(f"  {spec.sweep_note}")
    rows = sweep.run_sweep(spec.run_optimizer, settings, seeds, jobs=jobs, log=log)
    table = sweep.format_sweep_table(rows)
    log(table)
    output.write_json_atomic(
        os.path.join(out, f"{name}_sweep.json"),
        {
            "format_version": VERSION,
            "experiment": name,
            "settings": settings,
            "seeds": seeds,
            "grid": sweep.GRID,
            "rows": rows,
        },
    )
    output.write_text_atomic(os.path.join(out, f"{name}_sweep.txt"), table + "\n")
    figure = plotting.plot_sweep_heatmaps(
        rows, f"{spec.title}\nStableSGD mean final loss over {len(seeds)} seed(s)"
    )
    path = _save(figure, figures, f"{name}_sweep.png")
    for written in (f"{name}_sweep.json", f"{name}_sweep.txt"):
        log(f"wrote {os.path.join(out, written)}")
    log(f"wrote {path}")
    return rows


def reproduce(
    seeds,
    jobs=1,
    out="results",
    figures="figures",
    sweep_seeds=None,
    log=runner.print_line,
    command="python -m stablesgd_ref reproduce",
):
    """Run every experiment, its comparisons and its sweep; write REPORT.md."""
    sections = []
    for name, spec in SPECS.items():
        result = run_experiment(
            name, {}, seeds, jobs=jobs, out=out, figures=figures, log=log
        )
        log(f"{name}: comparisons")
        compared = comparisons.run_comparisons(
            spec.run_optimizer,
            result["settings"],
            seeds,
            result["runs"],
            jobs=jobs,
            log=log,
        )
        for comparison in compared.values():
            log(f"  {comparison['name']}: {comparison['conclusion']}")
        comparisons_path = os.path.join(out, f"{name}_comparisons.json")
        output.write_json_atomic(
            comparisons_path,
            {"format_version": VERSION, "experiment": name, "comparisons": compared},
        )
        log(f"wrote {comparisons_path}")
        chosen_sweep_seeds = sweep_seeds or seeds[:1]
        rows = run_sweep(
            name, chosen_sweep_seeds, jobs=jobs, out=out, figures=figures, log=log
        )
        sections.append(
            {
                "title": spec.title,
                "name": name,
                "settings": result["settings"],
                "seeds": seeds,
                "summary": result["summary"],
                "rows": spec.rows,
                "timing_rows": spec.timing_rows,
                "comparisons": compared,
                "sweep_rows": rows,
                "sweep_note": spec.sweep_note,
                "sweep_seeds": chosen_sweep_seeds,
                "extra": [report.stability_paragraph(result["runs"])],
                "figures": [f[0] for f in spec.figures]
                + [
                    f"{name}_stability.png",
                    f"{name}_convergence.png",
                    f"{name}_sweep.png",
                ],
            }
        )
    link_dir = os.path.relpath(figures, out)
    text = report.build_report(sections, command, output.machine_info(), link_dir)
    path = os.path.join(out, "REPORT.md")
    output.write_text_atomic(path, text)
    log(f"wrote {path}")
    return text


def _save(figure, folder, filename):
    path = os.path.join(folder, filename)
    output.save_figure_atomic(figure, path)
    return path
