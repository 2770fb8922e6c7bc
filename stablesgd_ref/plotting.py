"""Figures of the experiments, built with matplotlib's object-oriented API.

Every function returns a ``matplotlib.figure.Figure`` made without pyplot, so
no GUI backend is touched and the code runs headless; save one with
:func:`stablesgd_ref.output.save_figure_atomic`.
"""

import numpy as np
from matplotlib.figure import Figure

COLORS = {"StandardSGD": "tab:blue", "StableSGD": "tab:orange"}
OPTIMIZERS = ("StandardSGD", "StableSGD")
FONT_SIZE = 11


def stack_runs(pairs, name, key):
    """Return the trajectories ``pair[name][key]`` as one array padded with NaN.

    Returns
    -------
    np.ndarray, shape (n_seeds, max_length)
        A run that diverged early is padded with NaN after its last value.
    """
    runs = [np.asarray(pair[name][key], dtype=np.float64) for pair in pairs]
    length = max(run.size for run in runs)
    stacked = np.full((len(runs), length), np.nan)
    for row, run in zip(stacked, runs):
        row[: run.size] = run
    return stacked


def plot_band(axes, values, label, color):
    """Plot the mean across rows and a band from the min to the max row.

    Parameters
    ----------
    values : np.ndarray, shape (n_seeds, n_steps)
    """
    steps = np.arange(values.shape[1])
    with np.errstate(all="ignore"):
        mean = np.nanmean(values, axis=0)
        low = np.nanmin(values, axis=0)
        high = np.nanmax(values, axis=0)
    n_seeds = values.shape[0]
    axes.plot(steps, mean, color=color, label=f"{label} (mean of {n_seeds})")
    if n_seeds > 1:
        axes.fill_between(steps, low, high, color=color, alpha=0.2, linewidth=0)


def plot_trajectories(pairs, key, title, ylabel, xlabel="iteration", log_y=False):
    """Return a figure with one mean line and min-max band per optimizer.

    Parameters
    ----------
    pairs : list of dict
        One ``{"StandardSGD": record, "StableSGD": record}`` per seed.
    key : str
        The trajectory to plot, such as ``"losses"`` or ``"energy_trace"``.
    """
    figure = Figure(figsize=(7.5, 4.5), layout="constrained")
    axes = figure.add_subplot()
    for name in OPTIMIZERS:
        plot_band(axes, stack_runs(pairs, name, key), name, COLORS[name])
    if log_y:
        axes.set_yscale("log")
    axes.set_title(title, fontsize=FONT_SIZE + 1)
    axes.set_xlabel(xlabel, fontsize=FONT_SIZE)
    axes.set_ylabel(ylabel, fontsize=FONT_SIZE)
    axes.legend(fontsize=FONT_SIZE - 1, title="band: min to max over seeds")
    axes.grid(alpha=0.3)
    return figure


def plot_metric_by_seed(pairs, metric, title, ylabel):
    """Return a figure with one marker per seed and optimizer for a scalar metric."""
    figure = Figure(figsize=(6.0, 4.0), layout="constrained")
    axes = figure.add_subplot()
    for position, name in enumerate(OPTIMIZERS):
        values = np.asarray(
            [np.nan if p[name][metric] is None else p[name][metric] for p in pairs],
            dtype=np.float64,
        )
        jitter = np.linspace(-0.08, 0.08, values.size) if values.size > 1 else [0.0]
        axes.scatter(position + np.asarray(jitter), values, color=COLORS[name],
                     label=f"{name} (one point per seed)", zorder=3)
        if np.isfinite(values).any():
            axes.hlines(np.nanmean(values), position - 0.2, position + 0.2,
                        color=COLORS[name], linewidth=2)
    axes.set_xticks(range(len(OPTIMIZERS)), OPTIMIZERS, fontsize=FONT_SIZE)
    axes.set_xlim(-0.6, len(OPTIMIZERS) - 0.4)
    axes.set_title(title, fontsize=FONT_SIZE + 1)
    axes.set_xlabel("optimizer", fontsize=FONT_SIZE)
    axes.set_ylabel(ylabel, fontsize=FONT_SIZE)
    axes.legend(fontsize=FONT_SIZE - 1)
    axes.grid(alpha=0.3, axis="y")
    return figure
