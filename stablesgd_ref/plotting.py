"""Figures of the experiments, built with matplotlib's object-oriented API.

Every function returns a ``matplotlib.figure.Figure`` made without pyplot, so
no GUI backend is touched and the code runs headless; save one with
:func:`stablesgd_ref.output.save_figure_atomic`.
"""

import warnings

import numpy as np
from matplotlib.figure import Figure

COLORS = {"StandardSGD": "tab:blue", "StableSGD": "tab:orange"}
OPTIMIZERS = ("StandardSGD", "StableSGD")
FONT_SIZE = 11
PLOT_LIMIT = 1e100


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
    # A diverging run contains Inf, NaN or huge values, which matplotlib cannot
    # scale an axis to, so values beyond PLOT_LIMIT are left out.
    values = np.where(np.abs(values) <= PLOT_LIMIT, values, np.nan)
    with warnings.catch_warnings():
        # Steps where every run has diverged are all-NaN columns: left blank.
        warnings.simplefilter("ignore", RuntimeWarning)
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
    positive = False
    for name in OPTIMIZERS:
        values = stack_runs(pairs, name, key)
        plot_band(axes, values, name, COLORS[name])
        positive |= bool(np.any((values > 0) & (values <= PLOT_LIMIT)))
    # A log axis needs a positive value, which fully diverged runs lack.
    if log_y and positive:
        axes.set_yscale("log")
    axes.set_title(title, fontsize=FONT_SIZE + 1)
    axes.set_xlabel(xlabel, fontsize=FONT_SIZE)
    axes.set_ylabel(ylabel, fontsize=FONT_SIZE)
    band_title = "band: min to max over seeds" if len(pairs) > 1 else None
    axes.legend(fontsize=FONT_SIZE - 1, title=band_title)
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
        axes.scatter(
            position + np.asarray(jitter),
            values,
            color=COLORS[name],
            label=f"{name} (one point per seed)",
            zorder=3,
        )
        if np.isfinite(values).any():
            axes.hlines(
                np.nanmean(values),
                position - 0.2,
                position + 0.2,
                color=COLORS[name],
                linewidth=2,
            )
    axes.set_xticks(range(len(OPTIMIZERS)), OPTIMIZERS, fontsize=FONT_SIZE)
    axes.set_xlim(-0.6, len(OPTIMIZERS) - 0.4)
    axes.set_title(title, fontsize=FONT_SIZE + 1)
    axes.set_xlabel("optimizer", fontsize=FONT_SIZE)
    axes.set_ylabel(ylabel, fontsize=FONT_SIZE)
    axes.legend(fontsize=FONT_SIZE - 1)
    axes.grid(alpha=0.3, axis="y")
    return figure


