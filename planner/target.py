"""What the manifests are written for: Argo CD ApplicationSets or Flux objects."""

from __future__ import annotations

from enum import StrEnum


class Target(StrEnum):
    """The GitOps tool a plan is emitted for (`emit --target`, `rollout start --target`)."""

    argocd = "argocd"
    flux = "flux"
