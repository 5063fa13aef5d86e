"""Every guardrail check, table-driven over small in-memory fleets, plus a few real-git cases.

The fleet below is the smallest one that exercises every layer: base -> environments ->
regions -> clusters, each cluster folder carrying a `cluster-identity` ConfigMap generator.
Unmodified it produces no finding at all, even with --strict; each case changes one thing
and names the finding it must produce.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from planner import yamlsafe
from planner.changes import Change, ChangeSet, ChangeStatus
from planner.cli import app
from planner.findings import Finding
from planner.guardrails import Context, agrees, validate_findings
from planner.hierarchy.build import build_hierarchy
from planner.inventory import Inventory, parse_inventory
from planner.placement import place
from planner.plan import Plan, PlanInputs, plan_change
from planner.policy import RolloutPolicy, default_policy, load_policy
from planner.snapshot import MemorySnapshot
from tests.testing.gitrun import quiet_git

Files = dict[str, str]
ClusterSpec = dict[str, Any]

ENVIRONMENTS = ("dev", "staging", "production")
REGIONS = ("eu-west", "us-east")


def cluster_folder(
    name: str,
    env: str,
    region: str,
    *,
    compliance: str | None = None,
    identity_name: str | None = None,
    region_literal: str | None = None,
) -> str:
    literals = [
        f"CLUSTER_NAME={identity_name or name}",
        f"ENVIRONMENT={env}",
        f"REGION={region_literal or region + '-1'}",
    ]
    if compliance:
        literals.append(f"COMPLIANCE={compliance}")
    return yamlsafe.dump(
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": [f"../../environments/{env}", f"../../regions/{region}"],
            "configMapGenerator": [
                {"name": "cluster-identity", "namespace": "kube-system", "literals": literals}
            ],
        }
    )


CLUSTERS: tuple[ClusterSpec, ...] = (
    {
        "name": "dev-eu-west-1",
        "labels": {"environment": "dev", "region": "eu-west", "rollout.wave": "canary"},
        "server": "https://dev-eu-west-1.example.com",
    },
    {
        "name": "staging-eu-west-1",
        "labels": {"environment": "staging", "region": "eu-west"},
        "server": "https://staging-eu-west-1.example.com",
    },
    {
        "name": "prod-eu-west-1",
        "labels": {"environment": "production", "region": "eu-west", "compliance": "gdpr"},
        "server": "https://prod-eu-west-1.example.com",
    },
    {
        "name": "prod-us-east-1",
        "labels": {"environment": "production", "region": "us-east", "compliance": "pci"},
        "server": "https://prod-us-east-1.example.com",
    },
)


def base_files() -> Files:
    files: Files = {
        "base/kustomization.yaml": "resources:\n- namespace.yaml\n",
        "base/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: monitoring\n",
    }
    for env in ENVIRONMENTS:
        files[f"environments/{env}/kustomization.yaml"] = "resources:\n- ../../base\n"
    for region in REGIONS:
        files[f"regions/{region}/kustomization.yaml"] = "resources:\n- settings.yaml\n"
        files[f"regions/{region}/settings.yaml"] = (
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: regional\ndata:\n"
            f"  REGION: {region}\n"
        )
    for spec in CLUSTERS:
        labels = spec["labels"]
        files[f"clusters/{spec['name']}/kustomization.yaml"] = cluster_folder(
            spec["name"],
            labels["environment"],
            labels["region"],
            compliance=labels.get("compliance"),
        )
    return files


@dataclass
class Fleet:
    """An in-memory fleet: files, symbolic links, inventory entries and an optional policy."""

    files: Files = field(default_factory=base_files)
    clusters: list[ClusterSpec] = field(
        default_factory=lambda: [{**c, "labels": dict(c["labels"])} for c in CLUSTERS]
    )
    policy: str | None = None
    symlinks: dict[str, str] = field(default_factory=dict)

    def cluster(self, name: str) -> ClusterSpec:
        return next(c for c in self.clusters if c["name"] == name)

    def snapshot(self, files: Mapping[str, str] | None = None) -> MemorySnapshot:
        data = {p: t.encode() for p, t in (files or self.files).items()}
        return MemorySnapshot(data, symlinks=self.symlinks)

    def inventory(self) -> Inventory:
        text = yamlsafe.dump({"clusters": self.clusters}).encode()
        return parse_inventory({"clusters.yaml": text}, source="clusters.yaml")

    def rollout(self, inventory: Inventory) -> RolloutPolicy:
        if self.policy is None:
            return default_policy(inventory)
        return load_policy(self.policy.encode(), source="rollout.yaml")

    def validate(self, *, strict: bool = False) -> list[Finding]:
        snap = self.snapshot()
        inventory = self.inventory()
        policy = self.rollout(inventory)
        graph = build_hierarchy(
            snap, [c.gitops_path for c in inventory.clusters], policy.hierarchy_config()
        )
        context = Context(
            head=graph,
            snapshot=snap,
            inventory=inventory,
            policy=policy,
            placements=place(inventory, policy),
        )
        return validate_findings(context, strict=strict)

    def plan(self, changed: Mapping[str, str]) -> Plan:
        """Plan a change that rewrites (or adds) the given files."""
        inventory = self.inventory()
        head_files = {**self.files, **changed}
        changes = tuple(
            Change(
                path=p,
                status=ChangeStatus.MODIFIED if p in self.files else ChangeStatus.ADDED,
            )
            for p in sorted(changed)
        )
        return plan_change(
            PlanInputs(
                head=self.snapshot(head_files),
                base=self.snapshot(),
                changes=ChangeSet(changes=changes),
                inventory=inventory,
                base_inventory=inventory,
                policy=self.rollout(inventory),
            )
        )


def codes(findings: list[Finding]) -> list[str]:
    return sorted(f.code for f in findings)


# --------------------------------------------------------------------------- baseline


def test_clean_fleet_has_no_finding_even_strict() -> None:
    assert Fleet().validate(strict=True) == []


# ------------------------------------------------------------------------- the table


def _relabel(name: str, **labels: str) -> Callable[[Fleet], None]:
    def change(fleet: Fleet) -> None:
        fleet.cluster(name)["labels"].update(labels)

    return change


def _set_file(path: str, text: str) -> Callable[[Fleet], None]:
    def change(fleet: Fleet) -> None:
        fleet.files[path] = text

    return change


def _policy(text: str) -> Callable[[Fleet], None]:
    def change(fleet: Fleet) -> None:
        fleet.policy = text

    return change


def _all(*changes: Callable[[Fleet], None]) -> Callable[[Fleet], None]:
    def change(fleet: Fleet) -> None:
        for item in changes:
            item(fleet)

    return change


def _add_cluster(spec: ClusterSpec) -> Callable[[Fleet], None]:
    def change(fleet: Fleet) -> None:
        fleet.clusters.append(spec)

    return change


def _symlink(path: str, target: str) -> Callable[[Fleet], None]:
    def change(fleet: Fleet) -> None:
        fleet.symlinks[path] = target

    return change


IDENTITY_PLAIN_CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: cluster-identity
  namespace: kube-system
data:
  CLUSTER_NAME: prod-eu-west-1
  ENVIRONMENT: production
  REGION: us-east-1
"""

