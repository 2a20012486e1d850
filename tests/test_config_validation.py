"""Every config dataclass of ``infobounds.models`` checks its fields when it is built (issue 20).

The config classes are found by introspection (every dataclass of ``infobounds.models.*`` whose
name ends with ``Config``), so a new model's config is tested without being listed here. The
default must build; then, for each numeric field (a number, or a tuple of numbers), a value the
field cannot take must raise a ``ValueError`` that names the field:

* a negative number (or a tuple with a negative entry) for every field, unless listed in
  ``SIGNED`` (a shift of a log-std may be any real number);
* zero as well for sizes and rates (learning rates, dimensions, widths, shapes, sample counts),
  unless listed in ``ZERO_ALLOWED`` (no local code, no noise, no learning-rate decay);
* 1.5 for probabilities and Adam's betas (``PROBABILITIES``);
* a tuple of the wrong length where the length is fixed (``FIXED_LENGTH``);
* a string field not in its set of choices.

The estimators' and metrics' configs with numeric fields are checked by the same rules
(``OTHER_CONFIGS``), and so is :class:`infobounds.core.OptimizerConfig`, the optimiser settings of
every player, which every config holds in its ``optim`` or ``<player>_optim`` fields; NaN and
infinities are refused in each of its numeric fields as well.
"""

from __future__ import annotations

import dataclasses
import importlib
import numbers
import pkgutil
import re

import pytest

import infobounds.models
from infobounds.core import OptimizerConfig

SIGNED = {"std_shift", "min_log_std"}  # any real number
ZERO_ALLOWED = {"local_dim", "noise_dim", "n_continuous", "decay_every", "pca_components", "anneal_steps",
                "ci_anneal_steps", "alpha", "beta", "gamma", "weight", "lam", "gp_weight", "penalty_weight",
                "weight_decay", "coef_w", "coef_d", "coef_entropy", "supervision_weight", "jmvae_alpha",
                "lambda_categorical", "lambda_continuous", "unpaired_weight", "cycle_weight", "ci_weight",
                "reverse_weight", "cond_weight", "noise_std", "projection_weight", "reconstruction_weight",
                "gammas", "seed", "alpha_momentum", "betas"}
PROBABILITIES = {"betas", "center_momentum", "alpha_momentum", "decay"}
FIXED_LENGTH = {"betas": 2, "gammas": 3}
# Fields whose string value is free (a data set's name), not a choice from a set.
FREE_STRINGS = {"data"}

OTHER_CONFIGS = [("infobounds.core", "OptimizerConfig"),
                 ("infobounds.estimators.coherence_classifiers", "ClassifierRecipe"),
                 ("infobounds.metrics.frechet", "FeatureClassifierConfig"),
                 ("infobounds.bounds.rate_distortion", "DualBoundConfig")]


def _model_configs() -> list[type]:
    found = []
    for info in pkgutil.iter_modules(infobounds.models.__path__):
        module = importlib.import_module(f"infobounds.models.{info.name}")
        for name, obj in vars(module).items():
            if (isinstance(obj, type) and dataclasses.is_dataclass(obj) and name.endswith("Config")
                    and obj.__module__ == module.__name__):
                found.append(obj)
    return sorted(found, key=lambda c: (c.__module__, c.__name__))


def _other_configs() -> list[type]:
    return [getattr(importlib.import_module(module), name) for module, name in OTHER_CONFIGS]


CONFIGS = _model_configs() + _other_configs()


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _bad_values(name: str, default) -> list:
    """The values of field ``name`` (default ``default``) that its config must reject."""
    if _is_number(default):
        bad = [] if name in SIGNED else [type(default)(-1)]
        if name not in ZERO_ALLOWED and name not in SIGNED:
            bad.append(type(default)(0))
        if name in PROBABILITIES:
            bad.append(1.5)
        return bad
    if isinstance(default, tuple) and default and all(_is_number(v) for v in default):
        bad = []
        if name not in SIGNED:
            bad.append((type(default[0])(-1),) + default[1:])
        if name not in ZERO_ALLOWED and name not in SIGNED:
            bad.append((type(default[0])(0),) + default[1:])
        if name in PROBABILITIES:
            bad.append((1.5,) + default[1:])
        if name in FIXED_LENGTH:
            bad.append(default + default[-1:])
        return bad
    if isinstance(default, str) and name not in FREE_STRINGS:
        return ["no-such-choice"]
    return []


def _cases() -> list:
    cases = []
    for config in CONFIGS:
        default = config()
        for f in dataclasses.fields(config):
            for bad in _bad_values(f.name, getattr(default, f.name)):
                cases.append(pytest.param(config, f.name, bad, id=f"{config.__name__}.{f.name}={bad!r}"))
    return cases


def test_configs_are_found():
    names = {c.__name__ for c in CONFIGS}
    assert {"VAEConfig", "VIBConfig", "GANConfig", "WynerConfig", "TEBConfig", "PredictorConfig"} <= names
    assert len(CONFIGS) >= 25


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.__name__)
def test_default_config_is_valid(config):
    config()


@pytest.mark.parametrize("config", [c for c in CONFIGS if hasattr(c, "paper")], ids=lambda c: c.__name__)
def test_paper_preset_is_valid(config):
    config.paper()


@pytest.mark.parametrize("config, name, bad", _cases())
def test_bad_value_is_rejected_by_name(config, name, bad):
    with pytest.raises(ValueError, match=re.escape(name)):
        config(**{name: bad})


@pytest.mark.parametrize("name, bad", [("lr", float("nan")), ("lr", float("inf")), ("betas", (float("nan"), 0.999)),
                                       ("betas", (0.9, 1.0)), ("betas", [0.9, 0.999]), ("weight_decay", float("nan")),
                                       ("decay", float("nan")), ("decay_every", 2.5), ("decay_every", True)])
def test_optimizer_config_rejects_non_finite_and_ill_typed_values_by_name(name, bad):
    with pytest.raises(ValueError, match=rf"OptimizerConfig: {name} must .*, got {re.escape(repr(bad))}"):
        OptimizerConfig(**{name: bad})


def test_every_optimiser_setting_is_an_optimizer_config():
    """No config keeps a learning rate, betas or a decay of its own beside its OptimizerConfigs."""
    ad_hoc = re.compile(r"(^|_)(lr|betas|weight_decay|decay|decay_every)($|_)")
    for config in CONFIGS:
        if config is OptimizerConfig:
            continue
        names = [f.name for f in dataclasses.fields(config) if ad_hoc.search(f.name)]
        assert not names, f"{config.__name__} has optimiser settings outside an OptimizerConfig: {names}"
        for f in dataclasses.fields(config):
            if f.name == "optim" or f.name.endswith("_optim"):
                assert isinstance(getattr(config(), f.name), OptimizerConfig), f"{config.__name__}.{f.name}"
