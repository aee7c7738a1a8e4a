"""LIF kernel throughput against a floor (anchors) and two peers (the numpy oracle, snnTorch), in one run.

    python benchmarks/lif_kernel.py [--quick] [--networks 150] [--steps 10000]

Workload (anchors.md, "Spiking network simulation"): 150 random networks, N=64 neurons,
16 inputs, ~10% connectivity, Bernoulli(0.1) inputs, 10,000 steps. Targets: float batch
<= 0.3 s on 2 cores (a CSR kernel reaches 0.24-0.29 s); ratio numba/numpy >= 10 (the
readable oracle, one network); ratio numba/snntorch >= 500 (snnTorch ``Leaky``, one network,
one thread). Absolute figures move 2x on a shared machine; ratios from one run are steadier.
``--quick`` shrinks everything and skips the cold-compile subprocess, for a smoke test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import numba
import numpy as np

from spikefly.controllers.lif_kernels import lif_run
from spikefly.controllers.lif_state import LIFBatchState, LIFState, pack_batch, simulate_batch
from spikefly.controllers.lif_reference import reference_run
from spikefly.controllers.network import COUNTER_SYNAPTIC_OPS, LIFNetwork, random_network
from spikefly.controllers.quantize import quantize

N_NEURONS, N_INPUTS, N_OUTPUTS, CONNECTIVITY, INPUT_RATE = 64, 16, 4, 0.1, 0.1
FIRST_CALL_SCRIPT = """
import time
import numpy as np
from spikefly.controllers.lif_state import pack_batch, simulate, simulate_batch
from spikefly.controllers.network import random_network
from spikefly.controllers.quantize import quantize
networks = [random_network(np.random.default_rng(i), 4, 8, 2, 0.3) for i in range(2)]
integers = [quantize(net) for net in networks]
x = np.ones((2, 5, 4), np.float32)
start = time.perf_counter()
simulate(networks[0], x[0]); simulate(integers[0], x[0].astype(np.int32))
simulate_batch(pack_batch(networks), x); simulate_batch(pack_batch(integers), x.astype(np.int32))
print(time.perf_counter() - start)
"""


def best_of(repeats: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def first_call_seconds(cache_dir: str) -> float:
    """Compile (or cache load) plus first run of every kernel, in a fresh process."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    done = subprocess.run([sys.executable, "-c", FIRST_CALL_SCRIPT], env=env, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def snntorch_seconds(network: LIFNetwork, inputs: np.ndarray) -> tuple[float, float] | None:
    """(seconds, firing rate) of one network in snnTorch, inference only (``no_grad``), one thread.

    Input and recurrent weights (delays dropped) feed ``Leaky`` with per-neuron beta and
    threshold; no refractoriness or adaptation, so it does less than the kernel does.
    """
    try:
        import snntorch
        import torch
    except ImportError:
        return None
    from spikefly.controllers.lif_reference import dense_weights

    torch.set_num_threads(1)
    input_weights, neuron_weights = (torch.from_numpy(w.sum(axis=0)) for w in dense_weights(network))
    neuron = snntorch.Leaky(
        beta=torch.from_numpy(network.beta), threshold=torch.from_numpy(network.threshold),
        reset_mechanism="zero", reset_delay=False,
    )
    bias = torch.from_numpy(network.bias)
    x = torch.from_numpy(inputs)
    with torch.no_grad():
        start = time.perf_counter()
        membrane = torch.zeros(network.n_neurons)
        spikes = torch.zeros(network.n_neurons)
        total = torch.zeros(network.n_neurons)
        for t in range(x.shape[0]):
            current = x[t] @ input_weights + spikes @ neuron_weights + bias
            spikes, membrane = neuron(current, membrane)
            total += spikes
        seconds = time.perf_counter() - start
    return seconds, float(total.sum()) / (x.shape[0] * network.n_neurons)


