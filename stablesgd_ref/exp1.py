"""Experiment 1: both optimizers train the mini transformer language model.

For one seed, StandardSGD and StableSGD start from identical weights and see
identical batches in the same order. The seed fixes::

    MiniTransformer(seed=seed)            initial weights
    make_synthetic_dataset(seed=seed)     the data set and its split
    np.random.default_rng([seed, 3])      the batch order of every epoch

``corpus="pydoc"`` replaces the synthetic patterns by character windows of
the vendored Python documentation excerpt (:mod:`stablesgd_ref.corpus`).

The reference optimum, used for the distance of the final weights, is a
StandardSGD run from the same initial weights with a larger lr. It takes 100
steps of lr 0.3 on batches of 32 rows, the whole synthetic training set (see
:func:`reference_optimum`). On the synthetic data it drives the training loss
below 0.01 nats. The model is not convex, so the reference is one converged
point reachable from the start, not the global minimum.
"""

import functools
import math
import time

import numpy as np

from stablesgd_ref import corpus, metrics
from stablesgd_ref.data import iterate_batches, make_synthetic_dataset
from stablesgd_ref.exp2 import make_optimizer
from stablesgd_ref.model import MiniTransformer

DEFAULTS = {
    "corpus": "synthetic",
    "epochs": 50,
    "batch_size": 4,
    "n_sequences": 40,
    "n_train_windows": 256,
    "n_val_windows": 64,
    "vocab_size": 100,
    "seq_len": 20,
    "d_model": 32,
    "n_heads": 4,
    "d_ff": 128,
    "lr": 0.005,
    "momentum": 0.9,
    "temporal_stability": 0.01,
    "energy_conservation": True,
    "penalty_mode": "literal",
    "lr_in_velocity": True,
    "history_limit": None,
    "reference_steps": 100,
    "reference_lr": 0.3,
    "reference_batch": 32,
    "log_every": 0,
}

CORPORA = ("synthetic", "pydoc")
# The pydoc corpus has 256 training windows (64 steps per epoch) against the
# synthetic set's 32 rows, so it trains for fewer epochs by default: 640 steps
# against 400.
PYDOC_DEFAULTS = {"corpus": "pydoc", "epochs": 10}
# Training loss thresholds (nats) for the convergence analysis; log(100) = 4.61
# is the loss of a uniform prediction over the vocabulary.
LOSS_THRESHOLDS = (4.0, 3.0, 2.0)
SAMPLE_PROMPTS = ("The ", "def ", "class ")


def make_data(settings, seed):
    """Return ``(train_tokens, val_tokens)``, each of shape (n, seq_len + 1)."""
    if settings["corpus"] == "pydoc":
        return corpus.make_pydoc_dataset(
            seq_len=settings["seq_len"],
            n_train=settings["n_train_windows"],
            n_val=settings["n_val_windows"],
            seed=seed,
        )
    return make_synthetic_dataset(
        n_sequences=settings["n_sequences"],
        seq_len=settings["seq_len"],
        vocab_size=settings["vocab_size"],
        seed=seed,
    )


def make_model(settings, seed):
    """Return a MiniTransformer with the sizes of ``settings``."""
    return MiniTransformer(
        vocab_size=settings["vocab_size"],
        seq_len=settings["seq_len"],
        d_model=settings["d_model"],
        n_heads=settings["n_heads"],
        d_ff=settings["d_ff"],
        seed=seed,
    )


def dataset_loss(model, tokens):
    """Return the mean cross-entropy (nats) of ``model`` on rows ``tokens``."""
    return model.loss(tokens[:, :-1], tokens[:, 1:])


# Settings that change the data or the reference optimum; the cache key.
DATA_KEYS = (
    "corpus",
    "n_sequences",
    "n_train_windows",
    "n_val_windows",
    "vocab_size",
    "seq_len",
    "d_model",
    "n_heads",
    "d_ff",
    "momentum",
    "reference_steps",
    "reference_lr",
    "reference_batch",
)


