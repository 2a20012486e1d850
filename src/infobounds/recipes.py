"""Training recipes: one for every model the chapters train, for ``python -m infobounds train MODEL``
and for courses.

A recipe builds, for a profile, what its chapter's experiment trains: the model as the chapter
configures it, the data set (the chapter's quick data in the ``quick`` profile, the paper's setting in
``full``), a stream of training batches and an evaluation that returns final metrics on held-out data.
Chapters configure their models themselves; recipes give a course or the command line the same
defaults without a notebook::

    from infobounds import get_profile
    from infobounds.recipes import RECIPES
    from infobounds.training import fit

    setup = RECIPES["factorvae"](get_profile("quick"), batch_size=64, seed=0)
    fit(setup.model, setup.stream, steps=1000)
    setup.evaluate()  # {"test/vae/distortion": ..., "test/vae/rate": ..., ...}

Every evaluation reports the model's own loss terms and metrics on held-out batches
(:func:`held_out_losses`, named ``test/<player>/<term>``), plus the model's ``evaluate`` where it has
one and the chapter's measure where it is cheap (accuracy, MCC). ``max_examples`` caps every data set
a recipe loads (the unit tests train each recipe for two steps on a few examples).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import torch

from infobounds.core import OptimizerConfig
from infobounds.data import BatchStream, load
from infobounds.profiles import Profile
from infobounds.validation import require_positive


@dataclass
class Setup:
    """What ``train`` needs: a model, its stream of training batches, the number of steps in one pass
    over the training data, and the evaluation to run at the end (a dict of floats)."""

    model: torch.nn.Module
    stream: BatchStream
    steps_per_epoch: int
    evaluate: Callable[[], dict]


Build = Callable[[Profile, int, int, "int | None"], Setup]


@dataclass(frozen=True)
class Recipe:
    """How to train ``model`` (a key of :data:`infobounds.models.MODELS`) as chapter ``chapter`` does.

    ``data`` says what each profile trains on. Calling the recipe builds the :class:`Setup`.
    """

    model: str
    chapter: str
    data: Mapping[str, str]
    build: Build

    def __call__(self, profile: Profile, batch_size: int, seed: int, max_examples: int | None = None) -> Setup:
        require_positive(batch_size=batch_size)
        if max_examples is not None:
            require_positive(max_examples=max_examples)
        return self.build(profile, batch_size, seed, max_examples)


# -- shared pieces --------------------------------------------------------------------------------


def _cap(n: int | None, max_examples: int | None) -> int | None:
    """``n`` examples (None: all of them), at most ``max_examples``."""
    if max_examples is None:
        return n
    return max_examples if n is None else min(n, max_examples)


def _floats(values: Mapping) -> dict[str, float]:
    """The single-number entries of ``values`` as floats (arrays of several numbers are left out)."""
    out = {}
    for key, value in values.items():
        try:
            out[str(key)] = float(torch.as_tensor(value).detach().float().cpu().reshape(()))
        except (TypeError, ValueError, RuntimeError):
            continue
    return out


def held_out_losses(model, tensors: tuple[torch.Tensor, ...], batch_size: int = 500,
                    max_batches: int = 4) -> dict[str, float]:
    """Each term and metric of every loss in the model's update schedule, averaged over up to
    ``max_batches`` consecutive held-out batches: ``test/<player>/<name>`` in the units the training
    history logs them (no parameter changes; the model is in eval mode meanwhile)."""
    n = tensors[0].shape[0]
    size = min(batch_size, n)
    sums: dict[str, list[float]] = {}
    was_training = model.training
    model.eval()
    try:
        for start in range(0, min(n - size, size * (max_batches - 1)) + 1, size):
            batch = tuple(t[start:start + size] for t in tensors)
            for update in model.schedule():
                terms = update.loss(batch)  # with gradients on: some terms are gradient penalties
                for name, value in {**terms.terms, **terms.metrics}.items():
                    sums.setdefault(f"test/{update.player}/{name}", []).append(float(value.detach()))
    finally:
        model.train(was_training)
        model.zero_grad(set_to_none=True)
    return {key: sum(v) / len(v) for key, v in sums.items()}


def _setup(model, profile: Profile, train: tuple, test: tuple, batch_size: int, seed: int,
           extra: Callable[[], Mapping] | None = None) -> Setup:
    """The :class:`Setup` of ``model`` on ``train`` tensors, evaluated on ``test`` tensors."""
    model = model.to(profile.device)

    def evaluate() -> dict[str, float]:
        metrics = held_out_losses(model, test)
        if extra is not None:
            metrics.update(_floats(extra()))
        return metrics

    return Setup(model, BatchStream(*train, batch_size=batch_size, seed=seed),
                 max(1, train[0].shape[0] // batch_size), evaluate)


def _accuracy(predicted: torch.Tensor, labels: torch.Tensor) -> float:
    return float((predicted == labels).float().mean())


# -- 02 information bottleneck, 05 distribution shift ---------------------------------------------------


def _vib(profile, batch_size, seed, cap):
    from infobounds.models.vib import VIB, VIBConfig

    data = profile.pick(quick="fashion_mnist", full="mnist")
    train = load(data, "train", n=_cap(None, cap), device=profile.device)
    test = load(data, "test", n=_cap(profile.pick(quick=5000, full=None), cap), device=profile.device)
    config = VIBConfig() if profile.is_quick else VIBConfig.paper(steps_per_epoch=max(1, len(train) // batch_size))
    model = VIB(config).to(profile.device)
    return _setup(model, profile, (train.flat, train.y), (test.flat, test.y), batch_size, seed,
                  lambda: model.evaluate(test.flat, test.y))


def _invariant_classifier(profile, batch_size, seed, cap):
    from infobounds.data.colored import load_colored, load_environments
    from infobounds.models.invariance import InvarianceConfig, InvariantClassifier
    from infobounds.models.vib import VIBConfig

    cfg = profile.pick(quick=dict(n_per_env=5000, n_test=5000, hidden=(128,), anneal=100, irm_weight=1e3),
                       full=dict(n_per_env=25000, n_test=10000, hidden=(390, 390), anneal=190, irm_weight=91257.0))
    colours = dict(binary=True, label_noise=0.25, resolution=14, device=profile.device)
    train = load_environments([0.9, 0.8], _cap(cfg["n_per_env"], cap), seed=0, **colours)
    test = load_colored(split="test", n=_cap(cfg["n_test"], cap), bias=0.1, seed=1, **colours)  # colour flipped
    vib = VIBConfig(input_dim=train.flat.shape[1], hidden=cfg["hidden"], latent_dim=32, n_classes=2, beta=0.0)
    model = InvariantClassifier(InvarianceConfig(criterion="irm", vib=vib, penalty_weight=cfg["irm_weight"],
                                                 anneal_steps=cfg["anneal"]))
    return _setup(model, profile, (train.flat, train.y, train.environment),
                  (test.flat, test.y, torch.zeros_like(test.y)), batch_size, seed,
                  lambda: model.evaluate(test.flat, test.y))


# -- 03 bottleneck family ------------------------------------------------------------------------------


def _club(profile, batch_size, seed, cap):
    from infobounds.data.colored import load_colored
    from infobounds.models.club import CLUB, CLUBConfig

    cfg = profile.pick(quick=dict(base="fashion_mnist", resolution=14, n_train=10000, n_test=4000),
                       full=dict(base="mnist", resolution=28, n_train=None, n_test=None))
    colours = dict(base=cfg["base"], n_colors=4, bias=0.9, resolution=cfg["resolution"], device=profile.device)
    train = load_colored(split="train", n=_cap(cfg["n_train"], cap), seed=0, **colours)
    test = load_colored(split="test", n=_cap(cfg["n_test"], cap), seed=1, **colours)
    model = CLUB(CLUBConfig(input_dim=train.flat.shape[1], n_sensitive=4, beta=1e-2, alpha=1.0)).to(profile.device)
    model.set_sensitive_marginal(train.s)
    return _setup(model, profile, (train.flat, train.y, train.s), (test.flat, test.y, test.s), batch_size, seed,
                  lambda: model.evaluate(test.flat, test.y, test.s))


# -- 04 transfer entropy bottleneck --------------------------------------------------------------------


def _transfer_windows(profile, cap):
    from infobounds.data.timeseries import load_coupled_ar

    cfg = profile.pick(quick=dict(lag=1, n_train=20_000, n_test=20_000, steps=800, hidden=(32, 32)),
                       full=dict(lag=5, n_train=200_000, n_test=100_000, steps=20_000, hidden=(128, 128)))
    train = load_coupled_ar("train", n=_cap(cfg["n_train"], cap), lag=cfg["lag"], device=profile.device)
    test = load_coupled_ar("test", n=_cap(cfg["n_test"], cap), lag=cfg["lag"], device=profile.device)
    # The chapter halves the rate four times per run.
    common = dict(source_dim=cfg["lag"], target_dim=cfg["lag"], hidden=cfg["hidden"],
                  optim=OptimizerConfig(lr=3e-3, decay=0.5, decay_every=cfg["steps"] // 4))
    return train, test, common


def _teb(profile, batch_size, seed, cap):
    from infobounds.models.teb import TEB, TEBConfig

    train, test, common = _transfer_windows(profile, cap)
    model = TEB(TEBConfig(beta=1e-2, **common))
    return _setup(model, profile, train.tensors, test.tensors, batch_size, seed,
                  lambda: model.evaluate(*test.tensors))


def _teb_predictor(profile, batch_size, seed, cap):
    from infobounds.models.teb import ConditionalPredictor, PredictorConfig

    train, test, common = _transfer_windows(profile, cap)
    model = ConditionalPredictor(PredictorConfig(use_source=True, **common))
    return _setup(model, profile, train.tensors, test.tensors, batch_size, seed,
                  lambda: model.evaluate(*test.tensors))


# -- 06 VAE rate-distortion ----------------------------------------------------------------------------


def _vae(profile, batch_size, seed, cap):
    from infobounds.models.vae import VAE, VAEConfig

    cfg = profile.pick(quick=dict(n_train=10_000, n_test=2_000, iwae=0, model=dict(hidden=(256,), latent_dim=16)),
                       full=dict(n_train=None, n_test=None, iwae=1000,
                                 model=dict(body="conv", conv_channels=(32, 64), latent_dim=32)))
    train = load("fashion_mnist", "train", n=_cap(cfg["n_train"], cap), device=profile.device)
    test = load("fashion_mnist", "test", n=_cap(cfg["n_test"], cap), device=profile.device)
    x_train, x_test = (train.x > 0.5).float(), (test.x > 0.5).float()  # static binarisation, as the chapter
    model = VAE(VAEConfig(beta=1.0, **cfg["model"]))
    return _setup(model, profile, (x_train,), (x_test,), batch_size, seed,
                  lambda: model.evaluate(x_test, iwae_samples=cfg["iwae"]))


# -- 08 GANs, 09 InfoGAN, 10 Deep InfoMax ----------------------------------------------------------------


def _gan(profile, batch_size, seed, cap):
    from infobounds.models.gan import GAN, GANConfig

    cfg = profile.pick(quick=dict(n_train=20_000, channels=(16, 32), latent_dim=64, lr=1e-3),
                       full=dict(n_train=None, channels=(64, 128), latent_dim=100, lr=2e-4))
    train = load("fashion_mnist", "train", n=_cap(cfg["n_train"], cap), device=profile.device)
    test = load("fashion_mnist", "test", n=_cap(2000, cap), seed=1, device=profile.device)
    adam = OptimizerConfig(lr=cfg["lr"], betas=(0.5, 0.999))
    model = GAN(GANConfig.dcgan(channels=cfg["channels"], latent_dim=cfg["latent_dim"], generator_optim=adam,
                                critic_optim=adam))
    return _setup(model, profile, (train.x,), (test.x,), batch_size, seed)


def _infogan(profile, batch_size, seed, cap):
    from infobounds.models.infogan import InfoGAN, InfoGANConfig

    data = profile.pick(quick="fashion_mnist", full="mnist")
    train = load(data, "train", n=_cap(profile.pick(quick=20_000, full=None), cap), device=profile.device)
    test = load(data, "test", n=_cap(profile.pick(quick=5000, full=None), cap), device=profile.device)
    model = InfoGAN(InfoGANConfig() if profile.is_quick else InfoGANConfig.paper())
    return _setup(model, profile, (train.x,), (test.x,), batch_size, seed)


def _dim_data(profile, cap):
    from infobounds.models.dim import DIMConfig

    data = profile.pick(quick="fashion_mnist", full="cifar10")
    train = load(data, "train", n=_cap(profile.pick(quick=20_000, full=None), cap), device=profile.device)
    test = load(data, "test", n=_cap(profile.pick(quick=4000, full=None), cap), device=profile.device)
    config = profile.pick(quick=DIMConfig(), full=DIMConfig(in_channels=3, image_size=32, channels=(64, 128, 256),
                                                            code_dim=64, embed_dim=512, gamma=0.1,
                                                            encoder_optim=OptimizerConfig(lr=1e-4)))
    return train, test, config


def _dim(profile, batch_size, seed, cap):
    from infobounds.models.dim import DIM

    train, test, config = _dim_data(profile, cap)
    return _setup(DIM(config), profile, (train.x,), (test.x,), batch_size, seed)


def _dim_supervised(profile, batch_size, seed, cap):
    from infobounds.models.dim import SupervisedEncoder

    train, test, config = _dim_data(profile, cap)
    model = SupervisedEncoder(config, n_classes=len(train.classes))
    return _setup(model, profile, (train.x, train.y), (test.x, test.y), batch_size, seed)


# -- 11 Wasserstein autoencoders -------------------------------------------------------------------------


def _banana(profile, cap):
    """The chapter's first experiment: a 2-d banana embedded isometrically in 10 dimensions."""
    from infobounds.data.sources import banana_source

    cfg = profile.pick(quick=dict(n_train=4000, n_test=400, hidden=(64, 64)),
                       full=dict(n_train=50_000, n_test=2000, hidden=(128, 128)))
    gen = torch.Generator().manual_seed(0)
    embed, _ = torch.linalg.qr(torch.randn(10, 2, generator=gen))  # (10, 2), orthonormal columns
    x_train = banana_source(_cap(cfg["n_train"], cap), gen) @ embed.T
    x_test = banana_source(_cap(cfg["n_test"], cap), gen) @ embed.T
    small = dict(input_shape=(10,), hidden=cfg["hidden"], latent_dim=2, output="identity")
    return x_train.to(profile.device), x_test.to(profile.device), small


