"""Synthetic next-token data: counting, repeated motifs and a sparse Markov chain.

Every sequence follows one of three rules, so a model can learn to predict the
next token:

- ``counting``: ``k, k+1, k+2, ...`` modulo the vocabulary size, with a random
  start ``k``.
- ``motif``: a random motif of 2 to 5 distinct tokens, repeated from the first
  position to the end of the sequence.
- ``markov``: a walk on a sparse Markov chain. Every token has 3 allowed
  successors with fixed probabilities. The first token is uniform.

All randomness, including the Markov chain's table, comes from one
``np.random.default_rng(seed)``, so a seed fixes the data set completely.
"""

from dataclasses import dataclass

import numpy as np

from stablesgd_ref.checks import as_int_at_least

PATTERNS = ("counting", "motif", "markov")
MIN_MOTIF_LENGTH = 2
MAX_MOTIF_LENGTH = 5
N_SUCCESSORS = 3


# ----------------------------------------------------------------------------
# The three patterns
# ----------------------------------------------------------------------------


def counting_sequences(n, length, vocab_size, rng):
    """Generate rows ``k, k+1, ...`` modulo ``vocab_size`` with random starts.

    Returns
    -------
    ndarray of int64, shape (n, length)
    """
    starts = rng.integers(0, vocab_size, size=(n, 1))  # (n, 1)
    return (starts + np.arange(length)) % vocab_size  # (n, length)


def motif_sequences(n, length, vocab_size, rng):
    """Generate rows that repeat a random motif of distinct tokens.

    Each row draws its own motif length ``L`` uniformly from
    ``2..min(5, vocab_size)`` and ``L`` distinct tokens, so ``row[t] ==
    row[t + L]`` for every ``t`` and no shorter period exists.

    Returns
    -------
    tokens : ndarray of int64, shape (n, length)
    motif_lengths : ndarray of int64, shape (n,)
    """
    max_length = min(MAX_MOTIF_LENGTH, vocab_size)
    tokens = np.empty((n, length), dtype=np.int64)
    motif_lengths = rng.integers(MIN_MOTIF_LENGTH, max_length + 1, size=n)
    for row, motif_length in enumerate(motif_lengths):
        motif = rng.choice(vocab_size, size=motif_length, replace=False)
        tokens[row] = np.resize(motif, length)  # repeats the motif to fill the row
    return tokens, motif_lengths


def markov_table(vocab_size, rng, n_successors=N_SUCCESSORS):
    """Draw a sparse Markov transition table.

    Token ``v`` may be followed only by ``successors[v]``, a set of distinct
    tokens (``v`` itself may be among them), with probabilities
    ``successor_probs[v]`` drawn from a flat Dirichlet distribution.

    Returns
    -------
    successors : ndarray of int64, shape (vocab_size, k)
    successor_probs : ndarray of float64, shape (vocab_size, k)
        Rows sum to 1. ``k = min(n_successors, vocab_size)``.
    """
    k = min(n_successors, vocab_size)
    successors = np.stack(
        [rng.choice(vocab_size, size=k, replace=False) for _ in range(vocab_size)]
    )  # (V, k)
    successor_probs = rng.dirichlet(np.ones(k), size=vocab_size)  # (V, k)
    return successors, successor_probs


def markov_sequences(n, length, successors, successor_probs, rng):
    """Sample ``n`` walks of the Markov chain, all rows in parallel.

    Returns
    -------
    ndarray of int64, shape (n, length)
    """
    vocab_size, k = successors.shape
    tokens = np.empty((n, length), dtype=np.int64)
    tokens[:, 0] = rng.integers(0, vocab_size, size=n)
    for t in range(1, length):
        previous = tokens[:, t - 1]  # (n,)
        cumulative = np.cumsum(successor_probs[previous], axis=1)  # (n, k)
        u = rng.random(size=(n, 1))  # (n, 1)
        # Index of the first cumulative probability above u. The clip guards
        # against a last cumulative value that rounds to slightly below 1.
        choice = np.minimum((u >= cumulative).sum(axis=1), k - 1)  # (n,)
        tokens[:, t] = successors[previous, choice]
    return tokens


# ----------------------------------------------------------------------------
# Data set and batches
# ----------------------------------------------------------------------------


@dataclass
class SyntheticSequences:
    """Generated token rows with the pattern of each row and the Markov table.

    Attributes
    ----------
    tokens : ndarray of int64, shape (n, length)
        Rows grouped by pattern, in the order of ``PATTERNS``.
    patterns : ndarray of int64, shape (n,)
        Index into ``PATTERNS`` for each row.
    successors, successor_probs : ndarray, shape (vocab_size, k)
        The Markov chain's table, see ``markov_table``.
    """

    tokens: np.ndarray
    patterns: np.ndarray
    successors: np.ndarray
    successor_probs: np.ndarray


