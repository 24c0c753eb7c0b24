"""Serving model versions: which version a project inspects with, and the loaded model on the
runtime chosen for it. Imports no torch, so web processes and station workers stay small.

Loaded models are cached per process by model version (versions are immutable), the least
recently used dropped beyond MODEL_CACHE_SIZE: a web process answering the API for months
would otherwise keep every version it ever served.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from defect_platform.core.storage import read_bytes
from training.ml import runtime
from training.ml.data import batch_inputs, unfit
from training.ml.meta import ModelMeta
from training.models import FusedModel, ModelVersion, TrainingJob


class NoModel(Exception):
    """A project that has no usable model to inspect with; the message says why."""


@dataclass
class LoadedModel:
    project_id: int
    defect_type: str
    version_id: int | None
    version_number: int
    threshold: float
    min_area: int
    pixel_threshold: float
    meta: ModelMeta
    runtime: str
    runner: runtime.Runner
    fused_id: int | None = None  # a channel of a fused model (then version_id is None)
    # The dataset snapshot the version trained on, so every verdict can name the data behind
    # it; None for fused channels (trained on the projects' labels of the day, no snapshot).
    snapshot_id: int | None = None

    def predict(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Probability maps at each image's own size."""
        x, placements = batch_inputs(images, tuple(self.meta.input_size), self.meta.resize_policy)
        return self.predict_prepared(x, placements)

    def predict_prepared(self, x: np.ndarray, placements) -> list[np.ndarray]:
        """The same for inputs already placed and normalised (data.batch_inputs)."""
        probs = self.runner(x)[:, 0]
        return [unfit(p, pl) for p, pl in zip(probs, placements, strict=True)]


class RecentlyUsed(OrderedDict):
    """A dict that keeps the `MODEL_CACHE_SIZE` entries most recently stored or read through
    `hit`. Callers hold the registry's lock. A model dropped here still serves whoever holds
    it; the next `load` of it compiles it again."""

    def hit(self, key):
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > max(1, settings.MODEL_CACHE_SIZE):
            self.popitem(last=False)


_cache: RecentlyUsed = RecentlyUsed()  # (version id, runtime) -> LoadedModel
_lock = threading.Lock()


def runtime_for(version: ModelVersion, requested: str | None = None) -> str:
    gate = version.metadata.get("runtime_gate", {})
    passed = {c["runtime"] for c in gate.get("candidates", []) if c.get("passed")}
    return runtime.resolve(
        requested or settings.INFERENCE_RUNTIME,
        passed,
        bool(version.int8_model),
        has_weights=bool(version.weights),
    )


def load(version: ModelVersion, requested: str | None = None) -> LoadedModel:
    """The version on its serving runtime (`requested` overrides INFERENCE_RUNTIME)."""
    name = _runtime_name(version, requested)
    key = (version.pk, name)
    with _lock:
        cached = _cache.hit(key)
        if cached:
            return cached
    meta = _meta(version)
    onnx, int8 = _files(version, name)
    weights = (_weights(version), meta) if name in runtime.FROM_WEIGHTS else None
    try:
        runner = runtime.open_runner(name, onnx, int8, settings.INFERENCE_THREADS, weights)
    except Exception as exc:  # both runtimes raise many types
        raise NoModel(f"Model version {version.pk} cannot be loaded: {exc}") from None
    loaded = _loaded(version, meta, name, runner)
    with _lock:
        _cache[key] = loaded
    return loaded


def _runtime_name(version: ModelVersion, requested: str | None) -> str:
    try:
        return runtime_for(version, requested)
    except runtime.RuntimeUnavailable as exc:
        raise NoModel(f"Model version {version.pk}: {exc}") from None


def _meta(version: ModelVersion) -> ModelMeta:
    if not version.onnx:
        raise NoModel(f"Model version {version.pk} has no ONNX export; retrain it.")
    try:
        return ModelMeta.from_json(version.metadata["meta"])
    except Exception as exc:  # a damaged record raises many types
        raise NoModel(f"Model version {version.pk} cannot be loaded: {exc}") from None


