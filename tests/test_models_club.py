"""The DVCLUB model (infobounds.models.club): named finite loss terms, players, one step learns."""

import math

import pytest
import torch

from infobounds.data.iterators import BatchStream
from infobounds.models.club import CLUB, CLUBConfig
from infobounds.training import fit


def small_model(**kw) -> CLUB:
    return CLUB(CLUBConfig(input_dim=12, hidden=(16,), latent_dim=4, n_utility=3, n_sensitive=2, **kw))


def batch(n=32):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 12, generator=g), torch.randint(0, 3, (n,), generator=g), torch.randint(0, 2, (n,), generator=g)


def test_loss_terms_named_finite_and_weighted():
    torch.manual_seed(0)
    model = small_model(beta=0.01, alpha=0.5)
    out = model.loss(batch())
    assert set(out.terms) == {"utility", "rate", "leakage"}
    assert dict(out.weights) == {"rate": 0.01, "leakage": 0.5}
    assert all(torch.isfinite(v) for v in out.terms.values())
    assert out.terms["rate"] >= 0 and out.terms["leakage"] <= math.log(2) + 1e-6
    adv = model.adversary_loss(batch())
    assert set(adv.terms) == {"adversary_ce"} and torch.isfinite(adv.total)


def test_players_and_schedule():
    model = small_model(alpha=1.0, adversary_steps=3)
    assert [p.name for p in model.players()] == ["main", "adversary"]
    assert [(u.player, u.repeats) for u in model.schedule()] == [("adversary", 3), ("main", 1)]
    main_ids = {id(p) for p in model.players()[0].parameters}
    assert not main_ids & {id(p) for p in model.adversary.parameters()}


def test_adversary_gradient_does_not_reach_encoder():
    model = small_model(alpha=1.0)
    model.adversary_loss(batch()).total.backward()
    assert all(p.grad is None for p in model.vib.parameters())


def test_one_fit_step_changes_both_players():
    torch.manual_seed(0)
    model = small_model(alpha=1.0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, u, s = batch(64)
    fit(model, BatchStream(x, u, s, batch_size=16, seed=0), steps=2, seed=0)
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert any(k.startswith("adversary") for k in changed) and any(k.startswith("vib.") for k in changed)


def test_sensitive_marginal_and_evaluate():
    model = small_model()
    assert model.set_sensitive_marginal(torch.tensor([0, 0, 1, 1])) == pytest.approx(math.log(2))
    x, u, s = batch()
    ev = model.evaluate(x, u, s)
    assert set(ev) == {"accuracy", "utility_ce", "rate", "adversary_accuracy", "leakage"}
    assert 0 <= ev["accuracy"] <= 1 and ev["rate"] >= 0


@pytest.mark.parametrize("kw", [dict(alpha=-1.0), dict(beta=-0.1), dict(n_sensitive=1), dict(adversary_steps=0),
                                dict(latent_dim=0)])
def test_bad_config_raises(kw):
    with pytest.raises(ValueError):
        CLUBConfig(**kw)


def test_wrong_input_size_raises():
    with pytest.raises(ValueError):
        small_model().loss((torch.randn(4, 13), torch.zeros(4, dtype=torch.long), torch.zeros(4, dtype=torch.long)))
