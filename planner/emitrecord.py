"""The inputs an `emit` output was generated from, written next to it, and when they went stale.

`emit` writes `.wave-planner-inputs.json` with the manifests: the base and head commits,
the inventory and policy digests, `--released`, the Argo CD strategy and the emergency
reason. `emit --check` regenerates from those recorded inputs, so committing the manifests
(which moves `HEAD`) does not make them out of date. They are **stale** only when an input
changed: another base, an inventory or policy with another digest, or commits after the
recorded head that touch anything but generated files. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

INPUTS_FILE = ".wave-planner-inputs.json"
FORMAT = "wave-planner emit inputs v1"


@dataclass(frozen=True)
class Record:
    target: str
    strategy: str
    released: int | str
    base: str
    head: str
    inventory_digest: str
    policy_digest: str
    emergency: str | None = None

    def dump(self) -> bytes:
        data = {
            "format": FORMAT,
            "target": self.target,
            "strategy": self.strategy,
            "released": self.released,
            "base": self.base,
            "head": self.head,
            "inventory_digest": self.inventory_digest,
            "policy_digest": self.policy_digest,
            "emergency": self.emergency,
        }
        return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()


def parse(data: bytes) -> Record | None:
    """The record, or None when it is not one (an older output, a hand edit)."""
    try:
        raw = json.loads(data)
    except ValueError:
        return None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        return None
    released = raw.get("released")
    if not (released == "all" or (isinstance(released, int) and released >= 0)):
        return None
    texts = ("target", "strategy", "base", "head", "inventory_digest", "policy_digest")
    if not all(isinstance(raw.get(k), str) for k in texts):
        return None
    emergency = raw.get("emergency")
    if emergency is not None and not isinstance(emergency, str):
        return None
    return Record(
        target=raw["target"],
        strategy=raw["strategy"],
        released=released,
        base=raw["base"],
        head=raw["head"],
        inventory_digest=raw["inventory_digest"],
        policy_digest=raw["policy_digest"],
        emergency=emergency,
    )


def stale_reasons(
    record: Record,
    *,
    base: str,
    inventory_digest: str,
    policy_digest: str,
    changed_since_head: Iterable[str],
) -> list[str]:
    """Why the recorded inputs no longer describe the repository (empty: they still do).

    `changed_since_head`: files changed between the recorded head and the head now, with
    generated files already left out.
    """
    reasons = []
    if base != record.base:
        reasons.append(
            f"base is now {base[:12]}, the manifests were generated from {record.base[:12]}"
        )
    if inventory_digest != record.inventory_digest:
        reasons.append("the inventory changed since the manifests were generated")
    if policy_digest != record.policy_digest:
        reasons.append("the policy changed since the manifests were generated")
    changed = sorted(changed_since_head)
    if changed:
        shown = ", ".join(changed[:5]) + (
            f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        )
        reasons.append(f"commits after head {record.head[:12]} change {shown}")
    return reasons


def generated(path: str, generated_dirs: Iterable[str], state_file: str = "rollout.yaml") -> bool:
    """A file the planner writes (inside a folder of generated manifests, or a rollout's
    state file `waves/<name>/rollout.yaml`), not an input of a plan."""
    parts = path.split("/")
    if len(parts) == 3 and parts[0] == "waves" and parts[2] == state_file:
        return True
    return any(path == d or path.startswith(d + "/") for d in generated_dirs)
