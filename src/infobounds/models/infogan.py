r"""InfoGAN: a GAN whose latent code is kept readable from its samples (chapter ``infogan``).

Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel (2016), *InfoGAN: Interpretable Representation
Learning by Information Maximizing Generative Adversarial Nets*, NeurIPS.

The generator sees noise :math:`z` and a code :math:`c = (c_\text{cat}, c_\text{cont})`, here
:math:`c_\text{cat} \sim \mathrm{Cat}(K)` and :math:`c_\text{cont} \sim U(-1, 1)^m`. InfoGAN adds to
the GAN game a variational lower bound on the information the samples keep about the code, with an
auxiliary network :math:`Q(c|x)` sharing the discriminator's body:

.. math::

    \min_{G, Q} \max_D\; V(D, G) - \lambda\, L_I(G, Q), \qquad
    L_I(G, Q) = \mathbb E_{c \sim p(c),\, x \sim G(z, c)} \log Q(c|x) + H(c) \;\le\; I(c; G(z, c)).

:math:`L_I` is the Barber-Agakov bound of chapter ``information_measures`` with the code sampled
from its prior, which the chapter proves legitimate. For the categorical code it is at most
:math:`H(c_\text{cat}) = \log K` (term ``info_categorical`` is :math:`-L_I^\text{cat}`); for the
continuous codes, with a Gaussian :math:`Q`, :math:`H(c_\text{cont}) = m \log 2` is a differential
entropy and :math:`L_I^\text{cont}` has no such ceiling (term ``info_continuous``). As in the
paper, :math:`\lambda = 1` for the categorical code and a smaller weight for the continuous ones.

Both players descend :math:`-\lambda L_I`: the discriminator player owns the shared body, the GAN
head and :math:`Q`'s head; the generator player owns :math:`G` (the paper's own code does the same).
The InfoNCE bound of :mod:`infobounds.bounds.mi` on the score matrix
:math:`\log Q(c_j | x_i)` is logged next to :math:`L_I` as a second lower bound from the same
:math:`Q`. It is one only if the other codes of the batch are independent of :math:`x_i`: true for
the MLP generator, not for the ``dcgan`` generator of :meth:`InfoGANConfig.paper`, whose batch norm
in training mode makes every image depend on the whole batch's codes (:math:`L_I`, which scores each
pair alone, is unaffected).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from infobounds.bounds.mi import infonce_lower_bound
from infobounds.models.base import LossTerms, OptimizerConfig, Player, Trainable, Update, parameters_of
from infobounds.models.gan import GANConfig, build_bodies
from infobounds.validation import require_at_least, require_non_negative, require_positive


@dataclass(frozen=True)
class InfoGANConfig:
    """Defaults are the quick profile's MLP InfoGAN on 28x28 images; ``InfoGANConfig.paper()`` is the
    convolutional one of the paper's MNIST experiment."""

    body: str = "mlp"  # "mlp" or "dcgan" (the paper's MNIST nets are convolutional)
    data_shape: tuple[int, ...] = (1, 28, 28)
    noise_dim: int = 62  # incompressible noise z ~ N(0, I) (paper: 62)
    n_categories: int = 10  # K of the categorical code c_cat ~ Cat(K)
    n_continuous: int = 2  # continuous codes c_cont ~ U(-1, 1)
    hidden: tuple[int, ...] = (256, 256)  # MLP widths of G and of the D/Q body
    channels: tuple[int, int] = (64, 128)  # conv widths of the "dcgan" body (paper: 64, 128)
    q_hidden: int = 128  # width of Q's own head on the shared body (paper: 128)
    lambda_categorical: float = 1.0  # weight of L_I for c_cat (paper: 1)
    lambda_continuous: float = 0.1  # weight of L_I for c_cont (paper: smaller than 1)
    generator_optim: OptimizerConfig = OptimizerConfig(lr=1e-3, betas=(0.5, 0.999))  # Adam (paper: lr 1e-3 for G)
    # (paper: lr 2e-4; at 2e-4 the quick run's L_I leaves 0 later, see the chapter)
    discriminator_optim: OptimizerConfig = OptimizerConfig(lr=1e-3, betas=(0.5, 0.999))

    def __post_init__(self) -> None:
        require_at_least(2, n_categories=self.n_categories)
        require_non_negative(n_continuous=self.n_continuous, noise_dim=self.noise_dim,
                             lambda_categorical=self.lambda_categorical, lambda_continuous=self.lambda_continuous)
        require_positive(q_hidden=self.q_hidden)
        self.gan_config()  # validates body and shapes

    @property
    def latent_dim(self) -> int:
        return self.noise_dim + self.n_categories + self.n_continuous

    def gan_config(self) -> GANConfig:
        """The GAN bodies' configuration (non-saturating loss, sigmoid output for images)."""
        return GANConfig(loss="nonsaturating", body=self.body, data_shape=self.data_shape,
                         latent_dim=self.latent_dim, hidden=self.hidden, channels=self.channels,
                         output="sigmoid", generator_optim=self.generator_optim,
                         critic_optim=self.discriminator_optim)

    @classmethod
    def paper(cls) -> "InfoGANConfig":
        """The MNIST setting of Chen et al. (2016): conv D/Q and G, 62-d noise, Cat(10) + 2 codes."""
        return cls(body="dcgan", channels=(64, 128), hidden=(1024,),
                   discriminator_optim=OptimizerConfig(lr=2e-4, betas=(0.5, 0.999)))


