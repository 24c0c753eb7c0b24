"""A station's models merged into one OpenVINO network: each channel gives what its model gives
alone, the engine runs the network once per batch of views, and a model that cannot join
still serves (or says why it cannot) without taking the others down."""

import gc

import numpy as np
import pytest
import torch

from defect_platform.core.models import Project
from defect_platform.core.storage import save_bytes
from inspection import engine
from training import registry
from training.ml import runtime
from training.ml.export import to_onnx
from training.ml.meta import ModelConfig, ModelMeta
from training.ml.model import create_model
from training.ml.runtime_gate import quantize_int8
from training.models import ModelVersion

CONFIG = ModelConfig(decoder_channels=(16, 8, 8, 8, 8))
SIZE = (32, 64)


def _export(seed: int) -> bytes:
    torch.manual_seed(seed)
    model, _ = create_model(CONFIG)
    return to_onnx(model.eval(), SIZE)


@pytest.fixture(scope="module")
def exports():
    return [_export(k) for k in range(3)]


def _batch(n=2, seed=0):
    return np.random.default_rng(seed).normal(0, 1, (n, 3, *SIZE)).astype(np.float32)


def test_each_channel_of_a_merged_network_is_its_own_model(exports):
    x = _batch()
    merged = runtime.open_merged_runner(runtime.OV_FP32, [(e, None) for e in exports])
    together = merged(x)
    assert together.shape == (2, 3, *SIZE)
    alone = [runtime.open_runner(runtime.OV_FP32, e)(x)[:, 0] for e in exports]
    for k, probs in enumerate(alone):
        np.testing.assert_allclose(together[:, k], probs, atol=1e-5)
    # Different weights, different maps: the channels are not one model repeated.
    assert np.abs(alone[0] - alone[1]).max() > 1e-3


def test_int8_models_merge_too(exports):
    calibration = list(_batch(4, seed=1))
    irs = [quantize_int8(e, calibration) for e in exports[:2]]
    x = _batch()
    together = runtime.open_merged_runner(
        runtime.OV_INT8, [(e, ir) for e, ir in zip(exports[:2], irs, strict=True)]
    )
    for k, ir in enumerate(irs):
        alone = runtime.open_runner(runtime.OV_INT8, exports[k], ir)(x)[:, 0]
        np.testing.assert_allclose(together(x)[:, k], alone, atol=1e-3)


def test_onnx_runtime_does_not_merge(exports):
    with pytest.raises(runtime.RuntimeUnavailable, match="one by one"):
        runtime.open_merged_runner(runtime.ORT_FP32, [(e, None) for e in exports])


def test_models_of_different_input_shapes_are_refused(exports):
    torch.manual_seed(0)
    model, _ = create_model(CONFIG)
    other = to_onnx(model.eval(), (64, 64))
    with pytest.raises(ValueError, match="same input shape"):
        runtime.open_merged_runner(runtime.OV_FP32, [(exports[0], None), (other, None)])


def _version(project, onnx: bytes, name="m", number=1) -> ModelVersion:
    stored = save_bytes(f"projects/{project.pk}/models/{name}.onnx", onnx)
    return ModelVersion.objects.create(
        project=project,
        number=number,
        threshold=0.5,
        min_area=4,
        input_height=SIZE[0],
        input_width=SIZE[1],
        weights="unused.pt",
        onnx=stored,
        metadata={"meta": ModelMeta(CONFIG, SIZE, 0.5, 4).to_json()},
    )


@pytest.fixture
def versions(db, exports, settings):
    settings.INFERENCE_RUNTIME = runtime.OV_FP32
    out = []
    for k, onnx in enumerate(exports):
        project = Project.objects.create(name=f"Defect {k}", slug=f"defect-{k}")
        out.append(_version(project, onnx))
    return out


