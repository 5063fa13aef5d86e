"""The mutation harness over the Flux-shaped fixture fleets: every single-file edit that
changes some cluster's rendered state affects that cluster (recall 1.0), and the traced
set is exact for at least 95% of the edits.

The truth per edit (tests/data/flux-mutations.yaml) was recorded by rendering every cluster
at base and head with `kubectl kustomize`, following Flux objects into the repository.
"""

from __future__ import annotations

import pytest
import yaml

from tests.testing.fluxmutate import score
from tests.testing.paths import DATA_DIR

TRUTH: dict[str, dict[str, list[str]]] = yaml.safe_load(
    (DATA_DIR / "flux-mutations.yaml").read_text()
)


@pytest.mark.parametrize("fleet", sorted(TRUTH))
def test_every_edit_reaches_every_cluster_whose_render_changed(fleet: str) -> None:
    missed, inexact, edits, violations = score(fleet, TRUTH[fleet])
    assert missed == []
    assert len(inexact) <= 0.05 * edits, inexact
    assert not any("reference-cycle" in codes for codes in violations.values())
