import pytest
import torch

from infobounds.profiles import default_profile_name, get_profile, seed_everything


def test_default_profile_is_quick_with_or_without_cuda(monkeypatch):
    # 3a9ca49 chose full whenever CUDA was available.
    monkeypatch.delenv("INFOBOUNDS_PROFILE", raising=False)
    for cuda in (False, True):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        assert default_profile_name() == "quick"
        assert get_profile(device="cpu").name == "quick"
    monkeypatch.setenv("INFOBOUNDS_PROFILE", "full")
    assert default_profile_name() == "full"


def test_env_var_and_pick(monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_PROFILE", "full")
    profile = get_profile(device="cpu")
    assert profile.name == "full" and profile.pick(quick=1, full=2) == 2
    monkeypatch.setenv("INFOBOUNDS_PROFILE", "Quick")
    assert get_profile().pick(quick=1, full=2) == 1


def test_bad_profile_raises(monkeypatch):
    monkeypatch.setenv("INFOBOUNDS_PROFILE", "fast")
    with pytest.raises(ValueError, match="quick, full"):
        get_profile()


def test_autocast_is_a_no_op_on_cpu():
    with get_profile("quick", device="cpu").autocast():
        out = torch.ones(2, 2) @ torch.ones(2, 2)
    assert out.dtype == torch.float32


def test_seed_everything_repeats():
    seed_everything(7)
    a = torch.randn(3)
    seed_everything(7)
    assert torch.equal(a, torch.randn(3))
    with pytest.raises(ValueError):
        seed_everything(-1)