def _wae_mmd(profile, batch_size, seed, cap):
    from infobounds.models.wae import WAEConfig, WAEMMD

    x_train, x_test, small = _banana(profile, cap)
    model = WAEMMD(WAEConfig(**small, lam=10.0))
    return _setup(model, profile, (x_train,), (x_test,), batch_size, seed, lambda: model.evaluate(x_test))


def _fashion_flat(profile, cap):
    """The chapter's second experiment: Fashion-MNIST images as vectors."""
    train = load("fashion_mnist", "train", n=_cap(profile.pick(quick=10_000, full=None), cap), device=profile.device)
    test = load("fashion_mnist", "test", n=_cap(profile.pick(quick=400, full=2000), cap), device=profile.device)
    return train.flat, test.flat


def _gwae(profile, batch_size, seed, cap):
    from infobounds.models.gwae import GWAE, GWAEConfig

    x_train, x_test = _fashion_flat(profile, cap)
    return _setup(GWAE(GWAEConfig(hidden=(256,), latent_dim=8)), profile, (x_train,), (x_test,), batch_size, seed)


def _wae_gan(profile, batch_size, seed, cap):
    from infobounds.models.wae import WAEGAN, WAEGANConfig

    x_train, x_test = _fashion_flat(profile, cap)
    model = WAEGAN(WAEGANConfig(hidden=(256,), latent_dim=8))
    return _setup(model, profile, (x_train,), (x_test,), batch_size, seed, lambda: model.evaluate(x_test))


