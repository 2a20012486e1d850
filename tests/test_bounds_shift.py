"""Exact decomposition of test cross-entropy (chapter distribution_shift) on random discrete joints."""

import numpy as np
import pytest

from infobounds.bounds.shift import (coloured_joint, conditional_mutual_information, criteria,
                                     deterministic_encoder, set_partitions, shift_decomposition)


def random_pmf(rng, shape):
    p = rng.random(shape) ** 3  # uneven masses
    return p / p.sum()


def random_channel(rng, rows, cols):
    q = rng.random((rows, cols)) ** 2
    return q / q.sum(1, keepdims=True)


@pytest.mark.parametrize("seed", range(10))
def test_decomposition_is_exact_on_random_joints(seed):
    rng = np.random.default_rng(seed)
    nx, ny, nz = rng.integers(2, 7, size=3)
    train, test = random_pmf(rng, (nx, ny)), random_pmf(rng, (nx, ny))
    enc = random_channel(rng, nx, nz)
    dec = shift_decomposition(train, test, enc)
    assert dec.total == pytest.approx(dec.test_ce, abs=1e-9)
    assert min(dec.aleatoric, dec.information_loss, dec.latent_shift) >= -1e-12
    # the identity holds for any predictor q(y|z), not only the training posterior
    pred = random_channel(rng, nz, ny)
    dec2 = shift_decomposition(train, test, enc, pred)
    assert dec2.total == pytest.approx(dec2.test_ce, abs=1e-9)
    assert dec2.information_loss == pytest.approx(dec.information_loss, abs=1e-12)


def test_direct_test_cross_entropy_by_hand():
    rng = np.random.default_rng(0)
    train, test = random_pmf(rng, (3, 2)), random_pmf(rng, (3, 2))
    enc = random_channel(rng, 3, 2)
    p_yz = np.einsum("xy,xz->yz", train, enc)
    q = (p_yz / p_yz.sum(0)).T  # p(y|z), (Z, Y)
    direct = -sum(test[x, y] * enc[x, z] * np.log(q[z, y]) for x in range(3) for y in range(2) for z in range(2))
    assert shift_decomposition(train, test, enc).test_ce == pytest.approx(direct, abs=1e-12)


def test_no_shift_no_latent_shift_and_identity_encoder_no_information_loss():
    rng = np.random.default_rng(1)
    p = random_pmf(rng, (4, 3))
    dec = shift_decomposition(p, p, random_channel(rng, 4, 3))
    assert dec.latent_shift == pytest.approx(0.0, abs=1e-12)
    ident = shift_decomposition(p, random_pmf(rng, (4, 3)), np.eye(4))
    assert ident.information_loss == pytest.approx(0.0, abs=1e-12)


def test_shape_encoder_has_no_latent_shift_under_colour_reversal():
    train = 0.5 * (coloured_joint(0.9) + coloured_joint(0.8))
    test = coloured_joint(0.1)
    shape = deterministic_encoder([[0, 1], [2, 3]], 4)  # x = 2 * shape + colour
    colour = deterministic_encoder([[0, 2], [1, 3]], 4)
    assert shift_decomposition(train, test, shape).latent_shift == pytest.approx(0.0, abs=1e-12)
    assert shift_decomposition(train, test, colour).latent_shift > 1.0
    pxye = np.stack([coloured_joint(0.9), coloured_joint(0.8)], -1) / 2
    c_shape, c_colour = criteria(pxye, shape), criteria(pxye, colour)
    assert max(c_shape.values()) == pytest.approx(0.0, abs=1e-12)
    # colour is independent of the environment but neither sufficient nor separated
    assert c_colour["independence"] == pytest.approx(0.0, abs=1e-12)
    assert c_colour["sufficiency"] > 1e-3 and c_colour["separation"] > 1e-3


def test_criteria_identity_and_cmi():
    rng = np.random.default_rng(2)
    pxye = random_pmf(rng, (5, 2, 3))
    c = criteria(pxye, random_channel(rng, 5, 3))
    # I(Y;E|Z) = I(Z;E|Y) + I(Y;E) - I(Z;E)
    assert c["sufficiency"] == pytest.approx(c["separation"] + c["label_shift"] - c["independence"], abs=1e-12)
    indep = np.einsum("a,b,c->abc", [0.3, 0.7], [0.5, 0.5], [0.2, 0.8])
    assert conditional_mutual_information(indep) == pytest.approx(0.0, abs=1e-12)


def test_partitions_and_bad_inputs():
    assert [len(set_partitions(n)) for n in range(1, 6)] == [1, 2, 5, 15, 52]  # Bell numbers
    with pytest.raises(ValueError):
        shift_decomposition(np.ones((2, 2)), np.ones((2, 2)) / 4, np.eye(2))  # not a pmf
    with pytest.raises(ValueError):
        shift_decomposition(np.ones((2, 2)) / 4, np.ones((3, 2)) / 6, np.eye(2))
    with pytest.raises(ValueError):
        shift_decomposition(np.ones((2, 2)) / 4, np.ones((2, 2)) / 4, np.array([[0.5, 0.6], [1.0, 0.0]]))
    with pytest.raises(ValueError):
        deterministic_encoder([[0], [2]], 3)
    with pytest.raises(ValueError):
        coloured_joint(1.5)
