"""Paired statistics for comparing two optimizers across seeds.

Each seed gives one pair of observations: ``a[i]`` from StandardSGD and ``b[i]``
from StableSGD, for example the final loss of each optimizer on seed ``i``. Every
statistic here is computed from the paired differences

    difference[i] = b[i] - a[i]        (StableSGD minus StandardSGD),

so for a loss, where lower is better, a negative mean difference favours StableSGD.

NaN and infinite values (diverged runs) raise a ValueError that names the array and
the index. A paired test cannot use a pair with one value missing, so drop that seed
from both arrays and report the divergence separately.

Every statistic needs at least 2 pairs. The sample standard deviation uses
``ddof=1``. The conventions follow SciPy 1.17, ``scipy.stats.permutation_test`` and
``scipy.stats.bootstrap``, and tests/test_stats.py compares the results with both.

References
----------
SciPy 1.17 documentation and source of ``scipy.stats.permutation_test`` (tie
tolerance, (count + 1) / (n_resamples + 1) for randomized tests) and
``scipy.stats.bootstrap`` (percentile interval).
"""

import math
import numbers

import numpy as np

MAX_EXACT_N = 16  # up to 2**16 = 65536 sign patterns are enumerated exactly

# Relative tolerance for ties between the observed and a resampled statistic, as in
# scipy.stats.permutation_test: 100 machine epsilons, about 2.2e-14.
TIE_RTOL = 100 * np.finfo(np.float64).eps


def _as_sample(values, name, min_n=2):
    """Convert ``values`` to a finite float64 array of shape [n], n >= ``min_n``."""
    try:
        values = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must contain numbers, got {values!r}") from error
    if values.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D with one value per seed, got shape {values.shape}"
        )
    if values.size < min_n:
        raise ValueError(
            f"{name} has {values.size} value(s), but at least {min_n} pairs are "
            "needed. Run more seeds."
        )
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size > 0:
        i = bad[0]
        raise ValueError(
            f"{name}[{i}] is {values[i]} (a diverged run?). Remove seed index {i} "
            "from both arrays and report the divergence separately."
        )
    return values


def _check_fraction(value, name):
    """Raise TypeError or ValueError unless ``value`` is a number in (0, 1)."""
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in (0, 1), got {value!r}")
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be in the open interval (0, 1), got {value}")


def _check_n_resamples(n_resamples):
    """Raise unless ``n_resamples`` is a positive integer."""
    if not isinstance(n_resamples, (int, np.integer)) or isinstance(n_resamples, bool):
        raise TypeError(f"n_resamples must be an int, got {n_resamples!r}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")


def _sample_sd(values):
    """Return the sample standard deviation (ddof=1) of ``values``, shape [n].

    Equal values give exactly 0.0. np.std can return about 1e-17 for them, because
    their float mean can differ from the value in the last bit.
    """
    if np.all(values == values[0]):
        return 0.0
    return float(np.std(values, ddof=1))


def paired_differences(a, b):
    """Compute the paired differences b - a and summarise them.

    Parameters
    ----------
    a : array_like, shape [n]
        One value per seed for StandardSGD.
    b : array_like, shape [n]
        One value per seed for StableSGD, in the same seed order as ``a``.

    Returns
    -------
    dict
        ``differences`` (shape [n], b - a, StableSGD minus StandardSGD), ``n``,
        ``mean`` and ``sd`` (sample standard deviation, ddof=1) of the differences.
    """
    a = _as_sample(a, "a")
    b = _as_sample(b, "b")
    if a.size != b.size:
        raise ValueError(
            f"a has {a.size} values but b has {b.size}. Pass one value per seed for "
            "each optimizer, in the same seed order."
        )
    differences = b - a
    return {
        "differences": differences,
        "n": differences.size,
        "mean": float(np.mean(differences)),
        "sd": _sample_sd(differences),
    }


def bootstrap_ci(differences, confidence=0.95, n_resamples=10_000, seed=0):
    """Compute the percentile bootstrap confidence interval of the mean difference.

    Each resample draws n differences with replacement. The interval runs from the
    (1 - confidence) / 2 quantile to the (1 + confidence) / 2 quantile of the
    resampled means. The quantiles use ``np.quantile(method="linear")``, the
    default of np.percentile and of scipy.stats.quantile in SciPy 1.17. Indices are
    drawn with ``np.random.default_rng(seed).integers(0, n, (n_resamples, n))``,
    which is the call that scipy.stats.bootstrap makes in SciPy 1.17. The same seed
    therefore reproduces scipy's interval.

    NOTE: with few pairs the interval is too narrow, so its coverage falls below
    ``confidence``. The resampled means have sd std(ddof=0) / sqrt(n) and the
    quantiles are close to normal ones, not Student t ones. For n = 5 the interval is
    about 0.63 times as wide as the t interval (1.96 * sqrt(4 / 5) / 2.776).

    Parameters
    ----------
    differences : array_like, shape [n]
        Paired differences, n >= 2. SciPy also rejects n = 1.
    confidence : float
        Confidence level in (0, 1).
    n_resamples : int
        Number of bootstrap resamples.
    seed : int or None
        Seed for ``np.random.default_rng``.

    Returns
    -------
    low, high : float
        Interval bounds. Equal differences give low == high == their mean.
    """
    differences = _as_sample(differences, "differences")
    _check_fraction(confidence, "confidence")
    _check_n_resamples(n_resamples)
    n = differences.size

    rng = np.random.default_rng(seed)
    indices = rng.integers(0, n, (n_resamples, n))  # [n_resamples, n]
    means = differences[indices].mean(axis=-1)  # [n_resamples]

    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail], method="linear")
    return float(low), float(high)