def _aae(profile, batch_size, seed, cap):
    from infobounds.models.aae import AAE, AAEConfig

    x_train, x_test = _fashion_flat(profile, cap)
    model = AAE(AAEConfig(hidden=(256,), latent_dim=8))
    return _setup(model, profile, (x_train,), (x_test,), batch_size, seed, lambda: model.evaluate(x_test))


# -- 12 closed-loop transcription ------------------------------------------------------------------------


def _ctrl(profile, batch_size, seed, cap):
    from infobounds.models.ctrl import CTRL, CTRLConfig

    cfg = profile.pick(quick=dict(data="fashion_mnist", classes=[0, 1, 7, 8], n_train=20_000, n_test=3000),
                       full=dict(data="mnist", classes=list(range(10)), n_train=None, n_test=None))
    classes = torch.tensor(cfg["classes"], device=profile.device)

    def select(split: str, n: int | None):
        data = load(cfg["data"], split, n=n, device=profile.device)
        keep = torch.isin(data.y, classes)
        x, y = data.x[keep], torch.searchsorted(classes, data.y[keep])  # labels 0..len(classes)-1
        return x[:_cap(len(x), cap)], y[:_cap(len(x), cap)]

    train, test = select("train", cfg["n_train"]), select("test", cfg["n_test"])
    config = profile.pick(quick=CTRLConfig(n_classes=4, feature_dim=16, hidden=(256,)), full=CTRLConfig.paper())
    model = CTRL(config).to(profile.device)
    if config.pca_components:
        model.set_principal_basis(train[0])
    return _setup(model, profile, train, test, batch_size, seed)


