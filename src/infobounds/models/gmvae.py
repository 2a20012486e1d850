r"""A VAE with a learned Gaussian-mixture prior (chapter ``identifiability_clustering``).

Willetts & Paige (2021), *I Don't Need u: Identifiable Non-Linear ICA Without Side Information*.

The prior is a mixture of C diagonal Gaussians whose weights, means and variances are learned,

.. math:: r(z) = \sum_{c=1}^C \pi_c \, \mathcal N\big(z; m_c, \operatorname{diag} s_c^2\big),

and the model minimises the negative ELBO :math:`D + R` of ``infobounds.models.vae`` with it
(``VAEConfig(prior="mixture")``): the rate :math:`R = \mathbb E\,\mathrm{KL}(p(z|x) \,\|\, r(z))` has
no closed form and is estimated without bias by :math:`\log p(z|x) - \log r(z)` at the sampled z.
The mixture's component plays the part of the auxiliary variable u of an iVAE
(``infobounds.models.ivae``) without being observed; :meth:`GMVAE.responsibilities` gives its
posterior :math:`r(c | z)`, the model's clustering of the data. A standard-normal prior is invariant
under every rotation of z; a mixture with distinct diagonal covariances is invariant under signed
permutations only (chapter ``identifiability_clustering``, Prop. ``prop-mixture-rotation``). That
removes the rotation symmetry from the prior; it does not ensure that training finds the sources'
orientation (the chapter's quick experiment does not show that it does).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
from torch.nn import functional as F

from infobounds.bounds.gaussian import log_normal_density
from infobounds.models.base import LossTerms, Player, Trainable
from infobounds.models.vae import VAE, VAEConfig


def _default_vae() -> VAEConfig:
    return VAEConfig(input_shape=(4,), hidden=(64, 64), activation="elu", latent_dim=4, decoder="gaussian",
                     decoder_std=0.1, learn_decoder_std=True, prior="mixture", prior_components=8)


@dataclass(frozen=True)
class GMVAEConfig:
    """Defaults are the quick profile's nonlinear-ICA model (4-d data, 8 components)."""

    vae: VAEConfig = field(default_factory=_default_vae)  # the VAE; its prior is forced to "mixture"

    def __post_init__(self) -> None:
        if self.vae.prior != "mixture":
            object.__setattr__(self, "vae", replace(self.vae, prior="mixture"))


class GMVAE(Trainable):
    """A :class:`~infobounds.models.vae.VAE` whose prior is a learned Gaussian mixture."""

    def __init__(self, config: GMVAEConfig = GMVAEConfig()):
        super().__init__()
        self.config = config
        self.vae = VAE(config.vae)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.vae.encode(x)

    def loss(self, batch) -> LossTerms:
        """``distortion`` + ``rate`` (the negative ELBO with the mixture prior), per-example means."""
        return self.vae.loss(batch)

    def players(self) -> list[Player]:
        return self.vae.players()

    @torch.no_grad()
    def responsibilities(self, z: torch.Tensor) -> torch.Tensor:
        """r(c | z) = pi_c N(z; m_c, s_c^2) / r(z), (B, C)."""
        v = self.vae
        log_pi = F.log_softmax(v.prior_logits, dim=0)  # (C,)
        comp = log_normal_density(z.unsqueeze(-2), v.prior_means, v.prior_logvars)  # (B, C)
        return F.softmax(log_pi + comp, dim=-1)

    @torch.no_grad()
    def cluster(self, x: torch.Tensor) -> torch.Tensor:
        """The most probable component of each example's posterior mean, (B,) int64."""
        mu, _ = self.encode(x)
        return self.responsibilities(mu).argmax(-1)
