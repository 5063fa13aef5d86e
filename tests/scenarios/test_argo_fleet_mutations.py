"""The mutation harness over the ApplicationSet, Helm values and Fleet fixture fleets: every
single-file edit that changes what a cluster gets affects that cluster (recall 1.0), and
the traced set is exact for at least 95% of the edits.

The truth per edit (tests/data/argo-fleet-mutations.yaml) was recorded by rendering, at
base and head, what each cluster's generators or customizations select for it.
"""

from __future__ import annotations

import pytest
import yaml

from tests.testing.fluxmutate import score
from tests.testing.paths import DATA_DIR

TRUTH: dict[str, dict[str, list[str]]] = yaml.safe_load(
    (DATA_DIR / "argo-fleet-mutations.yaml").read_text()
)


@pytest.mark.parametrize("fleet", sorted(TRUTH))
def test_every_edit_reaches_every_cluster_that_gets_something_else(fleet: str) -> None:
    missed, inexact, edits, violations = score(fleet, TRUTH[fleet])
    assert missed == []
    assert len(inexact) <= 0.05 * edits, inexact
    assert violations == {p: [] for p in violations}
