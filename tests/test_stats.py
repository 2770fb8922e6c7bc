"""Tests for stablesgd_ref.stats: hand-computed values and scipy.stats as oracle."""

import math

import numpy as np
import pytest

from stablesgd_ref import stats


def mean_b_minus_a(x, y, axis=-1):
    """Paired statistic for scipy.stats.permutation_test, data = (a, b)."""
    return np.mean(y - x, axis=axis)


def random_pairs(n, seed, shift=0.1):
    """Return random final losses a, b of shape [n] with b - a centred at shift."""
    rng = np.random.default_rng(seed)
    a = rng.normal(2.0, 0.5, n)
    b = a + rng.normal(shift, 0.3, n)
    return a, b


# Differences and summaries


def test_paired_differences_hand_values():
    summary = stats.paired_differences([1.5, 2.0, 4.0], [2.5, 4.0, 7.0])
    # b - a = [1, 2, 3]. Mean 2, sd = sqrt((1 + 0 + 1) / (3 - 1)) = 1.
    np.testing.assert_array_equal(summary["differences"], [1.0, 2.0, 3.0])
    assert summary["n"] == 3
    assert summary["mean"] == 2.0
    assert summary["sd"] == 1.0


def test_paired_differences_sign_is_b_minus_a():
    summary = stats.paired_differences([3.0, 5.0], [2.0, 4.5])
    np.testing.assert_array_equal(summary["differences"], [-1.0, -0.5])
    assert summary["mean"] == -0.75


def test_paired_differences_equal_values_sd_zero():
    # np.std(ddof=1) of six 0.1 values is about 1e-17, not 0.
    summary = stats.paired_differences(np.zeros(6), np.full(6, 0.1))
    assert summary["sd"] == 0.0


# Cohen's d_z


def test_cohens_dz_hand_values():
    assert stats.cohens_dz([1.0, 2.0, 3.0]) == 2.0  # mean 2, sd 1
    assert stats.cohens_dz([1.0, 3.0]) == pytest.approx(2.0 / math.sqrt(2.0))
    assert stats.cohens_dz([-1.0, -2.0, -3.0]) == -2.0


def test_cohens_dz_zero_sd():
    assert stats.cohens_dz([0.1, 0.1, 0.1, 0.1]) == math.inf
    assert stats.cohens_dz([-0.25, -0.25, -0.25]) == -math.inf
    assert stats.cohens_dz([0.0, 0.0]) == 0.0


# Permutation test, hand-computed


def test_exact_pvalue_three_pairs_by_hand():
    # Sums of the 8 sign patterns of [1, 2, 3]: 6, 4, 2, 0, 0, -2, -4, -6.
    # Only 6 and -6 reach |6|, so p = 2 / 8.
    result = stats.paired_permutation_test([1.0, 2.0, 3.0])
    assert result["pvalue"] == 0.25
    assert result["method"] == "exact"
    assert result["n_resamples"] == 8
    assert result["min_pvalue"] == 0.25


def test_exact_pvalue_every_pattern_ties():
    # Every sign pattern of [1, 1, -1] has |sum| 1 or 3, so p = 8 / 8.
    result = stats.paired_permutation_test([1.0, 1.0, -1.0])
    assert result["pvalue"] == 1.0


def test_exact_pvalue_float_tie_counted():
    # In tenths [2, 1, -3, 6]. Flipping the first three signs keeps the sum at 6,
    # and 10 of the 16 patterns have |sum| >= 6 (hand count), so p = 10 / 16.
    differences = np.array([0.2, 0.1, -0.3, 0.6])
    flipped = np.array([-0.2, -0.1, 0.3, 0.6])
    # In floats the tied pattern lands below the observed mean. Without the tie
    # tolerance it and its mirror image would be missed, giving 8 / 16.
    assert abs(np.mean(flipped)) < abs(np.mean(differences))
    result = stats.paired_permutation_test(differences)
    assert result["pvalue"] == 10 / 16


def test_exact_pvalue_all_zero_differences():
    result = stats.paired_permutation_test([0.0, 0.0, 0.0, 0.0])
    assert result["pvalue"] == 1.0


def test_exact_pvalue_five_pairs_minimum():
    # All of one sign and distinct: only the observed pattern and its mirror
    # reach the observed |mean|, so p = 2 / 32, the smallest possible with n = 5.
    result = stats.paired_permutation_test([0.3, 0.1, 0.4, 0.2, 0.5])
    assert result["pvalue"] == 0.0625
    assert result["min_pvalue"] == 0.0625


