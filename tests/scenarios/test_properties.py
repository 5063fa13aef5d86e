"""Properties over random fleets: plan and validate never crash, and plans keep their promises.

Hypothesis generates a hierarchy (base, environments, regions, shared components and
cluster folders, with random references between them, sometimes missing, sometimes cyclic),
an inventory over it, a policy and a change (files modified, deleted, added, kustomizations
rewired, labels changed). The checks:

- `plan_change` and `validate_findings` never raise;
- every inventory cluster is in exactly one of affected / unaffected;
- every affected cluster is in exactly one step, or a `no-wave` violation names it;
- the same inputs give a byte-identical plan JSON (file order does not matter);
- soundness: a cluster whose closure (computed here, independently, from the generated
  references at base or head) contains a changed file is affected.

Where kubectl is present, a slower property writes the fleet to a git repository and checks
the plan against rendered truth: every cluster whose `kubectl kustomize` output (or error)
differs between base and head is affected. A cluster whose folder reaches the same git
objects at both (tests/testing/rendercache.py, independent of the planner) renders the
same and is not rendered twice.
"""

from __future__ import annotations

import functools
import json
import posixpath
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner import api, yamlsafe
from planner.changes import Change, ChangeSet, ChangeStatus
from planner.guardrails import Context, validate_findings
from planner.hierarchy.build import build_hierarchy
from planner.inventory import Inventory, parse_inventory
from planner.placement import place
from planner.plan import Plan, PlanInputs, plan_change
from planner.policy import RolloutPolicy, default_policy, load_policy
from planner.snapshot import MemorySnapshot
from tests.testing.examples import examples
from tests.testing.gitrun import quiet_git
from tests.testing.marks import requires_kubectl
from tests.testing.rendercache import Objects, reach_key

ENVS = ("dev", "staging", "production")
REGIONS = ("eu-west", "us-east")
KFILE = "kustomization.yaml"


@dataclass
class Fleet:
    files: dict[str, str]
    clusters: list[dict[str, Any]]
    policy: str | None


@dataclass
class Drawn:
    base: Fleet
    head: Fleet
    changed: list[Change] = field(default_factory=list)


@functools.cache
def configmap(path: str, value: str) -> str:
    name = path.removesuffix(".yaml").replace("/", "-").replace("_", "-").lower()
    return yamlsafe.dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": value}}
    )


def kustomization(refs: list[str]) -> str:
    return _kustomization(tuple(refs))


@functools.cache
def _kustomization(refs: tuple[str, ...]) -> str:
    return yamlsafe.dump(
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": list(refs),
        }
    )