def _files(version: ModelVersion, name: str) -> tuple[bytes, tuple[bytes, bytes] | None]:
    """(ONNX bytes, int8 IR) that runtime `name` needs. The int8 runtime reads only its IR:
    the fp32 ONNX beside it would add its whole size to the loading peak for nothing."""
    try:
        if name == runtime.OV_INT8:
            return b"", (read_bytes(version.int8_model.name), read_bytes(version.int8_weights.name))
        if name in runtime.FROM_WEIGHTS:
            return b"", None
        return read_bytes(version.onnx.name), None
    except Exception as exc:  # storage raises many types
        raise NoModel(f"Model version {version.pk} cannot be loaded: {exc}") from None


def _weights(version: ModelVersion) -> bytes:
    """The torch weights, which the CUDA runtimes serve."""
    try:
        return read_bytes(version.weights.name)
    except Exception as exc:  # storage raises many types
        raise NoModel(f"Model version {version.pk} cannot be loaded: {exc}") from None


def _loaded(version: ModelVersion, meta: ModelMeta, name: str, runner) -> LoadedModel:
    return LoadedModel(
        project_id=version.project_id,
        defect_type=version.project.name,
        version_id=version.pk,
        version_number=version.number,
        threshold=version.threshold,
        min_area=version.min_area,
        pixel_threshold=version.pixel_threshold,
        meta=meta,
        runtime=name,
        runner=runner,
        snapshot_id=snapshot_of(version),
    )


_merged_cache: RecentlyUsed = RecentlyUsed()  # (runtime, version ids) -> [LoadedModel]


def load_many(versions: list[ModelVersion]) -> dict[int, LoadedModel | NoModel]:
    """Several versions, as a station serves them: versions on the same OpenVINO runtime with
    the same input are merged into one network (runtime.open_merged_runner: one activation
    arena instead of one per model), the rest load one by one. Maps version id to its loaded
    model, or to the NoModel that says why it cannot serve."""
    out: dict[int, LoadedModel | NoModel] = {}
    groups: dict[tuple, list[tuple[ModelVersion, ModelMeta]]] = {}
    for version in versions:
        try:
            name = _runtime_name(version, None)
            if name not in runtime.MERGEABLE or not settings.MERGE_MODELS:
                out[version.pk] = load(version)
                continue
            meta = _meta(version)
        except NoModel as exc:
            out[version.pk] = exc
            continue
        key = (name, tuple(meta.input_size), meta.resize_policy)
        groups.setdefault(key, []).append((version, meta))
    for (name, *_), members in groups.items():
        if len(members) == 1:
            out[members[0][0].pk] = _load_or_reason(members[0][0])
            continue
        try:
            out.update(_load_merged(name, members))
        except Exception:  # noqa: BLE001 - a model that breaks the merge still serves alone
            for version, _ in members:
                out[version.pk] = _load_or_reason(version)
    return out


def _load_or_reason(version: ModelVersion) -> LoadedModel | NoModel:
    try:
        return load(version)
    except NoModel as exc:
        return exc


def _load_merged(name: str, members) -> dict[int, LoadedModel]:
    key = (name, tuple(version.pk for version, _ in members))
    with _lock:
        cached = _merged_cache.hit(key)
        if cached is None:
            _forget_superseded({version.project_id: version.pk for version, _ in members})
    if cached is None:
        # A generator: each version's files are read as the merge takes them in, and dropped
        # once OpenVINO holds the model, instead of all six held through the compile.
        files = (_files(version, name) for version, _ in members)
        shared = SharedRun(runtime.open_merged_runner(name, files, settings.INFERENCE_THREADS))
        cached = [
            _loaded(version, meta, name, FusedChannel(shared, k))
            for k, (version, meta) in enumerate(members)
        ]
        with _lock:
            _merged_cache[key] = cached
    return {loaded.version_id: loaded for loaded in cached}


def _forget_superseded(current: dict[int, int]) -> None:
    """Drop merged networks holding another version of a project in `current` (project id ->
    version id): a promotion replaced it, and a station worker runs for months. Stations
    sharing projects serve the same production versions, so they never evict each other."""
    for key, models in list(_merged_cache.items()):
        if any(current.get(m.project_id, m.version_id) != m.version_id for m in models):
            del _merged_cache[key]


