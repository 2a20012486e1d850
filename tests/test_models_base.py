"""Shared helpers of the model contract (infobounds.models.base): flattening a batch of inputs."""

import pytest
import torch

from infobounds.models.base import first_tensor, flatten_batch


def test_flatten_batch_accepts_both_layouts_and_names_the_model_otherwise():
    images = torch.rand(4, 1, 28, 28)
    flat = flatten_batch(images, (1, 28, 28), "VAE")
    assert flat.shape == (4, 784) and torch.equal(flat, images.reshape(4, 784))
    assert flatten_batch(flat, (1, 28, 28), "VAE").shape == (4, 784)
    with pytest.raises(ValueError, match=r"GWAE: x must have shape \(B, 1, 28, 28\) or \(B, 784\), got \(4, 1, 14, 14\)"):
        flatten_batch(torch.rand(4, 1, 14, 14), (1, 28, 28), "GWAE")
    with pytest.raises(ValueError, match="got \\(784,\\)"):
        flatten_batch(torch.rand(784), (1, 28, 28), "WAEMMD")
    with pytest.raises(TypeError, match="tensor"):
        flatten_batch([[0.0] * 784], (1, 28, 28), "VAE")


def test_first_tensor_takes_x_alone_or_first_of_a_tuple_or_list():
    x, y = torch.randn(4, 3), torch.arange(4)
    assert first_tensor(x) is x
    assert first_tensor((x, y)) is x
    assert first_tensor([x, y]) is x