# -- 13 FactorVAE, 14 Stiefel RKM, 15 CMI disentanglement ----------------------------------------------------


def _shapes(profile, cap, n_test: int = 2000):
    """The procedural shapes of chapters 13 and 14: 32 px and fewer levels (quick), the dSprites grid
    at 64 px (full); train and test are a fixed 80/20 partition of the factor combinations."""
    cfg = profile.pick(quick=dict(resolution=32, levels=dict(orientation=10, pos_x=16, pos_y=16)),
                       full=dict(resolution=64, levels={}))
    train = load("shapes", "train", n=_cap(None, cap), device=profile.device, **cfg)
    test = load("shapes", "test", n=_cap(n_test, cap), seed=1, device=profile.device, **cfg)
    return train, test, (1, cfg["resolution"], cfg["resolution"])


def _factorvae(profile, batch_size, seed, cap):
    from infobounds.models.factorvae import FactorVAE, FactorVAEConfig
    from infobounds.models.vae import VAEConfig

    train, test, size = _shapes(profile, cap)
    if profile.is_quick:
        config = FactorVAEConfig(vae=VAEConfig(input_shape=size, hidden=(128, 128), latent_dim=10, beta=1.0,
                                               optim=OptimizerConfig(lr=1e-3)),
                                 gamma=35.0, discriminator_hidden=(128, 128),
                                 discriminator_optim=OptimizerConfig(lr=1e-3, betas=(0.5, 0.9)))
    else:
        config = FactorVAEConfig.paper(gamma=40.0)
    model = FactorVAE(config)
    return _setup(model, profile, (train.x,), (test.x,), batch_size, seed, lambda: model.evaluate(test.x))


