"""The layers hold: by import, by model relation and by migration dependency.

foundation → webhooks → media_core → playback → live, lowest first (DESIGN.md): an app
depends only on the apps below it. Imports are checked by import-linter's contract in
pyproject.toml; relations and migrations here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.db import models
from django.db.migrations.loader import MigrationLoader
from django.test.utils import isolate_apps

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["foundation", "webhooks", "media_core", "playback", "live"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def upward_relations(model_classes) -> list[str]:
    """Every relation declared by a model of ours that points at a higher app."""
    found = []
    for model in model_classes:
        own = model._meta.app_label
        if own not in ORDER:
            continue
        for field in model._meta.get_fields():
            if not field.is_relation or field.auto_created or field.related_model is None:
                continue
            target = field.related_model._meta.app_label
            if target in ORDER and ORDER.index(target) > ORDER.index(own):
                found.append(f"{model._meta.label}.{field.name} -> {field.related_model._meta.label}")
    return found


def upward_migrations(loader: MigrationLoader) -> list[str]:
    found = []
    for (app, name), migration in loader.disk_migrations.items():
        if app not in ORDER:
            continue
        for dep_app, dep_name in migration.dependencies:
            if dep_app in ORDER and ORDER.index(dep_app) > ORDER.index(app):
                found.append(f"{app}.{name} -> {dep_app}.{dep_name}")
    return found


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tree, capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin",
                                                       "PYTHONPATH": str(tree)})


def test_no_model_relation_points_up_the_layers():
    assert upward_relations(apps.get_models()) == []


@isolate_apps("foundation")
def test_a_relation_from_foundation_to_a_domain_app_would_be_caught():
    from media_core.models import Asset

    class Misplaced(models.Model):  # noqa: DJ008
        asset = models.ForeignKey(Asset, on_delete=models.CASCADE)

        class Meta:
            app_label = "foundation"

    assert upward_relations([Misplaced]) == ["foundation.Misplaced.asset -> media_core.Asset"]


def test_no_migration_depends_on_a_higher_app():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    assert upward_migrations(loader) == []
    assert loader.detect_conflicts() == {}


def test_no_import_points_up_the_layers():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_an_import_of_live_in_media_core_would_be_caught(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(ROOT / "pyproject.toml", tree)
    for package in ("config", "foundation", "webhooks", "media_core", "playback", "live"):
        shutil.copytree(ROOT / package, tree / package,
                        ignore=shutil.ignore_patterns("__pycache__", "static", "templates"))
    (tree / "media_core" / "reach_up.py").write_text("from live.models import LiveStream\n")

    result = lint_imports(tree)

    assert result.returncode == 1
    assert "media_core.reach_up -> live.models" in result.stdout


@pytest.mark.parametrize("app", ORDER + ["config"])
def test_no_module_grows_past_four_hundred_lines(app):
    long = {str(path.relative_to(ROOT)): n for path in (ROOT / app).rglob("*.py")
            if "migrations" not in path.parts
            and (n := len(path.read_text().splitlines())) > 400}
    assert long == {}