def run_batch_benchmark(label: str, networks: list, inputs: np.ndarray, repeats: int) -> float:
    batch = pack_batch(networks)
    simulate_batch(batch, inputs[:, :10])  # compile or load from cache
    state = LIFBatchState.zeros(batch)

    def run() -> None:
        state.reset()
        simulate_batch(batch, inputs, state)

    seconds = best_of(repeats, run)
    network_steps = inputs.shape[0] * inputs.shape[1]
    synaptic_ops = int(state.counters[:, COUNTER_SYNAPTIC_OPS].sum())
    firing = state.counters[:, 1].sum() / state.counters[:, 0].sum()
    print(
        f"{label:<7} batch: {seconds:.3f} s | {network_steps / seconds:.3g} network-steps/s | "
        f"{network_steps * N_NEURONS / seconds:.3g} neuron updates/s | {synaptic_ops / seconds:.3g} synaptic events/s | "
        f"firing {100 * firing:.1f}%"
    )
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=150)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="20 networks, 500 steps, no cold-compile subprocess")
    args = parser.parse_args(argv)
    n_networks, steps = (20, 500) if args.quick else (args.networks, args.steps)
    peer_steps = min(steps, 300 if args.quick else 10_000)
    repeats = 2 if args.quick else 3

    rng = np.random.default_rng(0)
    networks = [random_network(rng, N_INPUTS, N_NEURONS, N_OUTPUTS, CONNECTIVITY) for _ in range(n_networks)]
    inputs = (rng.random((n_networks, steps, N_INPUTS)) < INPUT_RATE).astype(np.float32)
    synapses = np.mean([net.n_synapses for net in networks])
    print(
        f"LIF kernel: {n_networks} networks, N={N_NEURONS}, {N_INPUTS} inputs, {CONNECTIVITY:.0%} connectivity "
        f"({synapses:.0f} synapses on average), {steps} steps, Bernoulli({INPUT_RATE}) inputs, "
        f"{numba.get_num_threads()} numba threads"
    )
    float_seconds = run_batch_benchmark("float", networks, inputs, repeats)
    run_batch_benchmark("integer", [quantize(net) for net in networks], inputs.astype(np.int32), repeats)
    scale = 10_000 * 150 / (steps * n_networks)
    print(f"float batch scaled to 150 x 10,000 steps: {float_seconds * scale:.3f} s (target <= 0.3 s; anchors: CSR kernel 0.24-0.29 s)")

    network, single = networks[0], inputs[0, :peer_steps]
    state = LIFState.zeros(network)

    def numba_one() -> None:
        state.reset()
        lif_run(network.kernel_arrays(), state.kernel_arrays(), single)

    numba_seconds = best_of(5, numba_one)
    print(f"one network, {peer_steps} steps: numba {1e3 * numba_seconds:.2f} ms")
    oracle_seconds = best_of(1, lambda: reference_run(network, single))
    print(f"numpy oracle: {oracle_seconds:.3f} s")
    print(f"ratio numba/numpy: {oracle_seconds / numba_seconds:.0f} (target >= 10)")
    peer = snntorch_seconds(network, single)
    if peer is None:
        print("snnTorch not installed; to compare: pip install torch==2.13.0 snntorch")
    else:
        torch_seconds, torch_firing = peer
        print(f"snnTorch Leaky (no_grad, 1 thread): {torch_seconds:.3f} s, firing {100 * torch_firing:.1f}%")
        print(f"ratio numba/snntorch: {torch_seconds / numba_seconds:.0f} (target >= 500)")

    if args.quick:
        print("compile: skipped in --quick")
        return
    with tempfile.TemporaryDirectory() as cache_dir:
        cold = first_call_seconds(cache_dir)
        warm = first_call_seconds(cache_dir)
    print(f"first call of every kernel: {cold:.2f} s with an empty Numba cache, {warm:.2f} s with a warm one")


if __name__ == "__main__":
    main()
