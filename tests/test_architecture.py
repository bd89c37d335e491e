import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_apps_meet_only_through_public_modules():
    """The import-linter contracts in .importlinter: no app imports another app's models."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--config", str(ROOT / ".importlinter")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_unused_undefined_or_shadowed_names():
    """ruff's pyflakes rules (configured in pyproject.toml) over the whole project."""
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_function_level_imports_of_another_app():
    """tools/function_imports.py: an import of another app hidden in a function body still couples
    the apps (and turns a cycle into a run-time failure), so there are none outside tests."""
    result = subprocess.run([sys.executable, "-m", "tools.function_imports"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_types_check():
    """mypy with the django-stubs and DRF plugins, configured in pyproject.toml: strict on the pure
    cores (billing.rating, mdm.vee, mdm.determinants), the default checks elsewhere. The incremental
    cache in .local/mypy-cache makes a warm run a few seconds."""
    mypy = Path(sys.executable).with_name("mypy")
    result = subprocess.run(
        [str(mypy), "--cache-dir", str(ROOT / ".local" / "mypy-cache")], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
