"""Every model the chapters train has a recipe that follows its chapter, trains, evaluates and runs
from the command line."""

from __future__ import annotations

import ast
import importlib
import json
import math
from pathlib import Path

import pytest
import torch

from infobounds import get_profile
from infobounds.__main__ import main
from infobounds.models import MODELS
from infobounds.models.base import Trainable
from infobounds.recipes import RECIPES, Recipe
from infobounds.training import fit

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md"))


def models_imported_by_chapters() -> dict[str, set[str]]:
    """{"module:Class": chapters} for every ``Trainable`` subclass a chapter imports from
    ``infobounds.models`` (its code cells, parsed; other names such as configs are left out)."""
    found: dict[str, set[str]] = {}
    for chapter in CHAPTERS:
        text = chapter.read_text()
        for line_no, line in enumerate(text.splitlines()):
            if "from infobounds.models." not in line:
                continue
            # the statement may continue over lines in parentheses
            rest = "\n".join(text.splitlines()[line_no:line_no + 6])
            statement = rest[: rest.index(")") + 1] if "(" in line else line
            node = ast.parse(statement.strip()).body[0]
            module = importlib.import_module(node.module)
            for alias in node.names:
                obj = getattr(module, alias.name)
                if isinstance(obj, type) and issubclass(obj, Trainable):
                    found.setdefault(f"{node.module}:{alias.name}", set()).add(chapter.stem)
    return found


def coverage_problems(recipes=RECIPES, models=MODELS) -> list[str]:
    """Models a chapter trains without a registry entry or a recipe, and recipes whose chapter does not
    exist, does not train their model, or does not mention its module (empty when all is well)."""
    problems = []
    trained = models_imported_by_chapters()
    by_target = {target: name for name, target in models.items()}
    for target, chapters in sorted(trained.items()):
        name = by_target.get(target)
        if name is None:
            problems.append(f"{target} (trained in {sorted(chapters)}) is not in infobounds.models.MODELS")
        elif name not in recipes:
            problems.append(f"{name} (trained in {sorted(chapters)}) has no recipe")
        elif recipes[name].chapter not in chapters:
            problems.append(f"recipe {name} names chapter {recipes[name].chapter}, not one that trains it: {sorted(chapters)}")
    stems = {c.stem for c in CHAPTERS}
    for name, recipe in recipes.items():
        if name not in models:
            problems.append(f"recipe {name} names no registered model")
        elif recipe.chapter not in stems:
            problems.append(f"recipe {name} names a chapter that does not exist: {recipe.chapter}")
        elif models[name].split(":")[0] not in (ROOT / "chapters" / f"{recipe.chapter}.md").read_text():
            problems.append(f"recipe {name}'s chapter {recipe.chapter} does not mention {models[name]}")
        if set(recipe.data) != {"quick", "full"}:
            problems.append(f"recipe {name} must say what each profile trains on, got {sorted(recipe.data)}")
    return problems


def test_every_model_the_chapters_train_has_a_recipe_following_its_chapter():
    assert len(models_imported_by_chapters()) >= 20  # the parse finds the chapters' models
    assert coverage_problems() == []


def test_coverage_check_catches_a_missing_model_recipe_or_chapter():
    """Controls: each of the three faults is named."""
    models = {k: v for k, v in MODELS.items() if k != "teb_predictor"}
    assert any("ConditionalPredictor" in p and "MODELS" in p for p in coverage_problems(models=models))
    recipes = {k: v for k, v in RECIPES.items() if k != "meme"}
    assert any(p.startswith("meme ") and "no recipe" in p for p in coverage_problems(recipes=recipes))
    wrong = Recipe(RECIPES["gan"].model, "09_infogan", RECIPES["gan"].data, RECIPES["gan"].build)
    assert any("not one that trains it" in p for p in coverage_problems(recipes={**RECIPES, "gan": wrong}))


def parameters(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_trains_two_steps_and_evaluates(name):
    """Each recipe builds its chapter's model on its quick data (capped at 64 examples), trains two
    steps that move its parameters, and evaluates to finite numbers that include held-out losses."""
    torch.manual_seed(0)
    setup = RECIPES[name](get_profile("quick", device="cpu"), batch_size=16, seed=0, max_examples=64)
    module, cls = MODELS[name].split(":")
    assert type(setup.model) is getattr(importlib.import_module(module), cls)
    before = parameters(setup.model)
    result = fit(setup.model, setup.stream, steps=2, seed=0, progress=False)
    assert result.steps == 2 and setup.steps_per_epoch >= 1
    assert any(not torch.equal(a, b) for a, b in zip(before, parameters(setup.model)))
    metrics = setup.evaluate()
    assert metrics and all(isinstance(v, float) and math.isfinite(v) for v in metrics.values()), metrics
    assert any(k.startswith("test/") for k in metrics) or name == "stiefel_pca", metrics


def test_recipe_refuses_bad_sizes():
    profile = get_profile("quick", device="cpu")
    with pytest.raises(ValueError, match="batch_size"):
        RECIPES["teb"](profile, 0, 0)
    with pytest.raises(ValueError, match="max_examples"):
        RECIPES["teb"](profile, 16, 0, max_examples=-3)


def test_list_shows_each_model_with_its_chapter(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name, recipe in RECIPES.items():
        assert any(line.split()[:2] == [name, recipe.chapter] for line in lines), name


def test_train_a_chapter_model_prints_json_and_checkpoints(tmp_path, capsys):
    assert main(["train", "teb", "--steps", "3", "--batch-size", "64", "--out", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "teb" and report["steps"] == 3
    assert {"distortion", "rate", "test/main/distortion"} <= set(report["metrics"])
    assert (tmp_path / "teb.pt").is_file() and json.loads((tmp_path / "teb.json").read_text()) == report


def test_farconvae_logs_the_same_names_on_a_batch_without_a_contrastive_pair():
    """The loop stacks each step's logged values, so a step must log the same names whether or not its
    batch holds a pair (same label, other colour); with one colour there is none."""
    from infobounds.models.farconvae import FarconVAE, FarconVAEConfig

    torch.manual_seed(0)
    model = FarconVAE(FarconVAEConfig(input_dim=12, hidden=(8,), latent_dim=2))
    x, y = torch.rand(8, 12), torch.tensor([0, 1] * 4)
    with_pairs, without = model.loss((x, y, torch.tensor([0, 0, 1, 1] * 2))), model.loss((x, y, torch.zeros(8).long()))
    assert float(without.metrics["pairs"]) == 0 and float(with_pairs.metrics["pairs"]) > 0
    assert sorted(without.terms) == sorted(with_pairs.terms)
    assert sorted(without.metrics) == sorted(with_pairs.metrics)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_full_profile_builds_and_trains_in_a_smoke_run(name, monkeypatch):
    """The paper's setting of each recipe (networks, configs, data sets) builds and trains on a CPU in a
    smoke run (infobounds.profiles: 2 steps per fit, <= 512 examples, stand-ins for data sets this
    machine lacks), so a GPU run does not find a broken full branch."""
    monkeypatch.setenv("INFOBOUNDS_SMOKE", "1")
    torch.manual_seed(0)
    setup = RECIPES[name](get_profile("full", device="cpu"), batch_size=16, seed=0, max_examples=64)
    before = parameters(setup.model)
    fit(setup.model, setup.stream, steps=2, seed=0, progress=False)
    assert any(not torch.equal(a, b) for a, b in zip(before, parameters(setup.model)))
    metrics = setup.evaluate()
    assert metrics and all(math.isfinite(v) for v in metrics.values()), metrics