@st.composite
def hierarchies(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Files and the layer folders with their references (relative, as kustomize reads them)."""
    envs = draw(st.lists(st.sampled_from(ENVS), min_size=1, unique=True))
    regions = draw(st.lists(st.sampled_from(REGIONS), unique=True))
    components = [f"components/c{i}" for i in range(draw(st.integers(0, 2)))]
    folders = ["base", *(f"environments/{e}" for e in envs), *(f"regions/{r}" for r in regions)]
    folders += components
    refs: dict[str, list[str]] = {}
    files: dict[str, str] = {}
    for folder in folders:
        own = [f"cm{i}.yaml" for i in range(draw(st.integers(1, 2)))]
        for name in own:
            files[f"{folder}/{name}"] = configmap(f"{folder}/{name}", "0")
        targets: list[str] = []
        if folder.startswith("environments/") and draw(st.booleans()):
            targets.append("base")
        if folder.startswith("regions/") and draw(st.booleans()):
            targets.append(f"environments/{draw(st.sampled_from(envs))}")
        if components and draw(st.integers(0, 4)) == 0:
            targets.append(draw(st.sampled_from(components)))  # may form a cycle
        if draw(st.integers(0, 12)) == 0:
            targets.append("nowhere/missing")
        refs[folder] = own + [posixpath.relpath(t, folder) for t in dict.fromkeys(targets)]
    count = draw(st.integers(1, 6))
    for index in range(count):
        env = draw(st.sampled_from(envs))
        region = draw(st.sampled_from(regions)) if regions else None
        folder = f"clusters/{env}-{region or 'x'}-{index}"
        files[f"{folder}/own.yaml"] = configmap(f"{folder}/own.yaml", "0")
        targets = [f"environments/{env}"] if draw(st.booleans()) or not region else []
        if region is not None:
            targets.append(f"regions/{region}")
        if len(components) > 0 and draw(st.booleans()):
            targets.append(draw(st.sampled_from(components)))
        refs[folder] = ["own.yaml"] + [posixpath.relpath(t, folder) for t in targets]
    for folder, items in refs.items():
        files[f"{folder}/{KFILE}"] = kustomization(items)
    return files, refs


def cluster_entries(draw: st.DrawFn, files: dict[str, str]) -> list[dict[str, Any]]:
    folders = sorted({p.rsplit("/", 1)[0] for p in files if p.startswith("clusters/")})
    entries = []
    for folder in folders:
        name = folder.removeprefix("clusters/")
        env, region = name.split("-", 1)[0], name.split("-", 1)[1].rsplit("-", 1)[0]
        labels = {"environment": env}
        if region != "x":
            labels["region"] = region
        if draw(st.integers(0, 3)) == 0:
            labels["rollout.wave"] = "canary"
        if draw(st.integers(0, 3)) == 0:
            labels["compliance"] = draw(st.sampled_from(["pci", "gdpr"]))
        entries.append({"name": name, "labels": labels})
    if draw(st.integers(0, 8)) == 0:
        entries.append({"name": "ghost-1", "labels": {"environment": "production"}})
    return entries


POLICIES = [
    None,
    "waves:\n- name: canary\n  selector: {matchLabels: {rollout.wave: canary}}\n"
    "- name: production\n  selector: {matchLabels: {environment: production}}\n"
    "  group_by: region\n  max_clusters: 1\n",
    "waves:\n- name: all\n  selector: {}\n  max_percent: 50\n"
    "constraints:\n- {label: compliance, value: pci, max_per_step: 1}\n"
    "- {label: region, max_percent_per_step: 50}\n",
]


@st.composite
def changes(draw: st.DrawFn) -> Drawn:
    files, _ = draw(hierarchies())
    clusters = cluster_entries(draw, files)
    policy = draw(st.sampled_from(POLICIES))
    head = dict(files)
    paths = sorted(files)
    for path in draw(st.lists(st.sampled_from(paths), max_size=4, unique=True)):
        action = draw(st.sampled_from(["modify", "modify", "delete", "break", "rewire"]))
        if action == "modify" and not path.endswith(KFILE):
            head[path] = configmap(path, "1")
        elif action == "delete":
            head.pop(path, None)
        elif action == "break":
            head[path] = "resources: [unclosed\n"
        elif path.endswith(KFILE):
            refs = list(yaml.safe_load(files[path]).get("resources") or [])
            if len(refs) > 0 and draw(st.booleans()):
                refs.pop(draw(st.integers(0, len(refs) - 1)))
            else:
                refs.append("../../base" if path.count("/") == 2 else "../base")
            head[path] = kustomization(refs)
    if draw(st.booleans()):
        folder = posixpath.dirname(draw(st.sampled_from(paths)))
        head[f"{folder}/added.yaml"] = configmap(f"{folder}/added.yaml", "new")
    head_clusters = [{**c, "labels": dict(c["labels"])} for c in clusters]
    if head_clusters and draw(st.integers(0, 4)) == 0:
        head_clusters[0]["labels"]["region"] = "us-east"
    base = Fleet(files, clusters, policy)
    drawn = Drawn(base, Fleet(head, head_clusters, policy))
    drawn.changed = change_list(files, head)
    return drawn


def change_list(base: dict[str, str], head: dict[str, str]) -> list[Change]:
    out = []
    for path in sorted(set(base) | set(head)):
        if path not in head:
            out.append(Change(path=path, status=ChangeStatus.DELETED))
        elif path not in base:
            out.append(Change(path=path, status=ChangeStatus.ADDED))
        elif base[path] != head[path]:
            out.append(Change(path=path, status=ChangeStatus.MODIFIED))
    return out


# ------------------------------------------------------------------------ running


def inventory_of(fleet: Fleet) -> Inventory:
    text = yamlsafe.dump({"clusters": fleet.clusters}).encode()
    return parse_inventory({"clusters.yaml": text}, source="clusters.yaml")


def policy_of(fleet: Fleet, inventory: Inventory) -> RolloutPolicy:
    if fleet.policy is None:
        return default_policy(inventory)
    return load_policy(fleet.policy.encode(), source="rollout.yaml")


def snapshot(files: dict[str, str], revision: str, *, reverse: bool = False) -> MemorySnapshot:
    order = sorted(files, reverse=reverse)
    return MemorySnapshot({p: files[p].encode() for p in order}, revision=revision)


def plan_of(drawn: Drawn, *, reverse: bool = False) -> Plan:
    inventory = inventory_of(drawn.head)
    return plan_change(
        PlanInputs(
            head=snapshot(drawn.head.files, "h" * 40, reverse=reverse),
            base=snapshot(drawn.base.files, "b" * 40, reverse=reverse),
            changes=ChangeSet(changes=tuple(drawn.changed)),
            inventory=inventory,
            base_inventory=inventory_of(drawn.base),
            policy=policy_of(drawn.head, inventory),
        )
    )


@functools.cache
def resources_of(text: str) -> tuple[Any, ...] | None:
    """The `resources` of a kustomization file's text; None when it does not parse."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return tuple((doc or {}).get("resources") or [] if isinstance(doc, dict) else [])


def closure(files: dict[str, str], folder: str) -> set[str]:
    """Every file a kustomize build of `folder` reads (computed here, not by the planner)."""
    seen: set[str] = set()
    found: set[str] = set()
    stack = [folder]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        kfile = f"{current}/{KFILE}"
        found.add(kfile)
        for ref in resources_of(files.get(kfile, "")) or ():
            target = posixpath.normpath(posixpath.join(current, ref))
            found.add(target)
            if any(p.startswith(target + "/") for p in files):
                stack.append(target)
    return found


# ---------------------------------------------------------------------- properties

SETTINGS = settings(
    max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@SETTINGS
@given(changes())
def test_plan_keeps_its_promises(drawn: Drawn) -> None:
    plan = plan_of(drawn)
    names = [c["name"] for c in drawn.head.clusters]
    affected, unaffected = plan.affected_names(), list(plan.unaffected)
    assert sorted(affected + unaffected) == sorted(names), "each cluster in exactly one"
    stepped = [c for step in plan.waves for c in step.clusters]
    assert len(stepped) == len(set(stepped))
    no_wave = {v.cluster for v in plan.violations if v.code == "no-wave"}
    for name in affected:
        assert (stepped.count(name) == 1) != (name in no_wave), name
    assert set(stepped) <= set(affected)
    member = [c for m in plan.membership for c in m.clusters]
    assert sorted(member) == sorted(names)


@SETTINGS
@given(changes())
def test_plan_is_deterministic(drawn: Drawn) -> None:
    first = plan_of(drawn).model_dump_json()
    assert plan_of(drawn).model_dump_json() == first
    assert plan_of(drawn, reverse=True).model_dump_json() == first


@SETTINGS
@given(changes())
def test_plan_is_sound(drawn: Drawn) -> None:
    plan = plan_of(drawn)
    changed = {c.path for c in drawn.changed}
    base_labels = {c["name"]: c["labels"] for c in drawn.base.clusters}
    for cluster in drawn.head.clusters:
        folder = f"clusters/{cluster['name']}"
        reads = closure(drawn.base.files, folder) | closure(drawn.head.files, folder)
        if reads & changed:
            assert cluster["name"] in plan.affected_names(), (cluster["name"], reads & changed)
        if base_labels.get(cluster["name"]) != cluster["labels"]:
            assert cluster["name"] in plan.affected_names()


@SETTINGS
@given(changes(), st.booleans())
def test_validate_never_crashes(drawn: Drawn, strict: bool) -> None:
    fleet = drawn.head
    inventory = inventory_of(fleet)
    policy = policy_of(fleet, inventory)
    snap = snapshot(fleet.files, "worktree")
    graph = build_hierarchy(
        snap, [c.gitops_path for c in inventory.clusters], policy.hierarchy_config()
    )
    findings = validate_findings(
        Context(
            head=graph,
            snapshot=snap,
            inventory=inventory,
            policy=policy,
            placements=place(inventory, policy),
        ),
        strict=strict,
    )
    assert all(f.fix for f in findings)
    if strict:
        assert all(f.severity == "violation" for f in findings)


# ------------------------------------------------------------ against rendered truth


def write_repo_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def render(tree: Path, folder: str) -> tuple[int, str]:
    proc = subprocess.run(
        ["kubectl", "kustomize", str(tree / folder)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.returncode, proc.stdout


@pytest.mark.slow
@requires_kubectl
@settings(max_examples=examples(10), deadline=None, suppress_health_check=list(HealthCheck))
@given(drawn=changes())
def test_plan_is_sound_against_rendered_truth(drawn: Drawn, tmp_path_factory: Any) -> None:
    work: Path = tmp_path_factory.mktemp("truth")
    trees = {}
    for side, fleet in (("base", drawn.base), ("head", drawn.head)):
        trees[side] = work / side
        write_repo_files(trees[side], fleet.files)
    repo = work / "repo"
    write_repo_files(repo, drawn.base.files)
    inventory = work / "inventory.yaml"
    inventory.write_text(yamlsafe.dump({"clusters": drawn.head.clusters}))
    quiet_git(repo, "init", "-q", "-b", "main")
    quiet_git(repo, "add", "-A")
    quiet_git(repo, "commit", "-q", "-m", "base")
    base = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    for path in drawn.base.files:
        if path not in drawn.head.files:
            (repo / path).unlink()
    write_repo_files(repo, drawn.head.files)
    quiet_git(repo, "add", "-A")
    quiet_git(repo, "commit", "-q", "--allow-empty", "-m", "head")
    plan = api.plan(api.PlanRequest(repo=repo, base=base, head="HEAD", inventory=inventory))
    objects = {
        "base": Objects.of(repo, base, trees["base"]),
        "head": Objects.of(repo, "HEAD", trees["head"]),
    }
    truth_changed = []
    for cluster in drawn.head.clusters:
        folder = f"clusters/{cluster['name']}"
        if reach_key(objects["base"], folder) == reach_key(objects["head"], folder):
            continue  # kustomize reads the same objects at both: the same render
        if render(trees["base"], folder) != render(trees["head"], folder):
            truth_changed.append(cluster["name"])
    missed = sorted(set(truth_changed) - set(plan.affected_names()))
    changed = json.dumps([c.path for c in drawn.changed])
    assert not missed, f"render changed but not affected: {missed} (changed {changed})"
