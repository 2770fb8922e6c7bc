"""Three comparisons of StableSGD with StandardSGD, from literal to fair.

* ``literal``: both optimizers with the same hyperparameters, StableSGD as the
  method writes it. lr acts twice in StableSGD, so its steps are about lr times
  smaller.
* ``matched_step``: StableSGD with ``lr_in_velocity=False``, so that both take
  steps of the same scale; everything else as in ``literal``.
* ``tuned``: each optimizer with its own best lr from the same grid, chosen by
  final loss on the first seed and evaluated on the remaining seeds.

Each comparison pairs the two optimizers seed by seed and tests the paired
difference of the final loss with :func:`stablesgd_ref.stats.compare_paired`.
"""

import math
from concurrent.futures import ProcessPoolExecutor

from stablesgd_ref import stats

LR_GRID = (0.001, 0.002, 0.005)

DESCRIPTIONS = {
    "literal": "same hyperparameters, StableSGD as written (lr acts twice)",
    "matched_step": "StableSGD with lr_in_velocity=False, so steps have the same "
    "scale as StandardSGD's",
    "tuned": "each optimizer with its own best lr from {grid}, chosen on seed "
    "{tuning_seed} and evaluated on the other seeds",
}


def run_tasks(run_optimizer, tasks, jobs=1):
    """Return ``[run_optimizer(name, settings, seed) for name, settings, seed in tasks]``.

    With ``jobs > 1`` the tasks run in worker processes; results keep the
    order of ``tasks`` and equal a serial run apart from wall-clock timings.
    """
    if jobs == 1:
        return [run_optimizer(name, settings, seed) for name, settings, seed in tasks]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run_optimizer, *task) for task in tasks]
        return [future.result() for future in futures]


def run_or_reuse(run_optimizer, tasks, known, jobs=1):
    """Return the records of ``tasks``, taking those in ``known`` without a rerun.

    ``known`` maps ``(name, seed)`` to ``(settings, record)`` of runs already
    made. A run depends only on its settings and seed, so a task with equal
    settings would give the same record, wall-clock timings aside.
    """
    known = known or {}
    records = [None] * len(tasks)
    missing = []
    for index, (name, settings, seed) in enumerate(tasks):
        entry = known.get((name, seed))
        if entry is not None and entry[0] == settings:
            records[index] = entry[1]
        else:
            missing.append(index)
    fresh = run_tasks(run_optimizer, [tasks[i] for i in missing], jobs)
    for index, record in zip(missing, fresh):
        records[index] = record
    return records


def final_losses(records):
    """Return each record's final loss, NaN for a run that diverged."""
    return [
        math.nan if record["diverged_at"] is not None else record["final_loss"]
        for record in records
    ]


def paired_result(
    name, standard_settings, stable_settings, seeds, standard, stable, description
):
    """Return one comparison: its settings, per-seed losses and paired statistics."""
    a = final_losses(standard)
    b = final_losses(stable)
    finite = [i for i in range(len(a)) if math.isfinite(a[i]) and math.isfinite(b[i])]
    result = {
        "name": name,
        "description": description,
        "standard_settings": standard_settings,
        "stable_settings": stable_settings,
        "seeds": seeds,
        "standard_final_losses": a,
        "stable_final_losses": b,
        "excluded_seeds": [seeds[i] for i in range(len(a)) if i not in finite],
        "stats": None,
        "conclusion": None,
    }
    if len(finite) >= 2:
        comparison = stats.compare_paired(
            [a[i] for i in finite], [b[i] for i in finite]
        )
        result["stats"] = comparison
        result["conclusion"] = (
            stats.conclusion_sentence(comparison, "final loss")
            + " "
            + direction_sentence([a[i] for i in finite], [b[i] for i in finite])
        )
    elif len(seeds) < 2:
        result["conclusion"] = (
            f"No paired test: {len(seeds)} seed(s) to compare, and the test needs "
            "at least 2."
        )
        if name == "tuned":
            result["conclusion"] += (
                " The tuned comparison spends the first seed on choosing lr, so run "
                "it with at least 3 seeds."
            )
    else:
        result["conclusion"] = (
            f"No paired test: only {len(finite)} of {len(a)} seeds finished without "
            "diverging for both optimizers."
        )
    return result


def direction_sentence(standard, stable):
    """Return a sentence counting the seeds on which each optimizer ended lower."""
    lower = sum(b < a for a, b in zip(standard, stable))
    higher = sum(b > a for a, b in zip(standard, stable))
    ties = len(standard) - lower - higher
    sentence = (
        f"StableSGD ended with the lower final loss on {lower} of {len(standard)} "
        f"seeds and the higher on {higher}"
    )
    if ties:
        sentence += f", with {ties} ties"
    return sentence + "."


