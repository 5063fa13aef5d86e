"""The cluster inventory: which clusters exist, what they are, and where their config lives.

Owns the `Cluster` and `Inventory` models and their validation (DNS-1123 names, Kubernetes
label syntax, https servers, relative paths inside the repository, unique names), the three
inventory formats the planner accepts (a `clusters.yaml` list, Argo CD cluster Secrets,
Cluster API `Cluster` objects, detected from content), label roles (which label keys mean
environment, region, compliance, wave) and the diff of two inventories (added, removed,
retargeted clusters). Everything here is pure: callers hand in bytes.

Values from the inventory end up in emitted manifests, so validation is strict: a value that
could break out of YAML or inject template syntax (`{{`) never passes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from planner import snapshot, yamlsafe
from planner.errors import ProblemCollector, problems_from_errors

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_SAFE_PATH = re.compile(r"^[A-Za-z0-9._/@+=,~ -]+$")
PATH_ANNOTATION = "wave-planner.io/path"
ARGOCD_SECRET_TYPE = "argocd.argoproj.io/secret-type"


def check_name(value: str) -> str:
    if not DNS1123_LABEL.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a DNS-1123 label (lowercase letters, digits and '-', "
            "at most 63 characters, starting and ending with a letter or digit)"
        )
    return value


_CLUSTER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$")


def check_cluster_name(value: str) -> str:
    """A DNS-1123 name short enough to be a label value: it names objects and labels them."""
    if not _CLUSTER_NAME.fullmatch(value) or ".." in value:
        raise ValueError(
            f"{value!r} is not a valid cluster name (a DNS-1123 name: lowercase letters, "
            "digits, '-' and '.', at most 63 characters, starting and ending with a letter "
            "or digit)"
        )
    return value


def check_label_key(key: str) -> str:
    prefix, _, name = key.rpartition("/")
    if not _LABEL_NAME.fullmatch(name) or (prefix and not _DNS1123_SUBDOMAIN.fullmatch(prefix)):
        raise ValueError(f"label key {key!r} is not a valid Kubernetes label key")
    return key


def check_label_value(value: str) -> str:
    if value and not _LABEL_NAME.fullmatch(value):
        raise ValueError(
            f"label value {value!r} is not a valid Kubernetes label value (at most 63 of "
            "letters, digits, '-', '_' and '.', starting and ending with a letter or digit)"
        )
    return value


def check_labels(labels: dict[str, str]) -> dict[str, str]:
    for key, value in labels.items():
        check_label_key(key)
        check_label_value(value)
    return labels


# The usual spelling, accepted without parsing: every string it matches passes the full check.
_PLAIN_SERVER = re.compile(
    r"^https://[A-Za-z0-9][A-Za-z0-9.-]*(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]*)?$"
)


def check_server(value: str) -> str:
    if _PLAIN_SERVER.fullmatch(value):
        return value
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"server {value!r} is not an https:// URL")
    if any(ch.isspace() for ch in value) or any(c in value for c in "{}\"'`<>\\"):
        raise ValueError(f"server {value!r} contains characters not allowed in a URL")
    return value


def check_repo_path(value: str) -> str:
    if not value or not _SAFE_PATH.fullmatch(value):
        raise ValueError(f"path {value!r} must be a plain relative path (letters, digits, ./-_)")
    norm = snapshot.normalize(value)
    if value.startswith("/") or snapshot.escapes(norm):
        raise ValueError(f"path {value!r} must be relative and inside the repository")
    return norm


Name = Annotated[str, AfterValidator(check_cluster_name)]
Labels = Annotated[dict[str, str], AfterValidator(check_labels)]
Server = Annotated[str, AfterValidator(check_server)]
RepoPath = Annotated[str, AfterValidator(check_repo_path)]


class Cluster(BaseModel):
    """One cluster of the fleet."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    name: Name = Field(description="Cluster name: a DNS-1123 label, unique in the inventory.")
    labels: Labels = Field(default_factory=dict, description="Kubernetes labels.")
    server: Server | None = Field(default=None, description="API server URL (https).")
    path: RepoPath | None = Field(
        default=None, description="GitOps path in the repository (default clusters/<name>)."
    )

    @property
    def gitops_path(self) -> str:
        return self.path or f"clusters/{self.name}"

    def identity(self) -> tuple[str, str, str]:
        """What targeting depends on: labels, path and server."""
        return (json.dumps(self.labels, sort_keys=True), self.gitops_path, self.server or "")


_CLUSTER_LIST: TypeAdapter[list[Cluster]] = TypeAdapter(list[Cluster])


class InventoryFile(BaseModel):
    """The `clusters.yaml` format."""

    model_config = ConfigDict(strict=True, extra="forbid")

    clusters: list[Cluster] = Field(description="Every cluster of the fleet.")


