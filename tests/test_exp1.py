"""Tests of Experiment 1's training runs."""

import math

import numpy as np
import pytest

from stablesgd_ref import corpus, exp1
from stablesgd_ref.data import iterate_batches
from stablesgd_ref.optimizers import StandardSGD

# A small configuration keeps these tests to seconds.
SMALL = {
    "epochs": 3,
    "n_sequences": 10,
    "d_model": 8,
    "n_heads": 2,
    "d_ff": 16,
    "vocab_size": 100,
    "seq_len": 20,
}


def test_run_matches_hand_written_loop():
    settings = {**exp1.DEFAULTS, **SMALL, "lr": 0.01}
    record = exp1.run_optimizer("StandardSGD", settings, 7)
    train, val = exp1.make_data(settings, 7)
    model = exp1.make_model(settings, 7)
    params = list(model.params.values())
    optimizer = StandardSGD(params, lr=0.01, momentum=0.9)
    rng = np.random.default_rng([7, 3])
    losses = []
    for _ in range(3):
        for inputs, targets in iterate_batches(train, 4, rng=rng):
            loss, grads = model.loss_and_grads(inputs, targets)
            losses.append(loss)
            optimizer.step(list(grads.values()))
    assert record["losses"] == losses
    assert record["final_val_loss"] == model.loss(val[:, :-1], val[:, 1:])


def test_pair_shares_weights_and_batches():
    pair = exp1.run_pair({**SMALL}, 3)
    standard, stable = pair["StandardSGD"], pair["StableSGD"]
    # Same weights and same first batch give the same first loss.
    assert standard["losses"][0] == stable["losses"][0]
    assert len(standard["losses"]) == len(stable["losses"]) == 3 * 2
    assert stable["overhead"] > 0
    assert standard["overhead"] == 1.0


def test_literal_stable_history_grows_with_steps():
    settings = {**exp1.DEFAULTS, **SMALL}
    record = exp1.run_optimizer("StableSGD", settings, 3)
    n_weights = exp1.make_model(settings, 3).num_params()
    steps = len(record["losses"])
    # One param snapshot and one energy array per step, 8 bytes per value.
    assert record["history_bytes"] == 2 * steps * n_weights * 8
    limited = exp1.run_optimizer("StableSGD", {**settings, "history_limit": 2}, 3)
    assert limited["history_bytes"] == 2 * 2 * n_weights * 8
    assert limited["losses"] == record["losses"]


def test_reference_optimum_fits_training_set():
    settings = {**exp1.DEFAULTS, **SMALL}
    (train, _), reference = exp1.data_and_reference(settings, 5)
    model = exp1.make_model(settings, 5)
    start = exp1.dataset_loss(model, train)
    for param, value in zip(model.params.values(), reference):
        param[...] = value
    assert exp1.dataset_loss(model, train) < 0.5 * start


def test_divergence_is_recorded():
    settings = {**exp1.DEFAULTS, **SMALL, "lr": 1e300, "momentum": 0.9, "epochs": 30}
    record = exp1.run_optimizer("StandardSGD", settings, 1)
    assert record["diverged_at"] is not None
    assert len(record["losses"]) == record["diverged_at"]


def test_pydoc_training_beats_unigram_baseline():
    settings = {
        **exp1.DEFAULTS,
        "corpus": "pydoc",
        "epochs": 4,
        "reference_steps": 1,
        "n_train_windows": 256,
        "n_val_windows": 64,
        "lr": 0.1,
    }
    record = exp1.run_optimizer("StandardSGD", settings, 42)
    train, val = exp1.make_data(settings, 42)
    unigram_nats, _ = corpus.unigram_baseline(train, val)
    assert record["final_val_loss"] < unigram_nats
    assert record["final_val_bits_per_char"] == pytest.approx(
        record["final_val_loss"] / math.log(2)
    )
    assert set(record["samples"]) == set(exp1.SAMPLE_PROMPTS)
    for prompt, text in record["samples"].items():
        assert text.startswith(prompt)
        assert len(text) == len(prompt) + 60


def test_unknown_corpus_is_rejected():
    with pytest.raises(ValueError, match="corpus"):
        exp1.run_optimizer("StandardSGD", {"corpus": "wiki"}, 1)


def test_parallel_equals_serial():
    from stablesgd_ref import runner

    settings = {**exp1.DEFAULTS, **SMALL, "epochs": 2}
    timing = {"seconds_per_step", "train_seconds", "overhead"}

    def strip(pairs):
        return [
            {
                name: {k: v for k, v in record.items() if k not in timing}
                for name, record in pair.items()
            }
            for pair in pairs
        ]

    serial = runner.run_seeds(exp1.run_pair, settings, [1, 2], jobs=1)
    parallel = runner.run_seeds(exp1.run_pair, settings, [1, 2], jobs=2)
    assert strip(serial) == strip(parallel)


def test_epoch_losses_average_each_epoch():
    settings = {**exp1.DEFAULTS, **SMALL}
    record = exp1.run_optimizer("StandardSGD", settings, 2)
    losses = np.array(record["losses"])
    steps_per_epoch = 2  # 8 training rows in batches of 4
    expected = [
        losses[i * steps_per_epoch : (i + 1) * steps_per_epoch].mean() for i in range(3)
    ]
    assert record["epoch_losses"] == pytest.approx(expected, rel=1e-15)
