"""Tests of the synthetic next-token data and the batch iterator."""

import itertools

import numpy as np
import pytest

from stablesgd_ref.data import (
    PATTERNS,
    generate_sequences,
    iterate_batches,
    make_synthetic_dataset,
    markov_sequences,
    markov_table,
)


def sorted_rows(tokens):
    """Return the rows of a 2-D array in lexicographic order."""
    return tokens[np.lexsort(tokens.T[::-1])]


def rows_of_pattern(sequences, name):
    return sequences.tokens[sequences.patterns == PATTERNS.index(name)]


@pytest.fixture
def sequences():
    return generate_sequences(40, 21, 100, np.random.default_rng(42))


# ----------------------------------------------------------------------------
# Data set
# ----------------------------------------------------------------------------


def test_default_split_sizes():
    train, val = make_synthetic_dataset()

    assert train.shape == (32, 21)
    assert val.shape == (8, 21)
    assert train.dtype == np.int64
    assert val.dtype == np.int64


def test_custom_split_sizes():
    train, val = make_synthetic_dataset(n_sequences=30, seq_len=7, val_fraction=0.5)

    assert train.shape == (15, 8)
    assert val.shape == (15, 8)


def test_dataset_is_deterministic_for_seed():
    train_a, val_a = make_synthetic_dataset(seed=3)
    train_b, val_b = make_synthetic_dataset(seed=3)
    train_c, val_c = make_synthetic_dataset(seed=4)

    np.testing.assert_array_equal(train_a, train_b)
    np.testing.assert_array_equal(val_a, val_b)
    assert not np.array_equal(train_a, train_c)
    assert not np.array_equal(val_a, val_c)


def test_dataset_is_shuffled_split_of_generated_rows(sequences):
    train, val = make_synthetic_dataset(seed=42)

    all_rows = np.concatenate([train, val])
    np.testing.assert_array_equal(sorted_rows(all_rows), sorted_rows(sequences.tokens))
    # The rows are shuffled before the split, so they leave generation order.
    assert not np.array_equal(all_rows, sequences.tokens)


def test_equal_mix_of_patterns(sequences):
    counts = np.bincount(sequences.patterns, minlength=3)

    assert counts.tolist() == [14, 13, 13]
    assert sequences.tokens.shape == (40, 21)
    assert sequences.tokens.min() >= 0
    assert sequences.tokens.max() < 100


def test_counting_rows_increase_by_one(sequences):
    rows = rows_of_pattern(sequences, "counting")

    steps = (rows[:, 1:] - rows[:, :-1]) % 100
    np.testing.assert_array_equal(steps, 1)
    # Starts are random, so some rows wrap around from 99 to 0.
    assert len(np.unique(rows[:, 0])) > 1
    assert np.any(rows[:, 1:] < rows[:, :-1])


def test_motif_rows_are_periodic(sequences):
    rows = rows_of_pattern(sequences, "motif")

    periods = []
    for row in rows:
        period = next(p for p in range(1, 21) if np.array_equal(row[p:], row[:-p]))
        periods.append(period)
        # Motif tokens are distinct, so the period is the number of distinct tokens.
        assert period == len(np.unique(row))
    assert min(periods) >= 2
    assert max(periods) <= 5
    assert len(set(periods)) > 1


def test_markov_rows_use_allowed_transitions(sequences):
    rows = rows_of_pattern(sequences, "markov")
    successors = sequences.successors

    for row in rows:
        for previous, token in itertools.pairwise(row):
            assert token in successors[previous], (previous, token)


