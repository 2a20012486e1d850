r"""The adversarial autoencoder (chapter ``wasserstein_autoencoders``).

Makhzani, Shlens, Jaitly, Goodfellow & Frey (2016), *Adversarial Autoencoders*, ICLR workshop.

The AAE trains an autoencoder whose codes are pushed towards a prior :math:`P_Z` by a GAN in the
latent space. Each training step has three phases:

1. *reconstruction*: encoder :math:`E` and decoder :math:`G` minimise
   :math:`\mathbb E \lVert x - G(E(x)) \rVert^2` (term ``cost``);
2. *regularisation, discriminator*: :math:`D(z)` minimises
   :math:`-\mathbb E_{P_Z} \log D(z) - \mathbb E_{Q_Z} \log(1 - D(z))` (terms ``real``, ``fake``);
3. *regularisation, generator*: the encoder alone minimises :math:`-\mathbb E \log D(E(x))`
   (term ``adversarial``).

**It is the WAE-GAN with another weighting**, and this module reuses
:class:`infobounds.models.wae.WAEGAN` rather than duplicating it: the three losses are exactly the
WAE-GAN's two terms and its discriminator loss. The WAE-GAN minimises
``cost + lam * adversarial`` in one step of encoder and decoder; the AAE takes the two terms in
separate Adam steps, which for small steps moves like the sum with :math:`\lambda = 1` (the
alternation is one step of a splitting scheme for the sum), except that each term gets its own
Adam normalisation, so the effective weight is set by the learning rates rather than by
:math:`\lambda`. Chapter ``wasserstein_autoencoders`` derives both from the WAE theorem
(Tolstikhin et al., 2018). The paper's encoder can also be stochastic; here, as in the WAE, it is
deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch.nn import functional as F

from infobounds.models.base import LossTerms, OptimizerConfig, Player, Update, first_tensor, parameters_of
from infobounds.models.wae import WAEGAN, WAEGANConfig


@dataclass(frozen=True)
class AAEConfig(WAEGANConfig):
    """The WAE-GAN's settings; ``lam`` is unused (the phases are separate steps). ``optim`` trains
    the reconstruction phase's autoencoder, ``discriminator_optim`` the discriminator and
    ``encoder_optim`` the regularisation phase's encoder step (paper: SGD with momentum; here Adam)."""

    encoder_optim: OptimizerConfig = OptimizerConfig(lr=5e-4)  # Adam, encoder in the regularisation phase


class AAE(WAEGAN):
    """WAE-GAN networks trained in the AAE's three phases (module docstring)."""

    def __init__(self, config: AAEConfig = AAEConfig()):
        if not isinstance(config, AAEConfig):
            raise ValueError("AAE needs an AAEConfig")
        super().__init__(config)

    def reconstruction_loss(self, batch) -> LossTerms:
        """Phase 1: E ||x - G(E(x))||^2 over encoder and decoder."""
        x = self.flatten_input(first_tensor(batch))
        return LossTerms(terms={"cost": self.reconstruction_cost(x, self.encoder(x)).mean()})

    def regularization_loss(self, batch) -> LossTerms:
        """Phase 3: -E log D(E(x)) over the encoder."""
        x = self.flatten_input(first_tensor(batch))
        return LossTerms(terms={"adversarial": F.softplus(-self.score(self.encoder(x))).mean()})

    def players(self) -> list[Player]:
        c = self.config
        return [Player("autoencoder", parameters_of(self.encoder, self.decoder_net), c.optim),
                Player("discriminator", parameters_of(self.discriminator), c.discriminator_optim),
                Player("encoder", parameters_of(self.encoder), c.encoder_optim)]

    def schedule(self) -> list[Update]:
        return [Update("autoencoder", self.reconstruction_loss),
                Update("discriminator", self.discriminator_loss),
                Update("encoder", self.regularization_loss)]
