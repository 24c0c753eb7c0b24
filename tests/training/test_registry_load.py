"""Loading a model version for serving: damaged artifacts and missing versions fail with the
registry's own error and a message, never a trace from deep inside a runtime."""

import json

import numpy as np
import pytest

from defect_platform.core.storage import save_bytes
from training import registry
from training.ml import runtime
from training.ml.export import to_onnx
from training.ml.meta import ModelConfig, ModelMeta
from training.ml.model import create_model
from training.models import ModelVersion

CONFIG = ModelConfig(decoder_channels=(16, 8, 8, 8, 8))


@pytest.fixture(scope="module")
def onnx_bytes():
    model, _ = create_model(CONFIG)
    return to_onnx(model, (32, 32))


@pytest.fixture
def onnx_name(project, onnx_bytes):
    return save_bytes(f"projects/{project.pk}/models/tiny.onnx", onnx_bytes)


def _version(project, number, onnx, meta=None) -> ModelVersion:
    meta = meta or ModelMeta(CONFIG, (32, 32), 0.5, 4).to_json()
    return ModelVersion.objects.create(
        project=project,
        number=number,
        threshold=0.5,
        min_area=4,
        input_height=32,
        input_width=32,
        weights="unused.pt",
        onnx=onnx,
        metadata={"meta": meta},
    )


def test_a_sound_version_loads_and_predicts(project, onnx_name):
    loaded = registry.load(_version(project, 1, onnx_name), runtime.ORT_FP32)
    probs = loaded.predict([np.zeros((40, 50, 3), dtype=np.uint8)])
    assert probs[0].shape == (40, 50) and 0.0 <= probs[0].min() <= probs[0].max() <= 1.0


def test_a_damaged_onnx_file_fails_with_the_registrys_error(project):
    damaged = save_bytes(f"projects/{project.pk}/models/damaged.onnx", b"\x08\x07not a model")
    with pytest.raises(registry.NoModel, match="cannot be loaded") as failure:
        registry.load(_version(project, 1, damaged), runtime.ORT_FP32)
    assert failure.value.__cause__ is None and failure.value.__suppress_context__
    assert "Traceback" not in str(failure.value)


def test_a_truncated_onnx_file_fails_with_the_registrys_error(project, onnx_bytes):
    half = onnx_bytes[: len(onnx_bytes) // 2]
    cut = save_bytes(f"projects/{project.pk}/models/cut.onnx", half)
    with pytest.raises(registry.NoModel, match="cannot be loaded"):
        registry.load(_version(project, 1, cut), runtime.ORT_FP32)


@pytest.mark.parametrize(
    "meta,reason",
    [
        ("{not json", "cannot be loaded"),
        (json.dumps({"format_version": 99}), "format version"),
        (None, "cannot be loaded"),
    ],
)
def test_damaged_metadata_fails_with_the_registrys_error(project, onnx_name, meta, reason):
    version = _version(project, 1, onnx_name)
    version.metadata = {"meta": meta} if meta is not None else {}
    version.save()
    with pytest.raises(registry.NoModel, match=reason):
        registry.load(version, runtime.ORT_FP32)


def test_a_version_without_an_export_is_refused(project):
    with pytest.raises(registry.NoModel, match="no ONNX export"):
        registry.load(_version(project, 1, ""), runtime.ORT_FP32)


def test_a_project_without_versions_has_no_model(project):
    with pytest.raises(registry.NoModel, match="no trained model yet"):
        registry.model_for_project(project)


def test_the_production_version_is_served_else_the_newest(project, onnx_name):
    first = _version(project, 1, onnx_name)
    second = _version(project, 2, onnx_name)
    assert registry.model_for_project(project) == second
    first.is_production = True
    first.save()
    assert registry.model_for_project(project) == first
