"""Benchmark: what the reference costs, measured side by side in one process.

``python -m stablesgd_ref bench`` measures, in this order:

1. The time of one optimizer step of StandardSGD and of StableSGD (the literal
   reading and each option, with ``history_limit`` None and 2), on the mini
   transformer's weights with real gradients and on Experiment 2's
   50-dimensional landscape.
2. The time of one training step (forward, backward, optimizer) of the mini
   transformer at batch 4 and length 20, and the time of its forward and
   backward passes alone. When PyTorch is installed, also the time of the same
   model's forward and backward passes in PyTorch eager mode on the CPU.
3. The bytes held by the optimizer histories after Experiment 1's training.
4. The wall-clock and CPU time of ``python -m stablesgd_ref reproduce``.

Parts 1 and 2 repeat every measurement ``repetitions`` times. Each repetition
times every variant once, in an order rotated by one per repetition, so that a
change in the machine's load affects all variants alike. The reported time is
the median over repetitions, and each ratio is the median of the ratios taken
within one repetition. PyTorch is imported only inside
:class:`TorchForwardBackward`.
"""

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from stablesgd_ref import exp1, exp2, output
from stablesgd_ref.landscape import Landscape
from stablesgd_ref.model import MiniTransformer
from stablesgd_ref.optimizers import StableSGD, StandardSGD

FORMAT_VERSION = 1
REPETITIONS = 11
STEPS = 50
WARMUP_STEPS = 2
SEED = 42
BATCH_SIZE = 4
LANDSCAPE_DIM = 50

# Every StableSGD option; each runs with every history limit.
STABLE_OPTIONS = (
    ("literal", {}),
    ("previous_step", {"penalty_mode": "previous_step"}),
    ("signed", {"penalty_mode": "signed"}),
    ("no_energy", {"energy_conservation": False}),
    ("lr_outside", {"lr_in_velocity": False}),
)
HISTORY_LIMITS = (None, 2)
TRAINING_VARIANTS = (
    "StandardSGD",
    "StableSGD literal, limit None",
    "StableSGD literal, limit 2",
)


def optimizer_variants():
    """Return ``{label: (optimizer class, keyword arguments)}``, StandardSGD first.

    Every other label names a StableSGD option and its history limit, for
    example ``"StableSGD literal, limit 2"``.
    """
    variants = {"StandardSGD": (StandardSGD, {})}
    for option, options in STABLE_OPTIONS:
        for limit in HISTORY_LIMITS:
            label = f"StableSGD {option}, limit {limit}"
            variants[label] = (StableSGD, {**options, "history_limit": limit})
    return variants


def make_optimizer(optimizer_class, params, options):
    """Return an optimizer over ``params`` with Experiment 1's hyperparameters.

    ``options`` overrides StableSGD's keyword options; StandardSGD ignores it.
    """
    return exp2.make_optimizer(
        optimizer_class.__name__, params, {**exp1.DEFAULTS, **options}
    )


def make_batch():
    """Return ``(model, inputs, targets)``: Experiment 1's model and one batch.

    The model is Experiment 1's default mini transformer for seed ``SEED``. The
    batch is the first ``BATCH_SIZE`` rows of its synthetic training set, so
    ``inputs`` and ``targets`` have shape (BATCH_SIZE, seq_len) = (4, 20).
    """
    train_tokens, _ = exp1.make_data(exp1.DEFAULTS, SEED)
    model = exp1.make_model(exp1.DEFAULTS, SEED)
    rows = train_tokens[:BATCH_SIZE]
    return model, rows[:, :-1], rows[:, 1:]


def make_problems():
    """Return the two optimizer problems as ``{name: (initial params, grads)}``.

    ``"transformer"``: the weights of ``MiniTransformer()`` and their gradient on
    the batch of :func:`make_batch`. ``"landscape"``: a starting point of
    Experiment 2's 50-dimensional landscape and its noisy gradient at
    iteration 0.
    """
    model, inputs, targets = make_batch()
    _, grads = model.loss_and_grads(inputs, targets)
    transformer = (list(MiniTransformer().params.values()), list(grads.values()))

    landscape = Landscape(LANDSCAPE_DIM, seed=SEED)
    point = landscape.initial_params([SEED, 1])
    noisy_grad = landscape.grad(point, 0, np.random.default_rng([SEED, 2]))
    return {"transformer": transformer, "landscape": ([point], [noisy_grad])}