class LabelRoles(BaseModel):
    """Which label keys mean environment, region, compliance and rollout wave.

    A key `k` listed here matches a label key equal to `k` or ending in `/k`, so both
    `environment` and `platform.example.com/environment` mean environment by default.
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    environment: tuple[str, ...] = ("environment", "env")
    region: tuple[str, ...] = ("region",)
    compliance: tuple[str, ...] = ("compliance",)
    wave: tuple[str, ...] = ("rollout.wave", "rollout_wave", "wave")

    def keys_for(self, role: str) -> tuple[str, ...]:
        value: tuple[str, ...] = getattr(self, role)
        return value

    def key_of(self, labels: Mapping[str, str], role: str) -> str | None:
        """The label key that carries `role`, if any (exact names win over prefixed ones)."""
        wanted: tuple[str, ...] = getattr(self, role)
        for key in wanted:
            if key in labels:
                return key
        prefixed = [k for k in labels if "/" in k]  # a prefixed key has a slash
        if prefixed:
            for key in sorted(prefixed):
                if any(key.endswith("/" + w) for w in wanted):
                    return key
        return None

    def value(self, labels: Mapping[str, str], role: str) -> str | None:
        key = self.key_of(labels, role)
        return labels[key] if key is not None else None

    def is_known(self, key: str) -> bool:
        for role in ("environment", "region", "compliance", "wave"):
            if any(key == k or key.endswith("/" + k) for k in self.keys_for(role)):
                return True
        return False


class Inventory(BaseModel):
    """A validated inventory, clusters sorted by name, plus where it came from."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    clusters: tuple[Cluster, ...]
    source: str = ""

    def names(self) -> list[str]:
        return [c.name for c in self.clusters]

    def by_name(self) -> dict[str, Cluster]:
        """Clusters by name (built once per inventory: read it, do not change it)."""
        cached = self.__dict__.get("_by_name")
        if cached is None or cached[0] is not self.clusters:
            cached = (self.clusters, {c.name: c for c in self.clusters})
            self.__dict__["_by_name"] = cached
        found: dict[str, Cluster] = cached[1]
        return found

    def digest(self) -> str:
        rows = [  # what model_dump(mode="json") gives, built directly (10,000s of clusters)
            {"name": c.name, "labels": c.labels, "server": c.server, "path": c.path}
            for c in self.clusters
        ]
        canon = json.dumps(rows, sort_keys=True)
        return hashlib.sha256(canon.encode()).hexdigest()


