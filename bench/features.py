"""Feature maps: all layers of lenet5 and seq_cifar for one image on the CPU (target < 50 ms),
and a Feature maps page rerun with unchanged inputs, which must run no forward pass."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from cnnlab import features
from cnnlab.features import build_seeded, feature_maps
from cnnlab.models import build, model_info

TARGET_MS = 50.0
PAGE = Path(__file__).resolve().parents[1] / "pages" / "feature_maps.py"


def _time_feature_maps(name: str, repeats: int = 30) -> tuple[float, float, int]:
    model = build_seeded(lambda: build(name), seed=0)
    x = torch.randn(1, *model_info(name).native_input)  # [1, C, H, W]
    maps = feature_maps(model, x)  # warm-up (allocator, kernels)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        feature_maps(model, x)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times), 1000 * min(times), len(maps)


def _page_reruns() -> tuple[float, float, int, int]:
    """(first run s, rerun s, forward passes in the first run, in the rerun)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    before = features.forward_passes()
    started = time.perf_counter()
    at.run()
    first = time.perf_counter() - started
    middle = features.forward_passes()
    started = time.perf_counter()
    at.run()
    second = time.perf_counter() - started
    if at.exception:
        raise RuntimeError(f"the page failed: {at.exception}")
    return first, second, middle - before, features.forward_passes() - middle


def run() -> None:
    print("feature maps of every layer, one image, CPU (feature_maps runs on one thread):")
    for name in ("lenet5", "seq_cifar"):
        ms, best, layers = _time_feature_maps(name)
        verdict = "ok" if ms < TARGET_MS else "SLOWER THAN TARGET (busy machine?)"
        print(
            f"  {name:10s} {layers:2d} maps  median {ms:6.2f} ms, best {best:6.2f} ms (30 runs)"
            f"  target < {TARGET_MS:.0f} ms: {verdict} ({TARGET_MS / ms:.0f}x headroom)"
        )
    with tempfile.TemporaryDirectory() as runs_dir:
        previous = os.environ.get("CNNLAB_RUNS_DIR")
        os.environ["CNNLAB_RUNS_DIR"] = runs_dir
        try:
            first, second, first_passes, rerun_passes = _page_reruns()
        finally:
            if previous is None:
                os.environ.pop("CNNLAB_RUNS_DIR", None)
            else:
                os.environ["CNNLAB_RUNS_DIR"] = previous
    verdict = "ok: served from the cache" if rerun_passes == 0 else "RECOMPUTED"
    print("Feature maps page, same image and weights, run twice (AppTest):")
    print(f"  first run  {first:6.2f} s, forward passes {first_passes}")
    print(f"  rerun      {second:6.2f} s, forward passes {rerun_passes}  -> {verdict}")
    print(f"  rerun / first run time: {second / first:.3f}")