def test_exact_monte_carlo_switch_at_17():
    a, b = random_pairs(17, seed=1)
    exact = stats.paired_permutation_test(b[:16] - a[:16])
    assert exact["method"] == "exact"
    assert exact["n_resamples"] == 2**16
    assert exact["min_pvalue"] == 2.0 / 2**16

    monte_carlo = stats.paired_permutation_test(b - a)
    assert monte_carlo["method"] == "monte carlo"
    assert monte_carlo["n_resamples"] == 9_999
    assert monte_carlo["min_pvalue"] == 1.0 / 10_000


def test_monte_carlo_pvalue_counts_observed():
    # Every difference positive and far apart in size: no random pattern reaches
    # the observed |mean| except all-plus or all-minus (probability 2 / 2**30),
    # so the count is 0 and p = (0 + 1) / (n_resamples + 1).
    differences = 2.0 ** np.arange(30)
    result = stats.paired_permutation_test(differences, n_resamples=999)
    assert result["pvalue"] == 1.0 / 1_000


# Determinism of the fixed seed


def test_bootstrap_seed_determinism():
    a, b = random_pairs(10, seed=3)
    differences = b - a
    first = stats.bootstrap_ci(differences, seed=7)
    second = stats.bootstrap_ci(differences, seed=7)
    other = stats.bootstrap_ci(differences, seed=8)
    assert first == second
    assert first != other


def test_monte_carlo_seed_determinism():
    a, b = random_pairs(20, seed=4)
    first = stats.paired_permutation_test(b - a, seed=7)
    second = stats.paired_permutation_test(b - a, seed=7)
    other = stats.paired_permutation_test(b - a, seed=8)
    assert first == second
    assert first["pvalue"] != other["pvalue"]


# Permutation test against scipy.stats.permutation_test


@pytest.mark.parametrize("n", [2, 3, 7, 12, 16])
def test_exact_pvalue_matches_scipy(n):
    scipy_stats = pytest.importorskip("scipy.stats")
    a, b = random_pairs(n, seed=n)
    expected = scipy_stats.permutation_test(
        (a, b),
        mean_b_minus_a,
        permutation_type="samples",
        alternative="two-sided",
        n_resamples=np.inf,  # enumerate all 2**n patterns
    )
    result = stats.paired_permutation_test(b - a)
    assert result["method"] == "exact"
    assert result["n_resamples"] == expected.null_distribution.size
    assert abs(result["pvalue"] - expected.pvalue) <= 1e-12


def test_exact_float_tie_matches_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    differences = np.array([0.2, 0.1, -0.3, 0.6])
    expected = scipy_stats.permutation_test(
        (differences,),
        np.mean,
        permutation_type="samples",
        n_resamples=np.inf,
    )
    result = stats.paired_permutation_test(differences)
    assert abs(result["pvalue"] - expected.pvalue) <= 1e-12


def test_monte_carlo_pvalue_within_error():
    scipy_stats = pytest.importorskip("scipy.stats")
    a, b = random_pairs(17, seed=2)  # exact p is about 0.21
    exact = scipy_stats.permutation_test(
        (a, b), mean_b_minus_a, permutation_type="samples", n_resamples=np.inf
    ).pvalue
    randomized = scipy_stats.permutation_test(
        (a, b),
        mean_b_minus_a,
        permutation_type="samples",
        n_resamples=9_999,
        rng=np.random.default_rng(123),
    ).pvalue
    result = stats.paired_permutation_test(b - a, n_resamples=9_999, seed=0)
    n_resamples = 9_999

    # Binomial standard errors. scipy doubles a one-sided count, so its variance
    # is 4 * (p / 2) * (1 - p / 2) / N.
    se_ours = math.sqrt(exact * (1 - exact) / n_resamples)
    se_scipy = math.sqrt(2 * exact * (1 - exact / 2) / n_resamples)
    assert result["method"] == "monte carlo"
    assert abs(result["pvalue"] - exact) <= 4 * se_ours
    assert abs(result["pvalue"] - randomized) <= 4 * math.hypot(se_ours, se_scipy)


# Bootstrap against scipy.stats.bootstrap