def seconds_per_call(function, calls):
    """Return the wall-clock seconds per call of ``function()`` over ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def time_optimizer_steps(optimizer_class, options, initial_params, grads, steps):
    """Return the seconds per ``step`` call of a fresh optimizer.

    The optimizer works on copies of ``initial_params`` and takes
    ``WARMUP_STEPS`` untimed steps first, so that StableSGD's penalty, which
    needs two snapshots, is computed in every timed step.
    """
    params = [param.copy() for param in initial_params]
    optimizer = make_optimizer(optimizer_class, params, options)
    for _ in range(WARMUP_STEPS):
        optimizer.step(grads)
    return seconds_per_call(lambda: optimizer.step(grads), steps)


def time_forward_backward(model, inputs, targets, steps):
    """Return the seconds per ``model.loss_and_grads`` call, after one untimed call."""
    model.loss_and_grads(inputs, targets)
    return seconds_per_call(lambda: model.loss_and_grads(inputs, targets), steps)


def time_training_steps(optimizer_class, options, inputs, targets, steps):
    """Return the seconds per training step: forward, backward and optimizer step.

    Each call trains a fresh ``MiniTransformer`` with seed ``SEED`` on the same
    batch, with ``WARMUP_STEPS`` untimed steps first.
    """
    model = MiniTransformer(seed=SEED)
    optimizer = make_optimizer(optimizer_class, list(model.params.values()), options)

    def train_step():
        _, grads = model.loss_and_grads(inputs, targets)
        optimizer.step(list(grads.values()))

    for _ in range(WARMUP_STEPS):
        train_step()
    return seconds_per_call(train_step, steps)


def minor_faults_per_call(function, calls):
    """Return the minor page faults per call of ``function()``, or None.

    A minor fault happens when the process touches memory that the C allocator
    returned to the kernel and then requested again. Many faults per step mean
    that the heap shrinks and grows again at every step. None where the
    ``resource`` module is missing (Windows).
    """
    try:
        import resource
    except ImportError:
        return None
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        function()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def torch_available():
    """Return True if PyTorch is installed, without importing it."""
    return importlib.util.find_spec("torch") is not None


class TorchForwardBackward:
    """Time the mini transformer's forward and backward passes in PyTorch eager mode.

    The PyTorch model copies ``model``'s float64 weights and repeats its layers
    (embedding, pre-LN causal attention, pre-LN GELU feedforward with the tanh
    approximation, final layer norm, untied output projection, mean
    cross-entropy). The constructor runs both models once and stores in
    :attr:`check` the absolute difference of the losses and the largest
    absolute difference over all gradients, which shows that the two models
    compute the same function. PyTorch runs with one intra-op thread while it
    is timed, as NumPy's BLAS does under ``python -m stablesgd_ref``.

    Parameters
    ----------
    model : MiniTransformer
    inputs, targets : ndarray of int, shape (B, T)
    """

    def __init__(self, model, inputs, targets):
        import torch

        self.torch = torch
        self.weights = {
            name: torch.tensor(value, dtype=torch.float64, requires_grad=True)
            for name, value in model.params.items()
        }
        self.n_heads = model.n_heads
        self.inputs = torch.as_tensor(np.ascontiguousarray(inputs), dtype=torch.int64)
        self.targets = torch.as_tensor(np.ascontiguousarray(targets), dtype=torch.int64)

        loss, grads = model.loss_and_grads(inputs, targets)
        torch_loss = self.forward_backward()
        grad_difference = max(
            float(np.max(np.abs(self.weights[name].grad.numpy() - grad)))
            for name, grad in grads.items()
        )
        self.check = {
            "torch_version": torch.__version__,
            "torch_threads": 1,
            "loss_abs_difference": abs(torch_loss - loss),
            "max_grad_abs_difference": grad_difference,
        }

    def loss(self, inputs, targets):
        """Return the mean cross-entropy of int64 tensors of shape (B, T) as a tensor."""
        F = self.torch.nn.functional
        w = self.weights
        B, T = inputs.shape
        C = w["wte"].shape[1]
        H = self.n_heads
        D = C // H

        def layer_norm(x, name):
            return F.layer_norm(x, (C,), w[name + ".g"], w[name + ".b"], 1e-5)

        x = w["wte"][inputs] + w["wpe"][:T]  # (B, T, C)

        h = layer_norm(x, "ln_1")
        qkv = h @ w["attn.w_qkv"] + w["attn.b_qkv"]  # (B, T, 3C)
        q, k, v = (part.view(B, T, H, D).transpose(1, 2) for part in qkv.split(C, -1))
        scores = (q @ k.transpose(-2, -1)) * (1.0 / D**0.5)  # (B, H, T, T)
        future = self.torch.ones(T, T, dtype=self.torch.bool).triu(1)
        att = scores.masked_fill(future, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ w["attn.w_proj"] + w["attn.b_proj"]

        h = layer_norm(x, "ln_2")
        act = F.gelu(h @ w["mlp.w_fc"] + w["mlp.b_fc"], approximate="tanh")
        x = x + act @ w["mlp.w_proj"] + w["mlp.b_proj"]

        logits = layer_norm(x, "ln_f") @ w["lm_head.w"] + w["lm_head.b"]  # (B, T, V)
        return F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(-1))

    def forward_backward(self):
        """Compute the loss and every weight's gradient; return the loss as a float."""
        for weight in self.weights.values():
            weight.grad = None
        loss = self.loss(self.inputs, self.targets)
        loss.backward()
        return float(loss.detach())

    def time(self, steps):
        """Return the seconds per forward and backward pass, after one untimed pass."""
        threads = self.torch.get_num_threads()
        self.torch.set_num_threads(1)
        try:
            self.forward_backward()
            return seconds_per_call(self.forward_backward, steps)
        finally:
            self.torch.set_num_threads(threads)


