"""Single-file mutations of a fixture fleet that change what a cluster applies.

`mutate(path, text)` returns the file with one meaningful edit (None when the file is not
one the mutation harness edits): an annotation on every object, `commonAnnotations` on a
kustomization, a new key in a values file, a new variable in an env file. The recorded
truth for each mutation (tests/data/flux-mutations.yaml) was rendered with `kubectl
kustomize`, following Flux objects into the repository.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.testing.fleetrepo import SCENARIOS_DIR

KFILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def mutate(path: str, text: str) -> str | None:
    name = path.rsplit("/", 1)[-1]
    if name.endswith(".env"):
        return text + "MUTATED=1\n"
    if not name.endswith((".yaml", ".yml")) and name not in KFILES:
        return None
    if name == "clusters.yaml":
        return None
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return None
    if name in KFILES:
        doc = docs[0]
        annotations = dict(doc.get("commonAnnotations") or {})
        annotations["mutation"] = "1"
        doc["commonAnnotations"] = annotations
        return yaml.safe_dump(doc, sort_keys=False)
    out = []
    for doc in docs:
        if isinstance(doc, dict) and "kind" in doc and isinstance(doc.get("metadata"), dict):
            doc["metadata"].setdefault("annotations", {})["mutation"] = "1"
        elif isinstance(doc, dict):
            doc["mutation"] = 1
        out.append(doc)
    return yaml.safe_dump_all(out, sort_keys=False)


def fleet_files(name: str) -> dict[str, str]:
    """The base tree of a fixture fleet as {path: text}."""
    root = SCENARIOS_DIR / name / "base"
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def mutations(name: str) -> dict[str, dict[str, str]]:
    """{mutated path: head tree} for every file of the fleet the harness edits."""
    base = fleet_files(name)
    found = {}
    for path, text in base.items():
        edited = mutate(path, text)
        if edited is not None and edited != text:
            found[path] = {**base, path: edited}
    return found


def write_tree(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def score(
    fleet: str, truth: dict[str, list[str]]
) -> tuple[list[object], list[object], int, dict[str, list[str]]]:
    """Plan every mutation of `fleet` against its recorded `truth`: (misses, inexact edits,
    number of edits, each edit's violation codes)."""
    from tests.testing.wirekit import plan_files

    base = fleet_files(fleet)
    edits = mutations(fleet)
    assert sorted(edits) == sorted(truth), "the recorded truth covers every edit"
    missed: list[object] = []
    inexact: list[object] = []
    violations: dict[str, list[str]] = {}
    for path, head in sorted(edits.items()):
        plan = plan_files(base, head)
        affected = set(plan.affected_names())
        want = set(truth[path])
        if not want <= affected:
            missed.append((path, sorted(want - affected)))
        if affected != want:
            inexact.append((path, sorted(affected - want)))
        violations[path] = [v.code for v in plan.violations]
    return missed, inexact, len(edits), violations
