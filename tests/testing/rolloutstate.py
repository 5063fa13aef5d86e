"""A rollout's state in memory: a small plan (canary, staging, two production steps), its
inventory, a fresh rollout started at a fixed time and the outcome helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from planner.inventory import Cluster, Inventory
from planner.plan import Plan
from planner.release import transitions
from planner.release.model import Inputs, Outcome, Refused, Rollout
from planner.target import Target

BASE = "a" * 40


HEAD = "b" * 40


T0 = datetime(2024, 1, 3, 9, 0, tzinfo=UTC)


WAVES = {
    "canary": ["c1"],
    "staging": ["s1", "s2", "u1"],
    "production": ["p1", "p2", "p3", "u2"],
}


STEPS: list[dict[str, Any]] = [
    {"name": "canary", "wave": "canary", "clusters": ["c1"], "bake": "1h", "approval": "none"},
    {"name": "staging", "wave": "staging", "clusters": ["s1", "s2"], "bake": "30m"},
    {"name": "production-1", "wave": "production", "clusters": ["p1", "p2"], "bake": "1h",
     "approval": "required"},
    {"name": "production-2", "wave": "production", "clusters": ["p3"], "bake": None,
     "approval": "required"},
]  # fmt: skip


def make_plan(steps: list[dict[str, Any]] = STEPS, waves: dict[str, list[str]] = WAVES) -> Plan:
    affected = sorted(c for s in steps for c in s["clusters"])
    members = sorted(c for cs in waves.values() for c in cs)
    return Plan.model_validate(
        {
            "id": "plan0123",
            "base": BASE,
            "head": HEAD,
            "summary": {
                "clusters_total": len(members),
                "clusters_affected": len(affected),
                "scope": "global",
                "steps": len(steps),
                "violations": 0,
                "warnings": 0,
            },
            "changed_files": ["base/x.yaml"],
            "changes": [],
            "changed_layers": [],
            "affected": [
                {
                    "cluster": c,
                    "wave": s["wave"],
                    "step": s["name"],
                    "placement": "test",
                    "reasons": [],
                }
                for s in steps
                for c in s["clusters"]
            ],
            "unaffected": sorted(set(members) - set(affected)),
            "removed": [],
            "unowned": [],
            "ignored": [],
            "violations": [],
            "warnings": [],
            "waves": [{"approval": "none", **s} for s in steps],
            "skipped_waves": [],
            "membership": [{"wave": w, "clusters": sorted(cs)} for w, cs in waves.items()],
            "policy": {"source": "rollout.yaml", "digest": "p" * 64},
            "inventory": {"source": "clusters.yaml", "digest": "i" * 64},
        }
    )


def make_inventory() -> Inventory:
    names = sorted(c for cs in WAVES.values() for c in cs)
    return Inventory(
        clusters=tuple(
            Cluster(name=n, labels={}, server=f"https://{n}.example.com") for n in names
        ),
        source="clusters.yaml",
    )


def fresh(plan: Plan | None = None) -> Rollout:
    return transitions.start(
        plan or make_plan(),
        name="change-1",
        target=Target.argocd,
        inputs=Inputs(inventory="clusters.yaml", policy="rollout.yaml"),
        now=T0,
        actor="rm",
    )


def ok(outcome: Outcome) -> Rollout:
    assert isinstance(outcome, Rollout), outcome
    return outcome


def refused(outcome: Outcome) -> Refused:
    assert isinstance(outcome, Refused), outcome
    return outcome


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)
