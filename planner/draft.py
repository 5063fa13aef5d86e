"""The files `wave-planner init` drafts: clusters.yaml and rollout.yaml, commented.

Every file starts with a `# yaml-language-server: $schema=...` line (editors complete and
check it against the published schema); every cluster says where it was found; every value
inferred from a name rather than from the repository's layers ends in `# guess: ...`.
The rollout policy is the built-in one, fitted to the drafted inventory: the scope rules for
the layout found, and no wave that no drafted cluster would fill (an empty wave is a
warning in `validate`). Pure and deterministic.
"""

from __future__ import annotations

import json
import re

from planner import policy as policy_mod
from planner.discover import Discovery, DraftCluster
from planner.hierarchy.scopes import DEFAULT_SCOPES
from planner.inventory import Cluster, Inventory
from planner.schemas import modeline

_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9._/:-]*$")
_YAML_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"})


def scalar(value: str) -> str:
    """A YAML string scalar: plain when that reads back as the same string, else quoted."""
    if _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS and ": " not in value:
        return value
    return json.dumps(value)


def _comment(text: str) -> str:
    return " ".join(text.split())


def inventory_of(found: Discovery) -> Inventory:
    return Inventory(
        clusters=tuple(
            Cluster(name=c.name, path=c.path, labels=dict(c.labels), server=c.server)
            for c in found.clusters
        ),
        source="clusters.yaml",
    )


def render_inventory(found: Discovery) -> str:
    out = [
        modeline("inventory"),
        "# Drafted by `wave-planner init` from what the repository says; review it, then",
        "# commit it. A value ending in `# guess` was inferred from a name, not from a layer.",
        "clusters:",
    ]
    for c in found.clusters:
        out += _cluster(c)
    return "\n".join(out) + "\n"


def _cluster(c: DraftCluster) -> list[str]:
    lines = [f"  # {_comment(e)}" for e in c.evidence]
    name_note = "  # guess: cleaned up from the folder name" if "name" in c.guesses else ""
    lines.append(f"  - name: {scalar(c.name)}{name_note}")
    path_note = "  # guess: where its config is read from" if "path" in c.guesses else ""
    lines.append(f"    path: {scalar(c.path)}{path_note}")
    if c.server:
        lines.append(f"    server: {scalar(c.server)}")
    if c.labels:
        lines.append("    labels:")
        for key, value in c.labels.items():
            why = c.label_sources.get(key, "")
            note = f"  # {_comment(why)}" if why else ""
            lines.append(f"      {key}: {scalar(value)}{note}")
    else:
        lines.append("    labels: {}  # nothing in the repository says; add environment/region")
    return lines


def render_policy(found: Discovery) -> str:
    inv = inventory_of(found)
    base = policy_mod.default_policy(inv)
    waves = []
    dropped = []
    for wave in base.waves:
        if any(wave.match(c.labels) is not None for c in inv.clusters):
            waves.append(wave)
        else:
            dropped.append(wave.name)
    if not waves:
        waves = [base.waves[-1]]
    update: dict[str, object] = {"waves": tuple(waves)}
    if found.scopes:
        update["scopes"] = (*DEFAULT_SCOPES, *found.scopes)
    fitted = base.model_copy(update=update)
    out = [
        modeline("policy"),
        "# Drafted by `wave-planner init`: the built-in policy fitted to the drafted",
        "# clusters.yaml (see `wave-planner schema policy`).",
    ]
    if "canary" in dropped:
        out += [
            "# No cluster is labelled as a canary. Label one `rollout.wave: canary` and add",
            "# this as the first wave:",
            "#   - name: canary",
            "#     any_of: [{matchLabels: {rollout.wave: canary}}]",
            "#     bake: 1h",
        ]
    for name in dropped:
        if name != "canary":
            out.append(f"# Wave {name} left out: no drafted cluster belongs to it.")
    for rule in found.scopes:
        out.append(
            f"# Scope rule {rule.pattern}: {rule.scope.value} layers found in the repository."
        )
    return "\n".join(out) + "\n" + policy_mod.policy_yaml(fitted)


def render_report(found: Discovery, written: list[str]) -> str:
    """What `init` prints: each cluster, why it is one, where each label comes from."""
    out = []
    n = len(found.clusters)
    out.append(f"found {n} cluster{'s' if n != 1 else ''}")
    for c in found.clusters:
        out.append(f"  {c.name}  ({c.path})")
        out += [f"    because: {e}" for e in c.evidence]
        if c.server:
            out.append(f"    server {c.server}")
        for key, value in c.labels.items():
            out.append(f"    {key}={value}: {c.label_sources.get(key, '')}")
        if not c.labels:
            out.append("    no labels: nothing in the repository says which environment or region")
    for s in found.skipped:
        out.append(f"  not a cluster: {s.what}: {s.reason}")
    out += [f"  note: {note}" for note in found.notes]
    out += [f"wrote {path}" for path in written]
    return "\n".join(out) + "\n"
