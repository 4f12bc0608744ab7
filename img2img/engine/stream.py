"""An endless, resumable stream of ``(index, sample_seed)`` pairs for the DataLoader.

Epoch ``e`` visits the dataset in a permutation seeded by ``(seed, e)``; every position in the stream gets
its own augmentation seed. So the stream from position ``p`` on is a pure function of ``(seed, p)``: a run
resumed at step ``s`` starts at ``p = s * batch_size * d_steps`` and sees exactly what it would have seen.
"""

from __future__ import annotations

from typing import Iterator

import torch
from torch.utils.data import Sampler

from ..seeding import make_generator, stable_seed


class ResumableSampler(Sampler):
    def __init__(self, length: int, seed: int, start: int = 0, shuffle: bool = True, rank: int = 0, world_size: int = 1) -> None:
        if length <= 0:
            raise ValueError("empty dataset")
        self.length = length
        self.seed = seed
        self.start = start
        self.shuffle = shuffle
        self.rank = rank
        self.world_size = world_size

    def __iter__(self) -> Iterator[tuple[int, int]]:
        position = self.start * self.world_size + self.rank
        epoch, offset = divmod(position, self.length)
        order = self._order(epoch)
        while True:
            while offset >= self.length:
                epoch, offset = epoch + 1, offset - self.length
                order = self._order(epoch)
            yield int(order[offset]), stable_seed(self.seed, "sample", epoch, offset)
            offset += self.world_size

    def _order(self, epoch: int) -> torch.Tensor:
        if not self.shuffle:
            return torch.arange(self.length)
        return torch.randperm(self.length, generator=make_generator(stable_seed(self.seed, "epoch", epoch)))

    def __len__(self) -> int:  # endless; DataLoader only uses this for warnings
        return 2**62
