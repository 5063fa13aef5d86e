"""Where things are, wherever a test module sits: the tests folder and the project root."""

from __future__ import annotations

from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent.parent
ROOT = TESTS_DIR.parent
DATA_DIR = TESTS_DIR / "data"
FLEETS_DIR = TESTS_DIR / "fleets"
GOLDEN_DIR = TESTS_DIR / "golden"
SCHEMAS_DIR = TESTS_DIR / "schemas"
