"""Known answers for the exact CLUB computations of infobounds.bounds.club (chapter bottleneck_family)."""

import math

import numpy as np
import pytest

from infobounds.bounds.club import (
    SPECIAL_CASES, club_lagrangian, club_of_special_case, club_terms, special_case, utility_is_input,
)


def random_problem(seed: int, n_s=2, n_u=3, n_x=5, n_z=4):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(n_s * n_u * n_x)).reshape(n_s, n_u, n_x)
    enc = rng.dirichlet(np.ones(n_z), size=n_x)
    return p, enc


PARAMS = {"ib": [0.0, 0.3, 2.0], "pf": [0.2, 1.0, 5.0], "dib": [0.5, 3.0], "ceb": [-0.5, 0.0, 4.0],
          "cpf": [0.2, 1.0, 5.0]}


@pytest.mark.parametrize("name", sorted(SPECIAL_CASES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_special_cases_reduce_to_their_objectives(name, seed):
    p, enc = random_problem(seed)
    for param in PARAMS[name]:
        club, known = club_of_special_case(name, p, enc, param)
        assert club == pytest.approx(known, abs=1e-10), (name, param)


def test_reductions_are_not_vacuous():
    # A wrong setting must not reproduce the objective: the check above can fail.
    p, enc = random_problem(3)
    s = special_case("ceb", 1.0)
    wrong = club_lagrangian(p, enc, beta=s.beta + 0.1, alpha=s.alpha)
    assert wrong != pytest.approx(club_of_special_case("ceb", p, enc, 1.0)[1], abs=1e-6)


def test_terms_known_answers():
    p, _ = random_problem(4, n_x=4)
    identity = np.eye(4)
    constant = np.full((4, 3), 1 / 3)
    t_id, t_c = club_terms(p, identity), club_terms(p, constant)
    p_x = p.sum((0, 1))
    h_x = float(-(p_x * np.log(p_x)).sum())
    assert t_id["i_xz"] == pytest.approx(h_x) and t_id["h_z"] == pytest.approx(h_x)
    assert t_id["h_z_given_x"] == pytest.approx(0.0, abs=1e-12)
    for key in ("i_uz", "i_xz", "i_sz", "i_xz_given_u", "i_xz_given_s", "i_sz_given_u"):
        assert t_c[key] == pytest.approx(0.0, abs=1e-12)
    assert t_c["h_z"] == pytest.approx(math.log(3))


def test_markov_identities_and_data_processing():
    p, enc = random_problem(5)
    t = club_terms(p, enc)
    assert t["i_xz_given_u"] == pytest.approx(t["i_xz"] - t["i_uz"], abs=1e-12)
    assert t["i_xz_given_s"] == pytest.approx(t["i_xz"] - t["i_sz"], abs=1e-12)
    assert t["i_uz"] <= t["i_xz"] + 1e-12 and t["i_sz"] <= t["i_xz"] + 1e-12
    assert club_terms(utility_is_input(p), enc)["i_uz"] == pytest.approx(t["i_xz"], abs=1e-12)


def test_deterministic_encoder_makes_dib_and_ib_complexities_equal():
    p, _ = random_problem(6, n_x=5)
    f = np.eye(3)[[0, 1, 1, 2, 0]]  # z = f(x)
    a = club_lagrangian(p, f, beta=0.7, alpha=0.2, gamma=1.0)
    b = club_lagrangian(p, f, beta=0.7, alpha=0.2, gamma=0.0)
    assert a == pytest.approx(b, abs=1e-12)


@pytest.mark.parametrize("kwargs", [dict(beta=-1.0, alpha=0.0), dict(beta=0.0, alpha=-0.1),
                                    dict(beta=0.1, alpha=0.1, gamma=1.5)])
def test_bad_parameters_raise(kwargs):
    p, enc = random_problem(0)
    with pytest.raises(ValueError):
        club_lagrangian(p, enc, **kwargs)


def test_bad_inputs_raise():
    p, enc = random_problem(0)
    with pytest.raises(ValueError):
        club_terms(p * 2, enc)
    with pytest.raises(ValueError):
        club_terms(p, enc[:, :-1])  # rows no longer sum to one
    with pytest.raises(ValueError):
        club_terms(p, enc[:-1])
    with pytest.raises(ValueError):
        special_case("vib", 1.0)
    for name, bad in [("pf", 0.0), ("cpf", -1.0), ("dib", 0.0), ("ceb", -1.0), ("ib", -0.1)]:
        with pytest.raises(ValueError):
            special_case(name, bad)
