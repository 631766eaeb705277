"""Style and types are part of the suite: ruff on everything, mypy on the core."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (make install-dev installs it)")
    return found


def test_ruff_is_clean() -> None:
    result = subprocess.run([_tool("ruff"), "check", "kayfabe_core", "kayfabe_ui", "pages", "app.py",
                             "tests", "benchmarks"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.slow
def test_mypy_is_clean_on_the_core() -> None:
    result = subprocess.run([_tool("mypy"), "kayfabe_core"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
