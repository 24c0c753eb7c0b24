"""The whole benchmark: which parts run, at which sizes, in full or quick mode."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from defect_platform.bench import (
    annotation_save,
    editor_frames,
    ensemble,
    import_rate,
    inference,
    inspect_load,
    live_load,
    machine,
    memory,
    server,
    training_step,
    variants,
)
from training.ml import accelerator_bench, runtime
from training.ml.model import ModelConfig
from training.ml.train import TrainConfig


@dataclass
class Plan:
    """Full mode measures the real sizes; quick mode (for the test suite) tiny ones, once."""

    quick: bool
    data: Path
    train_minutes: float
    threads: int

    @property
    def model(self) -> ModelConfig:
        return inference.TINY if self.quick else ModelConfig()

    @property
    def line_size(self) -> tuple[int, int]:
        return (64, 320) if self.quick else inference.LINE_SIZE

    @property
    def repeats(self) -> int:
        return 1 if self.quick else 15

    @property
    def cameras(self) -> int:
        """Cameras of the served station (synthetic: each renders on the server's CPU, one
        view after another). Quick mode's two at half the rate leave a 2-core machine room to
        stream to 50 viewers without saturating it."""
        return 2 if self.quick else 6

    @property
    def fps(self) -> float:
        return 2.5 if self.quick else 5.0

    @property
    def station_models(self) -> int:
        """Defect projects the served station checks: the production ensemble of the issue's
        line (six), one in quick mode."""
        return 1 if self.quick else 6

    @property
    def load_seconds(self) -> float:
        """How long the load goals hold: a minute each in full mode."""
        return 4.0 if self.quick else 60.0


def run(plan: Plan, log=print) -> dict:
    figures: dict = {"mode": "quick" if plan.quick else "full", "machine": machine.describe()}
    if plan.quick:
        samples, share = inference.synthetic_samples(), 0.5
        config = TrainConfig(
            epochs=2,
            batch_size=4,
            input_size=(64, 64),
            seed=0,
            max_seconds=60.0,
            threads=plan.threads,
            augment="flips",
        )
        figures["inference.data"] = "synthetic squares"
    else:
        if not (plan.data / "MT_Blowhole").is_dir():
            raise FileNotFoundError(
                f"{plan.data} does not hold the magnetic-tile folders (MT_Blowhole, MT_Free); "
                "pass --data, or --quick for a run on synthetic data"
            )
        samples = inference.real_samples(plan.data, "MT_Blowhole", "MT_Free")
        # A third trains, the rest (several hundred images) measures the accuracy deltas.
        share = 0.3
        config = TrainConfig(
            epochs=1000,
            batch_size=8,
            input_size=(256, 256),
            seed=0,
            max_seconds=plan.train_minutes * 60,
            threads=plan.threads,
            resize_policy="resize",
        )
        figures["inference.data"] = f"magnetic-tile MT_Blowhole + MT_Free ({len(samples)} images)"
    log("== inference: torch eager fp32 against the engine runtime")
    found, engine = inference.measure(
        samples, share, config, plan.model, plan.line_size, plan.repeats, log
    )
    figures |= found
    log("== memory: fresh serving processes")
    fused = ensemble.fused_network(plan.model, engine)
    copies = variants.copies(engine, ensemble.MODELS)
    figures |= memory.measure(engine, copies, fused)
    log("== object: 6 views x 6 models through the engine")
    figures |= ensemble.measure(
        engine, plan.model, fused, copies, plan.threads, max(1, plan.repeats // 3)
    )
    log("== annotation: label saves through the API")
    sizes = {"256x1248": (256, 1248), "4096": (4096, 4096)}
    if plan.quick:
        sizes = {"256x1248": (64, 312), "4096": (256, 256)}
    figures |= annotation_save.measure(sizes, max(1, plan.repeats // 3))
    log("== annotation: import rate (folder import and background import job)")
    figures |= import_rate.measure(plan.data, plan.quick)
    log("== editor: painting a large image in headless Chromium")
    figures |= editor_frames.measure(
        (256, 256) if plan.quick else (4096, 4096), seconds=1.0 if plan.quick else 4.0, log=log
    )
    log(
        f"== serving: a private embedded server, {plan.cameras} cameras at {plan.fps} fps "
        f"judged by {plan.station_models} models, viewers and API load"
    )
    seconds = 4.0 if plan.quick else 20.0
    with server.serving(
        engine, plan.model, plan.cameras, plan.fps, plan.threads, copies[: plan.station_models]
    ) as (url, ids):
        figures["serving.cameras"] = plan.cameras
        figures["serving.fps"] = plan.fps
        figures["serving.station_models"] = plan.station_models
        figures |= live_load.live_latency(url, ids, clients=10, seconds=seconds)
        # The load goals: 50 browsers on one live page, and the inspect API held at the
        # highest rate it serves without errors, each for a minute.
        load_s = plan.load_seconds
        log(f"== load: 50 websocket clients on one live page for {load_s:.0f} s")
        figures |= live_load.live_latency(url, ids, clients=50, seconds=load_s, prefix="load.live")
        log(f"== load: POST /api/inspect/, a ramp of clients, then {load_s:.0f} s at the best")
        figures |= inspect_load.measure(
            url,
            ids,
            engine.size,
            step_s=1.5 if plan.quick else 5.0,
            sustain_s=load_s,
            max_clients=8 if plan.quick else 64,
            log=log,
        )
    log("== training: one optimiser step, batch 4")
    figures |= training_step.measure(
        plan.model, plan.line_size, 4, plan.threads, max(1, plan.repeats // 5)
    )
    if runtime.cuda_available():
        log("== gpu: one model on CUDA, inference and training, and the engine's CUDA runtime")
        figures |= accelerator_bench.measure(
            plan.model,
            plan.line_size,
            batches=(1, 4) if plan.quick else (1, 32),
            train_batch=4 if plan.quick else 16,
            seconds=0.2 if plan.quick else 3.0,
            compiled=not plan.quick,
            log=log,
        )
    return figures


def default_threads() -> int:
    return len(os.sched_getaffinity(0))