def _st_rkm(profile, batch_size, seed, cap):
    from infobounds.models.st_rkm import StRKM, StRKMConfig
    from infobounds.optim import CAYLEY_BETAS

    train, test, size = _shapes(profile, cap)
    cfg = profile.pick(quick=dict(hidden=(128, 128), lr=1e-3, lr_stiefel=1e-3),
                       full=dict(hidden=(1024, 512), lr=2e-4, lr_stiefel=1e-4))
    model = StRKM(StRKMConfig(input_shape=size, feature_dim=50, latent_dim=10, hidden=cfg["hidden"],
                              optim=OptimizerConfig(lr=cfg["lr"], betas=CAYLEY_BETAS),
                              stiefel_optim=OptimizerConfig(lr=cfg["lr_stiefel"], betas=CAYLEY_BETAS)))
    return _setup(model, profile, (train.x,), (test.x,), batch_size, seed, lambda: model.evaluate(test.x))


def _cmi(profile, batch_size, seed, cap):
    from infobounds.data.shapes import Shapes
    from infobounds.models.cmi import SubspaceClassifier, SubspaceConfig

    cfg = profile.pick(quick=dict(resolution=16, levels=dict(orientation=8, pos_x=3, pos_y=3), n_train=8000,
                                  n_test=4000, hidden=(128, 64)),
                       full=dict(resolution=64, levels=dict(pos_x=3, pos_y=3), n_train=100_000, n_test=20_000,
                                 hidden=(512, 256)))
    spec = Shapes.make(cfg["resolution"], **cfg["levels"])
    cols = [spec.factor_names.index(name) for name in ("pos_x", "pos_y")]

    def split(n, rho, data_seed):  # the two positions correlated with coefficient rho
        d = spec.sample(_cap(n, cap), seed=data_seed, correlated=("pos_x", "pos_y"), rho=rho, device=profile.device)
        return d.flat, d.codes[:, cols[0]], d.codes[:, cols[1]]

    train, shifted = split(cfg["n_train"], 0.9, 0), split(cfg["n_test"], -0.9, 2)
    model = SubspaceClassifier(SubspaceConfig(input_dim=cfg["resolution"] ** 2, hidden=cfg["hidden"], penalty="cmi",
                                              weight=1.0))
    return _setup(model, profile, train, shifted, batch_size, seed)


def _stiefel_pca(profile, batch_size, seed, cap):
    from infobounds.models.stiefel_pca import StiefelPCA

    cfg = profile.pick(quick=dict(ell=50, m=10), full=dict(ell=500, m=50))
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(cfg["ell"], cfg["ell"], generator=gen)
    cov = (a @ a.T / cfg["ell"]).to(profile.device)
    model = StiefelPCA(torch.linalg.qr(torch.randn(cfg["ell"], cfg["m"], generator=gen))[0].to(profile.device))
    top = float(torch.linalg.eigvalsh(cov)[-cfg["m"]:].sum())  # the Ky Fan maximum of tr(U^T C U)
    model = model.to(profile.device)
    # One "example", the matrix C: every step sees it, whatever the batch size.
    return Setup(model, BatchStream(cov[None], batch_size=1, seed=seed), 1,
                 lambda: {"trace": float(model.trace(cov).detach()), "ky_fan_maximum": top,
                          "orthogonality_error": float(model.loss((cov[None],)).metrics["orthogonality_error"])})


# -- 16 identifiability ----------------------------------------------------------------------------------


