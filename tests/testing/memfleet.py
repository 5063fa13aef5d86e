"""Large fleets held in memory: plan inputs for thousands of clusters without git.

`memory_inputs(n)` lays out the reference hierarchy (base -> environments -> production
regions -> clusters) for `n` clusters as two `MemorySnapshot`s, base and head, where head
changes one file under `base/` (so every cluster is affected), with the issue's policy:
canary, then dev and staging, then production at most 5 clusters per step, one region per
step. Deterministic: the same `n` always gives the same plan.
"""

from __future__ import annotations

from planner.changes import Change, ChangeSet, ChangeStatus
from planner.inventory import parse_inventory
from planner.plan import Plan, PlanInputs, plan_change
from planner.policy import load_policy
from planner.snapshot import MemorySnapshot
from tests.testing.policies import ISSUE_POLICY

BASE_SHA = "a" * 40
HEAD_SHA = "b" * 40
REGIONS = ("eu-west", "us-east", "ap-south", "eu-central")
COMPLIANCE = {"eu-west": "gdpr", "eu-central": "gdpr", "us-east": "pci", "ap-south": "none"}

POLICY = ISSUE_POLICY.encode()


def _environment(index: int) -> str:
    """About 10% dev, 20% staging, 70% production."""
    slot = index % 10
    return "dev" if slot == 0 else "staging" if slot in (1, 2) else "production"


def _clusters(n: int) -> list[tuple[str, str, str, bool]]:
    width = len(str(n))
    out = []
    for i in range(n):
        env = _environment(i)
        region = REGIONS[(i // 10) % len(REGIONS)]
        canary = env == "dev" and i % 50 == 0
        out.append((f"{env[:4]}-{region}-{i:0{width}d}", env, region, canary))
    return out


def _files(n: int, namespace: str) -> dict[str, bytes]:
    files = {
        "base/kustomization.yaml": b"resources:\n- namespace.yaml\n",
        "base/namespace.yaml": (
            f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {namespace}\n".encode()
        ),
    }
    for env in ("dev", "staging", "production"):
        files[f"environments/{env}/kustomization.yaml"] = b"resources:\n- ../../base\n"
    for region in REGIONS:
        files[f"regions/{region}/kustomization.yaml"] = (
            b"resources:\n- ../../environments/production\n"
        )
    inventory = ["clusters:"]
    for name, env, region, canary in _clusters(n):
        parent = f"regions/{region}" if env == "production" else f"environments/{env}"
        files[f"clusters/{name}/kustomization.yaml"] = f"resources:\n- ../../{parent}\n".encode()
        labels = f"environment: {env}, region: {region}, compliance: {COMPLIANCE[region]}"
        if canary:
            labels += ", rollout.wave: canary"
        inventory.append(f"- name: {name}\n  labels: {{{labels}}}")
    files["clusters.yaml"] = ("\n".join(inventory) + "\n").encode()
    return files


def memory_inputs(n: int, *, emergency: str | None = None) -> PlanInputs:
    """Plan inputs: `n` clusters, one file under base/ changed."""
    base = MemorySnapshot(_files(n, "monitoring"), revision=BASE_SHA)
    head = MemorySnapshot(_files(n, "observability"), revision=HEAD_SHA)
    data = head.read("clusters.yaml")
    assert data is not None
    inventory = parse_inventory({"clusters.yaml": data}, source="clusters.yaml")
    return PlanInputs(
        head=head,
        base=base,
        changes=ChangeSet(
            changes=(Change(path="base/namespace.yaml", status=ChangeStatus.MODIFIED),)
        ),
        inventory=inventory,
        base_inventory=inventory,
        policy=load_policy(POLICY, source="rollout.yaml"),
        policy_source="rollout.yaml",
        inventory_paths=("clusters.yaml",),
        emergency=emergency,
    )


def memory_plan(n: int, *, emergency: str | None = None) -> Plan:
    """The plan of a change to base/ in an `n`-cluster fleet."""
    return plan_change(memory_inputs(n, emergency=emergency))
