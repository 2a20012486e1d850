"""The smoke run (``INFOBOUNDS_SMOKE=1``): fit stops after a few steps, the data API keeps few examples
and stands in for missing data through the real loaders, and nothing is recorded or cached.

Every test sets or clears ``INFOBOUNDS_SMOKE`` itself, and most compare the smoke run with the same
call outside it (the control each assert needs).
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from infobounds import get_profile, results
from infobounds.data import BatchStream, DataNotFoundError, load
from infobounds.data.idx import read_idx
from infobounds.data.paired import load_paired, load_svhn
from infobounds.data.shapes import _GRIDS, Shapes
from infobounds.models.vib import VIB, VIBConfig
from infobounds.profiles import SMOKE_EXAMPLES, SMOKE_STEPS, SMOKE_VAR, smoke_enabled
from infobounds.training import fit


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """A machine without MNIST, CIFAR-10 or SVHN: every folder the loaders search is empty."""
    import infobounds.data.idx as idx
    import infobounds.data.standins as standins

    monkeypatch.setenv("INFOBOUNDS_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("INFOBOUNDS_OFFLINE", "1")
    monkeypatch.setattr(idx, "SYSTEM_DATA", tmp_path / "system")
    monkeypatch.setattr("infobounds.data.paired.SYSTEM_DATA", tmp_path / "system")
    monkeypatch.setattr(standins, "_made", {})  # each test writes its own stand-ins
    monkeypatch.setattr(standins, "_scratch", None)
    return tmp_path


@pytest.fixture
def smoke(monkeypatch):
    monkeypatch.setenv(SMOKE_VAR, "1")


@pytest.mark.parametrize("value, expected", [("", False), ("0", False), ("off", False), ("1", True),
                                             ("true", True), ("YES", True)])
def test_the_switch_reads_the_variable(monkeypatch, value, expected):
    monkeypatch.setenv(SMOKE_VAR, value)
    assert smoke_enabled() is expected
    assert get_profile("full").smoke is expected


def test_a_value_that_is_not_a_switch_is_named(monkeypatch):
    monkeypatch.setenv(SMOKE_VAR, "maybe")
    with pytest.raises(ValueError, match=r"INFOBOUNDS_SMOKE='maybe' is not a switch"):
        smoke_enabled()


def _vib_run(steps):
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 10, generator=gen), torch.randint(0, 2, (64,), generator=gen)
    model = VIB(VIBConfig(input_dim=10, hidden=(8,), latent_dim=2, n_classes=2))
    return fit(model, BatchStream(x, y, batch_size=16, seed=0), steps=steps, progress=False)


def test_fit_stops_after_the_smoke_steps(monkeypatch):
    monkeypatch.delenv(SMOKE_VAR, raising=False)
    assert _vib_run(40).steps == 40  # control: outside a smoke run every step runs
    monkeypatch.setenv(SMOKE_VAR, "1")
    result = _vib_run(40)
    assert result.steps == SMOKE_STEPS == len(result.history)
    assert _vib_run(1).steps == 1  # fewer steps than the cap stay as they are


def test_a_smoke_run_records_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_RESULTS", str(tmp_path))
    args = dict(profile="full", paper=0.0113, unit="fraction")
    monkeypatch.setenv(SMOKE_VAR, "1")
    entry = results.record("02_information_bottleneck", "test_error", 0.5, **args)
    results.record_claim("02_information_bottleneck", "claim", "a statement", 0.1, 0.01, 3, True, profile="full",
                         source="Table 1")
    assert entry["value"] == 0.5  # the entry is built and returned ...
    assert not any(tmp_path.rglob("*")), "a smoke run wrote results"  # ... and written nowhere
    with pytest.raises(ValueError, match="paper must be finite"):  # its arguments are still checked
        results.record("02_information_bottleneck", "test_error", 0.5, profile="full", paper=float("nan"))
    monkeypatch.setenv(SMOKE_VAR, "0")  # control: the same call outside a smoke run writes the file
    results.record("02_information_bottleneck", "test_error", 0.5, **args)
    assert (tmp_path / "full" / "02_information_bottleneck.json").is_file()


def test_missing_data_fails_outside_a_smoke_run(no_data, monkeypatch):
    monkeypatch.delenv(SMOKE_VAR, raising=False)
    for name in ("mnist", "cifar10"):
        with pytest.raises(DataNotFoundError, match="not found"):
            load(name, "train")
    with pytest.raises(DataNotFoundError, match="SVHN"):
        load_svhn("test")


def test_stand_ins_have_the_real_shapes_and_pass_the_loaders(no_data, smoke, capsys):
    expected = {"mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
    for name, shape in expected.items():
        for split in ("train", "test"):
            data = load(name, split)
            assert tuple(data.x.shape[1:]) == shape and data.x.dtype == torch.float32
            assert 0.0 <= float(data.x.min()) and float(data.x.max()) <= 1.0
            assert data.y.dtype == torch.int64 and set(data.y.tolist()) == set(range(10))
            assert len(data) <= SMOKE_EXAMPLES
    assert len(load("mnist", "train")) == SMOKE_EXAMPLES  # the stand-in has more; the cap applies
    x, y = load_svhn("train")
    assert tuple(x.shape[1:]) == (3, 32, 32) and set(y.tolist()) == set(range(10))  # the file's 10 is digit 0
    said = capsys.readouterr().err
    assert said.count("smoke run: mnist is not on this machine") == 1  # once per data set, not per load
    assert "cifar10" in said and "svhn" in said


def test_stand_in_files_are_release_files(no_data, smoke):
    from infobounds.data.standins import idx_files

    images, labels = idx_files("mnist", "test")
    assert images.suffix == ".gz" and gzip.open(images).read(4) == bytes([0, 0, 8, 3])  # IDX magic, 3-d uint8
    assert read_idx(images).shape[1:] == (28, 28) and read_idx(labels).ndim == 1
    with gzip.open(images, "rb") as f:  # a damaged stand-in is refused like a damaged release file
        raw = f.read()
    with gzip.open(images, "wb") as f:
        f.write(raw[:-5])
    with pytest.raises(ValueError, match="header says"):
        load("mnist", "test")


def test_the_data_api_keeps_few_examples_and_full_batches(no_data, smoke):
    pairs = load_paired("mnist_svhn", "train", pairs_per_image=20)
    assert len(pairs) == SMOKE_EXAMPLES and pairs.shapes == ((1, 28, 28), (3, 32, 32))
    spec = Shapes.make(16, orientation=4)
    grid = spec.grid()
    assert len(grid) == SMOKE_EXAMPLES < spec.n_combinations and spec not in _GRIDS
    assert len(spec.sample(10_000)) == SMOKE_EXAMPLES
    stream = BatchStream(torch.arange(10), batch_size=25)  # a full batch on a cut data set stays a full batch
    batch = next(stream)[0]
    assert stream.batch_size == 10 and sorted(batch.tolist()) == list(range(10))
    assert next(BatchStream(torch.arange(10), batch_size=4))[0].shape == (4,)  # a smaller batch is kept


def test_outside_a_smoke_run_the_data_api_is_unchanged(no_data, monkeypatch):
    monkeypatch.delenv(SMOKE_VAR, raising=False)
    spec = Shapes.make(16, orientation=4)
    assert len(spec.sample(600)) == 600
    with pytest.raises(ValueError, match="batch_size 25 exceeds the number of examples 10"):
        BatchStream(torch.arange(10), batch_size=25)


def test_a_smoke_run_caches_classifiers_only_in_its_temporary_folder(tmp_path, monkeypatch):
    from infobounds.estimators.coherence_classifiers import coherence_cache_dir
    from infobounds.estimators.frechet_classifier import classifier_cache_dir

    monkeypatch.setenv("INFOBOUNDS_CACHE", str(tmp_path))
    monkeypatch.delenv(SMOKE_VAR, raising=False)
    assert classifier_cache_dir().parent == tmp_path and coherence_cache_dir().parent == tmp_path  # control
    monkeypatch.setenv(SMOKE_VAR, "1")
    for folder in (classifier_cache_dir(), coherence_cache_dir()):
        assert tmp_path not in folder.parents and folder.parent.name.startswith("infobounds-smoke-")


def test_stand_in_labels_cover_every_class_in_each_split():
    from infobounds.data.standins import SIZES, _images

    for split in SIZES:
        images, labels = _images(split, (28, 28))
        assert images.dtype == np.uint8 and np.bincount(labels, minlength=10).min() >= 10


def test_evaluations_draw_few_samples_in_a_smoke_run(monkeypatch):
    from infobounds.metrics.disentanglement import all_scores

    spec = Shapes.make(16, orientation=4, pos_x=4, pos_y=4)
    encoded = []

    def represent(x):
        encoded.append(len(x))
        return x.reshape(len(x), -1)[:, :6] + 1e-3 * torch.arange(6)

    monkeypatch.delenv(SMOKE_VAR, raising=False)
    all_scores(spec, represent, n=60)
    outside = sum(encoded)
    encoded.clear()
    monkeypatch.setenv(SMOKE_VAR, "1")
    all_scores(spec, represent, n=60)
    assert sum(encoded) < outside / 3, (sum(encoded), outside)  # the votes and draws are cut ...

    from infobounds.profiles import SMOKE_DRAWS, smoke_draws
    assert smoke_draws(1000) == SMOKE_DRAWS and smoke_draws(3) == 3
    monkeypatch.setenv(SMOKE_VAR, "0")
    assert smoke_draws(1000) == 1000  # ... and only in a smoke run


def test_sources_and_the_dual_bound_fit_a_smoke_run(monkeypatch):
    from infobounds.bounds.rate_distortion import estimate_dual_bound
    from infobounds.data.sources import gaussian_source

    g = lambda x: (x**2).sum(1)  # noqa: E731
    monkeypatch.setenv(SMOKE_VAR, "1")
    x = gaussian_source(100_000, [1.0, 0.5])
    assert x.shape == (SMOKE_EXAMPLES, 2)
    assert np.isfinite(estimate_dual_bound(g, x, 1.0, 4096, starts=8).intercept)  # k cut to a quarter of x
    monkeypatch.delenv(SMOKE_VAR)
    assert gaussian_source(1000, [1.0, 0.5]).shape == (1000, 2)
    with pytest.raises(ValueError, match="need at least 4 batches of 4096"):
        estimate_dual_bound(g, x, 1.0, 4096, starts=8)


def test_estimators_batches_shrink_with_a_smoke_runs_data(monkeypatch):
    from infobounds.estimators.mi import estimate_mi
    from infobounds.estimators.total_correlation import estimate_total_correlation

    gen = torch.Generator().manual_seed(0)
    z = torch.randn(200, 3, generator=gen)
    monkeypatch.delenv(SMOKE_VAR, raising=False)
    with pytest.raises(ValueError, match="too few for batch_size=256"):
        estimate_total_correlation(z, steps=3, batch_size=256)
    with pytest.raises(ValueError, match="too few for batch_size=256"):
        estimate_mi(z[:, :1], z[:, 1:], steps=3, batch_size=256)
    monkeypatch.setenv(SMOKE_VAR, "1")
    assert np.isfinite(estimate_total_correlation(z, steps=3, batch_size=256))
    assert np.isfinite(estimate_mi(z[:, :1], z[:, 1:], steps=3, batch_size=256).value)


def test_reproduce_smoke_sets_the_switch_for_the_chapters_kernels(monkeypatch, tmp_path):
    import infobounds.__main__ as cli

    seen = {}

    def fake_run_chapter(path, profile, cell_timeout=None):  # what a chapter's kernel would inherit
        seen[path.stem] = (profile, smoke_enabled())
        return {"hardware": "CPU", "wall_s": 0.0, "examples_per_s": 0.0, "fits": 0}

    monkeypatch.setattr(cli, "run_chapter", fake_run_chapter)
    monkeypatch.setenv(SMOKE_VAR, "0")  # recorded, so the 1 that --smoke sets is undone after the test
    assert cli.main(["reproduce", "09_infogan"]) == 0
    assert seen["09_infogan"] == ("full", False)  # control: without --smoke the chapter runs for real
    assert cli.main(["reproduce", "09_infogan", "--smoke"]) == 0
    assert seen["09_infogan"] == ("full", True)