def plot_sweep_heatmaps(rows, title):
    """Return a grid of heatmaps of StableSGD's mean final loss over the sweep.

    One panel per (energy_conservation, penalty_mode): lr on the x axis,
    temporal_stability on the y axis. Diverged cells are grey and marked
    "div". StandardSGD's mean final loss per lr is printed under the x axis.
    """
    stable = [row for row in rows if row["optimizer"] == "StableSGD"]
    lrs = sorted({row["lr"] for row in stable})
    stabilities = sorted({row["temporal_stability"] for row in stable})
    modes = list(dict.fromkeys(row["penalty_mode"] for row in stable))
    energies = sorted({row["energy_conservation"] for row in stable}, reverse=True)
    standard = {
        row["lr"]: row["mean_final_loss"]
        for row in rows
        if row["optimizer"] == "StandardSGD"
    }
    values = np.array([row["mean_final_loss"] for row in stable], dtype=np.float64)
    finite = values[np.isfinite(values)]
    vmin = finite.min() if finite.size else 0.0
    vmax = finite.max() if finite.size else 1.0

    figure = Figure(
        figsize=(4.2 * len(modes), 3.6 * len(energies)), layout="constrained"
    )
    axes_grid = figure.subplots(len(energies), len(modes), squeeze=False)
    image = None
    for r, energy in enumerate(energies):
        for c, mode in enumerate(modes):
            axes = axes_grid[r][c]
            cells = np.full((len(stabilities), len(lrs)), np.nan)
            for row in stable:
                if row["energy_conservation"] == energy and row["penalty_mode"] == mode:
                    y = stabilities.index(row["temporal_stability"])
                    x = lrs.index(row["lr"])
                    cells[y, x] = row["mean_final_loss"]
            axes.set_facecolor("0.8")
            image = axes.imshow(
                cells,
                origin="lower",
                aspect="auto",
                cmap="viridis",
                vmin=vmin,
                vmax=vmax,
            )
            for y in range(len(stabilities)):
                for x in range(len(lrs)):
                    text = (
                        "div" if not np.isfinite(cells[y, x]) else f"{cells[y, x]:.4g}"
                    )
                    shade = (cells[y, x] - vmin) / (vmax - vmin) if vmax > vmin else 0
                    color = "black" if np.isfinite(shade) and shade > 0.6 else "white"
                    axes.text(
                        x, y, text, ha="center", va="center", fontsize=8, color=color
                    )
            axes.set_xticks(
                range(len(lrs)),
                [f"{lr:g}\n(SGD {standard.get(lr, np.nan):.4g})" for lr in lrs],
                fontsize=8,
            )
            axes.set_yticks(
                range(len(stabilities)), [f"{s:g}" for s in stabilities], fontsize=8
            )
            energy_text = "energy on" if energy else "energy off"
            axes.set_title(f"penalty {mode}, {energy_text}", fontsize=FONT_SIZE - 1)
            axes.set_xlabel("lr (StandardSGD final loss)", fontsize=FONT_SIZE - 2)
            axes.set_ylabel("temporal_stability", fontsize=FONT_SIZE - 2)
    if image is not None:
        colorbar = figure.colorbar(image, ax=axes_grid, shrink=0.8)
        colorbar.set_label("StableSGD mean final loss", fontsize=FONT_SIZE - 1)
    figure.suptitle(title, fontsize=FONT_SIZE + 1)
    return figure


def plot_convergence(pairs, key, fractions, title, xlabel):
    """Return a figure of iterations needed to reach each loss threshold.

    Parameters
    ----------
    pairs : list of dict
        One ``{"StandardSGD": record, "StableSGD": record}`` per seed; each
        record's ``key`` maps a threshold label to an iteration or None.
    fractions : sequence of str
        Threshold labels, plotted left to right.

    A threshold that some seed never reached is drawn as an open marker at the
    run length. The legend counts the misses out of seeds times thresholds.
    """
    figure = Figure(figsize=(7.0, 4.5), layout="constrained")
    axes = figure.add_subplot()
    positions = np.arange(len(fractions))
    for offset, name in zip((-0.1, 0.1), OPTIMIZERS):
        reached_x, reached_y, missed_x, missed_y = [], [], [], []
        for position, label in zip(positions, fractions):
            for pair in pairs:
                record = pair[name]
                iteration = record[key][label]
                if iteration is None:
                    missed_x.append(position + offset)
                    missed_y.append(len(record["losses"]))
                else:
                    reached_x.append(position + offset)
                    reached_y.append(iteration)
        if reached_x:
            axes.scatter(
                reached_x, reached_y, color=COLORS[name], label=f"{name} reached"
            )
        if missed_x:
            axes.scatter(
                missed_x,
                missed_y,
                facecolors="none",
                edgecolors=COLORS[name],
                label=f"{name} never reached ({len(missed_x)} of {len(pairs) * len(fractions)})",
            )
    axes.set_xticks(positions, list(fractions), fontsize=FONT_SIZE - 1)
    axes.set_title(title, fontsize=FONT_SIZE + 1)
    axes.set_xlabel(xlabel, fontsize=FONT_SIZE)
    axes.set_ylabel("iterations to reach threshold", fontsize=FONT_SIZE)
    axes.legend(fontsize=FONT_SIZE - 2)
    axes.grid(alpha=0.3)
    return figure
