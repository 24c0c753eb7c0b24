"""Model weights (torch): saved and loaded with their metadata, checked on load."""

from __future__ import annotations

import io

import torch

from training.ml.meta import ArtifactError, ModelMeta
from training.ml.model import create_model

__all__ = ["ArtifactError", "ModelMeta", "load_model", "weights_bytes"]


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
