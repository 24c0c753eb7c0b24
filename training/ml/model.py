from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import segmentation_models_pytorch as smp
import torch

ARCHITECTURES = {"unet": smp.Unet}


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


@dataclass
class PretrainedSource:
    """Where encoder weights came from, so the job log can say it."""

    kind: str = "none"  # "none" | "file"
    detail: str = "trained from scratch (no ImageNet weights available)"
    missing_keys: list[str] = field(default_factory=list)


def create_model(config: ModelConfig, weights_file: str | Path | None = None):
    """Build the network; with `weights_file`, load ImageNet encoder weights from that file.

    No hub downloads: factories without network access must come up the same way every time.
    """
    if config.arch not in ARCHITECTURES:
        raise ValueError(
            f"unknown architecture {config.arch!r}; choose from {sorted(ARCHITECTURES)}"
        )
    model = ARCHITECTURES[config.arch](
        encoder_name=config.encoder,
        encoder_weights=None,
        in_channels=config.in_channels,
        classes=config.classes,
        decoder_channels=config.decoder_channels,
    )
    source = PretrainedSource()
    if weights_file and Path(weights_file).is_file():
        state = torch.load(weights_file, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state)
        result = model.encoder.load_state_dict(state, strict=False)
        source = PretrainedSource(
            "file", f"encoder weights from {weights_file}", list(result.missing_keys)
        )
    return model, source
