"""Hypothesis fuzzing of every loader of untrusted text, bounded in time.

Targets and the only exceptions each may raise (its documented error type):

- `yamlsafe.load_all` (plain and strict)  -> `yamlsafe.YamlError`
- `kustomize.references`, `inline_patches` -> nothing (any mapping in, references out)
- `inventory.parse_inventory`              -> `planner.errors.UserError`
- `policy.load_policy`                     -> `planner.errors.UserError`
- `hierarchy.build.build_hierarchy`        -> nothing (problems are recorded, not raised)

Inputs mix raw bytes, random text, YAML dumps of random structures and byte-level mutations
of real inventories, policies and kustomizations (splices, flips, repeated anchors). Bounds:
`FUZZ_EXAMPLES` examples per target (default 2000) and a per-example deadline
(`FUZZ_DEADLINE_MS`, default 2000) so a hang is a failure, not a stuck job. Run:

    nox -s fuzz                                  # random seed
    nox -s fuzz -- --hypothesis-seed=1234        # reproduce a run
    FUZZ_EXAMPLES=20000 nox -s fuzz              # a longer session
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner import inventory, kustomize, policy, yamlsafe
from planner.errors import UserError
from planner.hierarchy.build import build_hierarchy
from planner.snapshot import MemorySnapshot

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2000"))
DEADLINE = int(os.environ.get("FUZZ_DEADLINE_MS", "2000"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=DEADLINE,
    suppress_health_check=list(HealthCheck),
    database=None,
)


def _seeds() -> list[bytes]:
    found = sorted(ROOT.glob("tests/fleets/*/base/clusters.yaml"))[:4]
    found += sorted(ROOT.glob("tests/fleets/*/base/**/kustomization.yaml"))[:12]
    seeds = [p.read_bytes() for p in found]
    seeds.append(
        b"waves:\n- name: canary\n  selector: {matchLabels: {rollout.wave: canary}}\n"
        b"  bake: 1h\n- name: production\n  selector: {}\n  group_by: region\n"
        b"identity:\n  rules:\n  - {name_matches: '-eu-', require: {region: eu-west}}\n"
        b"constraints:\n- {label: compliance, value: pci, max_per_step: 1}\n"
    )
    seeds.append(b"a: &a [x, y]\nb: &b [*a, *a]\nc: [*b, *b]\n")
    return seeds


SEEDS = _seeds()
TOKENS = [
    b"&a ",
    b"*a",
    b"[",
    b"]",
    b"{",
    b"}",
    b"- ",
    b": ",
    b"\n  ",
    b"\t",
    b"!!",
    b"%YAML 1.1\n",
    b"---\n",
    b"\xff",
    b"\x00",
    b"'",
    b'"',
    b"? ",
    b"<<: *a\n",
    b"{{.server}}",
    b"\\u0000",
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "splice", "repeat"]))
        at = draw(st.integers(0, len(data)))
        if op == "flip" and data:
            data[min(at, len(data) - 1)] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(TOKENS))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif op == "splice":
            other = draw(st.sampled_from(SEEDS))
            start = draw(st.integers(0, len(other)))
            data[at:at] = other[start : start + draw(st.integers(1, 64))]
        else:
            data[at:at] = draw(st.sampled_from(TOKENS)) * draw(st.integers(2, 300))
    return bytes(data)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=30,
)
KEYS = st.sampled_from(
    [
        "resources",
        "bases",
        "components",
        "patches",
        "patchesStrategicMerge",
        "generators",
        "transformers",
        "configMapGenerator",
        "secretGenerator",
        "helmCharts",
        "helmGlobals",
        "helmChartInflationGenerator",
        "replacements",
        "openapi",
        "crds",
        "clusters",
        "waves",
        "name",
        "labels",
        "server",
        "path",
        "files",
        "envs",
        "env",
        "literals",
        "valuesFile",
    ]
)
SHAPED = st.recursive(
    st.none() | st.text(max_size=30) | st.integers(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=25,
)


def _dumped(value: Any) -> bytes:
    return yamlsafe.dump(value).encode()


TEXTS = st.one_of(
    st.binary(max_size=512),
    st.text(max_size=512).map(str.encode),
    SHAPED.map(_dumped),
    JSONISH.map(_dumped),
    mutated(),
)


@FUZZ
@given(TEXTS, st.booleans())
def test_yaml_loader(data: bytes, strict: bool) -> None:
    with contextlib.suppress(yamlsafe.YamlError):
        yamlsafe.load_all(data, strict=strict)


@FUZZ
@given(st.dictionaries(KEYS, SHAPED, max_size=6) | JSONISH.filter(lambda v: isinstance(v, dict)))
def test_kustomize_references(doc: dict[str, Any]) -> None:
    refs = kustomize.references(doc)
    assert all(isinstance(r.ref, str) and isinstance(r.field, str) for r in refs)
    kustomize.inline_patches(doc)


@FUZZ
@given(st.lists(TEXTS, min_size=1, max_size=3))
def test_inventory_loader(texts: list[bytes]) -> None:
    with contextlib.suppress(UserError):
        inventory.parse_inventory(
            {f"inv{i}.yaml": t for i, t in enumerate(texts)}, source="inv.yaml"
        )


@FUZZ
@given(TEXTS)
def test_policy_loader(data: bytes) -> None:
    with contextlib.suppress(UserError):
        policy.load_policy(data, source="rollout.yaml")


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["base", "environments/prod", "clusters/a", "clusters/b"]),
        TEXTS,
        min_size=1,
    )
)
def test_hierarchy_builder(kustomizations: dict[str, bytes]) -> None:
    files = {f"{folder}/kustomization.yaml": data for folder, data in kustomizations.items()}
    graph = build_hierarchy(MemorySnapshot(files), ["clusters/a", "clusters/b"])
    graph.cycles()
    for root in ("clusters/a", "clusters/b"):
        node = graph.root_of(root)
        if node is not None:
            graph.closure(node)
