"""The sample grids a run writes as it trains (samples/step_NNNNNNNN.png)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset

from ..data.io import make_grid, save_image
from ..models import sample_latent
from ..seeding import make_generator, stable_seed
from ..task import Task, eval_inputs

N_PREVIEW = 4  # rows in the sample grids


@torch.no_grad()
def save_samples(task: Task, G: nn.Module, preview_set: Dataset, path: Path, device: torch.device) -> Path:
    """Grid rows: condition | samples (3 latents for the cGAN) | target; the same inputs and latents each time."""
    n = min(N_PREVIEW, len(preview_set))
    x, y = eval_inputs(task, [preview_set[(i, stable_seed("preview", i))] for i in range(n)], device)
    n_samples = 3 if G.nz > 0 else 1
    columns = [task.condition_preview(y)]
    for s in range(n_samples):
        z = sample_latent(x.shape[0], G.nz, make_generator(stable_seed("preview-z", s), device), device)
        columns.append(task.compose(G(y, z), y))
    columns.append(x)
    tiles = torch.stack(columns, dim=1).flatten(0, 1).float().cpu()  # row-major: one row per input
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(make_grid(tiles, nrow=len(columns)), path)
    return path
