"""Ready-made training set-ups for ``python -m infobounds train MODEL``.

A recipe builds, for a profile, the model, the data stream it trains on and an evaluation that
returns a dict of final metrics. Chapters configure models themselves; recipes give a course or a
command line the same defaults without a notebook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from infobounds.data import BatchStream, load
from infobounds.profiles import Profile


@dataclass
class Setup:
    model: object
    stream: BatchStream
    steps_per_epoch: int
    evaluate: Callable[[], dict]


def _fashion(profile: Profile, n_train: int | None):
    train = load("fashion_mnist", "train", n=n_train, device=profile.device)
    test = load("fashion_mnist", "test", n=profile.pick(quick=5000, full=None), device=profile.device)
    return train, test


def vib(profile: Profile, batch_size: int, seed: int) -> Setup:
    from infobounds.models.vib import VIB, VIBConfig

    train, test = _fashion(profile, profile.pick(quick=None, full=None))
    model = VIB(VIBConfig() if profile.is_quick else VIBConfig.paper(steps_per_epoch=len(train) // batch_size))
    model = model.to(profile.device)
    return Setup(model, BatchStream(train.flat, train.y, batch_size=batch_size, seed=seed),
                 len(train) // batch_size, lambda: model.evaluate(test.flat, test.y))


def vae(profile: Profile, batch_size: int, seed: int) -> Setup:
    from infobounds.models.vae import VAE, VAEConfig

    train, test = _fashion(profile, profile.pick(quick=None, full=None))
    model = VAE(VAEConfig(beta=1.0)).to(profile.device)
    return Setup(model, BatchStream(train.x, batch_size=batch_size, seed=seed), len(train) // batch_size,
                 lambda: model.evaluate(test.x, iwae_samples=profile.pick(quick=0, full=100)))


RECIPES: dict[str, Callable[[Profile, int, int], Setup]] = {"vib": vib, "vae": vae}
