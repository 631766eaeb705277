"""The core must never import Streamlit (checked in a fresh interpreter)."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import kayfabe_core

ROOT = Path(__file__).resolve().parents[1]


def test_importing_every_core_module_leaves_streamlit_unimported() -> None:
    names = [info.name for info in pkgutil.walk_packages(kayfabe_core.__path__, "kayfabe_core.")
             if not info.name.endswith("__main__")]
    assert len(names) > 8
    code = ("import importlib, sys\n"
            f"for name in {names!r}: importlib.import_module(name)\n"
            "import kayfabe_core.__main__\n"
            "print('streamlit' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
