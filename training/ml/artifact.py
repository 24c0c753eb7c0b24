"""Model artifacts: weights plus the metadata needed to run them, checked on load."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import torch

from training.ml.data import MEAN, STD
from training.ml.model import ModelConfig, create_model

FORMAT_VERSION = 1


class ArtifactError(RuntimeError):
    """A model artifact that cannot be used; the message says why."""


@dataclass
class ModelMeta:
    model: ModelConfig
    input_size: tuple[int, int]
    threshold: float
    min_area: int

    def to_json(self) -> str:
        return json.dumps(
            {
                "format_version": FORMAT_VERSION,
                "model": self.model.to_dict(),
                "input_size": list(self.input_size),
                "normalisation": {"mean": MEAN.tolist(), "std": STD.tolist()},
                "threshold": self.threshold,
                "min_area": self.min_area,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelMeta:
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ArtifactError(f"model metadata is not valid JSON: {exc}") from None
        version = data.get("format_version") if isinstance(data, dict) else None
        if version != FORMAT_VERSION:
            raise ArtifactError(
                f"model metadata has format version {version!r}; this platform reads "
                f"{FORMAT_VERSION}. Re-export the model."
            )
        try:
            return cls(
                ModelConfig.from_dict(data["model"]),
                tuple(data["input_size"]),
                float(data["threshold"]),
                int(data["min_area"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"model metadata is incomplete: {exc}") from None


def weights_bytes(model: torch.nn.Module) -> bytes:
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getvalue()


def load_model(weights: bytes, meta: ModelMeta) -> torch.nn.Module:
    model, _ = create_model(meta.model)
    try:
        state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:  # torch raises many types for a damaged file
        raise ArtifactError(f"model weights are damaged or do not fit the model: {exc}") from None
    return model.eval()
