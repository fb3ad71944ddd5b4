"""Device-resident batches: a whole split as uint8 on the device, sliced by a permutation.

This replaces the DataLoader + PIL transforms of the course notes: the split is decoded
once (``cnnlab.data`` cache), moved to the device once, and every batch is an index
gather, an optional random crop + flip done for the whole batch with tensor ops, and a
fused normalisation. Nothing touches the host per step, so on a GPU the input pipeline
costs microseconds, and on a CPU there are no worker processes decoding JPEGs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch


class DeviceBatches:
    """Iterate ``(x float [B, C, H, W] normalised, y int64 [B])`` over one split.

    ``shuffle`` draws a new ``torch.randperm`` on the device every epoch; ``drop_last``
    drops a final partial batch (training), so BatchNorm never sees a batch of one.
    ``augment`` applies a random crop after ``crop_padding`` pixels of reflection padding
    (0 = none) and a random horizontal flip, independently per image.
    """

    def __init__(
        self,
        images: torch.Tensor,  # uint8 [N, C, H, W]
        labels: torch.Tensor,  # int64 [N]
        *,
        batch_size: int,
        mean: Sequence[float],
        std: Sequence[float],
        device: torch.device,
        shuffle: bool = False,
        drop_last: bool = False,
        augment: bool = False,
        crop_padding: int = 4,
        channels_last: bool = False,
        seed: int = 0,
    ) -> None:
        self.images = images.to(device)  # uint8 [N, C, H, W], resident for the whole run
        self.labels = labels.to(device)  # [N]
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last and len(labels) > batch_size
        self.augment = augment
        self.crop_padding = crop_padding
        self.channels_last = channels_last
        self.device = device
        mean_t = torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        std_t = torch.tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        # (x / 255 - mean) / std == x * scale + shift
        self.scale = 1.0 / (255.0 * std_t)  # [1, C, 1, 1]
        self.shift = -mean_t / std_t  # [1, C, 1, 1]
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(seed)

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.iterate()

    def iterate(self, start_batch: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch, beginning at batch ``start_batch`` (to resume inside an epoch)."""
        n = len(self.labels)
        order = None
        if self.shuffle:
            order = torch.randperm(n, device=self.device, generator=self.generator)  # [N]
        for index in range(start_batch, len(self)):
            start = index * self.batch_size
            if order is None:
                x = self.images[start : start + self.batch_size]  # uint8 [B, C, H, W]
                y = self.labels[start : start + self.batch_size]
            else:
                picked = order[start : start + self.batch_size]  # [B]
                # index_select copies whole rows (memcpy); images[picked] is ~10x slower on CPU
                x = self.images.index_select(0, picked)
                y = self.labels.index_select(0, picked)
            if self.augment:
                x = self.random_crop_flip(x)
            yield self.normalize(x), y

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 [B, C, H, W] -> float32 ``(x / 255 - mean) / std`` (as cnnlab.data.normalize)."""
        out = x.float().mul_(self.scale).add_(self.shift)  # [B, C, H, W]; in place: no temporaries
        if self.channels_last:
            out = out.contiguous(memory_format=torch.channels_last)
        return out

    def random_crop_flip(self, x: torch.Tensor) -> torch.Tensor:
        """Per-image random crop (reflection padding) and horizontal flip, any dtype."""
        b, c, h, w = x.shape
        pad = self.crop_padding
        device, gen = x.device, self.generator
        flip = torch.rand(b, device=device, generator=gen) < 0.5  # [B]
        if pad == 0:
            return torch.where(flip.view(b, 1, 1, 1), x.flip(3), x)
        dy = torch.randint(0, 2 * pad + 1, (b, 1), device=device, generator=gen) - pad  # [B, 1]
        dx = torch.randint(0, 2 * pad + 1, (b, 1), device=device, generator=gen) - pad
        rows = _reflect(dy + torch.arange(h, device=device), h)  # [B, H]
        cols = dx + torch.arange(w, device=device)  # [B, W]
        cols = torch.where(flip.view(b, 1), w - 1 - cols, cols)  # flipping = reversed columns
        cols = _reflect(cols, w)
        batch = torch.arange(b, device=device).view(b, 1, 1, 1)
        channel = torch.arange(c, device=device).view(1, c, 1, 1)
        return x[batch, channel, rows.view(b, 1, h, 1), cols.view(b, 1, 1, w)]  # [B, C, H, W]


def _reflect(index: torch.Tensor, size: int) -> torch.Tensor:
    """Map out-of-range indices back inside as reflection padding does (-1 -> 1, size -> size-2)."""
    index = index.abs()
    return torch.where(index > size - 1, 2 * (size - 1) - index, index)
