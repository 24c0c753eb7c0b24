"""An exponential moving average of a model's weights, the copy that validates and ships.

Short training budgets end on whatever the last few noisy batches left: from scratch, a few
dozen epochs of a few images each, the validation figures jump from epoch to epoch. The
average smooths that walk. BatchNorm's running statistics are averaged with the weights
(as timm's ModelEmaV2 does), so the averaged model is consistent with itself.
"""

from __future__ import annotations

import copy

import torch

WARMUP = 10  # the decay ramps from 0.1 up, so the first steps' random weights fade fast


class WeightAverage:
    def __init__(self, model: torch.nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"the averaging decay must lie between 0 and 1, not {decay}")
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    def current_decay(self) -> float:
        return min(self.decay, (1 + self.updates) / (WARMUP + self.updates))

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.updates += 1
        weight = 1.0 - self.current_decay()
        averaged, live = [], []
        for mine, theirs in zip(
            self.model.state_dict().values(), model.state_dict().values(), strict=True
        ):
            if mine.is_floating_point():
                averaged.append(mine)
                live.append(theirs.detach())
            else:  # BatchNorm's batch counter: follow the live model
                mine.copy_(theirs)
        torch._foreach_lerp_(averaged, live, weight)

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.updates = int(state["updates"])