def data_and_reference(settings, seed):
    """Return ``(data, reference)`` for ``seed``, cached per process.

    A sweep or a tuned comparison trains many optimizers on the same seed, and
    the reference run costs as much as several training runs. Callers must not
    modify the returned arrays.
    """
    key = tuple(settings[name] for name in DATA_KEYS)
    return _data_and_reference(key, seed)


@functools.lru_cache(maxsize=16)
def _data_and_reference(key, seed):
    settings = {**DEFAULTS, **dict(zip(DATA_KEYS, key))}
    data = make_data(settings, seed)
    return data, reference_optimum(settings, seed, data[0])


def reference_optimum(settings, seed, train_tokens):
    """Return the weights of a long StandardSGD run from the seed's start, as a list.

    The run takes ``reference_steps`` steps with lr ``reference_lr`` and the
    run's momentum, on batches of ``reference_batch`` training rows: the whole
    set when it has no more rows (full batch), else rows drawn without
    replacement by ``np.random.default_rng([seed, 5])``.
    """
    model = make_model(settings, seed)
    params = list(model.params.values())
    optimizer = make_optimizer(
        "StandardSGD", params, {**settings, "lr": settings["reference_lr"]}
    )
    rng = np.random.default_rng([seed, 5])
    n_rows = len(train_tokens)
    for _ in range(settings["reference_steps"]):
        rows = train_tokens
        if settings["reference_batch"] < n_rows:
            rows = train_tokens[
                rng.choice(n_rows, settings["reference_batch"], replace=False)
            ]
        _, grads = model.loss_and_grads(rows[:, :-1], rows[:, 1:])
        optimizer.step(list(grads.values()))
    return [param.copy() for param in params]


def sample_text(model, prompt, n_new, rng, temperature=1.0):
    """Return ``prompt`` followed by ``n_new`` characters sampled from ``model``.

    The context is cropped to the model's last ``seq_len`` tokens.
    """
    ids = list(corpus.encode(prompt))
    for _ in range(n_new):
        context = np.asarray(ids[-model.seq_len :], dtype=np.int64)[None, :]
        logits = model.forward(context)[0, -1] / temperature  # (V,)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        ids.append(int(rng.choice(probs.size, p=probs)))
    return corpus.decode(np.asarray(ids))


