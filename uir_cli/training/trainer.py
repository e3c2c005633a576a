"""The training loop: the authors' recipe, resumable to the bit, on one device or under torchrun.

One optimiser step = ``accumulate`` micro-batches of ``batch_size`` crops:
for each, t and eps are drawn from generators seeded by (seed, micro-batch
index), the L1 loss on the residual is divided by ``accumulate`` and
back-propagated; then the gradient norm is clipped to 1.0, Adam steps, and the
EMA updates.  Everything random is a function of the seed and the step
counter, so ``--resume`` needs nothing but the checkpoint.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from .. import __version__
from ..diffusion.objective import draw_timesteps, training_loss
from ..diffusion.schedule import Schedule
from ..engine.device import device_name, placement
from ..errors import UsageError, WeightsError
from ..nn.unet import DiffUIRNet, UNetConfig
from ..registry import variant_id
from . import distributed
from .checkpoint import EMAState, RunState, TrainCheckpoint, authors_parameters, load_checkpoint, save_checkpoint
from .config import CONFIG_NAME, TrainConfig, dump_toml, save_config
from .ema import ModelEMA
from ..engine.events import Progress, ignore
from .events import RunFinished, RunStarted, Saved, StepDone, Validated, Warned
from .logs import RunLogs, TrainRow, read_train_csv, read_val_csv
from .plan import DataPlan, plan_data
from .stream import StreamSpec, TrainStream, make_loader
from .validation import ValSet, build_val_set, evaluate

LAST = "model-last.pt"
EMA_FILE = "ema.safetensors"
CLIP_NORM = 1.0
ADAM_BETAS = (0.9, 0.99)


def auto_workers() -> int:
    """Loader processes: none on a machine with 2 cores or fewer (measured faster), else min(4, cores - 1)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 0 if cpus <= 2 else min(4, cpus - 1)


def micro_seed(seed: int, index: int) -> int:
    """A 63-bit seed for the t / eps generators of global micro-batch ``index``."""
    state = np.random.SeedSequence([seed, 0x7E5, index]).generate_state(2, np.uint32)
    return (int(state[0]) << 31 | int(state[1]) >> 1) & (2**63 - 1)


def _network(config: TrainConfig) -> tuple[DiffUIRNet, UNetConfig, str | None]:
    """The network to train, seeded; initialised from ``config.init`` when given (returns its description)."""
    from ..engine.models import load_model

    torch.manual_seed(config.seed)
    dim, mults = config.shape
    if config.init:
        model = load_model(config.init)  # a file (made absolute by the config) or a registered name
        asked = (config.dim, config.dim_mults)
        explicit = bool(config.variant) or any(v is not None for v in asked)
        if explicit and (model.config.dim, model.config.dim_mults) != (dim, mults):
            raise UsageError(
                f"--init has dim {model.config.dim}, dim_mults {model.config.dim_mults} but the options ask for "
                f"dim {dim}, dim_mults {mults}",
                path=model.path,
                hint="leave out --variant/--dim/--dim-mults to take the shape from the weights",
            )
        return model.network(), model.config, f"{model.path} ({model.which} weights, {model.variant})"
    try:
        shape = UNetConfig(dim, mults)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return DiffUIRNet(shape), shape, None


