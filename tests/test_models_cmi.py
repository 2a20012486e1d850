"""The MI / CMI subspace model of issue 6 (chapter 15 pending): within-label shuffles, the adversarial
conditional-MI estimator on a Gaussian case with known CMI, loss terms, one step learns."""

import math

import pytest
import torch

from infobounds.data import BatchStream
from infobounds.estimators.conditional_mi import estimate_conditional_mi
from infobounds.models.cmi import (LeakageClassifier, SubspaceClassifier, SubspaceConfig, leakage_terms,
                                   plugin_conditional, shuffle_within)
from infobounds.training import fit


def test_shuffle_within_permutes_only_inside_labels():
    z = torch.arange(12.0)[:, None]
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 1])
    out = shuffle_within(z, labels, torch.Generator().manual_seed(3))
    for k in range(3):
        rows = labels == k
        assert sorted(out[rows, 0].tolist()) == sorted(z[rows, 0].tolist())
    assert not torch.equal(out, z)
    with pytest.raises(ValueError):
        shuffle_within(z, labels[:5])


def test_conditional_mi_estimator_known_answers():
    # Given a, (z1, z2) is Gaussian with correlation +-0.8: I(z1; z2 | a) = -1/2 log(1 - 0.64).
    g = torch.Generator().manual_seed(0)
    n = 12_000
    a = torch.randint(0, 2, (n,), generator=g)
    r = torch.where(a == 0, 0.8, -0.8)[:, None]
    e1, e2 = torch.randn(n, 1, generator=g), torch.randn(n, 1, generator=g)
    z2 = r * e1 + (1 - r**2).sqrt() * e2
    cmi = estimate_conditional_mi(e1, z2, a, n_values=2, steps=500)
    assert cmi == pytest.approx(-0.5 * math.log(1 - 0.64), abs=0.12)
    # Both depend on a, independent given it: CMI = 0 while MI > 0.
    mu = torch.where(a == 0, -1.5, 1.5)[:, None]
    assert abs(estimate_conditional_mi(mu + e1, mu + e2, a, n_values=2, steps=300)) < 0.06
    assert estimate_conditional_mi(mu + e1, mu + e2, None, steps=300) > 0.2


def test_plugin_conditional_and_leakage_bound():
    target = torch.tensor([0, 1, 1, 0, 0, 0])
    cond = torch.tensor([0, 0, 0, 1, 1, 1])
    p = plugin_conditional(target, 2, cond, 2)
    assert torch.allclose(p[0], torch.tensor([1 / 3, 2 / 3])) and torch.allclose(p[4], torch.tensor([1.0, 0.0]))
    assert torch.allclose(plugin_conditional(target, 2)[0], torch.tensor([4 / 6, 2 / 6]))
    # A classifier that ignores z and outputs the plug-in conditional: bound = 0 and confusion = 0.
    clf = LeakageClassifier(1, 2, 2, hidden=())  # one linear layer on [z, one-hot(cond)]
    for prm in clf.parameters():
        torch.nn.init.zeros_(prm)
    with torch.no_grad():
        clf.net[-1].weight[:, 1:] = p[[0, 4]].clamp_min(1e-6).log().T
    with torch.no_grad():
        ce, confusion, bound = leakage_terms(clf, torch.randn(6, 1), target, 2, cond, 2)
    assert abs(float(confusion)) < 1e-4 and abs(float(bound)) < 1e-4


@pytest.mark.parametrize("estimator", ["shuffle", "classifier"])
@pytest.mark.parametrize("penalty,terms", [("none", {"ce_1", "ce_2"}), ("mi", {"ce_1", "ce_2", "mi_adversarial"}),
                                           ("cmi", {"ce_1", "ce_2", "cmi_adversarial"})])
def test_loss_terms_and_one_step(penalty, terms, estimator):
    torch.manual_seed(0)
    model = SubspaceClassifier(SubspaceConfig(input_dim=6, hidden=(16,), penalty=penalty, critic_hidden=(8,),
                                              estimator=estimator))
    x, a1, a2 = torch.randn(64, 6), torch.randint(0, 3, (64,)), torch.randint(0, 3, (64,))
    out = model.loss((x, a1, a2))
    assert set(out.terms) == terms
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    fit(model, BatchStream(x, a1, a2, batch_size=32), steps=1, progress=False)
    changed = {n.split(".")[0] for n, p in model.named_parameters() if not torch.equal(before[n], p)}
    assert changed == ({"encoder", "heads"} if penalty == "none" else {"encoder", "heads", "critics"})


@pytest.mark.parametrize("bad", [dict(penalty="tc"), dict(weight=-1.0), dict(n_classes=(1, 3)), dict(critic_steps=0),
                                 dict(estimator="kde")])
def test_bad_config_raises(bad):
    with pytest.raises(ValueError):
        SubspaceConfig(**bad)
