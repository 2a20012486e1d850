r"""The beta-VAE, its rate and distortion, and the importance-weighted bound (chapter ``vae_rate_distortion``).

Kingma & Welling (2014), *Auto-Encoding Variational Bayes*; Higgins et al. (2017), *beta-VAE*;
Alemi et al. (2018), *Fixing a Broken ELBO*; Burda, Grosse & Salakhutdinov (2016), *Importance
Weighted Autoencoders*.

In the book's notation the encoder is :math:`p(z|x) = \mathcal N(\mu(x), \operatorname{diag}\sigma^2(x))`,
the decoder :math:`q(x|z)` and the prior :math:`r(z)`. Alemi et al. name the two terms of the
negative ELBO

.. math::

    D = \mathbb E_{p(x)} \mathbb E_{p(z|x)} [-\log q(x|z)] \quad (\texttt{distortion}), \qquad
    R = \mathbb E_{p(x)} \mathrm{KL}(p(z|x) \,\|\, r(z)) \quad (\texttt{rate}),

so that :math:`\mathrm{ELBO} = -(D + R) \le \mathbb E_{p(x)} \log q(x)`, and the beta-VAE minimises

.. math::

    \mathcal L_\beta = D + \beta R .

Chapter ``vae_rate_distortion`` proves :math:`H - D \le I(X;Z) \le R` and the importance-weighted
bound :math:`\mathrm{ELBO} \le \mathcal L_K = \mathbb E \log \frac1K \sum_k
\frac{q(x|z_k)\, r(z_k)}{p(z_k|x)} \le \log q(x)` (:meth:`VAE.iwae`).

Decoders (``VAEConfig.decoder``):

``bernoulli``
    :math:`-\log q(x|z) = \sum_j \mathrm{BCE}(\mathrm{logit}_j(z), x_j)`; a likelihood for binary x.
``gaussian``
    :math:`-\log \mathcal N(x; g(z), s^2 I)`, with s fixed (``decoder_std``) or one learned scalar.
``squared_error``
    :math:`\|x - g(z)\|^2` (summed over coordinates): not a likelihood but the distortion measure of
    rate-distortion theory. Then :math:`\mathcal L_\beta` is the Lagrangian of R(D) at slope
    :math:`-1/\beta`, and every trained model's (D, R) lies on or above R(D) (chapter
    ``rate_distortion_sandwich``; :meth:`VAEConfig.rate_distortion`).

Priors (``VAEConfig.prior``): ``standard`` :math:`\mathcal N(0, I)`; ``gaussian``, a learned diagonal
Gaussian (both with the KL in closed form); ``mixture``, a learned mixture of diagonal Gaussians,
whose KL has no closed form and is estimated without bias by :math:`\log p(z|x) - \log r(z)` at the
sampled z.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from infobounds.bounds.gaussian import LOG_2PI, kl_diagonal_gaussians, log_normal_density
from infobounds.models.base import LossTerms, OptimizerConfig, Player, Trainable, first_tensor, flatten_batch
from infobounds.nets import GaussianHead, conv_decoder, conv_encoder, mlp, reparameterize
from infobounds.profiles import smoke_draws
from infobounds.validation import (require_at_least, require_choice, require_finite, require_non_empty,
                                   require_non_negative, require_positive)

DECODERS = ("bernoulli", "gaussian", "squared_error")
PRIORS = ("standard", "gaussian", "mixture")
BODIES = ("mlp", "conv")
ACTIVATIONS = {"relu": nn.ReLU, "elu": nn.ELU, "softplus": nn.Softplus}


@dataclass(frozen=True)
class VAEConfig:
    """Defaults are the quick profile's Fashion-MNIST MLP VAE (784-400-20, Bernoulli decoder)."""

    input_shape: tuple[int, ...] = (1, 28, 28)  # shape of one x: (C, H, W) for images, (d,) for vectors
    body: str = "mlp"  # "mlp" on flattened x, or "conv" (images; H, W divisible by 2^len(conv_channels))
    hidden: tuple[int, ...] = (400,)  # MLP encoder widths; the decoder mirrors them; () is linear
    conv_channels: tuple[int, ...] = (32, 64)  # channels of the conv body (about 45 s/epoch on 2 CPU threads)
    activation: str = "relu"  # MLP nonlinearity: relu, elu or softplus (smooth ones suit small sources)
    latent_dim: int = 20  # dimension of z
    decoder: str = "bernoulli"  # bernoulli, gaussian or squared_error (see the module docstring)
    decoder_std: float = 1.0  # s of the gaussian decoder (its initial value when learned)
    learn_decoder_std: bool = False  # learn one s shared by all coordinates
    prior: str = "standard"  # standard N(0, I), learned "gaussian", or learned "mixture"
    prior_components: int = 10  # components of the mixture prior
    beta: float = 1.0  # weight of the rate; 1 is the ELBO, 1/beta the slope of an R-D point
    optim: OptimizerConfig = OptimizerConfig()  # Adam
    std_shift: float = 0.0  # encoder sigma = softplus(raw + std_shift) + 1e-4

    def __post_init__(self) -> None:
        require_non_negative(beta=self.beta)
        require_non_empty(input_shape=self.input_shape)
        require_positive(latent_dim=self.latent_dim, input_shape=self.input_shape, decoder_std=self.decoder_std,
                         hidden=self.hidden, conv_channels=self.conv_channels)
        require_choice("body", self.body, BODIES)
        require_choice("decoder", self.decoder, DECODERS)
        require_choice("prior", self.prior, PRIORS)
        require_choice("activation", self.activation, ACTIVATIONS)
        require_at_least(1, prior_components=self.prior_components)
        if self.body == "conv":
            if len(self.input_shape) != 3:
                raise ValueError(f"the conv body needs input_shape (C, H, W), got {self.input_shape}")
            factor = 2 ** len(self.conv_channels)
            if not self.conv_channels or self.input_shape[1] % factor or self.input_shape[2] % factor:
                raise ValueError(f"the conv body halves H and W {len(self.conv_channels)} times: "
                                 f"H and W must divide by {factor}, got {self.input_shape}")

    @property
    def input_dim(self) -> int:
        return math.prod(self.input_shape)

    @classmethod
    def rate_distortion(cls, dim: int, slope: float, *, hidden: tuple[int, ...] = (64, 64),
                        latent_dim: int | None = None, prior: str = "gaussian", activation: str = "softplus",
                        optim: OptimizerConfig = OptimizerConfig(), prior_components: int = 10) -> "VAEConfig":
        """The R-D upper-bound model of a ``dim``-d source at slope ``-slope`` of R(D).

        Squared-error distortion and ``beta = 1 / slope``: minimising D + beta R is minimising
        R + slope * D, the Lagrangian of R(D) (chapter ``rate_distortion_sandwich``).
        """
        if slope <= 0:
            raise ValueError(f"slope must be positive, got {slope}")
        return cls(input_shape=(dim,), hidden=hidden, latent_dim=latent_dim or dim, activation=activation,
                   decoder="squared_error", prior=prior, prior_components=prior_components, beta=1.0 / slope,
                   optim=optim)