class Trainer:
    """Owns the model, optimiser, EMA, data and logs of one run; :meth:`run` trains to ``config.steps``."""

    def __init__(self, config: TrainConfig, *, progress: Progress = ignore, resume: bool = False,
                 tensorboard: bool = False):
        self.progress = progress
        self.resume = resume
        self.tensorboard = tensorboard
        self.board = None
        place = placement(config.device, config.precision)
        self.dist = distributed.setup(place.device)
        self.device = self.dist.device
        self.precision = place.precision
        self.is_main = self.dist.is_main
        self.run_dir = Path(config.out)
        if os.path.lexists(self.run_dir) and not self.run_dir.is_dir():
            raise UsageError("--out is not a folder", path=self.run_dir, hint="choose a new or existing folder for the run")
        if not resume and (self.run_dir / LAST).exists():
            raise UsageError("this folder already holds a run (model-last.pt)", path=self.run_dir,
                             hint="add --resume to continue it, or choose another --out")
        checkpoint = self._resume_checkpoint(config) if resume else None
        self.net, self.shape, init_desc = _network(config) if checkpoint is None else self._from_checkpoint(config, checkpoint)
        self.config = replace(config, dim=self.shape.dim, dim_mults=self.shape.dim_mults)
        self.plan: DataPlan = plan_data(self.config)
        self.net.to(self.device)
        self.params = [p for _, p in authors_parameters(self.net)]
        self.optimizer = torch.optim.Adam(self.params, lr=self.config.lr, betas=ADAM_BETAS)
        self.scaler = torch.amp.GradScaler(self.device.type) if self.precision == "fp16" else None
        self.ema = (
            ModelEMA(self.net, beta=self.config.ema_decay, update_every=self.config.ema_every,
                     update_after_step=self.config.ema_after)
            if self.is_main else None
        )
        self.step = 0
        self.elapsed_before = 0.0
        if checkpoint is not None:
            self._restore(checkpoint)
        if self.step >= self.config.steps:
            raise UsageError(f"the run is already at step {self.step} (--steps {self.config.steps})",
                             path=self.run_dir / LAST, hint="raise --steps to train further")
        self.model = self.net
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = DistributedDataParallel(self.net, device_ids=ids)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.workers = auto_workers() if self.config.workers < 0 else self.config.workers
        self.schedule = Schedule.default().to(self.device)
        self.val_set: ValSet | None = None
        self.logs: RunLogs | None = None
        self._seen_bad: set[str] = set()
        self._stop = False
        self.init_desc = init_desc

    # -- setup helpers ----------------------------------------------------------------------

    def _resume_checkpoint(self, config: TrainConfig) -> TrainCheckpoint:
        path = Path(config.out) / LAST
        if not path.is_file():
            raise UsageError("--resume: no checkpoint here", path=path, hint="start the run without --resume")
        return load_checkpoint(path)

    def _from_checkpoint(self, config: TrainConfig, ckpt: TrainCheckpoint) -> tuple[DiffUIRNet, UNetConfig, None]:
        from ..engine.weights import check_against, detect_config

        path = Path(config.out) / LAST
        shape = detect_config(ckpt.online, path)
        check_against(shape, ckpt.online, path)
        dim, mults = config.shape
        if (dim, mults) != (shape.dim, shape.dim_mults):
            raise UsageError(
                f"the run's network has dim {shape.dim}, dim_mults {shape.dim_mults}; --resume cannot change it",
                path=path,
            )
        net = DiffUIRNet(shape)
        net.load_state_dict(ckpt.online, strict=True)
        return net, shape, None

    def _restore(self, ckpt: TrainCheckpoint) -> None:
        try:
            self.optimizer.load_state_dict(ckpt.optimizer)
        except (ValueError, KeyError) as exc:
            raise WeightsError(f"the optimiser state does not fit this network ({exc})", path=self.run_dir / LAST) from None
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.lr
        if self.scaler is not None and ckpt.scaler:
            self.scaler.load_state_dict(ckpt.scaler)
        if self.ema is not None:
            self.ema.load(ckpt.ema.step, ckpt.ema.initted, ckpt.ema.weights)
        self.step = ckpt.step
        if ckpt.run is not None:
            self.elapsed_before = ckpt.run.elapsed
            if ckpt.run.world_size != self.dist.world:
                self._warn(f"resuming with {self.dist.world} process(es) where the run used {ckpt.run.world_size}: "
                           "the data order differs from an uninterrupted run")

    def _warn(self, message: str) -> None:
        if self.is_main:
            self.progress(Warned(message))

    def _started(self) -> RunStarted:
        return RunStarted(
            run_dir=self.run_dir,
            device=str(self.device),
            device_name=device_name(self.device),
            precision=self.precision,
            world=self.dist.world,
            variant=variant_id(self.shape.dim, self.shape.dim_mults),
            dim=self.shape.dim,
            dim_mults=self.shape.dim_mults,
            parameters=sum(p.numel() for p in self.params),
            tasks=self.plan.summary,
            workers=self.workers,
            start_step=self.step,
            total_steps=self.config.steps,
            batch_size=self.config.batch_size,
            accumulate=self.config.accumulate,
            crop=self.config.crop,
            val_crops=self.val_set.num_crops if self.val_set else 0,
            notes=self.plan.notes + ((f"initialised from {self.init_desc}",) if self.init_desc else ()),
        )

    # -- one step -----------------------------------------------------------------------------

    def _autocast(self):
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16 if self.precision == "bf16" else torch.float16)

    def _micro_loss(self, batch, index: int, sync: bool) -> torch.Tensor:
        """Forward and backward of one micro-batch; returns its (already divided) loss, detached."""
        seed = micro_seed(self.config.seed, index)
        t_gen = torch.Generator("cpu").manual_seed(seed)
        eps_gen = torch.Generator(self.device).manual_seed(seed)
        x0 = batch.gt.to(self.device, non_blocking=True) * 2.0 - 1.0
        x_in = batch.lq.to(self.device, non_blocking=True) * 2.0 - 1.0
        t = draw_timesteps(x0.shape[0], mode=self.config.t_sampling, generator=t_gen, device=self.device)
        eps = torch.randn(x0.shape, generator=eps_gen, device=self.device, dtype=x0.dtype)
        no_sync = self.model.no_sync() if (self.dist.enabled and not sync) else contextlib.nullcontext()
        with no_sync:
            with self._autocast():
                loss = training_loss(self.model, self.schedule, x0, x_in, t, eps, objective=self.config.objective)
                loss = loss / self.config.accumulate
            (self.scaler.scale(loss) if self.scaler is not None else loss).backward()
        return loss.detach()

    def _train_step(self, batches) -> float:
        acc = self.config.accumulate
        total = torch.zeros((), device=self.device)
        for m in range(acc):
            batch = next(batches)
            for reason in batch.skipped:
                if reason not in self._seen_bad:
                    self._seen_bad.add(reason)
                    self._warn(f"skipped {reason}")
            index = (self.step * acc + m) * self.dist.world + self.dist.rank
            total += self._micro_loss(batch, index, sync=m == acc - 1)
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.params, CLIP_NORM)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        if self.ema is not None:
            self.ema.update()
        loss = distributed.mean_scalar(total, self.dist)
        if not np.isfinite(loss) and self.scaler is None:
            raise UsageError(f"the loss became {loss} at step {self.step}", hint="lower --lr, or use --precision fp32")
        return loss

    # -- validation, saving, plots ----------------------------------------------------------

    def _validate(self) -> None:
        if self.val_set is None or not self.val_set.tasks or self.ema is None:
            return
        start = time.perf_counter()
        self.ema.model.freeze()  # standardised weights of the current average, computed once
        scores = evaluate(self.ema.model, self.val_set, device=self.device, steps=self.config.val_steps)
        if self.logs is not None:
            self.logs.val(self.step, scores)
        if self.board is not None:
            self.board.validated(self.step, scores)
        self.progress(Validated(self.step, tuple(scores), time.perf_counter() - start))

    def _checkpoint(self, elapsed: float) -> TrainCheckpoint:
        assert self.ema is not None
        return TrainCheckpoint(
            step=self.step,
            online={k: v.detach().cpu() for k, v in self.net.state_dict().items()},
            optimizer=self.optimizer.state_dict(),
            ema=EMAState(self.ema.step, self.ema.initted, {k: v.detach().cpu() for k, v in self.ema.model.state_dict().items()}),
            scaler=self.scaler.state_dict() if self.scaler is not None else None,
            run=RunState(dump_toml(self.config), elapsed, self.dist.world, __version__),
        )

    def _save(self, elapsed: float, *, numbered: bool) -> tuple[Path, Path]:
        from ..engine.weights import save_safetensors

        ckpt = self._checkpoint(elapsed)
        dests = [self.run_dir / f"model-{self.step}.pt"] if numbered else []
        dests.append(self.run_dir / LAST)
        save_checkpoint(ckpt, *dests)
        ema_path = save_safetensors(ckpt.ema.weights, self.run_dir / EMA_FILE, config=self.shape, which="ema",
                                    extra={"step": str(self.step), "source": f"uir train {__version__}"})
        self.progress(Saved(self.step, (*dests, ema_path)))
        return dests[-1], ema_path

    def _plots(self) -> tuple[Path, ...]:
        from .plots import available, plot_loss, plot_val

        if not available():  # said once, when the run started
            return ()
        out = []
        rows = read_train_csv(self.run_dir / "train.csv")
        if rows:
            out.append(plot_loss(rows, self.run_dir / "loss.png"))
        vals = read_val_csv(self.run_dir / "val.csv")
        if vals:
            out.append(plot_val(vals, self.run_dir / "val.png"))
        return tuple(out)

    # -- the run ------------------------------------------------------------------------------

    def _request_stop(self, signum, frame) -> None:  # noqa: ARG002 - signal handler signature
        if self._stop:
            raise KeyboardInterrupt
        self._stop = True
        self._warn("stopping after this step and saving (press Ctrl-C again to abort without saving)")

    def _prepare(self) -> None:
        if self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            save_config(self.config, self.run_dir / CONFIG_NAME)
            self.logs = RunLogs(self.run_dir, start_step=self.step)
            self.val_set = build_val_set(list(self.plan.val_pools), list(self.plan.val_photos), self.plan.tasks,
                                         count=self.config.val_count, size=self.config.val_size,
                                         max_side=self.config.max_side, equalize=self.config.equalize,
                                         max_pixels=self.config.max_pixels)
            for reason in self.val_set.skipped:
                self._warn(f"validation: skipped {reason}")
            self._extras()

    def _extras(self) -> None:
        """Charts and TensorBoard come from optional extras: say once which one is missing, and go on."""
        from . import board, plots

        if not plots.available():
            self._warn(f"no loss.png and val.png: the charts need matplotlib ({plots.EXTRA_HINT})")
        if self.tensorboard and not board.available():
            self._warn(f"no TensorBoard logs: --tensorboard needs TensorBoard ({board.EXTRA_HINT})")
        elif self.tensorboard:
            self.board = board.Board(self.run_dir, start_step=self.step)

    def _after_step(self, loss: float, start: float, *, end: bool, save: bool) -> tuple[Path, Path] | None:
        """The main process's part of a step: log it, validate and save when due; (last, EMA file) when saved."""
        elapsed = self.elapsed_before + time.perf_counter() - start
        lr = float(self.optimizer.param_groups[0]["lr"])
        assert self.logs is not None
        self.logs.train(TrainRow(self.step, loss, lr, elapsed))
        if self.board is not None:
            self.board.step(self.step, loss, lr)
        self.progress(StepDone(self.step, self.config.steps, loss, lr, elapsed))
        if self.step % self.config.val_every == 0 or end:
            self._validate()
        if not save:
            return None
        numbered = self.step % self.config.save_every == 0 or end
        return self._save(self.elapsed_before + time.perf_counter() - start, numbered=numbered)

    def run(self) -> RunFinished:
        """Train from the current step to ``config.steps``; returns what was written."""
        self._prepare()
        stream = TrainStream(StreamSpec(self.plan.pools, self.plan.weights, self.config.crop, self.config.seed,
                                        self.config.max_side, cache_bytes=(1 << 30) // max(1, self.workers),
                                        light_share=self.config.light_share, cast_share=self.config.cast_share,
                                        lines_share=self.config.lines_share,
                                        equalize=self.config.equalize,
                                        max_pixels=self.config.max_pixels))
        loader = make_loader(stream, self.config.batch_size, start_micro=self.step * self.config.accumulate,
                             rank=self.dist.rank, world=self.dist.world, workers=self.workers,
                             pin=self.device.type == "cuda")
        if self.is_main:
            self.progress(self._started())
        handlers = {}
        if self.is_main or self.dist.enabled:
            with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
                for sig in (signal.SIGINT, signal.SIGTERM):
                    handlers[sig] = signal.signal(sig, self._request_stop)
        start = time.perf_counter()
        loss = None
        last = ema_path = None
        plots: tuple[Path, ...] = ()
        batches = iter(loader)
        try:
            self.net.train()
            while self.step < self.config.steps:
                loss = self._train_step(batches)
                stop = distributed.any_rank(self._stop, self.dist)
                end = self.step >= self.config.steps
                save = self.step % self.config.save_every == 0 or end or stop
                if self.is_main:
                    saved = self._after_step(loss, start, end=end, save=save)
                    if saved:
                        (last, ema_path), plots = saved, self._plots()
                if save:
                    distributed.barrier(self.dist)
                if stop:
                    self._stop = True
                    break
        finally:
            for sig, old in handlers.items():
                signal.signal(sig, old)
            if self.logs is not None:
                self.logs.close()
            if self.board is not None:
                self.board.close()
            del batches, loader
        elapsed = self.elapsed_before + time.perf_counter() - start
        distributed.barrier(self.dist)
        finished = RunFinished(self.run_dir, self.step, self.config.steps, elapsed, loss, last, ema_path, plots,
                               interrupted=bool(self._stop))
        if self.is_main:
            self.progress(finished)
        distributed.teardown(self.dist)
        return finished


def train(config: TrainConfig, *, progress: Progress = ignore, resume: bool = False,
          tensorboard: bool = False) -> RunFinished:
    """Train (or resume) the run ``config`` describes; see :class:`Trainer`.  ``tensorboard``: also log
    for TensorBoard in RUN_DIR/tensorboard (needs the tensorboard package)."""
    return Trainer(config, progress=progress, resume=resume, tensorboard=tensorboard).run()
