import pytest
import torch
from torch.nn import functional as F

from infobounds.metrics import fgsm_accuracy, fgsm_examples


def linear_model(x):
    # class 1 iff x.sum() > 2.5
    s = x.sum(1, keepdim=True) - 2.5
    return F.log_softmax(torch.cat([-s, s], dim=1) * 10, dim=1)


def test_fgsm_moves_each_pixel_by_epsilon_against_the_label():
    x = torch.full((4, 5), 0.5)
    y = torch.tensor([1, 1, 0, 0])
    x_adv = fgsm_examples(linear_model, x, y, epsilon=0.1)
    assert torch.allclose(x_adv[:2], torch.full((2, 5), 0.4))
    assert torch.allclose(x_adv[2:], torch.full((2, 5), 0.6))


def test_fgsm_accuracy_at_zero_is_clean_accuracy_and_drops_with_epsilon():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(200, 5, generator=gen)
    y = (x.sum(1) > 2.5).long()
    clean = fgsm_accuracy(linear_model, x, y, 0.0)
    assert clean == pytest.approx(1.0)
    assert fgsm_accuracy(linear_model, x, y, 0.2) < clean
    with pytest.raises(ValueError):
        fgsm_examples(linear_model, x, y, -0.1)