def _mixture_sources(profile, seed, cap):
    """Sources from a Gaussian mixture (the cluster is the auxiliary label u), mixed by a random
    invertible MLP; train and test are draws from the same mixture and mixing."""
    from infobounds.data.nonlinear_ica import SourceData, gaussian_mixture_sources

    cfg = profile.pick(quick=dict(dim=4, n_components=10, n=5000, n_test=1000, hidden=(64, 64), lr=8e-3),
                       full=dict(dim=5, n_components=12, n=50_000, n_test=10_000, hidden=(256, 256), lr=1e-3))
    n, n_test = _cap(cfg["n"], cap), _cap(cfg["n_test"], cap)
    data, _ = gaussian_mixture_sources(n + n_test, dim=cfg["dim"], n_components=cfg["n_components"], seed=seed)
    data = data.to(profile.device)
    part = lambda sl: SourceData(data.x[sl], data.s[sl], data.u[sl])  # noqa: E731
    return part(slice(0, n)), part(slice(n, None)), cfg


def _mixture_vae_config(cfg):
    from infobounds.models.vae import VAEConfig

    return VAEConfig(input_shape=(cfg["dim"],), hidden=cfg["hidden"], activation="elu", latent_dim=cfg["dim"],
                     decoder="gaussian", decoder_std=0.1, learn_decoder_std=True, prior="mixture",
                     prior_components=cfg["n_components"], optim=OptimizerConfig(lr=cfg["lr"]))


def _gmvae(profile, batch_size, seed, cap):
    from infobounds.metrics.mcc import mcc
    from infobounds.models.gmvae import GMVAE, GMVAEConfig

    train, test, cfg = _mixture_sources(profile, seed, cap)
    model = GMVAE(GMVAEConfig(vae=_mixture_vae_config(cfg)))

    def sources_recovered():
        with torch.no_grad():
            return {"mcc": mcc(model.encode(test.x)[0].cpu(), test.s.cpu())}

    return _setup(model, profile, (train.x,), (test.x,), batch_size, seed, sources_recovered)


def _ivae(profile, batch_size, seed, cap):
    from infobounds.metrics.mcc import mcc
    from infobounds.models.ivae import IVAE, IVAEConfig

    train, test, cfg = _mixture_sources(profile, seed, cap)
    model = IVAE(IVAEConfig(data_dim=cfg["dim"], latent_dim=cfg["dim"], n_aux=cfg["n_components"], hidden=cfg["hidden"],
                            optim=OptimizerConfig(lr=cfg["lr"])))

    def sources_recovered():
        with torch.no_grad():
            return {"mcc": mcc(model.encode(test.x, test.u)[0].cpu(), test.s.cpu())}

    return _setup(model, profile, (train.x, train.u), (test.x, test.u), batch_size, seed, sources_recovered)


# -- 17 fair representations ------------------------------------------------------------------------------


def _coloured_binary(profile, cap):
    from infobounds.data.colored import load_colored

    cfg = profile.pick(quick=dict(n_train=6000, n_test=4000, resolution=14, hidden=(256,), latent_dim=8),
                       full=dict(n_train=None, n_test=None, resolution=28, hidden=(512, 512), latent_dim=16))
    common = dict(base="fashion_mnist", binary=True, n_colors=2, resolution=cfg["resolution"], device=profile.device)
    train = load_colored(split="train", n=_cap(cfg["n_train"], cap), bias=0.9, seed=0, **common)
    test = load_colored(split="test", n=_cap(cfg["n_test"], cap), bias=0.5, seed=1, **common)  # balanced
    shared = dict(input_dim=train.flat.shape[1], hidden=cfg["hidden"], latent_dim=cfg["latent_dim"])
    return train, test, shared


def _fair_setup(model, profile, train, test, batch_size, seed):
    return _setup(model, profile, (train.flat, train.y, train.s), (test.flat, test.y, test.s), batch_size, seed,
                  lambda: {"accuracy": _accuracy(model.predict(test.flat, test.s), test.y)})


def _farconvae(profile, batch_size, seed, cap):
    from infobounds.models.farconvae import FarconVAE, FarconVAEConfig

    train, test, shared = _coloured_binary(profile, cap)
    return _fair_setup(FarconVAE(FarconVAEConfig(**shared, kernel="t")), profile, train, test, batch_size, seed)


def _adversarial_fair(profile, batch_size, seed, cap):
    from infobounds.models.farconvae import AdversarialConfig, AdversarialRepresentation

    train, test, shared = _coloured_binary(profile, cap)
    model = AdversarialRepresentation(AdversarialConfig(**shared, lam=1.0))
    return _fair_setup(model, profile, train, test, batch_size, seed)


