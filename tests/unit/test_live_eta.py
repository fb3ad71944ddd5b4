"""The Train page's ETA: steady under a jittery training rate, and close to the real end."""

from __future__ import annotations

import itertools
import random

from cnnlab.live import EtaSmoother, smooth_eta
from cnnlab.runs import Progress

TOTAL_STEPS = 6000
BATCH = 64


def _simulated_run(
    seed: int = 0, slow_from: float = float("inf")
) -> tuple[list[tuple[float, int, float]], float]:
    """Polls of a CPU run as the page sees them: (time, step, the trainer's raw ETA).

    About 20 steps/s with +-60 % noise from second to second and an 8 s evaluation pass after
    every 1000 steps (no steps); from ``slow_from`` on a busy neighbour halves the rate.
    Returns the polls and the time the run really ended.
    """
    rng = random.Random(seed)
    polls, now, step, pause = [], 0.0, 0, 0.0
    while step < TOTAL_STEPS:
        now += 1.0
        if pause > 0:
            pause -= 1.0
            rate = 0.0
        else:
            rate = 20 * rng.uniform(0.4, 1.6) * (0.5 if now >= slow_from else 1.0)
            before = step
            step = min(TOTAL_STEPS, step + round(rate))
            if before // 1000 != step // 1000:
                pause = 8.0
        raw = (TOTAL_STEPS - step) / rate if rate else None  # images/s of the last interval
        polls.append((now, step, raw))
    return polls, now


def _etas(polls: list[tuple[float, int, float]]) -> list[float | None]:
    smoother = EtaSmoother()
    return [smoother.update(now, step, TOTAL_STEPS, raw) for now, step, raw in polls]


def test_eta_stays_close_to_the_real_remaining_time() -> None:
    for seed in range(5):
        polls, end = _simulated_run(seed)
        for (now, _step, _raw), eta in zip(polls, _etas(polls), strict=True):
            if now < 60:  # the first minute fills the rate window
                continue
            true = end - now
            assert eta is not None
            assert abs(eta - true) <= 0.2 * true + 10, (seed, now, eta, true)


def test_eta_follows_a_lasting_slowdown_within_a_minute() -> None:
    for seed in range(5):
        polls, end = _simulated_run(seed, slow_from=100)
        for (now, _step, _raw), eta in zip(polls, _etas(polls), strict=True):
            if now < 160:  # a minute after the change: the window has caught up
                continue
            true = end - now
            assert eta is not None
            assert abs(eta - true) <= 0.25 * true + 10, (seed, now, eta, true)


def test_eta_counts_down_without_jumps() -> None:
    for seed in range(5):
        polls, _end = _simulated_run(seed)
        etas = [e for e in _etas(polls)[10:] if e]  # 0 once the last step is done
        for before, after in itertools.pairwise(etas):
            assert after <= before * 1.16 and after >= (before - 1) / 1.16 - 1e-9, (before, after)
        rises = sum(after > before for before, after in itertools.pairwise(etas))
        assert rises < len(etas) / 10  # mostly counting down: "monotone-ish"


def test_the_raw_trainer_rate_would_jump() -> None:
    """The simulation is jittery enough that the unsmoothed ETA fails the same checks."""
    polls, _end = _simulated_run(0)
    raw = [r for _, _, r in polls[10:] if r]
    assert any(after > before * 1.5 for before, after in itertools.pairwise(raw))


def test_smooth_eta_leaves_ended_runs_alone_and_restarts_on_resume() -> None:
    ended = Progress("finished", 2.0, 2, 100, 100, 1.0, None)
    assert smooth_eta(ended, EtaSmoother(), 5.0) is ended
    smoother = EtaSmoother()
    for t in range(10):
        smoother.update(float(t), 100 + 10 * t, 1000, None)
    # resumed from an earlier checkpoint: the old samples no longer describe the rate
    assert smoother.update(10.0, 50, 1000, 30.0) == 30.0
    running = Progress("running", 0.5, 2, 500, 1000, 0.5, 12.0)
    assert smooth_eta(running, EtaSmoother(), 1.0).eta_s == 12.0
