"""The training process: ``python -m cnnlab.train --model lenet5 --epochs 2 ...``.

Everything it learns goes into the run store (``cnnlab.store``): metrics about twice a
second, an evaluation and ``last.pt`` after every epoch, ``best.pt`` when the test
accuracy improves. It stops cleanly on a stop request (store flag, SIGTERM or Ctrl-C),
ends as ``diverged`` on a NaN/inf loss, and prints one JSON object as its last stdout line.

Exit codes: 0 finished or stopped, 1 failed, 2 bad arguments (nothing done), 3 diverged.

Unlike the course's loop (seed 003) it does not call ``loss.item()`` every step, does not
reuse a stale output for the loss, and feeds batches sliced from device-resident tensors
instead of a DataLoader decoding JPEGs.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sqlite3
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.batches import DeviceBatches
from cnnlab.checkpoints import (
    CheckpointClock,
    clean_stale_tmp,
    resume_payload,
    save_model_state,
)
from cnnlab.config import (
    CUSTOM,
    RunConfig,
    build_model,
    build_parser,
    config_from_args,
)
from cnnlab.errors import CNNLabError, ConfigError
from cnnlab.journal import JournaledWriter
from cnnlab.store import (
    ACTIVE,
    CHECKPOINT_FORMAT,
    RunStore,
    check_run_id,
    process_alive,
    process_start_token,
    save_checkpoint,
)
from cnnlab.store_errors import store_error
from cnnlab.train_setup import (  # noqa: F401  (re-exported)
    LIMIT_SUBSET_SEED,
    _subset,
    check_data_dir,
    first_of_each_class,
    make_optimizer,
    make_scheduler,
)

FLUSH_INTERVAL_S = 0.5  # metrics are written (and the stop flag read) this often
EVAL_BATCH = 1024
MISCLASSIFIED_KEPT = 100


EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DIVERGED = 0, 1, 2, 3


class _StopFlag:
    """Set by SIGTERM/SIGINT handlers or a store flag; read once per step."""

    def __init__(self) -> None:
        self.set = False
        self.reason = ""

    def handle(self, signum: int, _frame: Any) -> None:
        self.set = True
        self.reason = signal.Signals(signum).name
        if signum == signal.SIGINT:  # a second Ctrl-C interrupts for real
            signal.signal(signal.SIGINT, signal.default_int_handler)


class Diverged(Exception):
    """The loss became NaN or infinite."""


@dataclass
class Outcome:
    status: str
    epochs_done: int = 0
    train_loss: float | None = None
    test_acc: float | None = None
    images_per_s: float | None = None
    checkpoint: str | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Trainer:
    """One run: data on the device, the loop, evaluation, checkpoints, store writes."""

    def __init__(
        self,
        config: RunConfig,
        store: RunStore,
        run_id: str,
        *,
        resume: bool = False,
        quiet: bool = False,
        stop: _StopFlag | None = None,
        flush_interval_s: float = FLUSH_INTERVAL_S,
    ) -> None:
        self.config = config
        self.store = store
        self.run_id = run_id
        self.run_dir = store.run_dir(run_id)
        self.resume = resume
        self.quiet = quiet
        self.stop = stop or _StopFlag()
        self.flush_interval_s = flush_interval_s
        self.writer = JournaledWriter(store, run_id, self._log)
        self.clock = CheckpointClock(config.checkpoint_minutes)
        self.best_acc: float | None = None
        self.train_seconds = 0.0
        self.train_images = 0
        self.flush_seconds = 0.0  # time inside interval flushes (streaming cost, for the bench)
        self.compiled_ok = False
        self.compile_seconds = 0.0  # first compiled step (compilation), excluded from training time

    # ---- the whole run, with its ending recorded whatever happens ------------------------
    def run(self) -> Outcome:
        from cnnlab.device import describe_device, pick_device

        device = pick_device(self.config.device)
        described = describe_device().summary if device.type == "cuda" else "CPU"
        row = self.store.get(self.run_id)
        clean_stale_tmp(self.run_dir)  # left by a trainer killed during a save
        self.writer.start(
            row["status"],
            status="running",
            pid=os.getpid(),
            pid_start=process_start_token(os.getpid()),
            device=described,
            started_at=row["started_at"] or time.time(),
            ended_at=None,
            error=None,
            epochs=self.config.epochs,
            config=json.dumps(self.config.to_dict()),
        )
        try:
            outcome = self._train(device)
        except Diverged as error:
            outcome = Outcome("diverged", error=str(error))
        except torch.cuda.OutOfMemoryError:
            half = max(1, self.config.batch_size // 2)
            outcome = Outcome(
                "failed",
                error=f"the GPU ran out of memory at batch size {self.config.batch_size}: "
                f"lower --batch-size (try {half}) or choose a smaller model/width",
            )
        except CNNLabError as error:
            outcome = Outcome("failed", error=str(error))
        except Exception as error:  # recorded for the Runs page; the traceback goes to the log
            traceback.print_exc()
            first = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
            outcome = Outcome("failed", error=f"{type(error).__name__}: {first}")
        self._finish(outcome)
        return outcome

    def _finish(self, outcome: Outcome) -> None:
        fields: dict[str, Any] = {"status": outcome.status, "ended_at": time.time()}
        if outcome.error:
            fields["error"] = outcome.error
        if outcome.images_per_s is not None:
            fields["images_per_s"] = outcome.images_per_s
        try:
            self.writer.flush(**fields)
        finally:
            self.writer.close()

    # ---- setup ---------------------------------------------------------------------------
    def _train(self, device: torch.device) -> Outcome:
        from cnnlab import data, prep

        cfg = self.config
        cuda = device.type == "cuda"
        torch.manual_seed(cfg.seed)
        if cuda:
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        info = cfg.dataset_info()
        root = data.data_root(cfg.data_dir)
        train = data.load_split(cfg.dataset, "train", root, download=cfg.download,
                                progress=prep.reporter(self.store, self.run_id, info.title, "train"))  # fmt: skip
        test = data.load_split(cfg.dataset, "test", root, download=cfg.download,
                               progress=prep.reporter(self.store, self.run_id, info.title, "test"))  # fmt: skip
        train_x, train_y = train.images, train.labels
        keep_train = _subset(len(train_y), cfg.limit_train)
        if keep_train is not None:
            train_x, train_y = train_x[keep_train], train_y[keep_train]
        keep_test = _subset(len(test.labels), cfg.limit_test)
        test_x, test_y = test.images, test.labels
        self.test_index = torch.arange(len(test_y))  # original test indices (mistakes grid)
        if keep_test is not None:
            test_x, test_y, self.test_index = test_x[keep_test], test_y[keep_test], keep_test
        channels_last = cuda  # measured: NCHW is faster for small nets on CPU (bench/train_speed)
        self.train_batches = DeviceBatches(
            train_x, train_y, batch_size=cfg.batch_size, mean=info.mean, std=info.std,
            device=device, shuffle=True, drop_last=True, augment=cfg.augment,
            crop_padding=cfg.crop_padding, channels_last=channels_last, seed=cfg.seed,
        )  # fmt: skip
        self.test_batches = DeviceBatches(
            test_x, test_y, batch_size=EVAL_BATCH * (2 if cuda else 1),
            mean=info.mean, std=info.std, device=device, channels_last=channels_last,
        )  # fmt: skip
        self.info, self.classes = info, list(train.classes)

        model = build_model(cfg, info.input_shape, info.num_classes).to(device)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        optimizer = make_optimizer(cfg, model, device)
        steps_per_epoch = len(self.train_batches)
        total_steps = steps_per_epoch * cfg.epochs
        scheduler = make_scheduler(cfg, optimizer, steps_per_epoch, total_steps)

        start_epoch, step, start_batch, payload = 0, 0, 0, None
        if self.resume:
            payload = resume_payload(self.run_dir, self._log)
        if payload is not None:
            model.load_state_dict(payload["model"])
            optimizer.load_state_dict(payload["optimizer"])
            if scheduler is not None and payload.get("scheduler") is not None:
                scheduler.load_state_dict(payload["scheduler"])
            start_epoch, step = int(payload["epoch"]), int(payload["step"])
            start_batch = int(payload.get("batch_in_epoch", 0))
            self.best_acc = self.store.get(self.run_id)["best_acc"]
            self.train_seconds = float(payload.get("train_seconds", 0.0))
            self.train_images = int(payload.get("train_images", 0))
            self.writer.truncate_after(step, start_epoch)
            self.train_batches.generator.manual_seed(cfg.seed + 1000 * start_epoch + start_batch)
            self._log(f"resuming {self.run_id} at epoch {start_epoch + 1}, step {step}")
        elif self.resume:
            self.writer.truncate_after(0, 0)  # restarting from scratch: forget the old points
        self.writer.flush(steps_per_epoch=steps_per_epoch, total_steps=total_steps, step=step)

        amp = cfg.amp == "on" or (cfg.amp == "auto" and cuda)
        autocast = (
            (lambda: torch.autocast(device.type, dtype=torch.bfloat16))
            if amp
            else contextlib.nullcontext
        )
        net: nn.Module = model
        if cfg.compile == "on" or (cfg.compile == "auto" and cuda):
            net = torch.compile(model)  # type: ignore[assignment]
        criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
        return self._loop(
            net, optimizer, scheduler, criterion, autocast, device,
            start_epoch, step, start_batch, steps_per_epoch,
        )  # fmt: skip

    # ---- the loop ------------------------------------------------------------------------
    def _loop(
        self,
        net: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: Any,
        criterion: nn.Module,
        autocast: Any,
        device: torch.device,
        start_epoch: int,
        step: int,
        start_batch: int,
        steps_per_epoch: int,
    ) -> Outcome:
        cfg, model = self.config, self.model
        cuda = device.type == "cuda"
        outcome = Outcome("finished", epochs_done=start_epoch)
        last_train_loss: float | None = None
        test_acc: float | None = None
        for epoch in range(start_epoch, cfg.epochs):
            if self.stop.set:
                break
            model.train()
            loss_sum = torch.zeros((), device=device)  # summed on the device, read at flushes
            correct = torch.zeros((), dtype=torch.int64, device=device)
            interval_loss = torch.zeros((), device=device)
            interval_steps, interval_images, seen, steps_done = 0, 0, 0, 0
            bar = self._bar(epoch, steps_per_epoch, start_batch)
            epoch_started = time.perf_counter()
            interval_started = epoch_started
            next_flush = epoch_started + self.flush_interval_s
            batch_index = start_batch
            for x, y in self.train_batches.iterate(start_batch):  # [B, C, H, W], [B]
                if net is not model and not self.compiled_ok:
                    net, out, loss = self._first_compiled_step(net, x, y, criterion, autocast)
                    epoch_started += self.compile_seconds  # warm-up is not training time
                    interval_started += self.compile_seconds
                else:
                    with autocast():
                        out = net(x)  # [B, classes]
                        loss = criterion(out, y)
                    loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                if scheduler is not None:
                    scheduler.step()
                detached = loss.detach()
                interval_loss += detached
                correct += (out.argmax(1) == y).sum()
                batch = len(y)
                step += 1
                batch_index += 1
                steps_done += 1
                interval_steps += 1
                interval_images += batch
                seen += batch
                now = time.perf_counter()
                if now >= next_flush or self.stop.set or batch_index == steps_per_epoch:
                    value = interval_loss.item() / interval_steps  # the one host sync
                    flush_started = time.perf_counter()
                    loss_sum += interval_loss
                    interval_loss.zero_()
                    if not math.isfinite(value):
                        raise Diverged(self._divergence_advice(value, step, steps_per_epoch))
                    ips = interval_images / max(now - interval_started, 1e-9)
                    fraction = epoch + batch_index / steps_per_epoch
                    self.writer.add(step, fraction, "train/loss", value)
                    self.writer.add(step, fraction, "train/lr", optimizer.param_groups[0]["lr"])
                    self.writer.add(step, fraction, "train/images_per_s", ips)
                    if cuda:
                        gib = torch.cuda.max_memory_allocated(device) / 2**30
                        self.writer.add(step, fraction, "gpu/mem_gib", gib)
                    if self.writer.flush(
                        step=step, epoch=fraction, train_loss=value, images_per_s=ips
                    ):
                        self.stop.set, self.stop.reason = True, self.stop.reason or "stop request"
                    last_train_loss = value
                    if bar is not None:
                        bar.update(interval_steps)
                        bar.set_postfix(loss=f"{value:.3f}", img_s=f"{ips:,.0f}", refresh=False)
                    interval_steps, interval_images = 0, 0
                    if batch_index < steps_per_epoch and self.clock.due():  # a kill loses less
                        self._save(optimizer, scheduler, epoch, step, batch_index, None)
                    self.flush_seconds += time.perf_counter() - flush_started
                    interval_started, next_flush = now, now + self.flush_interval_s
                if self.stop.set:
                    break
            seconds = time.perf_counter() - epoch_started
            if bar is not None:
                bar.close()
            self.train_seconds += seconds
            self.train_images += seen
            stopped_mid_epoch = batch_index < steps_per_epoch
            completed = epoch if stopped_mid_epoch else epoch + 1
            train_acc = correct.item() / max(seen, 1)
            epoch_loss = loss_sum.item() / max(steps_done, 1)
            if steps_done and not math.isfinite(epoch_loss):
                raise Diverged(self._divergence_advice(epoch_loss, step, steps_per_epoch))
            epoch_ips = seen / max(seconds, 1e-9)
            fraction = epoch + batch_index / steps_per_epoch
            evaluated = None
            if (
                stopped_mid_epoch
                or completed % cfg.eval_every == 0
                or completed == cfg.epochs
                or self.stop.set
            ):
                evaluated = self.evaluate(epoch + 1, step)
                test_acc = evaluated["test_acc"]
                self.writer.add(step, fraction, "test/loss", evaluated["test_loss"])
                self.writer.add(step, fraction, "test/acc", test_acc)
            if steps_done:
                self.writer.add(step, fraction, "train/acc", train_acc)
                self.writer.add(step, fraction, "train/epoch_loss", epoch_loss)
                self.writer.add(step, fraction, "epoch/seconds", seconds)
                self.writer.add(step, fraction, "epoch/images_per_s", epoch_ips)
            self.writer.flush(step=step)  # the points up to the checkpoint are stored before it
            checkpoint = self._save(
                optimizer, scheduler, completed, step,
                batch_index % steps_per_epoch if stopped_mid_epoch else 0, evaluated,
            )  # fmt: skip
            fields: dict[str, Any] = {"step": step, "epoch": fraction}
            if test_acc is not None:
                fields["final_acc"] = test_acc
            if self.best_acc is not None:
                fields["best_acc"] = self.best_acc
            fields["train_seconds"] = self.train_seconds
            if self.writer.flush(**fields):
                self.stop.set = True
            outcome = Outcome(
                "finished",
                epochs_done=completed,
                train_loss=epoch_loss if steps_done else last_train_loss,
                test_acc=test_acc,
                checkpoint=checkpoint,
            )
            self._log(
                f"epoch {epoch + 1}/{cfg.epochs}  train loss {epoch_loss:.4f}  "
                + (
                    f"test loss {evaluated['test_loss']:.4f}  test acc {100 * test_acc:.2f}%  "
                    if evaluated is not None and test_acc is not None
                    else ""
                )
                + f"{epoch_ips:,.0f} img/s  {seconds:.1f} s"
                + ("  (stopped)" if stopped_mid_epoch else "")
            )
            start_batch = 0
        if self.stop.set and outcome.epochs_done < cfg.epochs:
            outcome.status = "stopped"
            if outcome.checkpoint is None:  # stopped before the first step: keep the start
                outcome.checkpoint = self._save(
                    optimizer, scheduler, start_epoch, step, start_batch, None
                )
        outcome.images_per_s = (
            self.train_images / self.train_seconds if self.train_seconds else None
        )
        return outcome

    def _first_compiled_step(
        self, net: nn.Module, x: torch.Tensor, y: torch.Tensor, criterion: nn.Module, autocast: Any
    ) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
        """Forward/backward through torch.compile once, timed; on failure fall back to eager.

        Compilation happens on this first call; if it fails nothing was updated yet, so the
        same batch is simply redone eagerly (with a note in the log).
        """
        started = time.perf_counter()
        try:
            with autocast():
                out = net(x)  # [B, classes]
                loss = criterion(out, y)
            loss.backward()
            if x.device.type == "cuda":
                torch.cuda.synchronize(x.device)
        except torch.cuda.OutOfMemoryError:
            raise
        except Exception as error:
            first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
            print(f"torch.compile failed ({type(error).__name__}: {first}); training eagerly",
                  file=sys.stderr, flush=True)  # fmt: skip
            net = self.model
            self.model.zero_grad(set_to_none=True)
            with autocast():
                out = net(x)
                loss = criterion(out, y)
            loss.backward()
        self.compiled_ok = True
        self.compile_seconds = time.perf_counter() - started
        return net, out, loss

    # ---- evaluation and checkpoints ------------------------------------------------------
    @torch.inference_mode()
    def evaluate(self, epoch: int, step: int) -> dict[str, Any]:
        """Test loss/accuracy, per-class accuracy, confusion matrix, some mistakes; recorded."""
        model, cfg = self.model, self.config
        device = self.test_batches.device
        amp = cfg.amp == "on" or (cfg.amp == "auto" and device.type == "cuda")
        was_training = model.training
        model.eval()
        loss_sum = torch.zeros((), device=device)
        predictions = []
        for x, y in self.test_batches:  # [B, C, H, W], [B]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                out = model(x).float()  # [B, classes]
            loss_sum += F.cross_entropy(out, y, reduction="sum")
            predictions.append(out.argmax(1))
        model.train(was_training)
        labels = self.test_batches.labels  # [N]
        predicted = torch.cat(predictions)  # [N]
        k = len(self.classes)
        confusion = torch.bincount(labels * k + predicted, minlength=k * k).view(k, k).cpu()
        per_class = confusion.diag().float() / confusion.sum(1).clamp(min=1).float()  # [K]
        wrong = first_of_each_class(predicted != labels, labels, MISCLASSIFIED_KEPT, k)  # [W]
        wrong_true, wrong_pred = (
            labels[wrong.to(labels.device)].cpu(),
            predicted[wrong.to(labels.device)].cpu(),
        )
        n = len(labels)
        test_loss = loss_sum.item() / n
        if not math.isfinite(test_loss):
            raise Diverged(self._divergence_advice(test_loss, step, None))
        payload = {
            "test_loss": test_loss,
            "test_acc": confusion.diag().sum().item() / n,
            "per_class_acc": per_class.tolist(),
            "confusion": confusion.tolist(),
            "misclassified": [
                (int(self.test_index[i]), int(t), int(p))
                for i, t, p in zip(
                    wrong.tolist(), wrong_true.tolist(), wrong_pred.tolist(), strict=True
                )
            ],
            "classes": self.classes,
            "test_images": n,
        }
        self.writer.add_evaluation(epoch, step, payload)
        return payload

    def _save(
        self,
        optimizer: torch.optim.Optimizer,
        scheduler: Any,
        epoch: int,
        step: int,
        batch_in_epoch: int,
        evaluated: dict[str, Any] | None,
    ) -> str:
        metrics = {}
        if evaluated is not None:
            metrics = {"test_acc": evaluated["test_acc"], "test_loss": evaluated["test_loss"]}
        payload = {
            "format": CHECKPOINT_FORMAT,
            "run_id": self.run_id,
            "config": self.config.to_dict(),
            "model": self.model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "epoch": epoch,
            "step": step,
            "batch_in_epoch": batch_in_epoch,
            "train_seconds": self.train_seconds,
            "train_images": self.train_images,
            "metrics": metrics,
            "classes": self.classes,
            "input_shape": list(self.info.input_shape),
            "mean": list(self.info.mean),
            "std": list(self.info.std),
        }
        last = self.run_dir / "last.pt"
        save_checkpoint(last, payload)
        acc = metrics.get("test_acc")
        if acc is not None and (self.best_acc is None or acc > self.best_acc):
            self.best_acc = acc
            save_checkpoint(self.run_dir / "best.pt", payload)
            save_model_state(self.run_dir, payload["model"])  # plain state_dict (README)
        best = self.run_dir / "best.pt"
        return str(best if best.exists() else last)

    # ---- messages ------------------------------------------------------------------------
    def _divergence_advice(self, value: float, step: int, steps_per_epoch: int | None) -> str:
        lr = self.config.lr
        where = f"step {step}" + (
            f" (epoch {step / steps_per_epoch:.2f})" if steps_per_epoch else ""
        )
        return (
            f"the loss became {value} at {where}: the learning rate {lr:g} is too high for "
            f"this model; lower it (try {lr / 10:g}) or add --batchnorm"
        )

    def _bar(self, epoch: int, total: int, initial: int) -> Any:
        if self.quiet:
            return None
        from tqdm import tqdm

        return tqdm(
            total=total, initial=initial, desc=f"epoch {epoch + 1}/{self.config.epochs}",
            unit="step", file=sys.stderr, leave=False, mininterval=0.5, dynamic_ncols=True,
        )  # fmt: skip

    def _log(self, line: str) -> None:
        print(line, flush=True)


# ---- command line -----------------------------------------------------------------------
def print_models() -> None:
    from cnnlab import models

    print(f"{'name':<12} {'input':<10} {'dataset':<10} title")
    for name in models.list_models():
        info = models.model_info(name)
        shape = "x".join(str(d) for d in info.native_input)
        print(f"{name:<12} {shape:<10} {info.dataset:<10} {info.title}")
    print(f"{CUSTOM:<12} {'any':<10} {'any':<10} your own nn.Sequential (--custom-file FILE)")


def _usage_error(message: str) -> int:
    print(f"python -m cnnlab.train: error: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # bad syntax: one line, exit 2
    if getattr(args, "list_models", False):
        print_models()
        return EXIT_OK
    stop = _StopFlag()
    signal.signal(signal.SIGTERM, stop.handle)
    signal.signal(signal.SIGINT, stop.handle)
    resume_id = getattr(args, "resume", None)
    queued_id = getattr(args, "run_id", None)
    try:
        if resume_id is not None or queued_id is not None:
            run_id = check_run_id(resume_id or queued_id)
            store = RunStore(getattr(args, "runs_dir", None))
            row = store.get(run_id)
            if (
                row["status"] in ACTIVE
                and row["pid"] not in (None, os.getpid(), os.getppid())  # ppid: cnnlab.supervise
                and process_alive(row["pid"], row["pid_start"])
            ):
                raise ConfigError(f"run {run_id} is being trained by process {row['pid']}")
            config = RunConfig.from_dict(json.loads(row["config"]))
            config = _apply_resume_changes(config, args, resume_id is not None)
        else:
            config = config_from_args(args)
            run_id = ""
        config.validate()
        check_data_dir(config)
        if not run_id:
            store = RunStore(getattr(args, "runs_dir", None))
            run_id = store.create_run(config.to_dict(), config.name, config.epochs)
    except (CNNLabError, TypeError) as error:
        return _usage_error(str(error))
    try:
        trainer = Trainer(
            config, store, run_id, resume=resume_id is not None,
            quiet=getattr(args, "quiet", False), stop=stop,
        )  # fmt: skip
        outcome = trainer.run()
    except (CNNLabError, sqlite3.Error) as error:  # the store failed before the run began
        message = str(store_error(store.path, error) if isinstance(error, sqlite3.Error) else error)
        print(f"failed: {message}", file=sys.stderr, flush=True)
        return EXIT_FAILED
    if outcome.error:
        print(f"{outcome.status}: {outcome.error}", file=sys.stderr, flush=True)
    summary = {
        "run_id": run_id,
        "status": outcome.status,
        "epochs": outcome.epochs_done,
        "train_loss": outcome.train_loss,
        "test_acc": outcome.test_acc,
        "images_per_s": outcome.images_per_s,
        "checkpoint": outcome.checkpoint,
    }
    print(json.dumps(summary), flush=True)
    return {"finished": EXIT_OK, "stopped": EXIT_OK, "diverged": EXIT_DIVERGED}.get(
        outcome.status, EXIT_FAILED
    )


def _apply_resume_changes(config: RunConfig, args: Any, resuming: bool) -> RunConfig:
    """On --resume only --epochs may change (and not under cosine/onecycle schedules)."""
    given = {k for k in vars(args) if k not in ("runs_dir", "resume", "run_id", "quiet")}
    if not resuming:
        if given:
            raise ConfigError("--run-id takes no other options: the config is in the store")
        return config
    if given - {"epochs"}:
        names = ", ".join("--" + k.replace("_", "-") for k in sorted(given - {"epochs"}))
        raise ConfigError(f"--resume keeps the run's config; only --epochs may change ({names})")
    if "epochs" in given and args.epochs != config.epochs:
        if config.scheduler in ("cosine", "onecycle"):
            raise ConfigError(
                f"a {config.scheduler} schedule is fixed by the planned epochs: start a new run"
            )
        config = config.replace(epochs=args.epochs)
    return config


if __name__ == "__main__":
    sys.exit(main())
