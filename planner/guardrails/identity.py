"""Identity consistency: inventory labels against the layers a cluster inherits and its
`cluster-identity` ConfigMap (from generator literals, env files or a plain manifest). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from planner import snapshot as snap_mod
from planner import yamlsafe
from planner.findings import Finding
from planner.guardrails.context import Context
from planner.hierarchy.graph import NodeKind
from planner.hierarchy.scopes import Scope
from planner.inventory import Cluster
from planner.snapshot import Snapshot


@dataclass
class Identity:
    """What a cluster says about itself beyond the inventory."""

    layers: dict[str, list[str]]  # role -> layer folders inherited (environments/x, regions/y)
    literals: dict[str, str]  # CLUSTER_NAME, ENVIRONMENT, REGION, COMPLIANCE
    literal_file: str | None


ROLE_SCOPES = {"environment": Scope.ENVIRONMENT, "region": Scope.REGION}
LITERALS = {"environment": "ENVIRONMENT", "region": "REGION", "compliance": "COMPLIANCE"}


def identity_of(ctx: Context, cluster: Cluster) -> Identity:
    reach = ctx.reach(cluster)
    layers: dict[str, list[str]] = {}
    literals: dict[str, str] = {}
    literal_file = None
    if reach is None:
        return Identity(layers, literals, literal_file)
    for role, scope in ROLE_SCOPES.items():
        found = sorted(reach.layers_of(scope))
        if found:
            layers[role] = found
    root_node = ctx.head.node(reach.root)
    doc = ctx.head.kustomization(reach.root)
    if doc is not None:
        literals, literal_file = _generator_literals(
            doc, ctx.policy.identity.configmap, ctx.snapshot, root_node.path
        )
        literal_file = (literal_file or root_node.file) if literals else None
    if not literals:
        closure = [ctx.head.node(i) for i in reach.nodes]
        literals, literal_file = _configmap_literals(ctx, closure, root_node.path)
    return Identity(layers, literals, literal_file)


def _generator_literals(
    doc: Mapping[str, Any], name: str, snap: Snapshot, folder: str
) -> tuple[dict[str, str], str | None]:
    """The identity ConfigMap's `literals` and `envs` files in a configMapGenerator."""
    literals: dict[str, str] = {}
    env_file = None
    for entry in doc.get("configMapGenerator") or []:
        if not isinstance(entry, Mapping) or entry.get("name") != name:
            continue
        envs_value = entry.get("envs")
        envs: list[Any] = list(envs_value) if isinstance(envs_value, list) else []
        envs.append(entry.get("env"))
        for ref in (e for e in envs if isinstance(e, str) and e.strip()):
            path = snap_mod.join(folder, ref.strip())
            data = None if snap_mod.escapes(path) else snap.read(path)
            if data is not None:
                literals.update(_pairs(data.decode("utf-8", "replace").splitlines()))
                env_file = path
        items = entry.get("literals")
        if isinstance(items, list):
            literals.update(_pairs(i for i in items if isinstance(i, str)))
    return literals, env_file


def _pairs(lines: Iterable[str]) -> dict[str, str]:
    """`KEY=VALUE` lines (comments and blank lines skipped), quotes stripped."""
    pairs = {}
    for line in lines:
        text = line.strip()
        if text and not text.startswith("#") and "=" in text:
            key, value = text.split("=", 1)
            pairs[key.strip()] = value.strip().strip("\"'")
    return pairs


def _configmap_literals(
    ctx: Context, closure: Iterable[Any], folder: str
) -> tuple[dict[str, str], str | None]:
    """A plain `cluster-identity` ConfigMap manifest inside the cluster's own folder."""
    wanted = ctx.policy.identity.configmap
    prefix = "" if folder in ("", ".") else folder.rstrip("/") + "/"
    for node in sorted(closure, key=lambda n: n.id):
        if node.kind != NodeKind.FILE or not node.path.startswith(prefix):
            continue
        data = ctx.snapshot.read(node.path)
        if not data or wanted.encode() not in data:
            continue
        try:
            docs = yamlsafe.load_all(data)
        except yamlsafe.YamlError:
            continue
        for doc in docs:
            if not isinstance(doc, Mapping) or doc.get("kind") != "ConfigMap":
                continue
            meta = doc.get("metadata")
            if isinstance(meta, Mapping) and meta.get("name") == wanted:
                values = doc.get("data")
                if isinstance(values, Mapping):
                    return {str(k): str(v) for k, v in values.items()}, node.path
    return {}, None


def agrees(label: str, other: str, mode: str = "prefix") -> bool:
    """`eu-west` agrees with `eu-west-1` (one extends the other at a dash) in prefix mode."""
    if label == other:
        return True
    if mode != "prefix":
        return False
    return other.startswith(label + "-") or label.startswith(other + "-")


def identity_findings(ctx: Context, cluster: Cluster) -> list[Finding]:
    """Inventory labels against inherited layers and the identity ConfigMap."""
    ident = identity_of(ctx, cluster)
    roles, mode = ctx.policy.labels, ctx.policy.identity.match
    findings: list[Finding] = []
    for role in ("environment", "region", "compliance"):
        key = roles.key_of(cluster.labels, role)
        label = cluster.labels[key] if key else None
        inherited = [p.rsplit("/", 1)[-1] for p in ident.layers.get(role, [])]
        if len(inherited) > 1:
            findings.append(
                Finding(
                    code="identity-ambiguous",
                    severity="violation",
                    message=f"{cluster.name} inherits {len(inherited)} {role} layers: "
                    + ", ".join(ident.layers[role]),
                    cluster=cluster.name,
                    file=cluster.gitops_path,
                    values={f"layer:{p}": p.rsplit("/", 1)[-1] for p in ident.layers[role]},
                    fix=f"a cluster inherits exactly one {role} layer",
                )
            )
        if label is not None:
            for layer, value in zip(ident.layers.get(role, []), inherited, strict=True):
                if not agrees(label, value, mode):
                    findings.append(
                        _mismatch(
                            cluster,
                            role,
                            key or role,
                            label,
                            where=f"layer {layer}",
                            value=value,
                            file=layer,
                        )
                    )
            literal = ident.literals.get(LITERALS[role])
            if literal is not None and not agrees(label, literal, mode):
                where = f"{ctx.policy.identity.configmap} {LITERALS[role]}"
                findings.append(
                    _mismatch(
                        cluster,
                        role,
                        key or role,
                        label,
                        where=where,
                        value=literal,
                        file=ident.literal_file or "",
                    )
                )
    declared = ident.literals.get("CLUSTER_NAME")
    if declared is not None and declared != cluster.name:
        findings.append(
            Finding(
                code="identity-mismatch",
                severity="violation",
                message=f"{cluster.name}: its {ctx.policy.identity.configmap} says "
                f"CLUSTER_NAME={declared}",
                cluster=cluster.name,
                file=ident.literal_file,
                values={"inventory.name": cluster.name, "CLUSTER_NAME": declared},
                fix="the cluster folder belongs to another cluster: "
                "fix the inventory path or the folder",
            )
        )
    return findings


def _mismatch(
    cluster: Cluster, role: str, key: str, label: str, *, where: str, value: str, file: str
) -> Finding:
    return Finding(
        code="identity-mismatch",
        severity="violation",
        message=(f"{cluster.name}: inventory says {key}={label} but {where} says {role} {value}"),
        cluster=cluster.name,
        file=file or None,
        values={f"inventory.{key}": label, where: value},
        fix=f"correct the {key} label in the inventory, or the cluster's folder, "
        "so both say the same",
    )