WAVES = """\
waves:
- name: canary
  selector: {matchLabels: {rollout.wave: canary}}
- name: staging
  selector: {matchLabels: {environment: staging}}
- name: production
  selector: {matchLabels: {environment: production}}
"""


@dataclass(frozen=True)
class Case:
    id: str
    change: Callable[[Fleet], None]
    code: str
    severity: str
    cluster: str | None = None
    says: tuple[str, ...] = ()  # substrings of the message (or the fix, with "fix:")
    file: str | None = None


CASES = [
    # ---- identity consistency: inherited layers
    Case(
        "region-label-vs-region-layer",
        _relabel("prod-eu-west-1", region="us-east"),
        "identity-mismatch",
        "violation",
        "prod-eu-west-1",
        ("region=us-east", "layer regions/eu-west", "eu-west"),
        "regions/eu-west",
    ),
    Case(
        "environment-label-vs-environment-layer",
        _relabel("staging-eu-west-1", environment="dev"),
        "identity-mismatch",
        "violation",
        "staging-eu-west-1",
        ("environment=dev", "layer environments/staging"),
        "environments/staging",
    ),
    # ---- identity consistency: the cluster-identity ConfigMap literals
    Case(
        "region-label-vs-REGION-literal",
        _set_file(
            "clusters/prod-eu-west-1/kustomization.yaml",
            cluster_folder("prod-eu-west-1", "production", "eu-west", region_literal="us-east-1"),
        ),
        "identity-mismatch",
        "violation",
        "prod-eu-west-1",
        ("region=eu-west", "cluster-identity REGION", "us-east-1"),
        "clusters/prod-eu-west-1/kustomization.yaml",
    ),
    Case(
        "compliance-label-vs-COMPLIANCE-literal",
        _relabel("prod-eu-west-1", compliance="pci"),
        "identity-mismatch",
        "violation",
        "prod-eu-west-1",
        ("compliance=pci", "cluster-identity COMPLIANCE", "gdpr"),
        "clusters/prod-eu-west-1/kustomization.yaml",
    ),
    Case(
        "CLUSTER_NAME-literal-names-another-cluster",
        _set_file(
            "clusters/prod-eu-west-1/kustomization.yaml",
            cluster_folder(
                "prod-eu-west-1", "production", "eu-west", identity_name="prod-eu-west-9"
            ),
        ),
        "identity-mismatch",
        "violation",
        "prod-eu-west-1",
        ("CLUSTER_NAME=prod-eu-west-9",),
    ),
    Case(
        "identity-as-plain-configmap-manifest",
        _all(
            _set_file(
                "clusters/prod-eu-west-1/kustomization.yaml",
                "resources:\n- ../../environments/production\n- identity.yaml\n",
            ),
            _set_file("clusters/prod-eu-west-1/identity.yaml", IDENTITY_PLAIN_CONFIGMAP),
        ),
        "identity-mismatch",
        "violation",
        "prod-eu-west-1",
        ("region=eu-west", "cluster-identity REGION", "us-east-1"),
        "clusters/prod-eu-west-1/identity.yaml",
    ),
    Case(
        "identity-from-an-env-file",
        _all(
            _set_file(
                "clusters/prod-eu-west-1/kustomization.yaml",
                "resources:\n- ../../environments/production\n- ../../regions/eu-west\n"
                "configMapGenerator:\n- name: cluster-identity\n  envs: [identity.env]\n",
            ),
            _set_file(
                "clusters/prod-eu-west-1/identity.env",
                "# identity\nCLUSTER_NAME=prod-eu-west-1\nREGION=us-east-1\n",
            ),
        ),
        "identity-mismatch",
        "violation",
        "prod-eu-west-1",
        ("cluster-identity REGION", "us-east-1"),
        "clusters/prod-eu-west-1/identity.env",
    ),
    Case(
        "prefixed-label-keys",
        _all(
            lambda f: f.cluster("prod-eu-west-1").__setitem__(
                "labels",
                {
                    "platform.example.com/environment": "production",
                    "platform.example.com/region": "us-east",
                    "platform.example.com/compliance": "gdpr",
                },
            ),
        ),
        "identity-mismatch",
        "violation",
        "prod-eu-west-1",
        ("platform.example.com/region=us-east", "eu-west"),
    ),
    Case(
        "match-exact-refuses-prefix-agreement",
        _policy(WAVES + "identity:\n  match: exact\n"),
        "identity-mismatch",
        "violation",
        "prod-eu-west-1",
        ("region=eu-west", "REGION says region eu-west-1"),
    ),
    Case(
        "two-region-layers",
        _set_file(
            "clusters/prod-eu-west-1/kustomization.yaml",
            "resources:\n- ../../environments/production\n- ../../regions/eu-west\n"
            "- ../../regions/us-east\n",
        ),
        "identity-ambiguous",
        "violation",
        "prod-eu-west-1",
        ("inherits 2 region layers", "regions/eu-west", "regions/us-east"),
    ),
    # ---- identity rules
    Case(
        "rule-name-matches-require",
        _all(
            _policy(
                WAVES + "identity:\n  rules:\n  - name_matches: '-eu-'\n"
                "    require: {region: eu-west, compliance: gdpr}\n"
            ),
        ),
        "identity-rule",
        "violation",
        "staging-eu-west-1",
        ("compliance=(none)", "name matches '-eu-'"),
    ),
    Case(
        "rule-one-of",
        _all(
            _relabel("prod-us-east-1", environment="prod"),
            _set_file(
                "clusters/prod-us-east-1/kustomization.yaml",
                "resources:\n- ../../regions/us-east\n",
            ),
            _policy(
                WAVES.replace("environment: production", "environment: prod")
                + "identity:\n  rules:\n  - label: environment\n"
                "    one_of: [dev, staging, production]\n"
            ),
        ),
        "identity-rule",
        "violation",
        "prod-us-east-1",
        ("environment=prod", "environment in (dev, staging, production)"),
    ),
    Case(
        "required-labels",
        _policy(WAVES + "identity:\n  required_labels: [environment, region, compliance]\n"),
        "identity-rule",
        "violation",
        "staging-eu-west-1",
        ("has no compliance label",),
    ),
    # ---- inventory hygiene
    Case(
        "unlisted-cluster-folder",
        _set_file("clusters/forgotten-1/kustomization.yaml", "resources:\n- ../../base\n"),
        "unlisted-cluster-folder",
        "warning",
        None,
        ("clusters/forgotten-1 looks like a cluster folder",),
        "clusters/forgotten-1",
    ),
    Case(
        "unknown-label-key-with-typo-suggestion",
        _relabel("prod-us-east-1", regoin="us-east"),
        "unknown-label-key",
        "warning",
        "prod-us-east-1",
        ("'regoin'", "did you mean 'region'?"),
    ),
    Case(
        "unknown-prefixed-label-key-keeps-its-prefix",
        _relabel("prod-us-east-1", **{"platform.example.com/complience": "pci"}),
        "unknown-label-key",
        "warning",
        "prod-us-east-1",
        ("did you mean 'platform.example.com/compliance'?",),
    ),
    Case(
        "duplicate-server",
        lambda f: f.cluster("prod-us-east-1").__setitem__(
            "server", "https://prod-eu-west-1.example.com"
        ),
        "duplicate-server",
        "violation",
        None,
        ("prod-eu-west-1, prod-us-east-1", "https://prod-eu-west-1.example.com"),
    ),
    Case(
        "missing-cluster-path",
        lambda f: f.cluster("prod-us-east-1").__setitem__("path", "clusters/nowhere"),
        "missing-path",
        "violation",
        "prod-us-east-1",
        ("path clusters/nowhere does not exist",),
        "clusters/nowhere",
    ),
    # ---- hierarchy hygiene
    Case(
        "broken-yaml",
        _set_file("environments/staging/kustomization.yaml", "resources: [../../base\n"),
        "broken-yaml",
        "violation",
        "staging-eu-west-1",
        ("environments/staging/kustomization.yaml (line 2): did not find", "staging-eu-west-1"),
        "environments/staging/kustomization.yaml",
    ),
    Case(
        "missing-reference",
        _set_file(
            "regions/us-east/kustomization.yaml", "resources:\n- settings.yaml\n- gone.yaml\n"
        ),
        "missing-reference",
        "violation",
        "prod-us-east-1",
        ("'gone.yaml' does not exist",),
        "regions/us-east/kustomization.yaml",
    ),
    Case(
        "cycle-shows-the-cycle",
        _all(
            _set_file("base/kustomization.yaml", "resources:\n- namespace.yaml\n- ../shared\n"),
            _set_file("shared/kustomization.yaml", "resources:\n- ../base\n"),
        ),
        "reference-cycle",
        "violation",
        None,
        ("base/kustomization.yaml -> shared/kustomization.yaml -> base/kustomization.yaml",),
    ),
    Case(
        "cycle-of-one-layer",
        _set_file("regions/us-east/kustomization.yaml", "resources:\n- settings.yaml\n- .\n"),
        "reference-cycle",
        "violation",
        None,
        ("regions/us-east/kustomization.yaml -> regions/us-east/kustomization.yaml",),
    ),
    Case(
        "escaping-reference",
        _set_file("regions/us-east/kustomization.yaml", "resources:\n- ../../../secrets\n"),
        "escapes-repo",
        "violation",
        "prod-us-east-1",
        ("'../../../secrets' leaves the repository",),
    ),
    Case(
        "absolute-path",
        _set_file("regions/us-east/kustomization.yaml", "resources:\n- /etc/kubernetes/x.yaml\n"),
        "absolute-path",
        "violation",
        "prod-us-east-1",
        ("'/etc/kubernetes/x.yaml' is an absolute path",),
    ),
    Case(
        "symlink-out-of-the-repo",
        _all(
            _symlink("regions/us-east/outside", "../../../etc"),
            _set_file("regions/us-east/kustomization.yaml", "resources:\n- outside/passwd.yaml\n"),
        ),
        "symlink-outside",
        "violation",
        "prod-us-east-1",
        ("symbolic link out of the repository",),
    ),
    Case(
        "cluster-reaches-another-clusters-folder",
        _all(
            _set_file("clusters/prod-us-east-1/extra.yaml", "kind: ConfigMap\n"),
            _set_file(
                "clusters/prod-eu-west-1/kustomization.yaml",
                cluster_folder("prod-eu-west-1", "production", "eu-west", compliance="gdpr")
                + "patches:\n- path: ../prod-us-east-1/extra.yaml\n",
            ),
        ),
        "reaches-other-cluster",
        "warning",
        "prod-eu-west-1",
        ("prod-eu-west-1 reads clusters/prod-us-east-1",),
    ),
    Case(
        "region-layer-reaches-another-environment",
        _set_file(
            "regions/eu-west/kustomization.yaml",
            "resources:\n- settings.yaml\n- ../../environments/production\n",
        ),
        "region-crosses-environment",
        "warning",
        "staging-eu-west-1",
        ("region layer regions/eu-west reaches environments/production", "is staging"),
        "regions/eu-west",
    ),
    # ---- rollout hygiene
    Case(
        "empty-wave",
        _policy(WAVES + "- name: qa\n  selector: {matchLabels: {environment: qa}}\n"),
        "empty-wave",
        "warning",
        None,
        ("wave qa (environment=qa) matches no cluster",),
    ),
    Case(
        "shadowing-wave",
        _policy("waves:\n- name: everything\n  selector: {}\n" + WAVES.removeprefix("waves:\n")),
        "shadowing-wave",
        "warning",
        None,
        ("wave everything matches every cluster", "canary, staging, production"),
    ),
    Case(
        "overlapping-waves",
        _policy(
            "waves:\n- name: europe\n  selector: {matchLabels: {region: eu-west}}\n"
            "- name: production\n  selector: {matchLabels: {environment: production}}\n"
            "- name: rest\n  selector: {}\n"
        ),
        "overlapping-waves",
        "warning",
        None,
        ("prod-eu-west-1 match both europe and production", "europe wins"),
    ),
    Case(
        "cluster-in-no-wave",
        _policy("waves:\n- name: canary\n  selector: {matchLabels: {rollout.wave: canary}}\n"),
        "no-wave",
        "violation",
        "prod-us-east-1",
        ("prod-us-east-1 matches no wave",),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_check(case: Case) -> None:
    fleet = Fleet()
    case.change(fleet)
    findings = fleet.validate()
    matching = [
        f
        for f in findings
        if f.code == case.code and (case.cluster is None or f.cluster == case.cluster)
    ]
    assert matching, f"no {case.code} finding for {case.cluster}; got {findings}"
    found = [f for f in matching if all(s in f.message for s in case.says)]
    assert found, f"no {case.code} message says {case.says}: {[f.message for f in matching]}"
    finding = found[0]
    assert finding.severity == case.severity
    assert finding.fix, "every finding says how to fix it"
    if case.file is not None:
        assert finding.file == case.file
    strict = fleet.validate(strict=True)
    assert strict
    assert all(f.severity == "violation" for f in strict)


def test_identity_mismatch_names_both_values_in_values() -> None:
    fleet = Fleet()
    fleet.cluster("prod-eu-west-1")["labels"]["region"] = "us-east"
    found = [f for f in fleet.validate() if f.code == "identity-mismatch"]
    assert {f.file for f in found} == {
        "regions/eu-west",
        "clusters/prod-eu-west-1/kustomization.yaml",
    }
    layer = next(f for f in found if f.file == "regions/eu-west")
    assert layer.values == {"inventory.region": "us-east", "layer regions/eu-west": "eu-west"}


@pytest.mark.parametrize(
    ("label", "other", "mode", "expected"),
    [
        ("eu-west", "eu-west", "prefix", True),
        ("eu-west", "eu-west-1", "prefix", True),
        ("eu-west-1", "eu-west", "prefix", True),
        ("eu-west", "eu-westish", "prefix", False),
        ("eu-west", "us-east-1", "prefix", False),
        ("eu-west", "eu-west-1", "exact", False),
        ("eu-west", "eu-west", "exact", True),
        ("prod", "production", "prefix", False),
    ],
)
def test_agrees(label: str, other: str, mode: str, expected: bool) -> None:
    assert agrees(label, other, mode) is expected


def test_unrelated_label_key_without_close_match_asks_to_list_it() -> None:
    fleet = Fleet()
    fleet.cluster("prod-us-east-1")["labels"]["cost-center"] = "42"
    (finding,) = [f for f in fleet.validate() if f.code == "unknown-label-key"]
    assert "identity.known_labels" in finding.message
    fleet.policy = WAVES + "identity:\n  known_labels: [cost-center]\n"
    assert not [f for f in fleet.validate() if f.code == "unknown-label-key"]


def test_region_layer_neutral_when_the_environment_agrees() -> None:
    fleet = Fleet()
    fleet.files["regions/us-east/kustomization.yaml"] = (
        "resources:\n- settings.yaml\n- ../../environments/production\n"
    )
    assert "region-crosses-environment" not in codes(fleet.validate())


# ------------------------------------------------------------------- inside a plan


def test_plan_carries_identity_violation_of_affected_clusters_only() -> None:
    fleet = Fleet()
    fleet.cluster("prod-eu-west-1")["labels"]["region"] = "us-east"
    fleet.cluster("prod-us-east-1")["labels"]["compliance"] = "gdpr"  # not affected below
    plan = fleet.plan({"regions/eu-west/settings.yaml": "kind: ConfigMap\ndata: {A: b}\n"})
    assert "prod-eu-west-1" in plan.affected_names()
    assert "prod-us-east-1" not in plan.affected_names()
    clusters = {v.cluster for v in plan.violations if v.code == "identity-mismatch"}
    assert clusters == {"prod-eu-west-1"}


def test_canary_coverage_none_when_a_canary_reads_the_layer() -> None:
    plan = Fleet().plan({"regions/eu-west/settings.yaml": "kind: ConfigMap\ndata: {A: b}\n"})
    assert "canary-coverage" not in codes(list(plan.warnings))


def test_canary_coverage_suggests_a_production_canary_when_nothing_else_reads_it() -> None:
    plan = Fleet().plan({"regions/us-east/settings.yaml": "kind: ConfigMap\ndata: {A: b}\n"})
    (finding,) = [w for w in plan.warnings if w.code == "canary-coverage"]
    assert finding.severity == "warning"
    assert "releases regions/us-east to production (prod-us-east-1)" in finding.message
    assert finding.fix is not None
    assert "no non-production cluster reads regions/us-east" in finding.fix
    assert "prod-us-east-1" in finding.fix
    assert "label that cluster rollout.wave=canary" in finding.fix


def test_canary_coverage_suggests_the_non_production_reader() -> None:
    fleet = Fleet()
    fleet.policy = (
        "waves:\n- name: production\n  selector: {matchLabels: {environment: production}}\n"
        "- name: rest\n  selector: {}\n"
    )
    plan = fleet.plan({"regions/eu-west/settings.yaml": "kind: ConfigMap\ndata: {A: b}\n"})
    (finding,) = [w for w in plan.warnings if w.code == "canary-coverage"]
    assert finding.fix is not None
    assert finding.fix.startswith("dev-eu-west-1 is not production and reads regions/eu-west")
    assert "add a wave before production" in finding.fix


def test_canary_coverage_not_checked_in_an_emergency() -> None:
    fleet = Fleet()
    inventory = fleet.inventory()
    changed = {**fleet.files, "regions/us-east/settings.yaml": "kind: ConfigMap\n"}
    plan = plan_change(
        PlanInputs(
            head=fleet.snapshot(changed),
            base=fleet.snapshot(),
            changes=ChangeSet(
                changes=(
                    Change(path="regions/us-east/settings.yaml", status=ChangeStatus.MODIFIED),
                )
            ),
            inventory=inventory,
            base_inventory=inventory,
            policy=default_policy(inventory),
            emergency="CVE fix",
        )
    )
    assert "canary-coverage" not in codes(list(plan.warnings))


def test_broken_yaml_in_the_repo_is_a_plan_violation_with_its_clusters_affected() -> None:
    plan = Fleet().plan({"environments/staging/kustomization.yaml": "resources: [../../base\n"})
    assert plan.affected_names() == ["staging-eu-west-1"]
    (finding,) = [v for v in plan.violations if v.code == "broken-yaml"]
    assert finding.file == "environments/staging/kustomization.yaml"


# ------------------------------------------------------------------------ real git


def write_repo(root: Path, fleet: Fleet, *, git: bool = True) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in fleet.files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    for rel, target in fleet.symlinks.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, root / rel)
    (root / "clusters.yaml").write_text(yamlsafe.dump({"clusters": fleet.clusters}))
    if git:
        quiet_git(root, "init", "-q", "-b", "main")
        quiet_git(root, "add", "-A")
        quiet_git(root, "commit", "-q", "-m", "fleet")


def _validate(repo: Path, *extra: str) -> Any:
    return CliRunner().invoke(
        app, ["validate", "--repo", str(repo), "--inventory", str(repo / "clusters.yaml"), *extra]
    )


def test_git_symlink_out_of_the_repo_is_a_violation(tmp_path: Path) -> None:
    fleet = Fleet()
    fleet.symlinks["regions/us-east/outside"] = "../../../etc"
    fleet.files["regions/us-east/kustomization.yaml"] = "resources:\n- outside/passwd\n"
    write_repo(tmp_path / "repo", fleet)
    result = _validate(tmp_path / "repo", "--rev", "HEAD", "--format", "json")
    assert result.exit_code == 1, result.output
    assert '"symlink-outside"' in result.output


def test_git_clean_fleet_validates_with_exit_0_even_strict(tmp_path: Path) -> None:
    write_repo(tmp_path / "repo", Fleet())
    result = _validate(tmp_path / "repo", "--strict")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: 0 violation(s), 0 warning(s) in 4 cluster(s)")


def test_git_warnings_exit_0_and_strict_exit_1(tmp_path: Path) -> None:
    fleet = Fleet()
    fleet.files["clusters/forgotten-1/kustomization.yaml"] = "resources:\n- ../../base\n"
    write_repo(tmp_path / "repo", fleet)
    assert _validate(tmp_path / "repo").exit_code == 0
    strict = _validate(tmp_path / "repo", "--strict")
    assert strict.exit_code == 1
    assert "unlisted-cluster-folder" in strict.output


def test_git_cycle_through_real_files(tmp_path: Path) -> None:
    fleet = Fleet()
    fleet.files["base/kustomization.yaml"] = "resources:\n- namespace.yaml\n- ../shared\n"
    fleet.files["shared/kustomization.yaml"] = "resources:\n- ../base\n"
    write_repo(tmp_path / "repo", fleet)
    result = _validate(tmp_path / "repo", "--format", "markdown")
    assert result.exit_code == 1
    assert "reference-cycle" in result.output
    assert "base/kustomization.yaml -> shared/kustomization.yaml" in result.output