def run_comparisons(
    run_optimizer, settings, seeds, literal_pairs, lr_grid=LR_GRID, jobs=1, log=None
):
    """Run the matched-step and tuned comparisons and return all three.

    Parameters
    ----------
    run_optimizer : callable
        ``run_optimizer(name, settings, seed) -> record`` of an experiment.
    settings : dict
        The experiment's settings of the literal comparison.
    seeds : list of int
        The first seed tunes lr; the tuned comparison uses the others.
    literal_pairs : list of dict
        The literal runs, one ``{"StandardSGD": record, "StableSGD": record}``
        per seed, already computed by the experiment.
    """
    standard_records = [pair["StandardSGD"] for pair in literal_pairs]
    literal = paired_result(
        "literal",
        settings,
        settings,
        seeds,
        standard_records,
        [pair["StableSGD"] for pair in literal_pairs],
        DESCRIPTIONS["literal"],
    )

    matched_settings = {**settings, "lr_in_velocity": False}
    if log:
        log(
            f"  matched step: StableSGD with lr_in_velocity=False on {len(seeds)} seeds"
        )
    matched_stable = run_tasks(
        run_optimizer, [("StableSGD", matched_settings, seed) for seed in seeds], jobs
    )
    matched = paired_result(
        "matched_step",
        settings,
        matched_settings,
        seeds,
        standard_records,
        matched_stable,
        DESCRIPTIONS["matched_step"],
    )

    known = {
        (name, seed): (settings, pair[name])
        for seed, pair in zip(seeds, literal_pairs)
        for name in ("StandardSGD", "StableSGD")
    }
    tuned = run_tuned(run_optimizer, settings, seeds, lr_grid, jobs, log, known)
    return {"literal": literal, "matched_step": matched, "tuned": tuned}


def run_tuned(
    run_optimizer, settings, seeds, lr_grid=LR_GRID, jobs=1, log=None, known=None
):
    """Pick each optimizer's best lr on ``seeds[0]``, then compare on ``seeds[1:]``.

    ``known`` contains runs already made, as for :func:`run_or_reuse`. The literal
    runs cover every task whose lr equals ``settings["lr"]``.
    """
    tuning_seed, evaluation_seeds = seeds[0], seeds[1:]
    if log:
        log(f"  tuned: lr grid {list(lr_grid)} on seed {tuning_seed}")
    tasks = [
        (name, {**settings, "lr": lr}, tuning_seed)
        for name in ("StandardSGD", "StableSGD")
        for lr in lr_grid
    ]
    records = run_or_reuse(run_optimizer, tasks, known, jobs)
    best = {}
    tuning = {}
    for (name, task_settings, _), record in zip(tasks, records):
        loss = final_losses([record])[0]
        tuning.setdefault(name, {})[task_settings["lr"]] = loss
        score = loss if math.isfinite(loss) else math.inf
        if name not in best or score < best[name][0]:
            best[name] = (score, task_settings["lr"])
    standard_settings = {**settings, "lr": best["StandardSGD"][1]}
    stable_settings = {**settings, "lr": best["StableSGD"][1]}
    description = DESCRIPTIONS["tuned"].format(
        grid=list(lr_grid), tuning_seed=tuning_seed
    )
    if len(evaluation_seeds) < 2:
        result = paired_result(
            "tuned",
            standard_settings,
            stable_settings,
            evaluation_seeds,
            [],
            [],
            description,
        )
        result["tuning_losses"] = tuning
        return result
    if log:
        log(
            f"  tuned: StandardSGD lr {standard_settings['lr']}, StableSGD lr "
            f"{stable_settings['lr']} on seeds {evaluation_seeds}"
        )
    evaluation = run_or_reuse(
        run_optimizer,
        [("StandardSGD", standard_settings, seed) for seed in evaluation_seeds]
        + [("StableSGD", stable_settings, seed) for seed in evaluation_seeds],
        known,
        jobs,
    )
    half = len(evaluation_seeds)
    result = paired_result(
        "tuned",
        standard_settings,
        stable_settings,
        evaluation_seeds,
        evaluation[:half],
        evaluation[half:],
        description,
    )
    result["tuning_losses"] = tuning
    edge = [
        name
        for name, key in (
            ("StandardSGD", "standard_settings"),
            ("StableSGD", "stable_settings"),
        )
        if result[key]["lr"] in (min(lr_grid), max(lr_grid))
    ]
    if edge:
        result["conclusion"] += (
            f" The lr chosen for {' and '.join(edge)} lies at the edge of the grid "
            f"{list(lr_grid)}, so a value outside the grid may do better."
        )
    return result