def test_bootstrap_matches_scipy_same_generator():
    # SciPy 1.17 draws bootstrap indices with rng.integers(0, n, (n_resamples, n)),
    # the same call as bootstrap_ci, so one seed gives the same resamples.
    scipy_stats = pytest.importorskip("scipy.stats")
    a, b = random_pairs(10, seed=5)
    differences = b - a
    expected = scipy_stats.bootstrap(
        (differences,),
        np.mean,
        method="percentile",
        confidence_level=0.9,
        n_resamples=10_000,
        rng=np.random.default_rng(11),
    ).confidence_interval
    low, high = stats.bootstrap_ci(differences, 0.9, n_resamples=10_000, seed=11)
    assert abs(low - expected.low) <= 1e-12
    assert abs(high - expected.high) <= 1e-12


def test_bootstrap_within_monte_carlo_error_of_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    a, b = random_pairs(12, seed=6)
    differences = b - a
    n_resamples = 10_000
    expected = scipy_stats.bootstrap(
        (differences,),
        np.mean,
        method="percentile",
        n_resamples=n_resamples,
        rng=np.random.default_rng(123),
    ).confidence_interval
    low, high = stats.bootstrap_ci(differences, n_resamples=n_resamples, seed=0)

    # Standard error of a sample quantile, sqrt(q (1 - q) / N) / density, with the
    # bootstrap distribution of the mean taken as normal with sd = std(d) / sqrt(n).
    sd_boot = np.std(differences) / math.sqrt(differences.size)
    q = 0.025
    density = scipy_stats.norm.pdf(scipy_stats.norm.ppf(q)) / sd_boot
    se_quantile = math.sqrt(q * (1 - q) / n_resamples) / density
    tolerance = 4 * math.sqrt(2) * se_quantile  # two independent estimates
    assert abs(low - expected.low) <= tolerance
    assert abs(high - expected.high) <= tolerance


def test_bootstrap_equal_differences_zero_width():
    scipy_stats = pytest.importorskip("scipy.stats")
    assert stats.bootstrap_ci([0.25] * 5) == (0.25, 0.25)

    differences = np.full(6, 0.1)
    low, high = stats.bootstrap_ci(differences)
    expected = scipy_stats.bootstrap(
        (differences,), np.mean, method="percentile", rng=np.random.default_rng(0)
    ).confidence_interval
    assert low == high
    assert low == pytest.approx(0.1, rel=1e-15)
    assert low == expected.low
    assert high == expected.high


def test_bootstrap_one_pair_rejected_like_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    with pytest.raises(ValueError):
        scipy_stats.bootstrap(([0.3],), np.mean, method="percentile")
    with pytest.raises(ValueError, match="at least 2 pairs"):
        stats.bootstrap_ci([0.3])


# Input checks


def test_different_lengths_rejected():
    with pytest.raises(ValueError, match="a has 3 values but b has 2"):
        stats.paired_differences([1.0, 2.0, 3.0], [1.0, 2.0])


def test_nan_rejected_with_index():
    with pytest.raises(ValueError, match=r"b\[2\] is nan"):
        stats.compare_paired([1.0, 2.0, 3.0], [1.0, 2.0, np.nan])


def test_inf_rejected_with_index():
    with pytest.raises(ValueError, match=r"a\[0\] is inf"):
        stats.paired_differences([np.inf, 2.0], [1.0, 2.0])


@pytest.mark.parametrize(
    "function",
    [stats.bootstrap_ci, stats.paired_permutation_test, stats.cohens_dz],
)
def test_one_pair_rejected(function):
    with pytest.raises(ValueError, match="at least 2 pairs"):
        function([0.5])


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.1])
def test_confidence_outside_open_interval_rejected(confidence):
    with pytest.raises(ValueError, match=r"confidence must be in .*\(0, 1\)"):
        stats.bootstrap_ci([0.1, 0.2, 0.4], confidence=confidence)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_alpha_outside_open_interval_rejected(alpha):
    with pytest.raises(ValueError, match="alpha must be in"):
        stats.compare_paired([1.0, 2.0], [1.5, 2.5], alpha=alpha)


def test_bad_inputs_rejected():
    with pytest.raises(ValueError, match="must be 1-D"):
        stats.cohens_dz([[0.1, 0.2], [0.3, 0.4]])
    with pytest.raises(TypeError, match="must contain numbers"):
        stats.cohens_dz(["fast", "slow"])
    with pytest.raises(TypeError, match="confidence must be a number"):
        stats.bootstrap_ci([0.1, 0.2], confidence="95%")
    with pytest.raises(ValueError, match="n_resamples must be >= 1"):
        stats.bootstrap_ci([0.1, 0.2], n_resamples=0)
    with pytest.raises(TypeError, match="n_resamples must be an int"):
        stats.bootstrap_ci([0.1, 0.2], n_resamples=2.5)


# compare_paired and conclusion_sentence


