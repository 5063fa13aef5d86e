"""The rollout policy of the issue that specified it, verbatim (tests/data/rollout.yaml)."""

from __future__ import annotations

from pathlib import Path

ISSUE_POLICY_FILE = Path(__file__).resolve().parent.parent / "data" / "rollout.yaml"
ISSUE_POLICY = ISSUE_POLICY_FILE.read_text()
