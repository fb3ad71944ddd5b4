"""What an evaluation keeps for the results page."""

from __future__ import annotations

import torch

from cnnlab.train import first_of_each_class


def test_kept_mistakes_cover_every_class_not_just_the_first() -> None:
    labels = torch.arange(10).repeat_interleave(50)  # class-major like the stored test split
    wrong = torch.ones(500, dtype=torch.bool)  # every prediction wrong
    kept = first_of_each_class(wrong, labels, 100, 10)
    assert torch.equal(torch.bincount(labels[kept], minlength=10), torch.full((10,), 10))
    assert kept.tolist() == sorted(kept.tolist())
    wrong[labels != 3] = False  # mistakes in one class only: its quota, no more
    assert first_of_each_class(wrong, labels, 100, 10).tolist() == list(range(150, 160))
