"""Shared hyper-parameter checks (infobounds.validation) and the configs that use them: each bad value
is named in the error with the value that broke the rule."""

import pytest

from infobounds.core import OptimizerConfig
from infobounds.models.club import CLUBConfig
from infobounds.models.ctrl import CTRLConfig
from infobounds.models.farconvae import AdversarialConfig, FarconVAEConfig
from infobounds.models.gan import GANConfig
from infobounds.models.gwae import GWAEConfig
from infobounds.models.invariance import InvarianceConfig
from infobounds.models.st_rkm import StRKMConfig
from infobounds.models.vae import VAEConfig
from infobounds.models.vib import VIBConfig
from infobounds.models.wae import WAEConfig, WAEGANConfig
import numpy as np
import torch

from infobounds.validation import (require_at_least, require_choice, require_finite, require_non_empty,
                                   require_non_negative, require_positive)


def test_rules_name_the_field_and_the_value():
    require_positive(lr=1e-3, hidden=(4, 8), empty=())
    require_non_negative(beta=0.0)
    require_at_least(2, n_classes=2)
    require_choice("prior", "mixture", ("gaussian", "mixture"))
    require_non_empty(scales=(1.0,))
    with pytest.raises(ValueError, match=r"lr must be positive, got 0"):
        require_positive(latent_dim=3, lr=0)
    with pytest.raises(ValueError, match=r"hidden must be positive, got \(4, -1\)"):
        require_positive(hidden=(4, -1))
    with pytest.raises(ValueError, match=r"beta must be >= 0, got -0.5"):
        require_non_negative(beta=-0.5)
    with pytest.raises(ValueError, match=r"n_classes must be >= 2, got 1"):
        require_at_least(2, n_classes=1)
    with pytest.raises(ValueError, match=r"unknown prior 'vamp': choose one of gaussian, mixture"):
        require_choice("prior", "vamp", ("gaussian", "mixture"))
    with pytest.raises(ValueError, match=r"scales must not be empty"):
        require_non_empty(scales=())


def test_nan_breaks_every_rule_and_finite_names_nan_and_inf():
    nan = float("nan")
    require_finite(lr=1e-3, widths=(1.0, 2.0), scores=torch.ones(3), grid=np.zeros(2))
    for rule in (require_positive, require_non_negative):
        with pytest.raises(ValueError, match=r"slope must be .*, got nan"):
            rule(slope=nan)
    with pytest.raises(ValueError, match=r"max_iter must be >= 1, got nan"):
        require_at_least(1, max_iter=nan)
    with pytest.raises(ValueError, match=r"dim must be finite, got inf"):
        require_finite(dim=float("inf"))
    with pytest.raises(ValueError, match=r"scales must be finite, got \(1.0, nan\)"):
        require_finite(scales=(1.0, nan))
    with pytest.raises(ValueError, match=r"variances must be positive, got tensor"):
        require_positive(variances=torch.tensor([1.0, -2.0]))
    with pytest.raises(ValueError, match=r"grid must be finite"):
        require_finite(grid=np.array([[0.0, np.inf]]))
    with pytest.raises(ValueError, match=r"beta must be finite, got None"):
        require_finite(beta=None)


@pytest.mark.parametrize("make, message", [
    (lambda: WAEConfig(optim=OptimizerConfig(lr=0.0)), r"OptimizerConfig: lr must be a positive finite number, got 0.0"),
    (lambda: WAEConfig(kernel_scales=()), "kernel_scales must not be empty"),
    (lambda: WAEConfig(output="tanh"), "unknown output 'tanh'"),
    (lambda: WAEGANConfig(disc_hidden=()), "disc_hidden must not be empty"),
    (lambda: GWAEConfig(prior="vamp"), "unknown prior 'vamp'"),
    (lambda: GWAEConfig(gw_exponent=3), "unknown gw_exponent 3"),
    (lambda: GWAEConfig(coef_entropy=-1.0), "coef_entropy must be >= 0"),
    (lambda: CLUBConfig(n_sensitive=1), "n_sensitive must be >= 2"),
    (lambda: CLUBConfig(adversary_optim=OptimizerConfig(lr=-1.0)), r"lr must be a positive finite number, got -1.0"),
    (lambda: InvarianceConfig(criterion="coral"), "unknown criterion 'coral'"),
    (lambda: InvarianceConfig(discriminator_steps=0), "discriminator_steps must be >= 1"),
    (lambda: InvarianceConfig(vib=VIBConfig(optim=OptimizerConfig(lr=1e-2))), r"vib.optim must be the default"),
    (lambda: FarconVAEConfig(kernel="cauchy"), "unknown kernel 'cauchy'"),
    (lambda: AdversarialConfig(adversary_hidden=(0,)), "adversary_hidden must be positive"),
    (lambda: VAEConfig(conv_channels=(32, 0)), "conv_channels must be positive"),
    (lambda: VAEConfig(decoder="poisson"), "unknown decoder 'poisson'"),
    (lambda: GANConfig(critic_optim=OptimizerConfig(lr=1e-3, betas=(0.5, 1.0))),
     r"betas must be two numbers in \[0, 1\), got \(0.5, 1.0\)"),
    (lambda: StRKMConfig(stiefel_optim=OptimizerConfig(weight_decay=1e-3)), r"stiefel_optim sets only U's rate and betas"),
    (lambda: GANConfig(critic_steps=0), "critic_steps must be >= 1"),
    (lambda: CTRLConfig(decoder_steps=0), "decoder_steps must be >= 1"),
    (lambda: CTRLConfig(output="tanh"), "unknown output 'tanh'"),
])
def test_configs_reject_bad_values_by_name(make, message):
    with pytest.raises(ValueError, match=message):
        make()
