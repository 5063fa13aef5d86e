"""Emitters: a plan, pinned to revisions, as GitOps manifests (Argo CD, Flux).

`pinned` holds the revision-pinning model (docs/rollout-model.md): the `PinnedPlan` every
emitter writes from. `argocd` and `flux` turn a `PinnedPlan` into files ({relative path:
bytes}); `yamlout` writes their YAML; `stepfiles` names the files one release step
touches. Pure.
"""