def test_markov_table_shape():
    successors, probs = markov_table(100, np.random.default_rng(0))

    assert successors.shape == (100, 3)
    assert probs.shape == (100, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(probs > 0)
    for row in successors:
        assert len(set(row.tolist())) == 3


def test_markov_frequencies_match_table():
    rng = np.random.default_rng(5)
    successors, probs = markov_table(4, rng)
    n = 20000

    tokens = markov_sequences(n, 2, successors, probs, rng)

    # Each first token has about n / 4 = 5000 walks, so the standard error of a
    # frequency is at most 0.5 / sqrt(5000) ~ 0.007. The tolerance is 5 of them.
    for v in range(4):
        nexts = tokens[tokens[:, 0] == v, 1]
        for j in range(3):
            frequency = np.mean(nexts == successors[v, j])
            assert abs(frequency - probs[v, j]) < 0.035, (v, j)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_sequences": 1}, ValueError, "n_sequences .* got 1"),
        ({"n_sequences": 2.5}, TypeError, "n_sequences .* got 2.5"),
        ({"seq_len": 0}, ValueError, "seq_len .* got 0"),
        ({"vocab_size": 1}, ValueError, "vocab_size .* got 1"),
        ({"seed": -2}, ValueError, "seed .* got -2"),
        ({"val_fraction": 0.0}, ValueError, "val_fraction=0.0"),
        ({"val_fraction": 1.0}, ValueError, "val_fraction=1.0"),
        ({"n_sequences": 4, "val_fraction": 0.1}, ValueError, "gives 0 validation"),
    ],
)
def test_bad_dataset_arguments_rejected(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_synthetic_dataset(**kwargs)


def test_small_vocabulary_works():
    train, val = make_synthetic_dataset(n_sequences=9, seq_len=6, vocab_size=2)

    all_rows = np.concatenate([train, val])
    assert set(np.unique(all_rows).tolist()) <= {0, 1}


# ----------------------------------------------------------------------------
# Batches
# ----------------------------------------------------------------------------


def test_batches_cover_training_set_once():
    train, _ = make_synthetic_dataset()
    rng = np.random.default_rng(0)

    batches = list(iterate_batches(train, batch_size=4, rng=rng))

    assert len(batches) == 8
    inputs = np.concatenate([inputs for inputs, _ in batches])
    targets = np.concatenate([targets for _, targets in batches])
    rows = np.concatenate([inputs, targets[:, -1:]], axis=1)
    np.testing.assert_array_equal(sorted_rows(rows), sorted_rows(train))
    for batch_inputs, batch_targets in batches:
        assert batch_inputs.shape == (4, 20)
        np.testing.assert_array_equal(batch_targets[:, :-1], batch_inputs[:, 1:])


def test_batch_order_reproducible_and_new_each_epoch():
    tokens = np.arange(40).reshape(10, 4)  # row i starts with 4 * i

    def first_tokens(rng):
        return [
            inputs[:, 0].tolist() for inputs, _ in iterate_batches(tokens, 4, rng=rng)
        ]

    rng_a = np.random.default_rng(11)
    rng_b = np.random.default_rng(11)
    epoch_1 = first_tokens(rng_a)
    epoch_2 = first_tokens(rng_a)

    assert epoch_1 == first_tokens(rng_b)
    assert epoch_1 != epoch_2
    assert [len(batch) for batch in epoch_1] == [4, 4, 2]
    all_first_tokens = [token for batch in epoch_1 for token in batch]
    assert sorted(all_first_tokens) == list(range(0, 40, 4))


@pytest.mark.parametrize(
    "tokens, kwargs, error, match",
    [
        (np.zeros((4, 3)), {}, TypeError, "dtype float64"),
        (np.zeros(5, dtype=int), {}, ValueError, r"shape \(5,\)"),
        (np.zeros((4, 1), dtype=int), {}, ValueError, r"shape \(4, 1\)"),
        (np.zeros((4, 3), dtype=int), {"batch_size": 0}, ValueError, "batch_size"),
        (np.zeros((4, 3), dtype=int), {"rng": 42}, TypeError, "got int"),
    ],
)
def test_bad_batch_arguments_rejected(tokens, kwargs, error, match):
    arguments = {"rng": np.random.default_rng(0), **kwargs}

    # The error is raised by the call itself, before any iteration.
    with pytest.raises(error, match=match):
        iterate_batches(tokens, **arguments)
