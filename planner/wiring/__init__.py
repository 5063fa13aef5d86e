"""Wiring: how GitOps objects pull repository paths into a cluster, and what the tracer does
with them.

- `scanner` finds the objects in parsed YAML documents, `objects` holds what it finds;
- `sources` decides whether a source is this repository (`repourl` normalises URLs);
- `artifacts` maps Flux ExternalArtifacts back to repository paths;
- `appset`, `appsetgen`, `apptemplate`, `helmapps` and `fleetbundle` expand Argo CD
  ApplicationSets, Helm-templated Applications and Rancher Fleet bundles, which
  `percluster` wires into the hierarchy for each cluster;
- `notes` says what was not followed, and why.

Pure.
"""