class InfoGAN(Trainable):
    """Generator G(z, c), discriminator D(x) = sigmoid(T(x)) and Q(c|x) on a shared body."""

    def __init__(self, config: InfoGANConfig = InfoGANConfig()):
        super().__init__()
        self.config = config
        self.generator, self.body, features = build_bodies(config.gan_config())
        self.d_head = nn.Linear(features, 1)
        n_q = config.n_categories + 2 * config.n_continuous  # logits, means and log-stds
        self.q_head = nn.Sequential(nn.Linear(features, config.q_hidden), nn.LeakyReLU(0.2),
                                    nn.Linear(config.q_hidden, n_q))

    # -- codes and sampling ------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.d_head.weight.device

    def sample_codes(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """z ~ N(0, I) (n, noise_dim), c_cat ~ Cat(K) (n,), c_cont ~ U(-1, 1) (n, m)."""
        c = self.config
        z = torch.randn(n, c.noise_dim, device=self.device)
        c_cat = torch.randint(c.n_categories, (n,), device=self.device)
        c_cont = 2 * torch.rand(n, c.n_continuous, device=self.device) - 1
        return z, c_cat, c_cont

    def generate(self, z: torch.Tensor, c_cat: torch.Tensor, c_cont: torch.Tensor) -> torch.Tensor:
        """G(z, c): images (n, *data_shape) from noise, category indices and continuous codes."""
        onehot = F.one_hot(c_cat, self.config.n_categories).to(z.dtype)
        return self.generator(torch.cat([z, onehot, c_cont], dim=1))

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        was_training = self.training
        self.eval()
        x = self.generate(*self.sample_codes(n))
        self.train(was_training)
        return x

    # -- Q(c|x) --------------------------------------------------------------------------------------
    def q_params(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Q's categorical logits (B, K), and the means and log-stds (B, m) of its Gaussian on c_cont."""
        return self.q_params_from_features(self.body(x))

    def q_params_from_features(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`q_params` from the shared body's output ``features = body(x)``: the losses compute
        the body once per batch of generated images and feed both D's head and Q's head."""
        k, m = self.config.n_categories, self.config.n_continuous
        out = self.q_head(features)
        logits, mean, log_std = out[:, :k], out[:, k:k + m], out[:, k + m:]
        return logits, mean, log_std.clamp(-5.0, 2.0)

    @torch.no_grad()
    def predict_category(self, x: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
        """argmax_c Q(c_cat|x) for images x (n, ...) -> (n,) category indices."""
        was_training = self.training
        self.eval()
        out = [self.q_params(x[s:s + batch_size])[0].argmax(-1) for s in range(0, x.shape[0], batch_size)]
        self.train(was_training)
        return torch.cat(out)

    def information_terms(self, x: torch.Tensor, c_cat: torch.Tensor, c_cont: torch.Tensor,
                          features: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """L_I for both codes (nats) on generated images x of codes (c_cat, c_cont), and the InfoNCE
        bound of the categorical code from the same Q. ``features``, if given, is ``body(x)``,
        computed once by a loss that also feeds it to D's head."""
        logits, mean, log_std = self.q_params(x) if features is None else self.q_params_from_features(features)
        log_q = F.log_softmax(logits, dim=-1)  # (B, K)
        h_cat = math.log(self.config.n_categories)  # H(c_cat), uniform prior
        l_i_cat = log_q.gather(1, c_cat[:, None]).mean() + h_cat  # E log Q(c|x) + H(c) <= I(c; x) <= log K
        # InfoNCE with the critic f(x_i, c_j) = log Q(c_j | x_i): scores (B, B).
        infonce = infonce_lower_bound(log_q[:, c_cat])
        out = {"l_i_categorical": l_i_cat, "infonce_categorical": infonce}
        if self.config.n_continuous:
            # log N(c; mean, std^2) summed over codes; H(U(-1, 1)^m) = m log 2.
            log_q_cont = (-0.5 * math.log(2 * math.pi) - log_std
                          - 0.5 * ((c_cont - mean) / log_std.exp()) ** 2).sum(-1)  # (B,)
            out["l_i_continuous"] = log_q_cont.mean() + self.config.n_continuous * math.log(2.0)
        return out

    # -- losses --------------------------------------------------------------------------------------
    def _info_loss(self, info: dict[str, torch.Tensor]) -> tuple[dict, dict]:
        terms = {"info_categorical": -info["l_i_categorical"]}
        weights = {"info_categorical": self.config.lambda_categorical}
        if "l_i_continuous" in info:
            terms["info_continuous"] = -info["l_i_continuous"]
            weights["info_continuous"] = self.config.lambda_continuous
        return terms, weights

    def discriminator_loss(self, batch) -> LossTerms:
        x = batch[0]
        z, c_cat, c_cont = self.sample_codes(x.shape[0])
        with torch.no_grad():  # this player's step does not differentiate through G
            fake = self.generate(z, c_cat, c_cont)
        t_real = self.d_head(self.body(x)).reshape(-1)
        h_fake = self.body(fake)  # one pass of the shared body feeds D's head and Q's head
        t_fake = self.d_head(h_fake).reshape(-1)
        info = self.information_terms(fake, c_cat, c_cont, features=h_fake)
        terms, weights = self._info_loss(info)
        terms = {"real": F.softplus(-t_real).mean(), "fake": F.softplus(t_fake).mean(), **terms}
        return LossTerms(terms=terms, weights=weights, metrics={k: v.detach() for k, v in info.items()})

    def generator_loss(self, batch) -> LossTerms:
        z, c_cat, c_cont = self.sample_codes(batch[0].shape[0])
        fake = self.generate(z, c_cat, c_cont)
        h_fake = self.body(fake)
        t_fake = self.d_head(h_fake).reshape(-1)
        info = self.information_terms(fake, c_cat, c_cont, features=h_fake)
        terms, weights = self._info_loss(info)
        terms = {"neg_log_d_fake": F.softplus(-t_fake).mean(), **terms}  # non-saturating GAN term
        return LossTerms(terms=terms, weights=weights, metrics={k: v.detach() for k, v in info.items()})

    def players(self) -> list[Player]:
        c = self.config
        return [Player("discriminator", parameters_of(self.body, self.d_head, self.q_head), c.discriminator_optim),
                Player("generator", parameters_of(self.generator), c.generator_optim)]

    def schedule(self) -> list[Update]:
        return [Update("discriminator", self.discriminator_loss), Update("generator", self.generator_loss)]