def _count_as_extreme(null_means, observed):
    """Count resampled means with |mean| >= |observed|, up to a float tie."""
    threshold = abs(observed) - TIE_RTOL * abs(observed)
    return int(np.count_nonzero(np.abs(null_means) >= threshold))


def paired_permutation_test(differences, n_resamples=9_999, seed=0):
    """Test mean difference = 0 with a two-sided sign-flip permutation test.

    Under the null hypothesis each difference is as likely to be +d as -d, so each
    of the 2**n sign patterns gives an equally likely mean. The p-value is the
    fraction of patterns whose |mean| >= the observed |mean|. A pattern counts as a
    tie if it falls short by at most ``TIE_RTOL`` times the observed |mean|.

    - n <= MAX_EXACT_N (16): exact. All 2**n patterns are enumerated, including
      the observed one, and p = count / 2**n.
    - n > 16: Monte Carlo. ``n_resamples`` random patterns come from
      ``np.random.default_rng(seed)``. The observed statistic is counted once as
      a resample, as in scipy.stats.permutation_test, so
      p = (count + 1) / (n_resamples + 1) and p is never 0.

    For the exact test the p-value equals scipy's. For Monte Carlo, scipy doubles
    the smaller one-sided p-value while this function counts |mean| directly. Both
    estimate the same exact p-value because the sign-flip distribution is symmetric
    about 0, but their random streams differ, so the two agree only within Monte
    Carlo error.

    Parameters
    ----------
    differences : array_like, shape [n]
        Paired differences, n >= 2.
    n_resamples : int
        Number of random sign patterns when n > 16. Ignored when n <= 16.
    seed : int or None
        Seed for ``np.random.default_rng``. Ignored when n <= 16.

    Returns
    -------
    dict
        ``pvalue``, the two-sided p-value.
        ``method``, either "exact" or "monte carlo".
        ``n_resamples``, the number of sign patterns used, 2**n for the exact test.
        ``min_pvalue``, the smallest p-value the method can return. It is 2 / 2**n
        for the exact test and 1 / (n_resamples + 1) for Monte Carlo.
    """
    differences = _as_sample(differences, "differences")
    _check_n_resamples(n_resamples)
    n = differences.size
    observed = float(np.mean(differences))

    if n <= MAX_EXACT_N:
        # Row k of signs contains the bits of k mapped to +1 / -1. Row 0 is all +1.
        patterns = np.arange(2**n)[:, None]  # [2**n, 1]
        bits = (patterns >> np.arange(n)) & 1  # [2**n, n]
        signs = 1.0 - 2.0 * bits  # [2**n, n]
        null_means = (signs * differences).mean(axis=-1)  # [2**n]
        count = _count_as_extreme(null_means, observed)
        return {
            "pvalue": count / 2**n,
            "method": "exact",
            "n_resamples": 2**n,
            "min_pvalue": 2.0 / 2**n,
        }

    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(n_resamples, n))  # [n_resamples, n]
    null_means = (signs * differences).mean(axis=-1)  # [n_resamples]
    count = _count_as_extreme(null_means, observed)
    return {
        "pvalue": (count + 1) / (n_resamples + 1),
        "method": "monte carlo",
        "n_resamples": n_resamples,
        "min_pvalue": 1.0 / (n_resamples + 1),
    }


def cohens_dz(differences):
    """Compute Cohen's d_z = mean(differences) / sd(differences), with ddof=1.

    When all differences are equal, the sd is 0 and the ratio is undefined. This
    function then returns 0.0 if they are all 0 (no effect), and +inf or -inf, with
    the sign of the mean, otherwise.

    Parameters
    ----------
    differences : array_like, shape [n]
        Paired differences, n >= 2.

    Returns
    -------
    float
        The standardized mean difference.
    """
    differences = _as_sample(differences, "differences")
    mean = float(np.mean(differences))
    sd = _sample_sd(differences)
    if sd == 0.0:
        if differences[0] == 0.0:
            return 0.0
        return math.copysign(math.inf, differences[0])
    return mean / sd


