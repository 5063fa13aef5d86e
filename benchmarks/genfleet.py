"""Synthetic multi-cluster GitOps fleet generator for benchmarks.

Writes a git repository shaped like::

    base/                          ~20 resources + kustomization.yaml
    environments/<env>/            dev, staging, production overlays of base
    regions/<env>-r<k>/            about one region per 20 clusters, overlay of an env
    clusters/<name>/               one per cluster, overlay of its region
    clusters.yaml                  inventory

and a linear history of five commits, each tagged::

    base              initial fleet
    change-base       one file under base/ changed        (affects every cluster)
    change-region     one region's kustomization changed  (affects that region)
    change-cluster    one cluster's kustomization changed (affects that cluster)
    change-inventory  one cluster's labels in clusters.yaml changed

Every benchmark compares ``<tag>^..<tag>``. The history is written with one
``git fast-import`` run and fixed identities and dates, so the same ``--clusters``
and ``--seed`` always give the same commit ids.

Usage::

    python benchmarks/genfleet.py --clusters N --out DIR [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ENVIRONMENTS",
    "TAGS",
    "FleetModel",
    "GeneratedFleet",
    "build_model",
    "generate_fleet",
    "git_env",
    "main",
]

ENVIRONMENTS: tuple[str, ...] = ("dev", "staging", "production")
# Share of clusters per environment; production takes the remainder.
_ENV_SHARE: Mapping[str, float] = {"dev": 0.10, "staging": 0.20}
_ENV_REPLICAS: Mapping[str, int] = {"dev": 1, "staging": 2, "production": 3}
CLUSTERS_PER_REGION = 20
CANARY_SHARE = 0.02

TAGS: tuple[str, ...] = (
    "base",
    "change-base",
    "change-region",
    "change-cluster",
    "change-inventory",
)

_GIT_NAME = "bench"
_GIT_EMAIL = "bench@example.com"
_EPOCH = 1_700_000_000  # 2023-11-14T22:13:20Z; one hour between commits
_GIT_DATE = f"@{_EPOCH} +0000"

INVENTORY_PATH = "clusters.yaml"
_KUSTOMIZATION_HEADER = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
_REVISION_ANNOTATION = 'fleet.example.com/revision: "1"'
_REVISION_ANNOTATION_CHANGED = 'fleet.example.com/revision: "2"'


def git_env() -> dict[str, str]:
    """Environment for deterministic git runs that ignore user/system config."""
    env = dict(os.environ)
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
        env.pop(key, None)
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME=_GIT_NAME,
        GIT_AUTHOR_EMAIL=_GIT_EMAIL,
        GIT_COMMITTER_NAME=_GIT_NAME,
        GIT_COMMITTER_EMAIL=_GIT_EMAIL,
        GIT_AUTHOR_DATE=_GIT_DATE,
        GIT_COMMITTER_DATE=_GIT_DATE,
        LC_ALL="C",
    )
    return env


def _git(repo: Path, *args: str, stdin: bytes | None = None, env: Mapping[str, str]) -> str:
    cmd = [
        "git",
        "-c",
        f"user.name={_GIT_NAME}",
        "-c",
        f"user.email={_GIT_EMAIL}",
        "-C",
        str(repo),
        *args,
    ]
    proc = subprocess.run(cmd, check=False, input=stdin, capture_output=True, env=dict(env))
    if proc.returncode != 0:
        raise RuntimeError(
            f"git {' '.join(cmd[7:])} failed ({proc.returncode}): "
            f"{proc.stderr.decode(errors='replace').strip()}"
        )
    return proc.stdout.decode()


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Cluster:
    name: str
    environment: str
    region: str
    canary: bool


@dataclass
class FleetModel:
    """The fleet layout plus the targets of the four change commits."""

    clusters: list[Cluster]
    regions: dict[str, list[str]]  # region -> cluster names
    region_env: dict[str, str]
    base_files: dict[str, str]  # path under repo root -> content
    changed_base_file: str
    changed_region: str
    changed_cluster: str
    changed_inventory_cluster: str


def _split(n: int) -> dict[str, int]:
    counts = {env: round(n * share) for env, share in _ENV_SHARE.items()}
    counts["production"] = n - sum(counts.values())
    return counts


def _sizes(total: int, parts: int) -> list[int]:
    q, r = divmod(total, parts)
    return [q + (1 if i < r else 0) for i in range(parts)]


def build_model(n: int, seed: int = 0) -> FleetModel:
    """Lay out ``n`` clusters; ``seed`` picks canaries and the change targets."""
    if n < 1:
        raise ValueError("need at least one cluster")
    rng = random.Random(seed)
    clusters: list[Cluster] = []
    regions: dict[str, list[str]] = {}
    region_env: dict[str, str] = {}
    for env, count in _split(n).items():
        if count == 0:
            continue
        n_regions = max(1, count // CLUSTERS_PER_REGION)
        sizes = _sizes(count, n_regions)
        rwidth = len(str(n_regions))
        cwidth = len(str(max(sizes)))
        env_clusters: list[Cluster] = []
        for k, size in enumerate(sizes, start=1):
            region = f"{env}-r{k:0{rwidth}d}"
            names = [f"{region}-c{j:0{cwidth}d}" for j in range(1, size + 1)]
            regions[region] = names
            region_env[region] = env
            env_clusters.extend(Cluster(nm, env, region, False) for nm in names)
        if env == "dev":
            n_canary = max(1, round(count * CANARY_SHARE))
            picked = set(rng.sample(range(count), n_canary))
            env_clusters = [
                Cluster(c.name, c.environment, c.region, i in picked)
                for i, c in enumerate(env_clusters)
            ]
        clusters.extend(env_clusters)

    base_files = _base_files()
    region_names = sorted(regions)
    names = [c.name for c in clusters]
    prod = [c.name for c in clusters if c.environment == "production"] or names
    return FleetModel(
        clusters=clusters,
        regions=regions,
        region_env=region_env,
        base_files=base_files,
        changed_base_file=rng.choice(
            sorted(p for p in base_files if not p.endswith("kustomization.yaml"))
        ),
        changed_region=rng.choice(region_names),
        changed_cluster=rng.choice(names),
        changed_inventory_cluster=rng.choice(prod),
    )


# ------------------------------------------------------------------------ content


def _meta(kind: str, api: str, name: str, namespace: str | None) -> str:
    ns = f"  namespace: {namespace}\n" if namespace else ""
    return (
        f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n{ns}"
        f"  labels:\n    app.kubernetes.io/part-of: fleet-platform\n"
        f"  annotations:\n    {_REVISION_ANNOTATION}\n"
    )


_NAMESPACES = ("platform", "monitoring", "ingress", "apps")


def _base_files() -> dict[str, str]:
    files: dict[str, str] = {}
    for ns in _NAMESPACES:
        files[f"base/namespace-{ns}.yaml"] = _meta("Namespace", "v1", ns, None)
    for ns in _NAMESPACES:
        files[f"base/networkpolicy-default-deny-{ns}.yaml"] = (
            _meta("NetworkPolicy", "networking.k8s.io/v1", "default-deny", ns)
            + "spec:\n  podSelector: {}\n  policyTypes:\n    - Ingress\n    - Egress\n"
        )
    files["base/networkpolicy-allow-dns.yaml"] = (
        _meta("NetworkPolicy", "networking.k8s.io/v1", "allow-dns", "platform")
        + "spec:\n  podSelector: {}\n  policyTypes:\n    - Egress\n  egress:\n"
        "    - ports:\n        - protocol: UDP\n          port: 53\n"
        "        - protocol: TCP\n          port: 53\n"
    )
    files["base/configmap-platform-settings.yaml"] = (
        _meta("ConfigMap", "v1", "platform-settings", "platform")
        + 'data:\n  LOG_FORMAT: json\n  SYNC_INTERVAL: "60s"\n'
    )
    files["base/configmap-logging.yaml"] = (
        _meta("ConfigMap", "v1", "logging", "monitoring") + "data:\n  LEVEL: info\n  SINK: stdout\n"
    )
    files["base/configmap-feature-flags.yaml"] = (
        _meta("ConfigMap", "v1", "feature-flags", "apps")
        + 'data:\n  NEW_SCHEDULER: "false"\n  FAST_PATH: "true"\n'
    )
    files["base/serviceaccount-fleet-agent.yaml"] = _meta(
        "ServiceAccount", "v1", "fleet-agent", "platform"
    )
    files["base/clusterrole-fleet-agent.yaml"] = (
        _meta("ClusterRole", "rbac.authorization.k8s.io/v1", "fleet-agent", None)
        + 'rules:\n  - apiGroups: [""]\n    resources: [namespaces, configmaps]\n'
        "    verbs: [get, list, watch]\n"
    )
    files["base/clusterrolebinding-fleet-agent.yaml"] = (
        _meta("ClusterRoleBinding", "rbac.authorization.k8s.io/v1", "fleet-agent", None)
        + "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n"
        "  name: fleet-agent\nsubjects:\n  - kind: ServiceAccount\n"
        "    name: fleet-agent\n    namespace: platform\n"
    )
    files["base/deployment-fleet-agent.yaml"] = (
        _meta("Deployment", "apps/v1", "fleet-agent", "platform")
        + "spec:\n  replicas: 1\n  selector:\n    matchLabels:\n"
        "      app.kubernetes.io/name: fleet-agent\n  template:\n    metadata:\n"
        "      labels:\n        app.kubernetes.io/name: fleet-agent\n    spec:\n"
        "      serviceAccountName: fleet-agent\n      containers:\n"
        "        - name: agent\n          image: registry.example.com/fleet-agent:1.4.2\n"
        "          ports:\n            - containerPort: 8080\n"
        "          envFrom:\n"
        "            - configMapRef:\n                name: platform-settings\n"
        "            - configMapRef:\n                name: region-config\n"
        "            - configMapRef:\n                name: cluster-identity\n"
    )
    files["base/service-fleet-agent.yaml"] = (
        _meta("Service", "v1", "fleet-agent", "platform")
        + "spec:\n  selector:\n    app.kubernetes.io/name: fleet-agent\n"
        "  ports:\n    - port: 80\n      targetPort: 8080\n"
    )
    files["base/poddisruptionbudget-fleet-agent.yaml"] = (
        _meta("PodDisruptionBudget", "policy/v1", "fleet-agent", "platform")
        + "spec:\n  maxUnavailable: 1\n  selector:\n    matchLabels:\n"
        "      app.kubernetes.io/name: fleet-agent\n"
    )
    files["base/resourcequota-apps.yaml"] = (
        _meta("ResourceQuota", "v1", "apps-quota", "apps")
        + 'spec:\n  hard:\n    requests.cpu: "20"\n    requests.memory: 64Gi\n'
    )
    files["base/limitrange-apps.yaml"] = (
        _meta("LimitRange", "v1", "apps-defaults", "apps")
        + "spec:\n  limits:\n    - type: Container\n      default:\n"
        "        cpu: 500m\n        memory: 512Mi\n"
    )
    files["base/priorityclass-platform.yaml"] = (
        _meta("PriorityClass", "scheduling.k8s.io/v1", "platform-critical", None)
        + "value: 1000000\nglobalDefault: false\n"
    )
    resources = "".join(f"  - {p.removeprefix('base/')}\n" for p in files)
    files["base/kustomization.yaml"] = _KUSTOMIZATION_HEADER + "resources:\n" + resources
    return files


def _environment_kustomization(env: str) -> str:
    return (
        _KUSTOMIZATION_HEADER
        + "resources:\n  - ../../base\n"
        + "labels:\n  - pairs:\n"
        + f"      fleet.example.com/environment: {env}\n"
        + "    includeSelectors: false\n"
        + "patches:\n  - target:\n      kind: Deployment\n      name: fleet-agent\n"
        + "    patch: |-\n      - op: replace\n        path: /spec/replicas\n"
        + f"        value: {_ENV_REPLICAS[env]}\n"
    )


def _region_kustomization(region: str, env: str, *, changed: bool = False) -> str:
    window = "sat-03:00" if changed else "sun-02:00"
    return (
        _KUSTOMIZATION_HEADER
        + f"resources:\n  - ../../environments/{env}\n"
        + "configMapGenerator:\n  - name: region-config\n    namespace: platform\n"
        + "    literals:\n"
        + f"      - REGION={region}\n"
        + f"      - ENVIRONMENT={env}\n"
        + f"      - MAINTENANCE_WINDOW={window}\n"
    )


def _cluster_kustomization(c: Cluster, *, changed: bool = False) -> str:
    extra = "      - LOG_LEVEL=debug\n" if changed else ""
    return (
        _KUSTOMIZATION_HEADER
        + f"resources:\n  - ../../regions/{c.region}\n"
        + "configMapGenerator:\n  - name: cluster-identity\n    namespace: platform\n"
        + "    literals:\n"
        + f"      - CLUSTER_NAME={c.name}\n"
        + f"      - ENVIRONMENT={c.environment}\n"
        + f"      - REGION={c.region}\n"
        + extra
    )


def _inventory(clusters: Iterable[Cluster], extra_labels_for: str | None = None) -> str:
    parts = ["clusters:\n"]
    for c in clusters:
        parts.append(
            f"  - name: {c.name}\n    labels:\n"
            f"      environment: {c.environment}\n      region: {c.region}\n"
        )
        if c.canary:
            parts.append("      rollout.wave: canary\n")
        if c.name == extra_labels_for:
            parts.append("      tier: critical\n")
        parts.append(f"    server: https://{c.name}.k8s.example.com\n")
    return "".join(parts)


# ---------------------------------------------------------------------- writing


@dataclass
class GeneratedFleet:
    """A generated fleet repository.

    ``commits`` maps each tag in :data:`TAGS` to its commit id. ``changed`` names the
    target of each change commit and ``expected_affected`` lists, per change tag, the
    clusters whose rendered output or inventory entry that commit changes.
    """

    path: Path
    commits: dict[str, str]
    cluster_names: list[str]
    changed: dict[str, str] = field(default_factory=dict)
    expected_affected: dict[str, list[str]] = field(default_factory=dict)


class _FastImport:
    def __init__(self) -> None:
        self._chunks: list[bytes] = [b"feature done\n"]
        self._mark = 0

    def commit(self, message: str, files: Mapping[str, str], tag: str, when: int) -> None:
        self._mark += 1
        ident = f"{_GIT_NAME} <{_GIT_EMAIL}> {when} +0000"
        msg = message.encode()
        out = self._chunks
        out.append(
            f"commit refs/heads/main\nmark :{self._mark}\nauthor {ident}\n"
            f"committer {ident}\ndata {len(msg)}\n".encode()
            + msg
            + b"\n"
        )
        if self._mark > 1:
            out.append(f"from :{self._mark - 1}\n".encode())
        for path in sorted(files):
            data = files[path].encode()
            out.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
        out.append(b"\n")
        out.append(f"reset refs/tags/{tag}\nfrom :{self._mark}\n\n".encode())

    def stream(self) -> bytes:
        return b"".join([*self._chunks, b"done\n"])


def _initial_files(model: FleetModel) -> dict[str, str]:
    files = dict(model.base_files)
    for env in ENVIRONMENTS:
        files[f"environments/{env}/kustomization.yaml"] = _environment_kustomization(env)
    for region, env in model.region_env.items():
        files[f"regions/{region}/kustomization.yaml"] = _region_kustomization(region, env)
    for c in model.clusters:
        files[f"clusters/{c.name}/kustomization.yaml"] = _cluster_kustomization(c)
    files[INVENTORY_PATH] = _inventory(model.clusters)
    files["README.md"] = (
        "# Synthetic fleet\n\nGenerated by benchmarks/genfleet.py for benchmarking.\n"
    )
    return files


def generate_fleet(n: int, out: Path, seed: int = 0, *, checkout: bool = True) -> GeneratedFleet:
    """Write a fleet of ``n`` clusters as a git repository at ``out``.

    ``out`` must not exist or be an empty directory. With ``checkout`` (the default)
    the work tree is populated at the last commit.
    """
    out = Path(out)
    model = build_model(n, seed)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty")
    out.mkdir(parents=True, exist_ok=True)
    by_name = {c.name: c for c in model.clusters}
    env = git_env()

    fi = _FastImport()
    fi.commit("Initial fleet\n", _initial_files(model), "base", _EPOCH)

    base_path = model.changed_base_file
    base_content = model.base_files[base_path].replace(
        _REVISION_ANNOTATION, _REVISION_ANNOTATION_CHANGED
    )
    fi.commit(
        f"Bump revision annotation in {base_path}\n",
        {base_path: base_content},
        "change-base",
        _EPOCH + 3600,
    )

    region = model.changed_region
    fi.commit(
        f"Move maintenance window of region {region}\n",
        {
            f"regions/{region}/kustomization.yaml": _region_kustomization(
                region, model.region_env[region], changed=True
            )
        },
        "change-region",
        _EPOCH + 2 * 3600,
    )

    cluster = by_name[model.changed_cluster]
    fi.commit(
        f"Enable debug logging on cluster {cluster.name}\n",
        {
            f"clusters/{cluster.name}/kustomization.yaml": _cluster_kustomization(
                cluster, changed=True
            )
        },
        "change-cluster",
        _EPOCH + 3 * 3600,
    )

    inv = model.changed_inventory_cluster
    fi.commit(
        f"Label cluster {inv} as tier=critical\n",
        {INVENTORY_PATH: _inventory(model.clusters, extra_labels_for=inv)},
        "change-inventory",
        _EPOCH + 4 * 3600,
    )

    _git(out, "init", "--quiet", "-b", "main", env=env)
    _git(out, "fast-import", "--quiet", stdin=fi.stream(), env=env)
    if checkout:
        _git(out, "reset", "--quiet", "--hard", "main", env=env)
    shas = _git(out, "rev-parse", *TAGS, env=env).split()
    names = [c.name for c in model.clusters]
    return GeneratedFleet(
        path=out,
        commits=dict(zip(TAGS, shas, strict=True)),
        cluster_names=names,
        changed={
            "change-base": base_path,
            "change-region": region,
            "change-cluster": cluster.name,
            "change-inventory": inv,
        },
        expected_affected={
            "change-base": sorted(names),
            "change-region": sorted(model.regions[region]),
            "change-cluster": [cluster.name],
            "change-inventory": [inv],
        },
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate a synthetic multi-cluster GitOps fleet repository."
    )
    parser.add_argument("--clusters", type=int, required=True, metavar="N")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-checkout",
        action="store_true",
        help="leave the work tree empty (history and tags only)",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        fleet = generate_fleet(args.clusters, args.out, args.seed, checkout=not args.no_checkout)
    except (ValueError, FileExistsError, RuntimeError) as exc:
        print(f"genfleet: {exc}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "path": str(fleet.path),
                "clusters": len(fleet.cluster_names),
                "commits": fleet.commits,
                "changed": fleet.changed,
                "seconds": round(seconds, 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
