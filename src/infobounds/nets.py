"""Building blocks every model uses."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


# Last nonlinearity of a decoder or generator: "sigmoid" for images in [0, 1], "identity" otherwise.
OUTPUTS = ("identity", "sigmoid")


def mlp(in_dim: int, hidden: Sequence[int], out_dim: int, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """A multi-layer perceptron with layer sizes ``[in_dim, *hidden, out_dim]``, ``activation``
    between layers and a linear output."""
    if in_dim <= 0 or out_dim <= 0 or any(h <= 0 for h in hidden):
        raise ValueError(f"layer sizes must be positive, got in={in_dim}, hidden={list(hidden)}, out={out_dim}")
    sizes = [in_dim, *hidden]
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), activation()]
    layers.append(nn.Linear(sizes[-1], out_dim))
    return nn.Sequential(*layers)


class GaussianHead(nn.Module):
    """Maps features to the mean and log-variance of a diagonal Gaussian (D,) -> 2 x (K,).

    The standard deviation is ``softplus(raw + shift)``, bounded below by ``min_std``: the VIB paper's
    parameterisation, stable where an unbounded log-variance overflows.
    """

    def __init__(self, in_dim: int, latent_dim: int, shift: float = 0.0, min_std: float = 1e-4):
        super().__init__()
        self.linear = nn.Linear(in_dim, 2 * latent_dim)
        self.shift = shift
        self.min_std = min_std

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, raw = self.linear(h).chunk(2, dim=-1)
        std = nn.functional.softplus(raw + self.shift) + self.min_std
        return mu, 2.0 * std.log()


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, n_samples: int = 1) -> torch.Tensor:
    """z = mu + sigma * eps, eps ~ N(0, I); (B, K) -> (B, K), or (S, B, K) for n_samples > 1."""
    std = (0.5 * logvar).exp()
    if n_samples == 1:
        return mu + std * torch.randn_like(std)
    eps = torch.randn((n_samples, *mu.shape), dtype=mu.dtype, device=mu.device)
    return mu + std * eps


def conv_encoder(in_channels: int, channels: Sequence[int] = (32, 64)) -> nn.Sequential:
    """Stride-2 4x4 convolutions ``(B, C, H, W) -> (B, channels[-1], H / 2^n, W / 2^n)`` with ReLUs,
    the small conv body of the book's image VAEs (``n = len(channels)``; H and W must divide by 2^n)."""
    if in_channels <= 0 or not channels or any(c <= 0 for c in channels):
        raise ValueError(f"channel counts must be positive, got in={in_channels}, channels={list(channels)}")
    layers: list[nn.Module] = []
    for a, b in zip([in_channels, *channels[:-1]], channels):
        layers += [nn.Conv2d(a, b, kernel_size=4, stride=2, padding=1), nn.ReLU()]
    return nn.Sequential(*layers)


def conv_decoder(out_channels: int, channels: Sequence[int] = (32, 64)) -> nn.Sequential:
    """The mirror of :func:`conv_encoder`: transposed convolutions that double H and W per layer,
    ``(B, channels[-1], h, w) -> (B, out_channels, h 2^n, w 2^n)``, ReLUs between, linear output."""
    if out_channels <= 0 or not channels or any(c <= 0 for c in channels):
        raise ValueError(f"channel counts must be positive, got out={out_channels}, channels={list(channels)}")
    widths = [*reversed(channels), out_channels]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.ConvTranspose2d(a, b, kernel_size=4, stride=2, padding=1))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)
