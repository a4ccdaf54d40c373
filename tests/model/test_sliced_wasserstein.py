"""The print bench's distribution judge: the sliced Wasserstein distance of feature clouds."""

from __future__ import annotations

import torch

from paramart.model.judge import sliced_wasserstein, sorted_projections


def test_it_sees_distributions_not_places_nor_second_moments():
    torch.manual_seed(0)
    a = torch.randn(1, 8, 16, 16)
    shuffled = a.flatten(2)[..., torch.randperm(256)].reshape(1, 8, 16, 16)
    assert sliced_wasserstein(a, shuffled) < 1e-12  # the same cloud in other places
    # the same mean and variance per channel but another distribution: +-1 (two spikes) against a Gaussian
    spikes = torch.randint(0, 2, (1, 8, 16, 16)).float() * 2 - 1
    assert sliced_wasserstein(a, spikes) > 0.02
    # sorted projections computed once are the same judge
    assert abs(sliced_wasserstein(spikes, sorted_projections(a)) - sliced_wasserstein(spikes, a)) < 1e-12
