"""Shared hyper-parameter checks (infobounds.validation) and the configs that use them: each bad value
is named in the error with the value that broke the rule."""

import pytest

from infobounds.models.club import CLUBConfig
from infobounds.models.ctrl import CTRLConfig
from infobounds.models.farconvae import AdversarialConfig, FarconVAEConfig
from infobounds.models.gan import GANConfig
from infobounds.models.gwae import GWAEConfig
from infobounds.models.invariance import InvarianceConfig
from infobounds.models.vae import VAEConfig
from infobounds.models.wae import WAEConfig, WAEGANConfig
from infobounds.validation import (require_at_least, require_choice, require_non_empty, require_non_negative,
                                   require_positive)


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


@pytest.mark.parametrize("make, message", [
    (lambda: WAEConfig(lr=0.0), "lr must be positive"),
    (lambda: WAEConfig(kernel_scales=()), "kernel_scales must not be empty"),
    (lambda: WAEConfig(output="tanh"), "unknown output 'tanh'"),
    (lambda: WAEGANConfig(disc_hidden=()), "disc_hidden must not be empty"),
    (lambda: GWAEConfig(prior="vamp"), "unknown prior 'vamp'"),
    (lambda: GWAEConfig(gw_exponent=3), "unknown gw_exponent 3"),
    (lambda: GWAEConfig(coef_entropy=-1.0), "coef_entropy must be >= 0"),
    (lambda: CLUBConfig(n_sensitive=1), "n_sensitive must be >= 2"),
    (lambda: CLUBConfig(lr_adversary=-1.0), "lr_adversary must be positive"),
    (lambda: InvarianceConfig(criterion="coral"), "unknown criterion 'coral'"),
    (lambda: InvarianceConfig(discriminator_steps=0), "discriminator_steps must be >= 1"),
    (lambda: FarconVAEConfig(kernel="cauchy"), "unknown kernel 'cauchy'"),
    (lambda: AdversarialConfig(adversary_hidden=(0,)), "adversary_hidden must be positive"),
    (lambda: VAEConfig(conv_channels=(32, 0)), "conv_channels must be positive"),
    (lambda: VAEConfig(decoder="poisson"), "unknown decoder 'poisson'"),
    (lambda: GANConfig(lr_critic=0.0), "lr_critic must be positive"),
    (lambda: GANConfig(critic_steps=0), "critic_steps must be >= 1"),
    (lambda: CTRLConfig(decoder_steps=0), "decoder_steps must be >= 1"),
    (lambda: CTRLConfig(output="tanh"), "unknown output 'tanh'"),
])
def test_configs_reject_bad_values_by_name(make, message):
    with pytest.raises(ValueError, match=message):
        make()