def test_a_stations_versions_load_as_one_network_run_once_per_batch(versions):
    loaded = registry.load_many(versions)
    assert sorted(loaded) == sorted(v.pk for v in versions)
    shared = {id(m.runner.shared) for m in loaded.values()}
    assert len(shared) == 1
    models = [loaded[v.pk] for v in versions]
    assert [m.project_id for m in models] == [v.project_id for v in versions]

    rng = np.random.default_rng(3)
    views = [(f"cam{i}", rng.integers(0, 255, (40, 70, 3), dtype=np.uint8)) for i in range(2)]
    network = models[0].runner.shared
    before = network.runs
    results = engine.run(models, views)
    assert network.runs == before + 1
    gc.collect()
    assert network.last is None  # the batch is gone, and its output with it

    for (model, judged), version in zip(results, versions, strict=True):
        alone = registry.load(version).predict([image for _, image in views])
        merged = model.predict([image for _, image in views])
        for a, b in zip(alone, merged, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-5)
        assert [v.camera for v in judged] == ["cam0", "cam1"]


def test_a_version_that_cannot_load_leaves_the_others_serving(versions):
    broken = versions[1]
    broken.onnx = save_bytes(f"projects/{broken.project_id}/models/bad.onnx", b"not a model")
    broken.save()
    loaded = registry.load_many(versions)
    assert isinstance(loaded[broken.pk], registry.NoModel)
    assert "cannot be loaded" in str(loaded[broken.pk])
    for version in (versions[0], versions[2]):
        assert isinstance(loaded[version.pk], registry.LoadedModel)
        assert loaded[version.pk].predict([np.zeros((32, 64, 3), np.uint8)])[0].shape == (32, 64)


def test_merging_can_be_turned_off(versions, settings):
    settings.MERGE_MODELS = False
    loaded = registry.load_many(versions)
    assert not any(hasattr(m.runner, "shared") for m in loaded.values())


def test_a_promotion_drops_the_merged_network_of_the_replaced_version(versions, exports):
    first = registry.load_many(versions)
    replaced = versions[0]
    newer = _version(replaced.project, exports[2], name="newer", number=2)
    second = registry.load_many([newer, *versions[1:]])
    assert second[newer.pk].runner.shared is second[versions[1].pk].runner.shared
    assert first[versions[1].pk].runner.shared is not second[versions[1].pk].runner.shared
    held = [models for models in registry._merged_cache.values()]
    assert all(replaced.pk not in {m.version_id for m in models} for models in held)
    # Unchanged versions keep their network: asking again compiles nothing.
    again = registry.load_many([newer, *versions[1:]])
    assert again[newer.pk].runner.shared is second[newer.pk].runner.shared


def test_a_station_serves_its_projects_from_one_network_and_names_the_unjudged(versions):
    from inspection.models import Station
    from inspection.services import serving_models

    untrained = Project.objects.create(name="Untrained", slug="untrained")
    projects = [v.project for v in versions] + [untrained]
    station = Station.objects.create(name="Merged line")
    station.projects.set(projects)
    serving = serving_models(station, projects)
    assert [m.version_id for m in serving.models] == [v.pk for v in versions]
    assert len({id(m.runner.shared) for m in serving.models}) == 1
    assert len(serving.unjudged) == 1 and serving.unjudged[0].startswith("Untrained:")


def test_a_process_keeps_only_the_most_recently_used_models(versions, settings):
    settings.MODEL_CACHE_SIZE = 2
    first, second = registry.load(versions[0]), registry.load(versions[1])
    assert registry.load(versions[0]) is first  # a hit, which makes it the most recent
    registry.load(versions[2])  # one too many: the least recently used (second) goes
    held = {m.version_id for m in registry._cache.values()}
    assert held == {versions[0].pk, versions[2].pk}
    assert registry.load(versions[0]) is first
    again = registry.load(versions[1])
    assert again is not second  # compiled anew, and it serves as before
    x = [np.zeros((32, 64, 3), np.uint8)]
    np.testing.assert_allclose(again.predict(x)[0], second.predict(x)[0], atol=1e-6)