def test_compare_paired_fields_by_hand():
    result = stats.compare_paired([1.5, 2.0, 4.0], [2.5, 4.0, 7.0])
    assert result["n"] == 3
    assert result["mean_a"] == pytest.approx(2.5)
    # Squared deviations: a gives 1 + 0.25 + 2.25 = 3.5, b gives 4 + 0.25 + 6.25 = 10.5.
    assert result["sd_a"] == pytest.approx(math.sqrt(3.5 / 2))
    assert result["mean_b"] == pytest.approx(4.5)
    assert result["sd_b"] == pytest.approx(math.sqrt(10.5 / 2))
    assert result["mean_difference"] == 2.0
    assert result["sd_difference"] == 1.0
    assert result["effect_size"] == 2.0
    assert result["pvalue"] == 0.25
    assert result["method"] == "exact"
    assert result["n_resamples"] == 8
    assert result["confidence"] == pytest.approx(0.95)
    assert result["ci_low"] <= 2.0 <= result["ci_high"]
    assert result["significant"] is False


def test_sentence_significant_lower_is_better():
    a, b = random_pairs(10, seed=7, shift=-0.5)
    b = np.minimum(b, a - 0.05)  # every seed favours b: exact p = 2 / 1024
    result = stats.compare_paired(a, b)
    sentence = stats.conclusion_sentence(result, "final loss")
    gap = -result["mean_difference"]
    low, high = -result["ci_high"], -result["ci_low"]
    assert result["significant"] is True
    assert result["pvalue"] == 2 / 1024
    assert sentence == (
        f"StableSGD's final loss is lower (better) than StandardSGD's by {gap:.3g} "
        f"(95% CI {low:.3g} to {high:.3g}, p = 0.00195): "
        "significant at alpha = 0.05."
    )


def test_sentence_significant_higher_is_worse():
    a, b = random_pairs(10, seed=8, shift=0.5)
    b = np.maximum(b, a + 0.05)
    result = stats.compare_paired(a, b)
    sentence = stats.conclusion_sentence(result, "final loss", lower_is_better=True)
    assert sentence.startswith("StableSGD's final loss is higher (worse) than")
    accuracy = stats.conclusion_sentence(result, "accuracy", lower_is_better=False)
    assert accuracy.startswith("StableSGD's accuracy is higher (better) than")


def test_sentence_not_significant():
    a, b = random_pairs(12, seed=9, shift=0.0)
    result = stats.compare_paired(a, b)
    sentence = stats.conclusion_sentence(result, "final loss")
    assert result["significant"] is False
    assert sentence == (
        "No significant difference in final loss at alpha = 0.05 "
        "(mean difference StableSGD minus StandardSGD "
        f"{result['mean_difference']:+.3g}, 95% CI {result['ci_low']:.3g} to "
        f"{result['ci_high']:.3g}, p = {result['pvalue']:.3g})."
    )


def test_sentence_five_pairs_cannot_be_significant():
    a = np.array([2.0, 2.2, 1.9, 2.4, 2.1])
    b = a - np.array([0.3, 0.1, 0.4, 0.2, 0.5])
    result = stats.compare_paired(a, b)
    sentence = stats.conclusion_sentence(result, "final loss")
    assert result["pvalue"] == 0.0625
    assert result["significant"] is False
    assert "smallest possible p-value is 0.0625" in sentence
    assert "significance at alpha = 0.05 is impossible" in sentence
    assert "at least 6 pairs" in sentence
    # The bootstrap CI (all differences negative) excludes 0 although p > alpha.
    assert result["ci_high"] < 0
    assert "The bootstrap CI and the permutation test disagree about 0" in sentence


def test_sentence_monte_carlo_too_few_resamples():
    a, b = random_pairs(17, seed=10, shift=0.0)
    result = stats.compare_paired(a, b, n_permutations=9)
    sentence = stats.conclusion_sentence(result, "final loss")
    assert result["min_pvalue"] == 0.1
    assert "monte carlo test" in sentence
    assert "Use more permutation resamples." in sentence


def test_pvalue_equal_to_alpha_is_significant():
    a = np.array([2.0, 2.2, 1.9, 2.4, 2.1])
    b = a - np.array([0.3, 0.1, 0.4, 0.2, 0.5])
    result = stats.compare_paired(a, b, alpha=0.0625)  # exact p = 2 / 32 = 0.0625
    sentence = stats.conclusion_sentence(result, "final loss")
    assert result["significant"] is True
    assert sentence.endswith("significant at alpha = 0.0625.")
