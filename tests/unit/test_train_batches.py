"""DeviceBatches: the input pipeline the trainer uses instead of a DataLoader."""

from __future__ import annotations

import torch

from cnnlab.batches import DeviceBatches
from cnnlab.data import DATASETS, normalize

INFO = DATASETS["cifar10"]


def make(n: int = 100, **options: object) -> tuple[DeviceBatches, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=generator)
    labels = torch.arange(n)  # label = index, so every batch says which images it holds
    batches = DeviceBatches(
        images, labels, batch_size=32, mean=INFO.mean, std=INFO.std,
        device=torch.device("cpu"), **options,  # type: ignore[arg-type]
    )  # fmt: skip
    return batches, images, labels


def test_unshuffled_batches_normalise_like_cnnlab_data() -> None:
    batches, images, _ = make()
    xs, ys = zip(*batches, strict=True)
    assert [len(y) for y in ys] == [32, 32, 32, 4] and len(batches) == 4
    torch.testing.assert_close(torch.cat(xs), normalize(images, INFO), rtol=1e-5, atol=1e-5)


def test_shuffled_epoch_is_a_permutation_and_drop_last_keeps_full_batches() -> None:
    batches, images, _ = make(shuffle=True, drop_last=True, seed=3)
    assert len(batches) == 3
    first = torch.cat([y for _, y in batches])
    second = torch.cat([y for _, y in batches])
    assert len(first) == 96 and len(set(first.tolist())) == 96
    assert not torch.equal(first, second)  # a new order every epoch
    for x, y in batches:  # each image still matches its label
        torch.testing.assert_close(x, normalize(images[y], INFO), rtol=1e-5, atol=1e-5)
    resumed = list(batches.iterate(start_batch=2))
    assert len(resumed) == 1


def test_crop_and_flip_move_pixels_only_within_the_padding() -> None:
    batches, images, _ = make(n=256, augment=True, crop_padding=4)
    x = images[:256]
    out = batches.random_crop_flip(x)  # [B, C, H, W] uint8
    assert out.shape == x.shape and out.dtype == torch.uint8
    assert not torch.equal(out, x)
    flipped = x.flip(3)
    for b in range(64):  # each output is some shift (|dy|, |dx| <= 4) of the image or its mirror
        ok = False
        for source in (x[b], flipped[b]):
            for dy in range(-4, 5):
                for dx in range(-4, 5):
                    inner = source[:, 4 + dy : 28 + dy, 4 + dx : 28 + dx]
                    if torch.equal(out[b, :, 4:28, 4:28], inner):
                        ok = True
        assert ok, f"image {b} is not a crop/flip of its source"
    flip_only = make(n=256, augment=True, crop_padding=0)[0].random_crop_flip(x)
    same = (flip_only == x).flatten(1).all(1)
    mirrored = (flip_only == flipped).flatten(1).all(1)
    assert bool((same | mirrored).all()) and 50 < int(mirrored.sum()) < 206
