"""Plans for the report tests: the golden cases (fixture fleets planned for real) and
synthetic plans built directly, with sizes and names chosen by the test."""

from __future__ import annotations

from pathlib import Path

from planner import api
from planner.chains import ChainLink
from planner.changes import Change, ChangeStatus
from planner.findings import Finding
from planner.hierarchy.scopes import Scope
from planner.impact import ChangedLayer, Reason
from planner.plan import (
    AffectedCluster,
    Emergency,
    Membership,
    Plan,
    SourceInfo,
    StepSummary,
    Summary,
)
from tests.testing.fleetrepo import SCENARIOS_DIR, build_demo_repo, build_fleet_repo

SHA_A, SHA_B = "1" * 40, "2" * 40

GOLDEN_CASES = [
    ("demo", "demo", None),
    ("demo-emergency", "demo", "CVE-2026-1234"),
    ("incident", "incident", None),
    ("inventory-only", "inventory-label-change", None),
    ("inventory-add-remove", "inventory-add-remove", None),
    ("no-op", "unreferenced-file", None),
]


def fixture_plan(name: str, dest: Path, emergency: str | None = None) -> Plan:
    built = (
        build_demo_repo(dest / "demo")
        if name == "demo"
        else build_fleet_repo(SCENARIOS_DIR / name, dest / name)
    )
    sources = api.PlanRequest(
        repo=built.path,
        base=built.base,
        head=built.head,
        inventory=built.path / "clusters.yaml",
        emergency=emergency,
    )
    return api.plan(sources)


def synthetic_plan(
    clusters: int, per_step: int, *, findings: int, layers: int, weird: str, emergency: bool
) -> Plan:
    """A plan built directly (no hierarchy): sizes and names chosen by the test."""
    names = [f"c{i:05d}" for i in range(clusters)]
    steps = [
        StepSummary(
            name=f"production-{k + 1}",
            wave="production",
            clusters=tuple(names[i : i + per_step]),
            bake="1h",
            approval="required",
            regions=(f"r-{k % 7}",),
            compliance=("gdpr",),
        )
        for k, i in enumerate(range(0, clusters, per_step))
    ]
    step_of = {c: s.name for s in steps for c in s.clusters}
    file = f"base/{weird}.yaml"
    reason = Reason(
        kind="layer",
        summary=f"global layer base changed: {file}",
        layer="base",
        scope=Scope.GLOBAL,
        files=(file,),
        revision="base+head",
        chain=(
            ChainLink(
                path="clusters/x/kustomization.yaml", kind="kustomization", scope=Scope.CLUSTER
            ),
            ChainLink(path=file, kind="file", scope=Scope.GLOBAL, field="resources", ref=weird),
        ),
    )
    found = tuple(
        Finding(
            code="identity-mismatch",
            severity="violation" if i % 2 else "warning",
            message=f"{weird} mismatch {i}",
            cluster=names[i % clusters] if clusters else None,
            file=file,
            values={"inventory.region": weird[:60] or "x"},
            fix=f"fix {weird}",
        )
        for i in range(findings)
    )
    violations = tuple(f for f in found if f.severity == "violation")
    warnings = tuple(f for f in found if f.severity == "warning")
    return Plan(
        id="0123456789ab",
        base=SHA_A,
        head=SHA_B,
        emergency=Emergency(reason=weird) if emergency else None,
        summary=Summary(
            clusters_total=clusters + 3,
            clusters_affected=clusters,
            scope="global",
            steps=len(steps),
            violations=len(violations),
            warnings=len(warnings),
        ),
        changed_files=(file,),
        changes=(Change(path=file, status=ChangeStatus.MODIFIED),),
        changed_layers=tuple(
            ChangedLayer(path=f"layer-{i}/{weird}", scope=Scope.SHARED, files=(file,), clusters=i)
            for i in range(layers)
        ),
        affected=tuple(
            AffectedCluster(
                cluster=n,
                wave="production",
                step=step_of[n],
                placement="wave production",
                reasons=(reason,),
            )
            for n in names
        ),
        unaffected=("u1", "u2", "u3"),
        removed=(weird,) if weird else (),
        unowned=(file,),
        ignored=(),
        violations=violations,
        warnings=warnings,
        waves=tuple(steps),
        skipped_waves=("canary", "staging"),
        membership=(Membership(wave="production", clusters=(*names, "u1", "u2", "u3")),),
        policy=SourceInfo(source="rollout.yaml", digest="d"),
        inventory=SourceInfo(source=f"{weird}.yaml", digest="d"),
    )
