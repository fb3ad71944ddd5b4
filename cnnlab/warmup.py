"""Import the heavy modules once per server process, in the background, before a page needs them.

Measured on the 2-core build machine (``python -X importtime``, cProfile of each page):
``import torch`` takes 2.5-7 s, and the first operation on the meta device (every preset
computes its flattened size there, ``models.registry.flat_features``) imports
``torch._dynamo`` through ``torch._refs``: another 1.5-2 s. plotly and pandas add about a
second. A Streamlit server keeps ``sys.modules`` between reruns and sessions, so these costs
are paid once per process, by whichever page is opened first.

``app.py`` calls ``start()`` on its first run (the home page, which needs none of this), so
the imports run while the user reads it; a page then calls ``wait()`` before its own imports.
Waiting rather than importing side by side keeps two threads from importing the same
packages at once (import locks can deadlock on torch's circular imports).
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import time

# In the order the pages need them. cnnlab modules last: they import the ones above.
MODULES = (
    "torch",
    "torch.nn",
    "numpy",
    "plotly.graph_objects",
    "plotly.subplots",
    "pandas",
    "cnnlab.shapes",
    "cnnlab.models",
    "cnnlab.charts.windows",
    "cnnlab.charts.network",
    "cnnlab.charts.features",
    "cnnlab.charts.training",
    "cnnlab.charts.runs",
    "cnnlab.features",
    "cnnlab.networks",
    "cnnlab.runs",
)

_lock = threading.Lock()
_thread: threading.Thread | None = None
torch_ready = threading.Event()  # set once ``import torch`` is done
timings: dict[str, float] = {}  # step -> seconds, for bench/ and curiosity


def _first_meta_op() -> None:
    """Run one op on the meta device, as every preset build does (loads torch._dynamo)."""
    import torch

    with torch.device("meta"):
        torch.relu(torch.empty(1, 1, 2, 2))  # [1, 1, 2, 2]


def warm_up() -> None:
    """Import everything in MODULES and run the first meta-device op; never raises."""
    for name in MODULES:
        started = time.perf_counter()
        with contextlib.suppress(Exception):  # a page importing it reports the error itself
            importlib.import_module(name)
        timings[name] = time.perf_counter() - started
        if name == "torch":
            torch_ready.set()
            started = time.perf_counter()
            with contextlib.suppress(Exception):
                _first_meta_op()
            timings["first meta op"] = time.perf_counter() - started
    torch_ready.set()


def start() -> threading.Thread:
    """Start the warm-up thread once per process (later calls return the same thread)."""
    global _thread
    with _lock:
        if _thread is None:
            # not a daemon: a process that exits mid-import of torch's native code aborts
            # ("terminate called without an active exception"), so exit waits for the end
            _thread = threading.Thread(target=warm_up, name="cnnlab-warm-up", daemon=False)
            _thread.start()
        return _thread


def wait(timeout: float | None = 120.0) -> None:
    """Block until the warm-up started by ``start()`` has finished (no-op if never started)."""
    thread = _thread
    if thread is not None and thread is not threading.current_thread():
        thread.join(timeout)