class VAE(Trainable):
    """Gaussian encoder p(z|x), decoder q(x|z) and prior r(z) with rate and distortion as loss terms."""

    def __init__(self, config: VAEConfig = VAEConfig()):
        super().__init__()
        self.config = c = config
        act = ACTIVATIONS[c.activation]
        if c.body == "mlp":
            if c.hidden:
                self.encoder_body = nn.Sequential(mlp(c.input_dim, c.hidden[:-1], c.hidden[-1], act), act())
                features = c.hidden[-1]
            else:
                self.encoder_body = nn.Identity()
                features = c.input_dim
            self.decoder_net = mlp(c.latent_dim, tuple(reversed(c.hidden)), c.input_dim, act)
        else:
            channels, height, width = c.input_shape
            n = len(c.conv_channels)
            inner = (c.conv_channels[-1], height >> n, width >> n)
            features = math.prod(inner)
            self.encoder_body = nn.Sequential(conv_encoder(channels, c.conv_channels), nn.Flatten())
            self.decoder_net = nn.Sequential(nn.Linear(c.latent_dim, features), nn.ReLU(),
                                             nn.Unflatten(1, inner), conv_decoder(channels, c.conv_channels),
                                             nn.Flatten())
        self.head = GaussianHead(features, c.latent_dim, shift=c.std_shift)
        if c.decoder == "gaussian":
            log_std = torch.tensor(math.log(c.decoder_std))
            if c.learn_decoder_std:
                self.decoder_log_std = nn.Parameter(log_std)
            else:
                self.register_buffer("decoder_log_std", log_std)
        k = c.latent_dim
        if c.prior == "gaussian":
            self.prior_mean = nn.Parameter(torch.zeros(k))
            self.prior_logvar = nn.Parameter(torch.zeros(k))
        elif c.prior == "mixture":
            self.prior_means = nn.Parameter(torch.randn(c.prior_components, k))  # (C, K)
            self.prior_logvars = nn.Parameter(torch.zeros(c.prior_components, k))  # (C, K)
            self.prior_logits = nn.Parameter(torch.zeros(c.prior_components))  # (C,)

    # -- shapes -------------------------------------------------------------------------------
    def flatten_input(self, x: torch.Tensor) -> torch.Tensor:
        """x as (B, input_dim); accepts (B, *input_shape) or (B, input_dim), else a clear ValueError."""
        return flatten_batch(x, self.config.input_shape, "VAE")

    # -- the three distributions ---------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of p(z|x), each (B, K)."""
        x = self.flatten_input(x)
        if self.config.body == "conv":
            x = x.reshape(x.shape[0], *self.config.input_shape)
        return self.head(self.encoder_body(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder output for z of shape (..., K): logits (bernoulli) or means, (..., input_dim)."""
        lead = z.shape[:-1]
        out = self.decoder_net(z.reshape(-1, z.shape[-1]))
        return out.reshape(*lead, self.config.input_dim)

    def log_prior(self, z: torch.Tensor) -> torch.Tensor:
        """log r(z), summed over the K coordinates: (..., K) -> (...)."""
        c = self.config
        if c.prior == "standard":
            return -0.5 * (LOG_2PI + z**2).sum(-1)
        if c.prior == "gaussian":
            return log_normal_density(z, self.prior_mean, self.prior_logvar)
        # Mixture: log sum_c pi_c N(z; m_c, s_c^2).
        log_pi = F.log_softmax(self.prior_logits, dim=0)  # (C,)
        comp = log_normal_density(z.unsqueeze(-2), self.prior_means, self.prior_logvars)  # (..., C)
        return (log_pi + comp).logsumexp(-1)

    def distortion_per_example(self, x_flat: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """-log q(x|z) (or ||x - g(z)||^2) per example; x (B, input_dim), z (B, K) or (S, B, K)."""
        out = self.decode(z)  # (..., B, input_dim)
        target = x_flat.expand_as(out)
        decoder = self.config.decoder
        if decoder == "bernoulli":
            return F.binary_cross_entropy_with_logits(out, target, reduction="none").sum(-1)
        if decoder == "squared_error":
            return ((target - out) ** 2).sum(-1)
        # Gaussian: -log N(x; g(z), s^2 I) = sum_j [ (x_j - g_j)^2 / (2 s^2) + log s + 1/2 log 2 pi ].
        log_s = self.decoder_log_std
        return (0.5 * ((target - out) * torch.exp(-log_s)) ** 2 + log_s + 0.5 * LOG_2PI).sum(-1)

    def rate_per_example(self, z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """KL(p(z|x) || r(z)) per example: closed form, or log p(z|x) - log r(z) at the sampled z
        for the mixture prior (an unbiased estimate)."""
        c = self.config
        if c.prior == "standard":
            return kl_diagonal_gaussians(mu, logvar)
        if c.prior == "gaussian":
            return kl_diagonal_gaussians(mu, logvar, self.prior_mean, self.prior_logvar)
        return log_normal_density(z, mu, logvar) - self.log_prior(z)

    # -- the objective ----------------------------------------------------------------------------
    def terms(self, batch) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The named terms of the negative ELBO on one batch, ``{"distortion": D, "rate": R}``
        (per-example means in nats), and the draw z ~ p(z|x) (B, K) they were computed at.

        :meth:`loss` weights them; a model that composes a VAE adds its own terms at the same z
        (FactorVAE's total correlation)."""
        x = first_tensor(batch)
        x = self.flatten_input(x)  # (B, input_dim)
        mu, logvar = self.encode(x)  # (B, K), (B, K)
        z = reparameterize(mu, logvar)  # (B, K), one draw of z ~ p(z|x)
        distortion = self.distortion_per_example(x, z).mean()  # D = E[-log q(x|z)]
        rate = self.rate_per_example(z, mu, logvar).mean()  # R = E KL(p(z|x) || r(z))
        return {"distortion": distortion, "rate": rate}, z

    def loss(self, batch) -> LossTerms:
        """D + beta R on one batch; the terms (:meth:`terms`) are per-example means in nats."""
        terms, _ = self.terms(batch)
        return LossTerms(terms=terms, weights={"rate": self.config.beta})

    def players(self) -> list[Player]:
        return [Player("main", list(self.parameters()), self.config.optim)]

    # -- bounds on log q(x) -------------------------------------------------------------------------
    def _check_likelihood(self, what: str) -> None:
        if self.config.decoder == "squared_error":
            raise ValueError(f"{what} needs a likelihood decoder (bernoulli or gaussian); "
                             "squared_error is a distortion measure, not a density")

    @torch.no_grad()
    def elbo(self, x: torch.Tensor) -> torch.Tensor:
        """-(D(x) + R(x)) per example, with one draw of z (B,)."""
        self._check_likelihood("the ELBO")
        x = self.flatten_input(x)
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar)
        return -(self.distortion_per_example(x, z) + self.rate_per_example(z, mu, logvar))

    @torch.no_grad()
    def iwae(self, x: torch.Tensor, k: int = 50) -> torch.Tensor:
        """The importance-weighted bound of Burda et al. (2016) per example (B,):

        log 1/K sum_k q(x|z_k) r(z_k) / p(z_k|x),  z_k ~ p(z|x) i.i.d.

        Its expectation is at least the ELBO, increases with K, and tends to log q(x); with K = 1 its
        expectation is the ELBO.
        """
        self._check_likelihood("the IWAE bound")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        x = self.flatten_input(x)
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, k)
        if k == 1:
            z = z.unsqueeze(0)  # (1, B, K)
        log_w = (-self.distortion_per_example(x, z) + self.log_prior(z)
                 - log_normal_density(z, mu, logvar))  # (K, B)
        return log_w.logsumexp(0) - math.log(k)

    # -- what a chapter looks at ------------------------------------------------------------------
    def decoder_mean(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's mean image/vector for z: sigmoid of the logits, or g(z). (..., *input_shape)."""
        out = self.decode(z)
        if self.config.decoder == "bernoulli":
            out = torch.sigmoid(out)
        return out.reshape(*z.shape[:-1], *self.config.input_shape)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The decoder mean at the posterior mean, shaped like one x per row."""
        mu, _ = self.encode(x)
        return self.decoder_mean(mu)

    @torch.no_grad()
    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws of z ~ r(z), (n, K)."""
        c = self.config
        device = self.head.linear.weight.device
        eps = torch.randn(n, c.latent_dim, generator=generator).to(device)
        if c.prior == "standard":
            return eps
        if c.prior == "gaussian":
            return self.prior_mean + (0.5 * self.prior_logvar).exp() * eps
        probs = F.softmax(self.prior_logits, 0).cpu()
        comp = torch.multinomial(probs, n, replacement=True, generator=generator).to(device)
        return self.prior_means[comp] + (0.5 * self.prior_logvars[comp]).exp() * eps

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decoder means of n draws from the prior, (n, *input_shape)."""
        return self.decoder_mean(self.sample_prior(n, generator))

    @torch.no_grad()
    def mutual_information(self, x: torch.Tensor, n_samples: int = 1000, *, chunk: int = 100,
                           generator: torch.Generator | None = None) -> float:
        r"""I(X;Z) in nats when X is uniform on the N rows of ``x`` (an empirical distribution).

        The aggregate posterior is then the finite mixture :math:`p(z) = \frac1N \sum_j p(z|x_j)`,
        so :math:`I(X;Z) = \mathbb E[\log p(z|x) - \log p(z)]` is estimated without bias by drawing
        ``n_samples`` pairs (x, z) and evaluating both densities exactly. The estimate never exceeds
        :math:`\log N`: each sampled term is at most :math:`\log N`, since the mixture contains
        :math:`\frac1N p(z|x)` (at most :math:`\log(N/m)` for a row that occurs m times). Its
        expectation, the exact I(X;Z), is at most :math:`H(X) \le \log N`, the entropy of the rows'
        empirical distribution; the two ceilings differ when rows repeat, and a single estimate can
        exceed H(X) by its Monte Carlo error (chapter ``vae_rate_distortion``).
        Cost: n_samples x N x K.
        """
        x = self.flatten_input(x)
        mu, logvar = [], []
        for start in range(0, x.shape[0], 1000):
            m, lv = self.encode(x[start:start + 1000])
            mu.append(m)
            logvar.append(lv)
        mu, logvar = torch.cat(mu), torch.cat(logvar)  # (N, K) each
        n = x.shape[0]
        idx = torch.randint(0, n, (n_samples,), generator=generator).to(mu.device)
        eps = torch.randn(n_samples, mu.shape[1], generator=generator).to(mu.device)
        z = mu[idx] + (0.5 * logvar[idx]).exp() * eps  # (S, K), z ~ p(z|x_idx)
        total = 0.0
        for start in range(0, n_samples, chunk):
            zc, ic = z[start:start + chunk], idx[start:start + chunk]
            log_p = log_normal_density(zc[:, None, :], mu[None], logvar[None])  # (c, N): log p(z_s|x_j)
            own = log_p.gather(1, ic[:, None]).squeeze(1)  # log p(z_s | x_s)
            total += float((own - (log_p.logsumexp(1) - math.log(n))).sum())
        return total / n_samples

    @torch.no_grad()
    def per_example(self, x: torch.Tensor, *, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
        """Distortion and rate of every example, one draw of z each: two (N,) tensors in nats (for
        standard errors of an R-D point)."""
        x = self.flatten_input(x)
        d, r = [], []
        for start in range(0, x.shape[0], batch_size):
            xb = x[start:start + batch_size]
            mu, logvar = self.encode(xb)
            z = reparameterize(mu, logvar)
            d.append(self.distortion_per_example(xb, z))
            r.append(self.rate_per_example(z, mu, logvar))
        return torch.cat(d), torch.cat(r)

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, *, batch_size: int = 1000, iwae_samples: int = 0) -> dict:
        """Per-example means in nats over ``x``: ``distortion`` D, ``rate`` R, and for likelihood
        decoders ``elbo`` = -(D + R) and, when ``iwae_samples`` > 0, ``iwae`` (the bound
        :meth:`iwae` with K = ``iwae_samples``). Distortion and mixture-prior rates are one-sample
        Monte Carlo estimates per example, so their mean over many examples is accurate."""
        was_training = self.training
        self.eval()
        x = self.flatten_input(x)
        iwae_samples = smoke_draws(iwae_samples)  # a smoke run (INFOBOUNDS_SMOKE) draws only a few
        totals = {"distortion": 0.0, "rate": 0.0, "iwae": 0.0}
        for start in range(0, x.shape[0], batch_size):
            xb = x[start:start + batch_size]
            mu, logvar = self.encode(xb)
            z = reparameterize(mu, logvar)
            totals["distortion"] += float(self.distortion_per_example(xb, z).sum())
            totals["rate"] += float(self.rate_per_example(z, mu, logvar).sum())
            if iwae_samples > 0:
                # K decoder passes per example: keep K * rows at about 50k decoder rows per call.
                rows = max(1, 50_000 // iwae_samples)
                for s in range(0, xb.shape[0], rows):
                    totals["iwae"] += float(self.iwae(xb[s:s + rows], iwae_samples).sum())
        self.train(was_training)
        n = x.shape[0]
        out = {"distortion": totals["distortion"] / n, "rate": totals["rate"] / n}
        if self.config.decoder != "squared_error":
            out["elbo"] = -(out["distortion"] + out["rate"])
            if iwae_samples > 0:
                out["iwae"] = totals["iwae"] / n
        return out


def sweep_regrets(betas, distortions, rates) -> np.ndarray:
    r"""How much worse each model of a beta sweep does than every other on its own objective.

    The model trained with :math:`\beta_i` minimises :math:`\mathcal L_{\beta_i} = D + \beta_i R`.
    If it reached the optimum over a family that contains the other models of the sweep,

    .. math::

        \mathrm{regret}_{ij} = (D_j + \beta_i R_j) - (D_i + \beta_i R_i) \;\ge\; 0
        \quad\text{for every } j \ne i .

    For :math:`\beta_i < \beta_j` the two inequalities :math:`\mathrm{regret}_{ij} \ge 0` and
    :math:`\mathrm{regret}_{ji} \ge 0` say :math:`\beta_i \le (D_j - D_i)/(R_i - R_j) \le \beta_j`:
    the chord between the two points has a slope between the two tangent slopes, so the models lie
    on a convex frontier with slope :math:`-\beta` at the model trained with :math:`\beta` (Alemi et
    al. 2018, Figure 1; chapter ``vae_rate_distortion``).

    Parameters
    ----------
    betas, distortions, rates : one entry per model (at least 2), the distortion and rate in nats
        measured on the data the models were trained on; finite, ``betas >= 0``.

    Returns
    -------
    ``(n, n)`` array, entry ``[i, j]`` the regret of model i against model j under
    :math:`\beta_i` (zero on the diagonal).
    """
    b, d, r = (np.asarray(v, dtype=float) for v in (betas, distortions, rates))
    if not (b.ndim == d.ndim == r.ndim == 1 and len(b) == len(d) == len(r)):
        raise ValueError(f"betas, distortions and rates must be 1-d of one length, got shapes "
                         f"{b.shape}, {d.shape}, {r.shape}")
    require_at_least(2, models=len(b))
    require_finite(betas=b, distortions=d, rates=r)
    require_non_negative(betas=b)
    objective = d[None, :] + b[:, None] * r[None, :]  # [i, j]: L_{beta_i} of model j
    return objective - np.diag(objective)[:, None]
