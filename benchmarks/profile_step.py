"""Profile one training step of the mini transformer with cProfile.

Run ``python benchmarks/profile_step.py [STEPS]``. It trains Experiment 1's
default model with StableSGD (literal reading, history_limit=2) on one batch of
4 sequences of length 20 for STEPS steps (default 2000) and prints the
functions that take the most time, excluding the time of the functions they
call. The profiler adds a few microseconds to every Python call, so the
absolute times are too large; compare the functions with each other.

It also prints the minor page faults per step. Hundreds of faults per step
mean that the C allocator returns freed memory to the kernel after every step
and faults it back in at the next one. docs/PERFORMANCE.md explains when this
happens.
"""

import cProfile
import os
import pstats
import resource
import sys

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

from stablesgd_ref import bench
from stablesgd_ref.optimizers import StableSGD


def main(steps):
    model, inputs, targets = bench.make_batch()
    optimizer = bench.make_optimizer(
        StableSGD, list(model.params.values()), {"history_limit": 2}
    )

    def train_step():
        _, grads = model.loss_and_grads(inputs, targets)
        optimizer.step(list(grads.values()))

    for _ in range(20):
        train_step()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(steps):
        train_step()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    print(f"minor page faults per step: {faults / steps:.0f}")

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        train_step()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