def run_interleaved(tasks, repetitions, label, log):
    """Run every task once per repetition, in rotated order; return the times.

    Parameters
    ----------
    tasks : dict of str to callable
        Each callable takes no argument and returns seconds per step.
    repetitions : int
    label : str
        Names the phase in the progress lines.
    log : callable
        Receives one progress line per repetition.

    Returns
    -------
    dict of str to list of float
        ``times[name][r]`` is the result of task ``name`` in repetition ``r``.
    """
    names = list(tasks)
    times = {name: [0.0] * repetitions for name in names}
    start = time.perf_counter()
    for repetition in range(repetitions):
        shift = repetition % len(names)
        for name in names[shift:] + names[:shift]:
            times[name][repetition] = tasks[name]()
        elapsed = time.perf_counter() - start
        log(
            f"  {label}: repetition {repetition + 1:>3}/{repetitions}  "
            f"elapsed {elapsed:6.1f} s"
        )
    return times


def median_ratio(values, baseline_values):
    """Return the median over repetitions ``r`` of ``values[r] / baseline_values[r]``.

    Both times of a ratio come from the same repetition, so a load change
    between repetitions cancels out.
    """
    return statistics.median(
        value / base for value, base in zip(values, baseline_values)
    )


def summarize_times(times, baseline):
    """Return the median, min and max seconds of each task and its ratio.

    ``ratio`` is :func:`median_ratio` of the task against task ``baseline``.
    """
    return {
        name: {
            "median_seconds": statistics.median(values),
            "min_seconds": min(values),
            "max_seconds": max(values),
            "ratio": median_ratio(values, times[baseline]),
            "seconds": values,
        }
        for name, values in times.items()
    }


