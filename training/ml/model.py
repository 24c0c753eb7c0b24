from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import segmentation_models_pytorch as smp
import torch

from training.ml.meta import ModelConfig

ARCHITECTURES = {"unet": smp.Unet}


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
        missing = sorted(set(model.encoder.state_dict()) - set(state))
        if len(missing) == len(model.encoder.state_dict()):
            raise ValueError(f"{weights_file} holds no weights for the {config.encoder} encoder")
        # smp's encoders drop the ImageNet classifier head themselves.
        model.encoder.load_state_dict(state, strict=False)
        source = PretrainedSource("file", f"encoder weights from {weights_file}", missing)
    return model, source
