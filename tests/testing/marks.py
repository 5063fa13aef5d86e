"""Skip marks for tests that need a tool on PATH (they skip saying why)."""

from __future__ import annotations

import shutil

import pytest

requires_kubectl = pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl (with built-in kustomize) is not on PATH"
)