def bench_optimizer_steps(repetitions, steps, log):
    """Time every optimizer variant on both problems; return a dict per problem."""
    variants = optimizer_variants()
    results = {}
    for problem, (initial_params, grads) in make_problems().items():
        tasks = {
            label: _bind(
                time_optimizer_steps, cls, options, initial_params, grads, steps
            )
            for label, (cls, options) in variants.items()
        }
        times = run_interleaved(tasks, repetitions, f"optimizer steps, {problem}", log)
        results[problem] = {
            "n_params": int(sum(param.size for param in initial_params)),
            "n_arrays": len(initial_params),
            "variants": summarize_times(times, "StandardSGD"),
        }
    return results


def bench_training_steps(repetitions, steps, use_torch, log):
    """Time training steps, forward and backward passes, and PyTorch; return a dict."""
    model, inputs, targets = make_batch()
    variants = optimizer_variants()
    tasks = {
        "NumPy": _bind(time_forward_backward, model, inputs, targets, steps),
    }
    for label in TRAINING_VARIANTS:
        cls, options = variants[label]
        tasks[label] = _bind(time_training_steps, cls, options, inputs, targets, steps)
    torch_model = None
    if use_torch:
        log("  training steps: building the PyTorch model")
        torch_model = TorchForwardBackward(model, inputs, targets)
        tasks["PyTorch eager"] = _bind(torch_model.time, steps)
    times = run_interleaved(tasks, repetitions, "training steps", log)

    passes = summarize_times(
        {name: times[name] for name in ("NumPy", "PyTorch eager") if name in times},
        "NumPy",
    )
    forward_backward = {
        "numpy": passes["NumPy"],
        "numpy_minor_faults_per_step": minor_faults_per_call(
            lambda: model.loss_and_grads(inputs, targets), steps
        ),
    }
    if torch_model is not None:
        forward_backward["torch"] = passes["PyTorch eager"]
        forward_backward["numpy_over_torch"] = median_ratio(
            times["NumPy"], times["PyTorch eager"]
        )
        forward_backward["torch_minor_faults_per_step"] = minor_faults_per_call(
            lambda: torch_model.time(1), steps
        )
        forward_backward["torch_check"] = torch_model.check
    return {
        "batch_size": inputs.shape[0],
        "seq_len": inputs.shape[1],
        "d_model": model.d_model,
        "n_params": model.num_params(),
        "train": summarize_times(
            {label: times[label] for label in TRAINING_VARIANTS}, "StandardSGD"
        ),
        "forward_backward": forward_backward,
    }


def bench_history_memory(epochs, log):
    """Return the history bytes and training times of Experiment 1 runs.

    Runs :func:`stablesgd_ref.exp1.run_optimizer` with Experiment 1's default
    settings, ``epochs`` epochs and seed ``SEED``, for StandardSGD and for
    StableSGD with history limit None and 2. The reference optimum feeds only
    the distance to it, which the benchmark discards, so the initial weights
    stand in for it and its long run is skipped.
    """
    settings = {**exp1.DEFAULTS, "epochs": epochs}
    data = exp1.make_data(settings, SEED)
    initial = exp1.make_model(settings, SEED).params.values()
    stand_in = [param.copy() for param in initial]
    runs = {}
    for label, name, limit in (
        ("StandardSGD", "StandardSGD", None),
        ("StableSGD, limit None", "StableSGD", None),
        ("StableSGD, limit 2", "StableSGD", 2),
    ):
        record = exp1.run_optimizer(
            name, {**settings, "history_limit": limit}, SEED, data, stand_in
        )
        runs[label] = {
            "history_bytes": record["history_bytes"],
            "steps": len(record["losses"]),
            "train_seconds": record["train_seconds"],
            "optimizer_seconds_per_step": record["seconds_per_step"],
        }
        log(
            f"  history memory: {label:<22} "
            f"{record['history_bytes'] / 2**20:9.2f} MiB after "
            f"{len(record['losses'])} steps"
        )
    return {"epochs": epochs, "seed": SEED, "runs": runs}


