"""The shared attribute adversary (infobounds.models.adversary): its Barber-Agakov bound on a joint
with known mutual information, the conditional form, the plug-in entropy and its errors."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate

from infobounds.bounds.discrete import plugin_entropy
from infobounds.models.adversary import AttributeAdversary


def binary_gaussian_mi(mu: float) -> float:
    """I(Z; A) in nats for A uniform on {-1, +1} and Z = mu A + N(0, 1)."""
    # H(A | Z = z) integrated against p(z); by symmetry condition on A = +1:
    # I = log 2 - E_{z ~ N(mu, 1)} log(1 + exp(-2 mu z)).
    def integrand(z):
        return np.exp(-0.5 * (z - mu) ** 2) / math.sqrt(2 * math.pi) * np.logaddexp(0.0, -2 * mu * z)
    conditional_entropy, _ = integrate.quad(integrand, -30, 30)
    return math.log(2) - conditional_entropy


def sample(n: int, mu: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    a = torch.randint(0, 2, (n,), generator=generator)
    z = (2 * a - 1).float().unsqueeze(1) * mu + torch.randn(n, 1, generator=generator)
    return z, a


def test_barber_agakov_bound_is_below_and_close_to_the_true_mi():
    # A fitted adversary's H(A) - CE on held-out codes is a lower bound on I(Z; A) up to sampling
    # noise (3 standard errors of the held-out CE), and a small MLP gets within 0.02 nats of it.
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    mu = 1.0
    truth = binary_gaussian_mi(mu)  # 0.337 nats
    z_train, a_train = sample(4000, mu, g)
    z_test, a_test = sample(20000, mu, g)
    adversary = AttributeAdversary(1, 2, hidden=(16,))
    optimizer = torch.optim.Adam(adversary.parameters(), lr=1e-2)
    for _ in range(300):
        optimizer.zero_grad()
        adversary.fit_loss(z_train, a_train).total.backward()
        optimizer.step()
    with torch.no_grad():
        ce = torch.nn.functional.cross_entropy(adversary(z_test), a_test, reduction="none")
    bound = float(plugin_entropy(a_test, 2) - ce.mean())
    standard_error = float(ce.std() / math.sqrt(len(ce)))
    assert bound <= truth + 3 * standard_error
    assert bound >= truth - 0.02


def test_conditional_adversary_reads_the_condition_and_insists_on_it():
    torch.manual_seed(0)
    adversary = AttributeAdversary(3, 4, hidden=(8,), n_condition=2)
    z = torch.randn(5, 3)
    c = torch.tensor([0, 1, 0, 1, 1])
    logits = adversary(z, c)
    assert logits.shape == (5, 4)
    assert not torch.allclose(logits, adversary(z, 1 - c))  # the condition changes the prediction
    with pytest.raises(ValueError, match="conditional"):
        adversary(z)
    with pytest.raises(ValueError, match=r"\(B, 3\)"):
        adversary(torch.randn(5, 2), c)
    with pytest.raises(ValueError, match="two values"):
        AttributeAdversary(3, 1)


def test_fit_loss_does_not_reach_the_encoder_and_confusion_is_zero_at_uniform():
    encoder = torch.nn.Linear(4, 3)
    adversary = AttributeAdversary(3, 2, hidden=(8,))
    x, a = torch.randn(16, 4), torch.randint(0, 2, (16,))
    out = adversary.fit_loss(encoder(x), a, term="ce", metric="acc")
    assert set(out.terms) == {"ce"} and set(out.metrics) == {"acc"}
    out.total.backward()
    assert encoder.weight.grad is None and adversary.net[0].weight.grad is not None
    # an adversary whose last layer is zero predicts uniformly: confusion exactly 0, CE = log 2
    torch.nn.init.zeros_(adversary.net[-1].weight)
    torch.nn.init.zeros_(adversary.net[-1].bias)
    z = torch.randn(16, 3)
    assert abs(adversary.confusion(z).item()) < 1e-6
    assert abs(adversary.cross_entropy(z, a).item() - math.log(2)) < 1e-6


def test_plugin_entropy():
    assert float(plugin_entropy(torch.tensor([0, 1, 0, 1]), 2)) == pytest.approx(math.log(2))
    assert float(plugin_entropy(torch.tensor([2, 2, 2]), 3)) == 0.0
    assert float(plugin_entropy(torch.tensor([0, 1, 2, 2]), 3)) == pytest.approx(1.5 * math.log(2))
    with pytest.raises(ValueError):
        plugin_entropy(torch.tensor([], dtype=torch.long), 2)
