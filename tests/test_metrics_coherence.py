"""Coherence: a perfect generator scores 1, an input-blind one about chance; classifiers are cached
outside the repository."""

import pytest
import torch

from infobounds.data import load
from infobounds.data.paired import PairedImages
from infobounds.estimators import coherence_classifiers as classifiers
from infobounds.metrics import coherence as coh


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A private cache folder, with the digits classifier trained into it once for the module."""
    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INFOBOUNDS_CACHE", str(path))
        mp.setattr(classifiers, "_MEMORY", {})
        clf = classifiers.modality_classifier("digits")
        yield path, clf


@pytest.fixture()
def digits_classifier(cache, monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_CACHE", str(cache[0]))
    return cache[1]


class BankGenerator:
    """Generates, for a label, an image from a bank of images; ``perfect`` uses the right label."""

    def __init__(self, bank, bank_labels, perfect=True):
        self.bank, self.bank_labels, self.perfect = bank, bank_labels, perfect
        self.gen = torch.Generator().manual_seed(0)

    def _draw(self, labels):
        if not self.perfect:
            labels = torch.randint(0, 10, labels.shape, generator=self.gen)
        out = []
        for k in labels.tolist():
            pool = torch.nonzero(self.bank_labels == k).squeeze(1)
            out.append(self.bank[pool[torch.randint(len(pool), (1,), generator=self.gen)]])
        return torch.cat(out)

    def cross_generate(self, x=None, y=None):
        return self._draw(self.labels)

    def sample(self, n):
        labels = torch.randint(0, 10, (n,), generator=self.gen)
        if self.perfect:
            return self._draw(labels), self._draw(labels)
        return self._draw(labels), self._draw(torch.randint(0, 10, (n,), generator=self.gen))


def test_perfect_generator_has_coherence_one(digits_classifier):
    clf = digits_classifier
    assert clf.test_accuracy > 0.9
    test = load("digits", "test")
    right = clf.predict(test.x) == test.y  # the images the classifier gets right
    bank, bank_labels = test.x[right], test.y[right]
    data = PairedImages("digits_digits", "test", test.x, test.x, test.y, torch.ones(len(test), 2, dtype=torch.bool),
                        ("digits", "digits"), tuple("0123456789"))
    pair = classifiers.CoherenceClassifiers(clf, clf)
    perfect = BankGenerator(bank, bank_labels, perfect=True)
    perfect.labels = data.label
    scores = pair.score(perfect, data, n_joint=300)
    assert scores == {"x_to_y": 1.0, "y_to_x": 1.0, "joint": 1.0}
    blind = BankGenerator(bank, bank_labels, perfect=False)
    blind.labels = data.label
    scores = pair.score(blind, data, n_joint=2000)
    for value in scores.values():
        assert 0.05 < value < 0.17  # chance is 1/10
    ref = pair.reference(data)
    assert ref["x_accuracy"] == pytest.approx(clf.test_accuracy) and ref["agreement"] == 1.0


def test_classifier_is_cached_on_disk_outside_the_repo(digits_classifier, cache, monkeypatch):
    files = list((cache[0] / "coherence").glob("digits_*.pt"))
    assert len(files) == 1
    monkeypatch.setattr(classifiers, "_MEMORY", {})
    rng = torch.get_rng_state()
    again = classifiers.modality_classifier("digits")  # from disk: no training
    # Building the network draws random numbers, on a forked generator: the caller's stream is intact.
    assert torch.equal(torch.get_rng_state(), rng)
    for p, q in zip(digits_classifier.parameters(), again.parameters()):
        assert torch.equal(p, q)
    assert again.test_accuracy == digits_classifier.test_accuracy
    monkeypatch.delenv("INFOBOUNDS_CACHE")
    assert "infobounds" in str(classifiers.coherence_cache_dir()) and ".cache" in str(classifiers.coherence_cache_dir())


def test_coherence_input_checks(digits_classifier):
    with pytest.raises(ValueError):
        coh.cross_coherence(torch.zeros(3, 1, 8, 8), torch.zeros(2, dtype=torch.long), digits_classifier)
    with pytest.raises(ValueError):
        coh.joint_coherence(torch.zeros(3, 1, 8, 8), torch.zeros(2, 1, 8, 8), digits_classifier, digits_classifier)
    with pytest.raises(ValueError):
        digits_classifier(torch.zeros(2, 1, 28, 28))