# -- 18-21 multimodal models: digits paired with garments (quick), MNIST with SVHN (full) ----------------------


def _pairs(profile, cap, **options):
    from infobounds.data.paired import load_paired

    cfg = profile.pick(quick=dict(data="digits_fashion", y_size=14, pairs=4),
                       full=dict(data="mnist_svhn", y_size=None, pairs=20))
    train = load_paired(cfg["data"], "train", pairs_per_image=cfg["pairs"], y_size=cfg["y_size"], n=_cap(None, cap),
                        device=profile.device, **options)
    test = load_paired(cfg["data"], "test", y_size=cfg["y_size"], n=_cap(2000, cap), device=profile.device)
    return train, test


def _paired_setup(model, profile, train, test, batch_size, seed):
    return _setup(model, profile, (train.x, train.y, train.mask.float()), (test.x, test.y, test.mask.float()),
                  batch_size, seed)


def _multimodal_vae(profile, batch_size, seed, cap):
    from infobounds.models.multimodal import MultimodalConfig, MultimodalVAE

    train, test = _pairs(profile, cap)
    model = MultimodalVAE(MultimodalConfig(x_shape=train.shapes[0], y_shape=train.shapes[1],
                                           **profile.pick(quick=dict(latent_dim=16, hidden=(256,)),
                                                          full=dict(latent_dim=20, hidden=(512, 512)))))
    return _paired_setup(model, profile, train, test, batch_size, seed)


def _meme(profile, batch_size, seed, cap):
    from infobounds.models.meme import MEME, MEMEConfig

    train, test = _pairs(profile, cap, missing=0.5, missing_modality="y")  # half the garments unobserved
    model = MEME(MEMEConfig(x_shape=train.shapes[0], y_shape=train.shapes[1], supervision_weight=10.0,
                            **profile.pick(quick=dict(latent_dim=16, hidden=(256,), n_samples=5),
                                           full=dict(latent_dim=20, hidden=(512, 512), n_samples=10))))
    paired = train.complete()
    gen = torch.Generator().manual_seed(seed)
    model.init_pseudo_inputs(paired.x[torch.randperm(len(paired), generator=gen).to(paired.x.device)],
                             paired.y[torch.randperm(len(paired), generator=gen).to(paired.y.device)])
    return _paired_setup(model, profile, train, test, batch_size, seed)


def _mm_gan(profile, batch_size, seed, cap):
    from infobounds.models.mm_gan import MMGANConfig, MultimodalGAN

    train, test = _pairs(profile, cap)
    cfg = profile.pick(quick=dict(latent_dim=16, hidden=(256,), disc_hidden=(128,), lr=5e-4),
                       full=dict(latent_dim=32, hidden=(1024, 1024), disc_hidden=(1024, 1024), lr=2e-4))
    adam = OptimizerConfig(lr=cfg["lr"], betas=(0.5, 0.999))
    model = MultimodalGAN(MMGANConfig(x_shape=train.shapes[0], y_shape=train.shapes[1], output="sigmoid",
                                      latent_dim=cfg["latent_dim"], hidden=cfg["hidden"], disc_hidden=cfg["disc_hidden"],
                                      optim=adam, disc_optim=adam, cycle_weight=1.0))
    return _paired_setup(model, profile, train, test, batch_size, seed)


def _variational_wyner(profile, batch_size, seed, cap):
    from infobounds.models.wyner import VariationalWyner, WynerConfig

    train, test = _pairs(profile, cap)
    model = VariationalWyner(WynerConfig(x_shape=train.shapes[0], y_shape=train.shapes[1], critic_hidden=(128,),
                                         decoder="bernoulli", reverse_weight=0.0, ci_weight=0.3,
                                         **profile.pick(quick=dict(latent_dim=16, local_dim=4, hidden=(256,)),
                                                        full=dict(latent_dim=32, local_dim=16, hidden=(512, 512)))))
    return _paired_setup(model, profile, train, test, batch_size, seed)


# -- the registry ---------------------------------------------------------------------------------------------

_FASHION = "Fashion-MNIST"
_COLOURED = "coloured Fashion-MNIST"
_PAIRS = dict(quick="8x8 digits paired with 14x14 garments of the same class", full="MNIST paired with SVHN")
_SHAPES = dict(quick="procedural shapes, 32 px, 3 shapes x 6 scales x 10 orientations x 16 x 16 positions",
               full="procedural shapes, 64 px, the dSprites grid")

