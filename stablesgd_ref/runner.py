"""Run an experiment over several seeds, serially or in parallel, and summarize.

An experiment module provides ``run_pair(settings, seed)``, which returns one
record per optimizer for that seed. Every record depends only on its settings
and seed, so running seeds in parallel processes gives the same numbers as a
serial run (wall-clock timings aside).
"""

import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

OPTIMIZERS = ("StandardSGD", "StableSGD")


def parse_seeds(text):
    """Return the list of seeds that a ``--seeds`` value names.

    ``"5"`` is a count: seeds 42, 43, 44, 45, 46. A value with commas is a
    list: ``"7,11"`` is seeds 7 and 11, and ``"7,"`` is seed 7 alone.
    """
    text = str(text).strip()
    try:
        if "," in text:
            parts = text.split(",")
            if parts[-1].strip() == "":
                parts = parts[:-1]  # "7," names seed 7 alone
            seeds = [int(part) for part in parts]
        else:
            count = int(text)
            if count < 1:
                raise ValueError
            seeds = list(range(42, 42 + count))
    except ValueError:
        raise ValueError(
            f"invalid seeds {text!r}: pass a count >= 1 such as 5 (seeds 42..46) "
            "or a comma-separated list such as 42,43 (a single seed as 42,)"
        ) from None
    if not seeds:
        raise ValueError(f"invalid seeds {text!r}: the list is empty")
    if any(seed < 0 for seed in seeds):
        raise ValueError(f"invalid seeds {text!r}: seeds must be >= 0")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"invalid seeds {text!r}: a seed is listed twice")
    return seeds


def run_seeds(run_pair, settings, seeds, jobs=1, log=None):
    """Return ``[run_pair(settings, seed) for seed in seeds]``, in seed order.

    Parameters
    ----------
    run_pair : callable
        A module-level function (it is pickled for the worker processes).
    jobs : int
        Worker processes; 1 runs in this process.
    log : callable or None
        Called with one progress line per finished seed.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    start = time.perf_counter()
    results = []
    if jobs == 1 or len(seeds) == 1:
        for seed in seeds:
            results.append(run_pair(settings, seed))
            _log_seed(log, seed, len(results), len(seeds), start)
        return results
    with ProcessPoolExecutor(max_workers=min(jobs, len(seeds))) as pool:
        futures = [pool.submit(run_pair, settings, seed) for seed in seeds]
        for seed, future in zip(seeds, futures):
            results.append(future.result())
            _log_seed(log, seed, len(results), len(seeds), start)
    return results


def _log_seed(log, seed, done, total, start):
    if log is not None:
        elapsed = time.perf_counter() - start
        log(f"  seed {seed:>5}  done {done:>3}/{total:<3}  elapsed {elapsed:7.1f} s")


def summarize(pairs, metric_names):
    """Return mean and sample std of each metric per optimizer across seeds.

    Returns
    -------
    dict
        ``summary[optimizer][metric] = {"mean": ..., "std": ..., "values": [...]}``
        with ``std`` NaN for a single seed. A diverged run's metrics count as
        NaN and are left out of the mean, except ``"diverged"``: 1 for a run
        that diverged and 0 otherwise, so its mean is the fraction diverged.
    """
    summary = {}
    for name in OPTIMIZERS:
        summary[name] = {}
        for metric in metric_names:
            values = [_metric_value(pair[name], metric) for pair in pairs]
            array = np.asarray(values, dtype=np.float64)
            finite = array[np.isfinite(array)]
            summary[name][metric] = {
                "mean": float(finite.mean()) if finite.size else math.nan,
                "std": float(finite.std(ddof=1)) if finite.size > 1 else math.nan,
                "values": values,
            }
    return summary


def format_table(summary, rows, title):
    """Return the side-by-side table of ``summary`` as text.

    Parameters
    ----------
    rows : list of (metric, label, format)
        ``format`` is a format spec such as ``".4g"``.
    """
    header = f"{'metric':<34} {'StandardSGD':>22} {'StableSGD':>22} {'ratio':>9}"
    lines = [title, header, "-" * len(header)]
    for metric, label, spec in rows:
        cells = []
        for name in OPTIMIZERS:
            entry = summary[name][metric]
            cells.append(_format_cell(entry["mean"], entry["std"], spec))
        standard = summary["StandardSGD"][metric]["mean"]
        stable = summary["StableSGD"][metric]["mean"]
        ratio = (
            stable / standard
            if standard not in (0.0,) and math.isfinite(standard)
            else math.nan
        )
        lines.append(f"{label:<34} {cells[0]:>22} {cells[1]:>22} {ratio:>9.3g}")
    lines.append(
        "values: mean +- sample std over seeds; ratio: StableSGD / StandardSGD"
    )
    return "\n".join(lines)


def _format_cell(mean, std, spec):
    if not math.isfinite(mean):
        return "n/a"
    if not math.isfinite(std):
        return format(mean, spec)
    return f"{format(mean, spec)} +- {format(std, '.2g')}"


# Metrics of the data, not of the run, so a diverged run still reports them.
DATA_METRICS = ("unigram_val_loss", "unigram_val_bits_per_char")


def _metric_value(record, metric):
    diverged = record.get("diverged_at") is not None
    if metric == "diverged":
        return 1.0 if diverged else 0.0
    if diverged and metric not in DATA_METRICS:
        return math.nan
    return _as_float(record.get(metric))


def _as_float(value):
    if value is None:
        return math.nan
    return float(value)


def print_line(text):
    """Print a progress line and flush, so it shows even when piped."""
    print(text, file=sys.stdout, flush=True)