def time_reproduce(log, command=None):
    """Run ``reproduce`` in a subprocess; return its wall-clock and CPU seconds.

    The subprocess imports the same copy of the package as this process and
    writes into a temporary folder that is removed afterwards. Lines of its
    output that do not start with a space (the start of each stage) go to
    ``log``.

    Parameters
    ----------
    log : callable
    command : list of str, optional
        Replaces the ``reproduce`` command. The tests pass a short command.
    """
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    environment = dict(os.environ)
    paths = [package_parent, environment.get("PYTHONPATH", "")]
    environment["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
    tail = []
    cpu_before = _children_cpu_seconds()
    label = " ".join(command or ["python -m stablesgd_ref reproduce"])
    with tempfile.TemporaryDirectory(prefix="stablesgd-bench-") as folder:
        if command is None:
            command = [sys.executable, "-m", "stablesgd_ref", "reproduce"]
            command += ["--out", os.path.join(folder, "results")]
            command += ["--figures", os.path.join(folder, "figures")]
        start = time.perf_counter()
        with subprocess.Popen(
            command,
            cwd=folder,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as process:
            for line in process.stdout:
                line = line.rstrip("\n")
                tail = (tail + [line])[-20:]
                if line and not line.startswith(" "):
                    elapsed = time.perf_counter() - start
                    log(f"  reproduce {elapsed:6.1f} s: {line[:80]}")
        seconds = time.perf_counter() - start
    cpu_after = _children_cpu_seconds()
    return {
        "command": label,
        "seconds": seconds,
        # User plus system time of the subprocess. Unlike the wall-clock time,
        # it leaves out the time that other processes held the CPU.
        "cpu_seconds": None if cpu_before is None else cpu_after - cpu_before,
        "returncode": process.returncode,
        "output_tail": tail if process.returncode else [],
    }


def _children_cpu_seconds():
    try:
        import resource
    except ImportError:
        return None
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_description():
    """Return :func:`stablesgd_ref.output.machine_info` plus CPU, BLAS and threads."""
    info = output.machine_info()
    info["cpu_model"] = _cpu_model()
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["blas"] = f"{blas.get('name')} {blas.get('version')}"
    except (KeyError, TypeError, ValueError):
        info["blas"] = "unknown"
    info["thread_variables"] = {
        name: os.environ.get(name)
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    }
    info["malloc_variables"] = {
        name: value for name, value in os.environ.items() if name.startswith("MALLOC_")
    }
    return info


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _load_average():
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def run_bench(
    repetitions=REPETITIONS,
    steps=STEPS,
    exp1_epochs=None,
    skip_reproduce=False,
    use_torch=None,
    log=print,
):
    """Run every part of the benchmark and return the results as a dict.

    Parameters
    ----------
    repetitions : int
        Repetitions of each timing, >= 1. The median is reported.
    steps : int
        Steps timed per repetition, >= 1.
    exp1_epochs : int or None
        Epochs of the Experiment 1 runs that measure the history memory. None
        takes Experiment 1's default.
    skip_reproduce : bool
        Skip the ``reproduce`` timing, which takes about half a minute.
    use_torch : bool or None
        Time the PyTorch model. None does so when PyTorch is installed.
    log : callable
        Receives the progress lines.
    """
    for name, value in (("repetitions", repetitions), ("steps", steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if exp1_epochs is None:
        exp1_epochs = exp1.DEFAULTS["epochs"]
    if use_torch is None:
        use_torch = torch_available()
    elif use_torch and not torch_available():
        raise ValueError(
            "use_torch=True but PyTorch is not installed; install the CPU build "
            "with pip install torch==2.13.0, or pass use_torch=False"
        )

    start = time.perf_counter()
    result = {
        "format_version": FORMAT_VERSION,
        "machine": machine_description(),
        "settings": {
            "repetitions": repetitions,
            "steps": steps,
            "warmup_steps": WARMUP_STEPS,
            "lr": exp1.DEFAULTS["lr"],
            "momentum": exp1.DEFAULTS["momentum"],
            "temporal_stability": exp1.DEFAULTS["temporal_stability"],
        },
        "load_average": {"start": _load_average()},
    }
    log(f"bench: {repetitions} repetitions of {steps} steps, load {_load_average()}")
    result["optimizer_step"] = bench_optimizer_steps(repetitions, steps, log)
    result["training_step"] = bench_training_steps(repetitions, steps, use_torch, log)
    result["load_average"]["after_timings"] = _load_average()
    result["history_memory"] = bench_history_memory(exp1_epochs, log)
    result["reproduce"] = None
    if not skip_reproduce:
        log("  reproduce: running the whole pipeline in a subprocess")
        result["reproduce"] = time_reproduce(log)
    result["load_average"]["end"] = _load_average()
    result["ratios"] = headline_ratios(result)
    result["total_seconds"] = time.perf_counter() - start
    return result


def headline_ratios(result):
    """Return the ratios that answer the overhead question, as a flat dict."""
    ratios = {}
    for problem, entry in result["optimizer_step"].items():
        for label, stats in entry["variants"].items():
            if label != "StandardSGD":
                key = f"optimizer step, {problem}: {label} / StandardSGD"
                ratios[key] = stats["ratio"]
    training = result["training_step"]
    for label, stats in training["train"].items():
        if label != "StandardSGD":
            ratios[f"training step: {label} / StandardSGD"] = stats["ratio"]
    forward_backward = training["forward_backward"]
    if "numpy_over_torch" in forward_backward:
        key = "forward and backward: NumPy / PyTorch eager"
        ratios[key] = forward_backward["numpy_over_torch"]
    return ratios


def format_report(result):
    """Return the benchmark's tables as text."""
    lines = []
    for problem, entry in result["optimizer_step"].items():
        lines.append(
            f"optimizer step, {problem} ({entry['n_params']} params in "
            f"{entry['n_arrays']} arrays)"
        )
        lines += _format_rows(entry["variants"], "/ Standard")

    training = result["training_step"]
    lines.append(
        f"training step (forward, backward, optimizer), mini transformer, batch "
        f"{training['batch_size']}, length {training['seq_len']}, width "
        f"{training['d_model']}"
    )
    lines += _format_rows(training["train"], "/ Standard")
    forward_backward = training["forward_backward"]
    lines.append("forward and backward passes")
    rows = {"NumPy": forward_backward["numpy"]}
    faults = (
        f"minor page faults per step: NumPy {_format_faults(forward_backward, 'numpy')}"
    )
    if "torch" in forward_backward:
        rows["PyTorch eager"] = forward_backward["torch"]
        faults += f", PyTorch {_format_faults(forward_backward, 'torch')}"
    lines += _format_rows(rows, "/ NumPy")
    if "torch" in forward_backward:
        check = forward_backward["torch_check"]
        lines.append(
            f"  NumPy / PyTorch eager: {forward_backward['numpy_over_torch']:.3f} "
            f"(PyTorch {check['torch_version']}, 1 thread; losses differ by "
            f"{check['loss_abs_difference']:.2g}, gradients by at most "
            f"{check['max_grad_abs_difference']:.2g})"
        )
    lines.append(f"  {faults}")

    memory = result["history_memory"]
    lines.append(
        f"history memory after Experiment 1 training ({memory['epochs']} epochs, "
        f"seed {memory['seed']})"
    )
    for label, run in memory["runs"].items():
        lines.append(
            f"  {label:<36} {run['history_bytes'] / 2**20:10.2f} MiB  "
            f"training {run['train_seconds']:6.2f} s"
        )
    reproduce = result["reproduce"]
    if reproduce is not None:
        cpu = reproduce["cpu_seconds"]
        cpu_text = "" if cpu is None else f", {cpu:.1f} s CPU"
        lines.append(
            f"reproduce: {reproduce['seconds']:.1f} s wall clock{cpu_text}, "
            f"exit status {reproduce['returncode']}"
        )
    load = result["load_average"]
    lines.append(
        f"load average (1, 5, 15 min): start {load['start']}, end {load['end']}"
    )
    return "\n".join(lines)


def _format_rows(summary, ratio_label):
    lines = [f"  {'':<36} {'median ms':>10} {'min ms':>9} {ratio_label:>11}"]
    for label, stats in summary.items():
        lines.append(
            f"  {label:<36} {1e3 * stats['median_seconds']:10.4f} "
            f"{1e3 * stats['min_seconds']:9.4f} {stats['ratio']:11.3f}"
        )
    return lines


def _format_faults(forward_backward, name):
    value = forward_backward[f"{name}_minor_faults_per_step"]
    return "n/a" if value is None else f"{value:.0f}"


def _bind(function, *args):
    return lambda: function(*args)


def positive_int(text):
    """Parse an integer >= 1 for argparse."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid integer {text!r}: must be an integer >= 1"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: must be >= 1")
    return value


def add_bench_parser(commands, parser_class=argparse.ArgumentParser):
    """Add the ``bench`` command to an argparse subparsers object.

    Parameters
    ----------
    commands : argparse._SubParsersAction
        The object returned by ``parser.add_subparsers``.
    parser_class : type
        The parser class that ``commands`` creates. The subparsers object sets
        the class of the new parser, so this argument only checks it and
        raises TypeError on a mismatch.

    Returns
    -------
    argparse.ArgumentParser
        The ``bench`` parser, whose ``handler`` default is
        :func:`run_bench_command`.
    """
    parser = commands.add_parser(
        "bench",
        help="Measure the cost of StableSGD against StandardSGD.",
        description="Time optimizer steps, training steps and reproduce, "
        "interleaved and repeated in one process; print the medians and ratios "
        "and write OUT/bench.json.",
    )
    if not isinstance(parser, parser_class):
        raise TypeError(
            f"commands creates {type(parser).__name__} parsers, expected "
            f"{parser_class.__name__}; pass parser_class= to add_subparsers"
        )
    parser.add_argument(
        "--repetitions",
        type=positive_int,
        default=REPETITIONS,
        help=f"repetitions of each timing, whose median is reported "
        f"(default {REPETITIONS})",
    )
    parser.add_argument(
        "--steps",
        type=positive_int,
        default=STEPS,
        help=f"steps timed per repetition (default {STEPS})",
    )
    parser.add_argument(
        "--exp1-epochs",
        type=positive_int,
        default=exp1.DEFAULTS["epochs"],
        help="epochs of the Experiment 1 runs that measure the history memory "
        f"(default {exp1.DEFAULTS['epochs']}, as in Experiment 1)",
    )
    parser.add_argument(
        "--skip-reproduce",
        action="store_true",
        help="do not time reproduce, which takes about half a minute",
    )
    parser.add_argument(
        "--no-torch",
        dest="use_torch",
        action="store_false",
        default=None,
        help="do not time the PyTorch model even if PyTorch is installed",
    )
    parser.add_argument(
        "--out",
        default="results",
        metavar="DIR",
        help="folder for bench.json (default results)",
    )
    parser.set_defaults(handler=run_bench_command)
    return parser


def run_bench_command(args):
    """Run the benchmark from parsed arguments, print it and write OUT/bench.json.

    Returns the exit status: 1 if the timed ``reproduce`` failed, else 0.
    """
    result = run_bench(
        repetitions=args.repetitions,
        steps=args.steps,
        exp1_epochs=args.exp1_epochs,
        skip_reproduce=args.skip_reproduce,
        use_torch=args.use_torch,
        log=_print_flush,
    )
    print()
    print(format_report(result))
    path = os.path.join(args.out, "bench.json")
    output.write_json_atomic(path, result)
    print(f"wrote {path}")
    reproduce = result["reproduce"]
    if reproduce is not None and reproduce["returncode"] != 0:
        print(
            f"bench: error: reproduce failed with exit status "
            f"{reproduce['returncode']}; its output ends with: "
            f"{' | '.join(reproduce['output_tail'][-3:])}",
            file=sys.stderr,
        )
        return 1
    return 0


def _print_flush(line):
    print(line, flush=True)
