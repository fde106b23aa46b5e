"""The chaos suite lives in `bench/`, which is not an installed package: make the
repository root importable (pyproject's `pythonpath = ["."]` would do the same)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