_RECIPES = [
    Recipe("vib", "02_information_bottleneck", dict(quick=_FASHION, full="MNIST (Alemi et al. 2017)"), _vib),
    Recipe("club", "03_bottleneck_family",
           dict(quick=f"{_COLOURED}, 4 colours, 14 px", full="coloured MNIST, 4 colours, 28 px"), _club),
    Recipe("teb", "04_transfer_entropy_bottleneck",
           dict(quick="coupled AR(1) windows, history 1", full="coupled AR(1) windows, history 5"), _teb),
    Recipe("teb_predictor", "04_transfer_entropy_bottleneck",
           dict(quick="coupled AR(1) windows, history 1", full="coupled AR(1) windows, history 5"), _teb_predictor),
    Recipe("invariant_classifier", "05_distribution_shift",
           dict(quick=f"two environments of {_COLOURED}, 5,000 images each",
                full=f"two environments of {_COLOURED}, 25,000 images each (IRM's sizes)"), _invariant_classifier),
    Recipe("vae", "06_vae_rate_distortion",
           dict(quick=f"binarised {_FASHION}, 10,000 images", full=f"binarised {_FASHION}"), _vae),
    Recipe("gan", "08_gans", dict(quick=f"{_FASHION}, 20,000 images", full=_FASHION), _gan),
    Recipe("infogan", "09_infogan", dict(quick=f"{_FASHION}, 20,000 images", full="MNIST (Chen et al. 2016)"),
           _infogan),
    Recipe("dim", "10_deep_infomax",
           dict(quick=f"{_FASHION}, 20,000 images", full="CIFAR-10 (Hjelm et al. 2019)"), _dim),
    Recipe("dim_supervised", "10_deep_infomax",
           dict(quick=f"{_FASHION}, 20,000 images", full="CIFAR-10"), _dim_supervised),
    Recipe("wae_mmd", "11_wasserstein_autoencoders",
           dict(quick="2-d banana in 10 dimensions, 4,000 points", full="2-d banana in 10 dimensions, 50,000 points"),
           _wae_mmd),
    Recipe("wae_gan", "11_wasserstein_autoencoders", dict(quick=f"{_FASHION}, 10,000 images", full=_FASHION),
           _wae_gan),
    Recipe("aae", "11_wasserstein_autoencoders", dict(quick=f"{_FASHION}, 10,000 images", full=_FASHION), _aae),
    Recipe("gwae", "11_wasserstein_autoencoders", dict(quick=f"{_FASHION}, 10,000 images", full=_FASHION), _gwae),
    Recipe("ctrl", "12_closed_loop_transcription",
           dict(quick=f"{_FASHION}, 4 classes", full="MNIST (Dai et al. 2022)"), _ctrl),
    Recipe("factorvae", "13_factorvae", _SHAPES, _factorvae),
    Recipe("st_rkm", "14_stiefel_rkm", _SHAPES, _st_rkm),
    Recipe("stiefel_pca", "14_stiefel_rkm",
           dict(quick="a random 50x50 covariance, top 10", full="a random 500x500 covariance, top 50"), _stiefel_pca),
    Recipe("cmi", "15_cmi_disentanglement",
           dict(quick="procedural shapes, 16 px, correlated positions", full="procedural shapes, 64 px, correlated positions"),
           _cmi),
    Recipe("gmvae", "16_identifiability_clustering",
           dict(quick="mixture of 10 Gaussians in 4-d through a random MLP",
                full="mixture of 12 Gaussians in 5-d through a random MLP"), _gmvae),
    Recipe("ivae", "16_identifiability_clustering",
           dict(quick="mixture of 10 Gaussians in 4-d through a random MLP",
                full="mixture of 12 Gaussians in 5-d through a random MLP"), _ivae),
    Recipe("farconvae", "17_fair_representations",
           dict(quick=f"{_COLOURED}, 2 colours, 14 px", full=f"{_COLOURED}, 2 colours, 28 px"), _farconvae),
    Recipe("adversarial_fair", "17_fair_representations",
           dict(quick=f"{_COLOURED}, 2 colours, 14 px", full=f"{_COLOURED}, 2 colours, 28 px"), _adversarial_fair),
    Recipe("multimodal_vae", "18_multimodal_vaes", _PAIRS, _multimodal_vae),
    Recipe("meme", "19_meme", {k: f"{v}, half the second modality missing" for k, v in _PAIRS.items()}, _meme),
    Recipe("mm_gan", "20_multimodal_gan", _PAIRS, _mm_gan),
    Recipe("variational_wyner", "21_wyner_common_information", _PAIRS, _variational_wyner),
]

RECIPES: dict[str, Callable[..., Setup]] = {recipe.model: recipe for recipe in _RECIPES}
"""``RECIPES[model](profile, batch_size, seed)`` builds a :class:`Setup`; each value is a :class:`Recipe`."""