def run_optimizer(name, settings, seed, data=None, reference=None):
    """Train a fresh model with one optimizer and return the run's record.

    Parameters
    ----------
    name : {"StandardSGD", "StableSGD"}
    settings : dict
        Keys of ``DEFAULTS``; missing keys take the defaults.
    seed : int
    data, reference : optional
        The data of :func:`make_data` and the weights of
        :func:`reference_optimum`, to reuse them across optimizers.

    Returns
    -------
    dict
        Scalars, ``losses`` (training loss of every step, before its update),
        ``epoch_losses``, ``energy_trace`` and ``diverged_at``.
    """
    settings = {**DEFAULTS, **settings}
    if settings["corpus"] not in CORPORA:
        raise ValueError(
            f"unknown corpus {settings['corpus']!r}; valid values are {CORPORA}"
        )
    if data is None or reference is None:
        data, reference = data_and_reference(settings, seed)
    train_tokens, val_tokens = data
    model = make_model(settings, seed)
    params = list(model.params.values())
    optimizer = make_optimizer(name, params, settings)
    order_rng = np.random.default_rng([seed, 3])

    losses, epoch_losses = [], []
    step_seconds = train_seconds = 0.0
    diverged_at = None
    start = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(settings["epochs"]):
            epoch_start = len(losses)
            batches = iterate_batches(
                train_tokens, settings["batch_size"], rng=order_rng
            )
            for inputs, targets in batches:
                loss, grads = model.loss_and_grads(inputs, targets)
                grads = list(grads.values())
                if not (
                    math.isfinite(loss) and all(np.isfinite(g).all() for g in grads)
                ):
                    diverged_at = len(losses)
                    break
                losses.append(loss)
                step_start = time.perf_counter()
                optimizer.step(grads)
                step_seconds += time.perf_counter() - step_start
                if not math.isfinite(optimizer.energy_trace[-1]):
                    # The velocity overflowed: the next loss cannot be trusted.
                    diverged_at = len(losses)
                    break
            if diverged_at is not None:
                break
            epoch_losses.append(float(np.mean(losses[epoch_start:])))
            _log_epoch(
                settings,
                name,
                seed,
                epoch,
                epoch_losses[-1],
                len(losses),
                optimizer,
                start,
            )
        train_seconds = time.perf_counter() - start
        final_val_loss = dataset_loss(model, val_tokens)
        final_train_loss = dataset_loss(model, train_tokens)

    steps_done = max(len(losses), 1)
    record = {
        "optimizer": name,
        "seed": seed,
        "diverged_at": diverged_at,
        "final_loss": final_train_loss,
        "final_val_loss": final_val_loss,
        "final_val_bits_per_char": corpus.nats_to_bits_per_char(final_val_loss),
        "stability_coefficient": _safe(metrics.stability_coefficient, losses),
        "loss_std": _safe(metrics.window_std, losses),
        "iterations_to_loss": {
            str(threshold): metrics.iterations_to_threshold(losses, threshold)
            for threshold in LOSS_THRESHOLDS
        },
        "distance_to_reference": metrics.distance(params, reference),
        "seconds_per_step": step_seconds / steps_done,
        "train_seconds": train_seconds,
        "history_bytes": optimizer.history_bytes(),
        "losses": losses,
        "epoch_losses": epoch_losses,
        "energy_trace": optimizer.energy_trace,
    }
    if settings["corpus"] == "pydoc":
        rng = np.random.default_rng([seed, 4])
        record["samples"] = {
            prompt: sample_text(model, prompt, 60, rng) for prompt in SAMPLE_PROMPTS
        }
    return record


def run_pair(settings, seed):
    """Train with StandardSGD and StableSGD on seed ``seed``; return both records.

    Adds ``overhead``, StableSGD's training time over StandardSGD's, to the
    StableSGD record, and the unigram baseline to both records.
    """
    settings = {**DEFAULTS, **settings}
    data, reference = data_and_reference(settings, seed)
    pair = {
        name: run_optimizer(name, settings, seed, data, reference)
        for name in ("StandardSGD", "StableSGD")
    }
    nats, bits = corpus.unigram_baseline(data[0], data[1], settings["vocab_size"])
    for record in pair.values():
        record["unigram_val_loss"] = nats
        record["unigram_val_bits_per_char"] = bits
    standard_time = pair["StandardSGD"]["train_seconds"]
    any_diverged = any(record["diverged_at"] is not None for record in pair.values())
    for record in pair.values():
        # Times of runs that stopped early are not comparable.
        record["overhead"] = (
            math.nan if any_diverged else record["train_seconds"] / standard_time
        )
    return pair


def _log_epoch(settings, name, seed, epoch, epoch_loss, n_steps, optimizer, start):
    """Print one progress line: the epoch's mean loss, energy and time per step."""
    every = settings["log_every"]
    epochs = settings["epochs"]
    if not every or ((epoch + 1) % every and epoch + 1 != epochs):
        return
    per_step = (time.perf_counter() - start) / max(n_steps, 1)
    energy = optimizer.energy_trace[-1] if optimizer.energy_trace else math.nan
    print(
        f"  seed {seed:>4} {name:<11} epoch {epoch + 1:>3}/{epochs:<3} "
        f"epoch loss {epoch_loss:8.4f}  energy {energy:10.4g}  "
        f"{1e3 * per_step:6.2f} ms/step",
        flush=True,
    )


def _safe(metric, losses):
    return metric(losses) if losses else math.nan