def snapshot_of(version: ModelVersion) -> int | None:
    """The dataset snapshot the version was trained on (through its job); None for a version
    without a job."""
    if version.job_id is None:
        return None
    jobs = TrainingJob.objects.filter(pk=version.job_id)
    return jobs.values_list("dataset_id", flat=True).first()


def model_for_project(project) -> ModelVersion:
    """The production version, else the latest one."""
    versions = ModelVersion.objects.filter(project=project).select_related("project")
    version = versions.filter(is_production=True).first() or versions.order_by("-number").first()
    if version is None:
        raise NoModel(f"Project {project.name!r} has no trained model yet; train one first.")
    return version


def shadow_for_project(project) -> ModelVersion | None:
    """The project's shadow candidate, if one is set."""
    return ModelVersion.objects.filter(project=project, is_shadow=True).first()


class SharedRun:
    """One inference per prepared batch for all channels of a fused model: the engine asks
    each channel in turn with the same array, and only the first asks the network."""

    def __init__(self, runner: runtime.Runner):
        self.runner = runner
        # Reentrant: the weak reference's callback may run in this thread while it holds it.
        self.lock = threading.RLock()
        self.last: tuple[weakref.ref, np.ndarray] | None = None
        self.runs = 0  # network runs, for the benchmark and tests

    def __call__(self, x: np.ndarray) -> np.ndarray:
        with self.lock:
            if self.last is None or self.last[0]() is not x:
                self.last = (weakref.ref(x, self._forget), self.runner(x))
                self.runs += 1
            return self.last[1]

    def _forget(self, ref: weakref.ref) -> None:
        # The batch is gone, so no channel will ask for this output again: six views of six
        # defect types are 46 MB at 256x1248, not to be held until the next object.
        with self.lock:
            if self.last is not None and self.last[0] is ref:
                self.last = None


class FusedChannel:
    def __init__(self, shared: SharedRun, k: int):
        self.shared, self.k = shared, k

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.shared(x)[:, self.k : self.k + 1]


_fused_cache: RecentlyUsed = RecentlyUsed()  # (fused id, runtime) -> [LoadedModel]


def load_fused(fused: FusedModel, requested: str | None = None) -> list[LoadedModel]:
    """A fused model as one LoadedModel per channel (its project's rule), sharing one network
    that runs once per batch of views."""
    gate = fused.metadata.get("runtime_gate", {})
    passed = set(gate.get("passed", [fused.runtime])) & runtime.REDUCED
    has_int8 = bool(fused.int8_model)
    try:
        name = runtime.resolve(requested or settings.INFERENCE_RUNTIME, passed, has_int8)
    except runtime.RuntimeUnavailable as exc:
        raise NoModel(f"Fused model {fused.pk}: {exc}") from None
    key = (fused.pk, name)
    with _lock:
        cached = _fused_cache.hit(key)
        if cached is not None:
            return cached
    if fused.status != FusedModel.Status.SUCCEEDED or not fused.onnx:
        raise NoModel(f"Fused model {fused.pk} is {fused.status}, not ready to inspect with.")
    try:
        meta = ModelMeta.from_json(fused.metadata["meta"])
        int8 = None
        if name == runtime.OV_INT8:
            int8 = (read_bytes(fused.int8_model.name), read_bytes(fused.int8_weights.name))
        onnx = read_bytes(fused.onnx.name)
        shared = SharedRun(runtime.open_runner(name, onnx, int8, settings.INFERENCE_THREADS))
    except Exception as exc:  # storage, metadata and both runtimes raise many types
        raise NoModel(f"Fused model {fused.pk} cannot be loaded: {exc}") from None
    loaded = [
        LoadedModel(
            project_id=channel["project"],
            defect_type=channel["defect_type"],
            version_id=None,
            version_number=0,
            threshold=channel["threshold"],
            min_area=channel["min_area"],
            pixel_threshold=channel["pixel_threshold"],
            meta=meta,
            runtime=name,
            runner=FusedChannel(shared, k),
            fused_id=fused.pk,
        )
        for k, channel in enumerate(fused.channels)
    ]
    with _lock:
        _fused_cache[key] = loaded
    return loaded