def generate_sequences(n_sequences, length, vocab_size, rng):
    """Generate an equal mix of the three patterns from ``rng``.

    Pattern ``i`` gets ``n_sequences // 3`` rows plus one when
    ``i < n_sequences % 3``, so the counts differ by at most one (40 rows give
    14 counting, 13 motif and 13 Markov rows). Draws are taken from ``rng`` in
    a fixed order: counting starts, motifs, the Markov table, Markov walks.

    Parameters
    ----------
    n_sequences : int
        Number of rows.
    length : int
        Tokens per row.
    vocab_size : int
        Number of token ids, at least 2.
    rng : numpy.random.Generator

    Returns
    -------
    SyntheticSequences
    """
    counts = [
        n_sequences // 3 + (1 if i < n_sequences % 3 else 0)
        for i in range(len(PATTERNS))
    ]
    counting = counting_sequences(counts[0], length, vocab_size, rng)
    motif, _ = motif_sequences(counts[1], length, vocab_size, rng)
    successors, successor_probs = markov_table(vocab_size, rng)
    markov = markov_sequences(counts[2], length, successors, successor_probs, rng)

    tokens = np.concatenate([counting, motif, markov]).astype(np.int64)
    patterns = np.repeat(np.arange(len(PATTERNS)), counts)
    return SyntheticSequences(tokens, patterns, successors, successor_probs)


def make_synthetic_dataset(
    n_sequences=40, seq_len=20, vocab_size=100, seed=42, val_fraction=0.2
):
    """Generate the synthetic data set and split it into training and validation.

    The rows of ``generate_sequences`` are shuffled with the same generator,
    then the first ``round(val_fraction * n_sequences)`` rows become the
    validation set and the rest the training set. The defaults give 32
    training and 8 validation rows. Each row has ``seq_len + 1`` tokens, so
    that ``row[:-1]`` is a model input and ``row[1:]`` its targets.

    Parameters
    ----------
    n_sequences : int
        Total number of rows, at least 2.
    seq_len : int
        Model input length T.
    vocab_size : int
        Number of token ids, at least 2.
    seed : int
        Seed of ``np.random.default_rng``.
    val_fraction : float
        Share of the rows in the validation set. Both sets must be non-empty.

    Returns
    -------
    train_tokens : ndarray of int64, shape (n_train, seq_len + 1)
    val_tokens : ndarray of int64, shape (n_val, seq_len + 1)
    """
    n_sequences = as_int_at_least("n_sequences", n_sequences, minimum=2)
    seq_len = as_int_at_least("seq_len", seq_len)
    vocab_size = as_int_at_least("vocab_size", vocab_size, minimum=2)
    seed = as_int_at_least("seed", seed, minimum=0)
    val_fraction = float(val_fraction)
    n_val = round(val_fraction * n_sequences)
    if not (0.0 < val_fraction < 1.0 and 1 <= n_val <= n_sequences - 1):
        raise ValueError(
            f"val_fraction={val_fraction} with n_sequences={n_sequences} gives "
            f"{n_val} validation rows. Choose 0 < val_fraction < 1 so that both "
            "the training and the validation set get at least one row."
        )

    rng = np.random.default_rng(seed)
    sequences = generate_sequences(n_sequences, seq_len + 1, vocab_size, rng)
    order = rng.permutation(n_sequences)
    val_tokens = sequences.tokens[order[:n_val]]
    train_tokens = sequences.tokens[order[n_val:]]
    return train_tokens, val_tokens


def iterate_batches(tokens, batch_size=4, *, rng):
    """Yield one epoch of ``(inputs, targets)`` batches in a shuffled order.

    The row order is ``rng.permutation(n)``, drawn once per call. Passing the
    same generator to the next call gives the next epoch a new order, and two
    generators made from the same seed give identical batches. The last batch
    is smaller when ``batch_size`` does not divide the number of rows.

    Parameters
    ----------
    tokens : ndarray of int, shape (n, L)
        Rows from ``make_synthetic_dataset``, ``L >= 2``.
    batch_size : int
        Rows per batch.
    rng : numpy.random.Generator
        Source of the shuffle. Required, so the order is always reproducible.

    Returns
    -------
    iterator of (inputs, targets)
        Both of shape (batch_size, L - 1): ``inputs = rows[:, :-1]`` and
        ``targets = rows[:, 1:]``.
    """
    tokens = np.asarray(tokens)
    if tokens.dtype.kind not in "iu":
        raise TypeError(f"tokens must be an integer array, got dtype {tokens.dtype}")
    if tokens.ndim != 2 or tokens.shape[0] < 1 or tokens.shape[1] < 2:
        raise ValueError(
            "tokens must have shape (n, L) with n >= 1 rows and L >= 2 tokens per "
            f"row, got shape {tokens.shape}"
        )
    batch_size = as_int_at_least("batch_size", batch_size)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator, got {type(rng).__name__}. "
            "Pass np.random.default_rng(seed) and reuse it across epochs."
        )
    # Validation happens above, at call time. The generator below starts only
    # when the caller iterates.
    return _batches(tokens, batch_size, rng.permutation(tokens.shape[0]))


def _batches(tokens, batch_size, order):
    for start in range(0, len(order), batch_size):
        rows = tokens[order[start : start + batch_size]]  # (batch, L)
        yield rows[:, :-1], rows[:, 1:]
