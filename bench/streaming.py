"""Cost of streaming metrics into the run store while training.

The same short cnnlab.train run (LeNet-5, batch 64, CIFAR-10 subset) with metrics flushed
to SQLite every logging interval (the default, ~0.5 s: one transaction holding the
buffered points, the progress columns and the stop-flag read) against flushing only at
the end of each epoch; also, as a stress case, a flush after every step.

Two figures: the wall-clock images/s of each variant (alternating rounds, median), which
a busy machine makes noisy, and the time the trainer itself measured inside its flushes
as a share of training time, which is the streaming cost without the neighbours' noise.
Target: < 3 %.
"""

from __future__ import annotations

import math
import statistics

from bench.train_speed import cnnlab_run

STEPS = 300
ROUNDS = 3
TARGET_PERCENT = 3.0


def run() -> None:
    from cnnlab.data import data_root
    from cnnlab.device import pick_device
    from cnnlab.train import FLUSH_INTERVAL_S

    data_dir = data_root().resolve()
    device = pick_device("auto").type
    default = f"every {FLUSH_INTERVAL_S:g} s (default)"
    variants = {default: FLUSH_INTERVAL_S, "only at epoch end": math.inf, "every step": 0.0}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    names = list(variants)
    for round_index in range(ROUNDS):  # rotate the order so no variant always runs first
        for name in names[round_index % 3 :] + names[: round_index % 3]:
            results[name].append(cnnlab_run(data_dir, device, STEPS, variants[name]))
    print(f"lenet5 batch 64 on {device}, {STEPS} steps per epoch, {ROUNDS} alternating rounds")
    end_only = statistics.median(r["images_per_s"] for r in results["only at epoch end"])
    shares = {}
    for name, rounds in results.items():
        ips = statistics.median(r["images_per_s"] for r in rounds)
        shares[name] = (
            100 * sum(r["flush_seconds"] for r in rounds) / sum(r["train_seconds"] for r in rounds)
        )
        print(
            f"  {name:<22} {ips:9,.0f} images/s (median; {100 * (end_only - ips) / end_only:+5.1f} %"
            f" vs end-only)   time inside flushes: {shares[name]:5.2f} % of training"
        )
    verdict = "OK" if shares[default] < TARGET_PERCENT else "ABOVE TARGET"
    print(
        f"  streaming cost at the default interval: {shares[default]:.2f} % of training time "
        f"(target < {TARGET_PERCENT:g} %) {verdict}"
    )