class InventoryDiff(BaseModel):
    """How the inventory at head differs from the inventory at base."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    retargeted: dict[str, tuple[str, ...]] = Field(default_factory=dict)


def diff_inventories(base: Inventory, head: Inventory) -> InventoryDiff:
    old, new = base.by_name(), head.by_name()
    retargeted: dict[str, tuple[str, ...]] = {}
    for name in sorted(set(old) & set(new)):
        fields = tuple(
            f for f in ("labels", "path", "server") if _field(old[name], f) != _field(new[name], f)
        )
        if fields:
            retargeted[name] = fields
    return InventoryDiff(
        added=tuple(sorted(set(new) - set(old))),
        removed=tuple(sorted(set(old) - set(new))),
        retargeted=retargeted,
    )


def _field(cluster: Cluster, name: str) -> Any:
    return cluster.gitops_path if name == "path" else getattr(cluster, name)


# --------------------------------------------------------------------------- parsing


def parse_inventory(files: Mapping[str, bytes], *, source: str) -> Inventory:
    """Parse one or more inventory files (any supported format) into a validated Inventory.

    Reports every problem at once as a `UserError`.
    """
    errors = ProblemCollector()
    raw: list[tuple[str, str, Any]] = []  # (file, key, cluster mapping)
    for file in sorted(files):
        try:
            docs = yamlsafe.load_all(files[file], strict=True)
        except yamlsafe.YamlError as exc:
            errors.add(str(exc), file=file, fix="fix the YAML syntax")
            continue
        raw.extend(_entries(file, docs, errors))
    seen: dict[str, str] = {}
    unique: list[tuple[str, str, Any]] = []
    for file, key, entry in raw:
        name = entry.get("name") if isinstance(entry, Mapping) else None
        if isinstance(name, str) and name in seen:
            errors.add(
                f"duplicate cluster name {name!r} (also at {seen[name]})",
                file=file,
                key=f"{key}.name",
                fix="cluster names must be unique: rename or remove one entry",
            )
            continue
        if isinstance(name, str):
            seen[name] = key
        unique.append((file, key, entry))
    try:
        clusters = _CLUSTER_LIST.validate_python([entry for _, _, entry in unique])
    except ValidationError as exc:
        clusters = []
        for err in exc.errors(include_url=False):
            file, key, _ = unique[int(err["loc"][0])]
            located = {**err, "loc": err["loc"][1:]}
            errors.extend(problems_from_errors([located], file=file, prefix=key + "."))
    if not raw and not errors.problems:
        errors.add(
            "the inventory has no clusters",
            file=source,
            key="clusters",
            fix="list at least one cluster: clusters: [{name: ..., labels: {...}}]",
        )
    errors.raise_if_any()
    return Inventory(clusters=tuple(sorted(clusters, key=lambda c: c.name)), source=source)


def _entries(
    file: str, docs: list[Any], errors: ProblemCollector
) -> Iterable[tuple[str, str, Any]]:
    if len(docs) == 1 and isinstance(docs[0], Mapping) and "clusters" in docs[0]:
        yield from _clusters_yaml(file, docs[0], errors)
        return
    for index, doc in enumerate(docs):
        key = f"document[{index}]"
        if not isinstance(doc, Mapping):
            errors.add(
                f"expected a mapping, found {type(doc).__name__}",
                file=file,
                key=key,
                fix="an inventory is `clusters: [...]`, Argo CD cluster Secrets or CAPI Clusters",
            )
            continue
        kind, api = doc.get("kind"), str(doc.get("apiVersion", ""))
        if kind == "Secret":
            entry = _argocd_secret(file, key, doc, errors)
        elif kind == "Cluster" and api.startswith("cluster.x-k8s.io/"):
            entry = _capi_cluster(doc)
        elif kind == "List" and isinstance(doc.get("items"), list):
            yield from _entries(file, list(doc["items"]), errors)
            continue
        else:
            errors.add(
                f"not an inventory document (kind {kind!r}, apiVersion {api!r})",
                file=file,
                key=key,
                fix="use `clusters: [...]`, Argo CD cluster Secrets or cluster.x-k8s.io Clusters",
            )
            continue
        if entry is not None:
            yield file, key, entry


def _clusters_yaml(
    file: str, doc: Mapping[str, Any], errors: ProblemCollector
) -> Iterable[tuple[str, str, Any]]:
    extra = sorted(str(k) for k in doc if k != "clusters")
    for key in extra:
        errors.add("unknown key", file=file, key=key, fix="an inventory file has only `clusters`")
    clusters = doc["clusters"]
    if clusters is None:
        return
    if not isinstance(clusters, list):
        errors.add(
            f"expected a list of clusters, found {type(clusters).__name__}",
            file=file,
            key="clusters",
            fix="write `clusters:` followed by `- name: ...` entries",
        )
        return
    for index, entry in enumerate(clusters):
        yield file, f"clusters[{index}]", entry


def _meta(doc: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
    assert isinstance(meta, Mapping)
    labels = meta.get("labels") if isinstance(meta.get("labels"), Mapping) else {}
    annotations = meta.get("annotations") if isinstance(meta.get("annotations"), Mapping) else {}
    return dict(meta), dict(labels or {}), dict(annotations or {})


def _argocd_secret(
    file: str, key: str, doc: Mapping[str, Any], errors: ProblemCollector
) -> dict[str, Any] | None:
    meta, labels, annotations = _meta(doc)
    if labels.get(ARGOCD_SECRET_TYPE) != "cluster":
        errors.add(
            f"Secret is not an Argo CD cluster Secret (label {ARGOCD_SECRET_TYPE}: cluster)",
            file=file,
            key=f"{key}.metadata.labels",
            fix="add the label or remove the Secret from the inventory",
        )
        return None
    fields = _secret_fields(doc)
    entry: dict[str, Any] = {
        "name": fields.get("name", meta.get("name")),
        "labels": {k: v for k, v in labels.items() if k != ARGOCD_SECRET_TYPE},
    }
    if "server" in fields:
        entry["server"] = fields["server"]
    if PATH_ANNOTATION in annotations:
        entry["path"] = annotations[PATH_ANNOTATION]
    return entry


def _secret_fields(doc: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    data = doc.get("data")
    if isinstance(data, Mapping):
        for k in ("name", "server"):
            if isinstance(data.get(k), str):
                try:
                    fields[k] = base64.b64decode(data[k], validate=True).decode()
                except (binascii.Error, UnicodeDecodeError):
                    fields[k] = data[k]
    string_data = doc.get("stringData")
    if isinstance(string_data, Mapping):
        fields.update({k: string_data[k] for k in ("name", "server") if k in string_data})
    return fields


def _capi_cluster(doc: Mapping[str, Any]) -> dict[str, Any]:
    meta, labels, annotations = _meta(doc)
    entry: dict[str, Any] = {"name": meta.get("name"), "labels": labels}
    spec = doc.get("spec") if isinstance(doc.get("spec"), Mapping) else {}
    assert isinstance(spec, Mapping)
    endpoint = spec.get("controlPlaneEndpoint")
    if isinstance(endpoint, Mapping) and endpoint.get("host"):
        port = endpoint.get("port", 443)
        entry["server"] = f"https://{endpoint['host']}:{port}"
    if PATH_ANNOTATION in annotations:
        entry["path"] = annotations[PATH_ANNOTATION]
    return entry
