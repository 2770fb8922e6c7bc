"""Metrics of a training run: stability, convergence speed and distances."""

import math

import numpy as np


def stability_coefficient(losses, window=20):
    """Return the method's temporal stability coefficient of the last losses.

    It is the population standard deviation (ddof=0) of the last ``window``
    losses divided by their mean. A smaller value is read as more stable.

    NOTE: the ratio misleads when the mean is near zero (it explodes) or
    negative (it changes sign), which can happen with noisy losses; report
    :func:`window_std` beside it.

    Parameters
    ----------
    losses : sequence of float, length >= 1
    window : int
        Number of final losses used; all of them if there are fewer.
    """
    tail = _tail(losses, window)
    # Losses of a run on its way to diverging can overflow when squared.
    with np.errstate(over="ignore", invalid="ignore"):
        mean = float(np.mean(tail))
        if mean == 0.0:
            return math.inf
        return float(np.std(tail)) / mean


def window_std(losses, window=20):
    """Return the population standard deviation of the last ``window`` losses."""
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.std(_tail(losses, window)))


def iterations_to_threshold(losses, threshold):
    """Return the first iteration ``t`` with ``losses[t] <= threshold``, else None.

    ``losses[t]`` is the loss before update ``t``, so the result is the number
    of updates made before the loss first reached the threshold.
    """
    for iteration, loss in enumerate(losses):
        if loss <= threshold:
            return iteration
    return None


def distance(params, reference):
    """Return the Euclidean distance between two flat or list-of-array params."""
    if isinstance(params, (list, tuple)):
        params = np.concatenate([np.ravel(p) for p in params])
        reference = np.concatenate([np.ravel(r) for r in reference])
    # A diverged run may hold Inf or huge values; its distance is then Inf.
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.linalg.norm(np.ravel(params) - np.ravel(reference)))


def _tail(losses, window):
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)):
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    if window < 1:
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    losses = np.asarray(losses, dtype=np.float64)
    if losses.ndim != 1 or losses.size == 0:
        raise ValueError(
            f"losses must be a non-empty 1-D sequence, got shape {losses.shape}"
        )
    return losses[-window:]
