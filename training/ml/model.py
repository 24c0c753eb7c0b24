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

    kind: str = "none"  # "none" | "file" | "hf-cache"
    detail: str = "trained from scratch (no ImageNet weights available)"
    missing_keys: list[str] = field(default_factory=list)


def hf_cached_weights(encoder: str, cache_dir: str | Path | None = None) -> str | None:
    """The path of smp's ImageNet weights for `encoder` in the Hugging Face cache, if a
    download put them there earlier (no network is used to look)."""
    from huggingface_hub import try_to_load_from_cache
    from segmentation_models_pytorch.encoders import encoders

    settings = encoders.get(encoder, {}).get("pretrained_settings", {}).get("imagenet")
    if not settings:
        return None
    found = try_to_load_from_cache(
        settings["repo_id"],
        "model.safetensors",
        cache_dir=str(cache_dir) if cache_dir else None,
        revision=settings["revision"],
    )
    return found if isinstance(found, str) else None


def _read_state(path: str | Path) -> dict:
    if str(path).endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state.get("state_dict", state)


def _load_encoder(model, config: ModelConfig, path) -> list[str] | None:
    """Load encoder weights from `path`; None when the file holds none for this encoder."""
    state = _read_state(path)
    encoder_keys = model.encoder.state_dict()
    missing = sorted(set(encoder_keys) - set(state))
    usable = {k: v for k, v in state.items() if k in encoder_keys}
    if len(missing) == len(encoder_keys) or any(
        v.shape != encoder_keys[k].shape for k, v in usable.items()
    ):
        return None
    # smp's encoders drop the ImageNet classifier head themselves.
    model.encoder.load_state_dict(usable, strict=False)
    return missing


def create_model(
    config: ModelConfig,
    weights_file: str | Path | None = None,
    hf_cache: bool = False,
    hf_cache_dir: str | Path | None = None,
):
    """Build the network, with ImageNet encoder weights from the first source that has them:
    `weights_file`, then (with `hf_cache`) the Hugging Face cache; otherwise from scratch.

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
    skipped = ""
    if weights_file and Path(weights_file).is_file():
        missing = _load_encoder(model, config, weights_file)
        if missing is not None:
            return model, PretrainedSource("file", f"encoder weights from {weights_file}", missing)
        skipped = f"; {weights_file} holds no weights for the {config.encoder} encoder"
    cached = hf_cached_weights(config.encoder, hf_cache_dir) if hf_cache else None
    if cached:
        missing = _load_encoder(model, config, cached)
        if missing is not None:
            detail = f"encoder weights from the Hugging Face cache ({cached})"
            return model, PretrainedSource("hf-cache", detail + skipped, missing)
    return model, PretrainedSource(detail=PretrainedSource.detail + skipped)
