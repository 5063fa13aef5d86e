"""The files one rollout step changes: what `rollout advance` and `rollback` rewrite.

Moving a set of clusters between base and head (releasing a step, rolling steps back)
changes only the manifests that list those clusters, and whatever states how many steps are
released: with Argo CD (list strategy) the ApplicationSets (wave shards) holding one of the
clusters; with Flux each cluster's `clusters/<cluster>/sync.yaml` and every `<wave>.paths`
(its header counts released steps). Every other file of the full render is byte-identical
before and after, so a step costs the size of the step, not of the fleet. The bytes are the
full renderers' own (same functions); a test checks this against `argocd.render` and
`flux.render` for every step of real rollouts. Pure.
"""

from __future__ import annotations

from collections.abc import Collection

from planner.emit import argocd, flux
from planner.emit.pinned import PinnedPlan
from planner.policy import ArgoCDSettings, FluxSettings


def step_files(
    rollout: PinnedPlan, settings: ArgoCDSettings | FluxSettings, clusters: Collection[str]
) -> dict[str, bytes]:
    """{path: bytes} of every file whose content depends on the pins of `clusters`."""
    wanted = frozenset(clusters)
    out: dict[str, bytes] = {}
    if isinstance(settings, FluxSettings):
        for wave, elements in rollout.waves.items():
            for element in elements:
                if element.cluster in wanted:
                    out[flux.sync_path(element)] = flux.sync_file(element, rollout, settings)
            out[f"{wave}.paths"] = flux.wave_paths(wave, elements, rollout)
        return dict(sorted(out.items()))
    for wave, elements in rollout.waves.items():
        if not any(e.cluster in wanted for e in elements):
            continue
        base = f"{settings.name_prefix}-{wave}"
        for name, part in argocd.shard_names(base, elements, rollout.regions, settings.shard_size):
            if any(e.cluster in wanted for e in part):
                doc = argocd.application_set(name, part, rollout, settings, wave=wave)
                path, data = argocd.appset_file(name, doc)
                out[path] = data
    return dict(sorted(out.items()))


def all_paths(rollout: PinnedPlan, settings: ArgoCDSettings | FluxSettings) -> set[str]:
    """The paths of the full render (`flux.render`, `argocd.render` list strategy)."""
    out = {"kustomization.yaml"}
    for wave, elements in rollout.waves.items():
        if isinstance(settings, FluxSettings):
            out.update(flux.sync_path(e) for e in elements)
            out.add(f"{wave}.paths")
        else:
            base = f"{settings.name_prefix}-{wave}"
            shards = argocd.shard_names(base, elements, rollout.regions, settings.shard_size)
            out.update(f"{name}.yaml" for name, _ in shards)
    return out