def compare_paired(
    a,
    b,
    alpha=0.05,
    n_bootstrap=10_000,
    n_permutations=9_999,
    seed=0,
    names=("StandardSGD", "StableSGD"),
):
    """Compare two optimizers on paired per-seed values and collect every number.

    The confidence level of the bootstrap interval is 1 - alpha, so that the
    interval and the test use the same level. ``significant`` is ``pvalue <= alpha``.
    This is the permutation test's decision. The percentile interval can exclude 0
    while p > alpha when n is small.

    Parameters
    ----------
    a, b : array_like, shape [n]
        One value per seed for ``names[0]`` and ``names[1]``, same seed order.
    alpha : float
        Significance level in (0, 1).
    n_bootstrap : int
        Resamples for ``bootstrap_ci``.
    n_permutations : int
        Random sign patterns for ``paired_permutation_test`` when n > 16.
    seed : int or None
        Seed for both resampling methods.
    names : tuple of str
        Display names of the optimizers behind ``a`` and ``b``.

    Returns
    -------
    dict
        ``n``, ``mean_a``, ``sd_a``, ``mean_b``, ``sd_b``, ``mean_difference`` and
        ``sd_difference`` (b - a, ddof=1), ``confidence``, ``ci_low``, ``ci_high``,
        ``pvalue``, ``method``, ``n_resamples``, ``min_pvalue``, ``effect_size``
        (Cohen's d_z), ``alpha``, ``significant``, ``name_a``, ``name_b``.
    """
    _check_fraction(alpha, "alpha")
    summary = paired_differences(a, b)
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    differences = summary["differences"]

    confidence = 1.0 - alpha
    ci_low, ci_high = bootstrap_ci(differences, confidence, n_bootstrap, seed)
    test = paired_permutation_test(differences, n_permutations, seed)

    return {
        "n": summary["n"],
        "mean_a": float(np.mean(a)),
        "sd_a": _sample_sd(a),
        "mean_b": float(np.mean(b)),
        "sd_b": _sample_sd(b),
        "mean_difference": summary["mean"],
        "sd_difference": summary["sd"],
        "confidence": confidence,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "pvalue": test["pvalue"],
        "method": test["method"],
        "n_resamples": test["n_resamples"],
        "min_pvalue": test["min_pvalue"],
        "effect_size": cohens_dz(differences),
        "alpha": alpha,
        "significant": test["pvalue"] <= alpha,
        "name_a": names[0],
        "name_b": names[1],
    }


def conclusion_sentence(result, metric_name, lower_is_better=True):
    """Compose a conclusion of one to three sentences from the numbers in ``result``.

    Numbers are printed with 3 significant digits. When the method's smallest
    possible p-value exceeds alpha, the sentence states that significance is
    impossible and how many pairs an exact test needs. When the bootstrap interval
    and the permutation test disagree about 0, the sentence states that too.

    Parameters
    ----------
    result : dict
        Output of ``compare_paired``.
    metric_name : str
        Name of the compared value, for example "final loss".
    lower_is_better : bool
        Whether a lower value of the metric is better, as for a loss.

    Returns
    -------
    str
        The conclusion.
    """
    name_a, name_b = result["name_a"], result["name_b"]
    diff = result["mean_difference"]
    level = f"{100 * result['confidence']:.3g}%"
    alpha = f"{result['alpha']:g}"
    p = f"p = {result['pvalue']:.3g}"

    if result["significant"]:
        # State the gap as a positive number. For b < a the interval of a - b is
        # the interval of b - a negated and reversed.
        if diff < 0:
            direction, gap = "lower", -diff
            low, high = -result["ci_high"], -result["ci_low"]
        else:
            direction, gap = "higher", diff
            low, high = result["ci_low"], result["ci_high"]
        better = (direction == "lower") == lower_is_better
        verdict = "better" if better else "worse"
        sentence = (
            f"{name_b}'s {metric_name} is {direction} ({verdict}) than {name_a}'s "
            f"by {gap:.3g} ({level} CI {low:.3g} to {high:.3g}, {p}): "
            f"significant at alpha = {alpha}."
        )
    else:
        sentence = (
            f"No significant difference in {metric_name} at alpha = {alpha} "
            f"(mean difference {name_b} minus {name_a} {diff:+.3g}, "
            f"{level} CI {result['ci_low']:.3g} to {result['ci_high']:.3g}, {p})."
        )

    ci_excludes_zero = result["ci_low"] > 0 or result["ci_high"] < 0
    if ci_excludes_zero != result["significant"]:
        sentence += (
            " The bootstrap CI and the permutation test disagree about 0, and the "
            "decision follows the permutation test."
        )

    if result["min_pvalue"] <= result["alpha"]:
        return sentence

    sentence += (
        f" With {result['n']} pairs and the {result['method']} test, the smallest "
        f"possible p-value is {result['min_pvalue']:.3g}, so significance at "
        f"alpha = {alpha} is impossible."
    )
    if result["method"] == "exact":
        # The exact minimum 2 / 2**n is <= alpha once n >= 1 + log2(1 / alpha).
        n_needed = 1 + math.ceil(math.log2(1.0 / result["alpha"]))
        sentence += f" The exact test needs at least {n_needed} pairs."
    else:
        sentence += " Use more permutation resamples."
    return sentence
