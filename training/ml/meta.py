"""Model metadata: what a runtime needs besides the weights (no torch here, so serving
processes can read it without importing torch)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from training.ml.data import MEAN, STD


@dataclass(frozen=True)
class ModelConfig:
    arch: str = "unet"
    encoder: str = "mobilenet_v2"
    decoder_channels: tuple[int, ...] = (256, 128, 64, 32, 16)
    in_channels: int = 3
    classes: int = 1

    def to_dict(self) -> dict:
        return asdict(self) | {"decoder_channels": list(self.decoder_channels)}

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        data = dict(data)
        data["decoder_channels"] = tuple(data.get("decoder_channels", cls.decoder_channels))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


FORMAT_VERSION = 1


class ArtifactError(RuntimeError):
    """A model artifact that cannot be used; the message says why."""


@dataclass
class ModelMeta:
    """What a runtime needs besides the weights. `threshold` and `min_area` are the image
    decision rule; `pixel_threshold` turns probabilities into masks."""

    model: ModelConfig
    input_size: tuple[int, int]
    threshold: float
    min_area: int
    pixel_threshold: float = 0.5
    resize_policy: str = "resize"

    def to_json(self) -> str:
        return json.dumps(
            {
                "format_version": FORMAT_VERSION,
                "model": self.model.to_dict(),
                "input_size": list(self.input_size),
                "normalisation": {"mean": MEAN.tolist(), "std": STD.tolist()},
                "threshold": self.threshold,
                "min_area": self.min_area,
                "pixel_threshold": self.pixel_threshold,
                "resize_policy": self.resize_policy,
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
                float(data.get("pixel_threshold", 0.5)),
                str(data.get("resize_policy", "resize")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"model metadata is incomplete: {exc}") from None
