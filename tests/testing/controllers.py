"""Emulate Flux and Argo CD from emitted manifests: what would each cluster really apply?

Independent of the planner's code. From the objects emitted for one cluster (a Flux
GitRepository + Kustomization, or the Application an ApplicationSet's list generator makes
for it), follow every Flux `Kustomization` (GitRepository or ExternalArtifact source, with
ArtifactGenerator copy rules), and every Argo CD `Application` to the revision it would
really apply: a GitRepository's `ref.commit`, an Application's 40-hex `targetRevision`, or
the branch tip (`head`) for anything following a branch. Each followed path is rendered with
`kubectl kustomize` (a folder without a kustomization file gets Flux's generated one, or is
read as an Argo CD directory), then the object's `spec.patches` / `source.kustomize.patches`
are applied by kustomize itself. What is left after removing the GitOps machinery (leaf
objects: Deployments, ConfigMaps, ...) is the cluster's applied state.

`ideal(rev)` is the same walk with every source of this repository forced to `rev`: what
the cluster runs when it is fully on base or fully on head.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.testing.rendercache import KeptRenders, Objects, reach_key

KUBECTL = shutil.which("kubectl")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
KFILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
MACHINERY = {
    ("kustomize.toolkit.fluxcd.io", "Kustomization"),
    ("source.toolkit.fluxcd.io", "GitRepository"),
    ("source.extensions.fluxcd.io", "ArtifactGenerator"),
    ("source.toolkit.fluxcd.io", "ExternalArtifact"),
    ("argoproj.io", "Application"),
}


class EmulationError(RuntimeError):
    pass


def _group(doc: Mapping[str, Any]) -> str:
    return str(doc.get("apiVersion", "")).rpartition("/")[0]


def _slug(url: str) -> str:
    text = re.sub(r"^[a-z0-9+.-]+://", "", url.strip().lower()).split("@", 1)[-1]
    parts = [
        p for p in text.replace(":", "/").removesuffix("/").removesuffix(".git").split("/") if p
    ]
    return "/".join(parts[-2:])


def _norm(path: str) -> str:
    parts: list[str] = []
    for part in path.strip().replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts) or "."


_SHARED: dict[str, Any] = {"roots": {}, "objects": {}, "reached": {}, "work": []}
"""What `Trees` found for a commit id, for the whole run: the id names the content, so every
copy of a fixture fleet reads the same tree (materialised once, in a folder of the run)."""


def _shared_work() -> Path:
    if not _SHARED["work"]:
        work = Path(tempfile.mkdtemp(prefix="emulated-trees-"))
        atexit.register(shutil.rmtree, work, True)
        _SHARED["work"].append(work)
    found: Path = _SHARED["work"][0]
    return found


@dataclass
class Trees:
    """Every revision of a repository materialised once (git archive); a revision named by
    its commit id once per run, whichever copy of the repository names it."""

    repo: Path
    work: Path
    _done: dict[str, Path] = field(default_factory=dict)
    _trees: dict[str, str] = field(default_factory=dict)
    _objects: dict[str, Objects] = field(default_factory=dict)
    _reached: dict[tuple[str, str], str] = field(default_factory=dict)

    def _store(self, kind: str, rev: str) -> dict[Any, Any]:
        """Where a finding about `rev` is kept: the run's, for a commit id."""
        if _SHA.fullmatch(rev):
            shared: dict[Any, Any] = _SHARED[kind]
            return shared
        own: dict[str, dict[Any, Any]] = {
            "roots": self._done,
            "objects": self._objects,
            "reached": self._reached,
        }
        return own[kind]

    def reach(self, rev: str, path: str) -> str:
        """The content a render of `path` at `rev` can read (tests/testing/rendercache.py)."""
        reached = self._store("reached", rev)
        if (rev, path) not in reached:
            objects = self._store("objects", rev)
            if rev not in objects:
                objects[rev] = Objects.of(self.repo, rev, self.root(rev))
            reached[rev, path] = reach_key(objects[rev], path)
        found: str = reached[rev, path]
        return found

    def tree(self, rev: str) -> str:
        """The git tree id of a revision: what its checkout holds, by content."""
        if rev not in self._trees:
            self._trees[rev] = subprocess.run(
                ["git", "-C", str(self.repo), "rev-parse", f"{rev}^{{tree}}"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        return self._trees[rev]

    def root(self, rev: str) -> Path:
        done = self._store("roots", rev)
        if rev not in done:
            work = _shared_work() if _SHA.fullmatch(rev) else self.work
            dest = work / rev
            dest.mkdir(parents=True)
            data = subprocess.run(
                ["git", "-C", str(self.repo), "archive", "--format=tar", rev],
                capture_output=True,
                check=True,
            ).stdout
            tar = work / f"{rev}.tar"
            tar.write_bytes(data)
            with tarfile.open(tar) as archive:
                archive.extractall(dest, filter="data")
            done[rev] = dest
        found: Path = done[rev]
        return found


def _kubectl(directory: Path) -> list[dict[str, Any]]:
    assert KUBECTL is not None
    proc = subprocess.run(
        [KUBECTL, "kustomize", str(directory), "--load-restrictor=LoadRestrictionsNone"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise EmulationError(proc.stderr.strip()[-800:])
    return [d for d in yaml.load_all(proc.stdout, Loader=_LOADER) if isinstance(d, dict)]


def _load(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.load_all(path.read_text(), Loader=_LOADER) if isinstance(d, dict)]


RENDERS = KeptRenders(KUBECTL or "kubectl")
"""Renders by content -> JSON documents: a folder by what it can read (the git objects its
kustomization files reach, `rendercache.reach_key`) and its mode; a patched render by the
documents and the patches. kubectl renders each distinct input once, and once only across
runs (kept with kubectl's and this code's identity): the other revision of a folder the
change does not reach, a repository built again from the same fixture, or the same patches
on the same objects read the render back instead of starting kubectl again."""


_APPLIED: dict[str, dict[str, dict[str, Any]]] = {}
"""`Emulator.applied` by its inputs (commit ids, slug, start objects): followed once per run."""


class Emulator:
    """Follows the GitOps objects of one repository; renders cached per input (by content)."""

    def __init__(self, trees: Trees, head: str, repo_slug: str, bootstrap: str = "flux-system"):
        self.trees = trees
        self.head = head
        self.repo_slug = repo_slug
        self.bootstrap = bootstrap

    # ---- rendering -----------------------------------------------------------------
    def render(
        self, rev: str, path: str, mode: str, patches: list[Any] | None
    ) -> list[dict[str, Any]]:
        key = json.dumps(
            [self.trees.reach(rev, _norm(path)), _norm(path), self._mode(rev, path, mode)]
        )
        raw = RENDERS.get(key) or RENDERS.put(
            key, json.dumps(self._render(self.trees.root(rev), _norm(path), mode))
        )
        if patches:
            key = hashlib.sha256(json.dumps([raw, patches], sort_keys=True).encode()).hexdigest()
            raw = RENDERS.get(key) or RENDERS.put(
                key, json.dumps(self._patch(json.loads(raw), patches))
            )
        copy: list[dict[str, Any]] = json.loads(raw)
        return copy  # a private copy

    def _mode(self, rev: str, path: str, mode: str) -> str:
        """The mode as far as it matters: a file, or a folder holding a kustomization file,
        renders the same for Flux and Argo CD (`_render` reads `mode` only for a folder
        without one), so both share one render."""
        target = self.trees.root(rev) / _norm(path)
        if target.is_file() or any((target / k).is_file() for k in KFILES):
            return "any"
        return mode

    def _render(self, root: Path, path: str, mode: str) -> list[dict[str, Any]]:
        target = root / path
        if not target.exists():
            raise EmulationError(f"{path} does not exist")
        if target.is_file():
            return _load(target)
        if any((target / k).is_file() for k in KFILES):
            return _kubectl(target)
        if mode == "argo":
            docs: list[dict[str, Any]] = []
            for item in sorted(target.iterdir()):
                if item.is_file() and item.suffix in (".yaml", ".yml", ".json"):
                    docs.extend(_load(item))
            return docs
        resources: list[str] = []
        for current, dirs, names in os.walk(target):
            here = Path(current)
            keep = []
            for sub in sorted(dirs):
                if sub.startswith("."):
                    continue
                if any((here / sub / k).is_file() for k in KFILES):
                    resources.append((here / sub).relative_to(target).as_posix())
                else:
                    keep.append(sub)
            dirs[:] = keep
            for name in sorted(names):
                if name.endswith((".yaml", ".yml")):
                    found = _load(here / name)
                    if found and all("kind" in d and "apiVersion" in d for d in found):
                        resources.append((here / name).relative_to(target).as_posix())
        generated = target / "kustomization.yaml"
        generated.write_text(yaml.safe_dump({"resources": sorted(resources)}))
        try:
            return _kubectl(target)
        finally:
            generated.unlink()

    @staticmethod
    def _patch(docs: list[dict[str, Any]], patches: list[Any]) -> list[dict[str, Any]]:
        with tempfile.TemporaryDirectory() as tmp:
            wrapper = Path(tmp)
            (wrapper / "objects.yaml").write_text(yaml.safe_dump_all(docs))
            (wrapper / "kustomization.yaml").write_text(
                yaml.safe_dump({"resources": ["objects.yaml"], "patches": patches})
            )
            return _kubectl(wrapper)

    # ---- following -------------------------------------------------------------------
    def applied(
        self, start: list[dict[str, Any]], force: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """Leaf objects applied from `start` (GitOps objects); with `force`, every source of
        this repository resolves to that revision (the ideal).

        Followed once per run for the same start, revisions and repository slug: where the
        head and the forced revision are commit ids, they name the content every render
        reads (and `start` names every other revision), so any copy of a fixture fleet
        applies the same. Read the objects, never change them (the same ones are shared)."""
        if not _SHA.fullmatch(self.head) or (force is not None and not _SHA.fullmatch(force)):
            return self._applied(start, force)
        key = json.dumps([self.head, force, self.repo_slug, self.bootstrap, start], sort_keys=True)
        if key not in _APPLIED:
            _APPLIED[key] = self._applied(start, force)
        return dict(_APPLIED[key])

    def _applied(self, start: list[dict[str, Any]], force: str | None) -> dict[str, dict[str, Any]]:
        leaves: dict[str, dict[str, Any]] = {}
        gitrepos: dict[str, dict[str, Any]] = {}
        generators: list[dict[str, Any]] = []
        seen: set[str] = set()
        queue: list[tuple[dict[str, Any], tuple[str, ...]]] = [(d, ()) for d in start]
        rounds = 0
        while queue:
            rounds += 1
            if rounds > 5000:
                raise EmulationError("does not settle")
            for doc, _ in queue:
                self._learn(doc, gitrepos, generators)
            pending, queue = queue, []
            deferred = []
            for doc, chain in pending:
                found = self._follow(doc, gitrepos, generators, force)
                if found is None:
                    deferred.append((doc, chain))
                    continue
                for rev, raw, mode, patches in found:
                    path = _norm(raw)
                    key = json.dumps([rev, path, mode, patches], sort_keys=True)
                    applies = f"{rev}:{path}"
                    if key in seen or applies in chain:
                        continue
                    seen.add(key)
                    for child in self.render(rev, path, mode, patches):
                        self._learn(child, gitrepos, generators)
                        if (_group(child), child.get("kind")) in MACHINERY:
                            queue.append((child, (*chain, applies)))
                        else:
                            leaves[self._leaf_key(child)] = self._leaf(child, rev, force)
            if deferred and not queue:
                # ExternalArtifacts / sources declared nowhere: nothing more to learn
                for doc, _ in deferred:
                    meta = doc.get("metadata", {})
                    raise EmulationError(
                        f"cannot resolve the source of {doc.get('kind')} {meta.get('name')}"
                    )
            queue.extend(deferred)
        return leaves

    def _learn(self, doc: dict[str, Any], gitrepos: dict[str, Any], generators: list[Any]) -> None:
        kind, group = doc.get("kind"), _group(doc)
        meta = doc.get("metadata", {}) or {}
        if kind == "GitRepository" and group == "source.toolkit.fluxcd.io":
            gitrepos[f"{meta.get('namespace', '')}/{meta.get('name')}"] = doc
            gitrepos.setdefault(f"*/{meta.get('name')}", doc)
        elif kind == "ArtifactGenerator":
            generators.append(doc)

    def _git_revision(
        self, name: str, namespace: str, gitrepos: Mapping[str, Any], force: str | None
    ) -> str | bool | None:
        """The revision a GitRepository of this repository serves; False: not this repo;
        None: not known yet."""
        doc = gitrepos.get(f"{namespace}/{name}") or gitrepos.get(f"*/{name}")
        if doc is None:
            return force or self.head if name == self.bootstrap else None
        spec = doc.get("spec", {}) or {}
        if _slug(str(spec.get("url", ""))) != self.repo_slug:
            return False
        if force:
            return force
        ref = spec.get("ref", {}) or {}
        commit = str(ref.get("commit", "") or "")
        return commit if _SHA.fullmatch(commit) else self.head

    def _follow(
        self,
        doc: dict[str, Any],
        gitrepos: Mapping[str, Any],
        generators: list[Any],
        force: str | None,
    ) -> list[tuple[str, str, str, Any]] | None:
        kind, group = doc.get("kind"), _group(doc)
        spec = doc.get("spec", {}) or {}
        meta = doc.get("metadata", {}) or {}
        ns = str(meta.get("namespace", "") or "")
        if kind == "Kustomization" and group == "kustomize.toolkit.fluxcd.io":
            if spec.get("suspend") is True:
                return []
            ref = spec.get("sourceRef", {}) or {}
            patches = spec.get("patches") or None
            path = str(spec.get("path", "") or ".")
            if ref.get("kind") == "GitRepository":
                rev = self._git_revision(
                    str(ref.get("name")), str(ref.get("namespace", ns)), gitrepos, force
                )
                if rev is None:
                    return None
                return [] if rev is False else [(str(rev), path, "flux", patches)]
            if ref.get("kind") == "ExternalArtifact":
                return self._artifact(
                    str(ref.get("name")), path, patches, gitrepos, generators, force
                )
            return []
        if kind == "Application" and group == "argoproj.io":
            out = []
            sources = list(spec.get("sources") or [])
            if spec.get("source"):
                sources.append(spec["source"])
            for src in sources:
                if _slug(str(src.get("repoURL", ""))) != self.repo_slug or not src.get("path"):
                    continue
                text = str(src.get("targetRevision", "") or "")
                rev = force or (text if _SHA.fullmatch(text) else self.head)
                patches = (src.get("kustomize") or {}).get("patches") or None
                out.append((rev, str(src["path"]), "argo", patches))
            return out
        return []

    def _artifact(
        self,
        name: str,
        path: str,
        patches: Any,
        gitrepos: Mapping[str, Any],
        generators: list[Any],
        force: str | None,
    ) -> list[tuple[str, str, str, Any]] | None:
        """Map `path` inside ExternalArtifact `name` back through the copy rules (the rule
        with the longest destination containing it)."""
        want = _norm(path)
        best: tuple[int, str, str] | None = None
        for gen in generators:
            gspec = gen.get("spec", {}) or {}
            gns = str((gen.get("metadata", {}) or {}).get("namespace", "") or "")
            aliases = {s.get("alias"): s for s in gspec.get("sources", []) or []}
            for art in gspec.get("artifacts", []) or []:
                if art.get("name") != name:
                    continue
                for rule in art.get("copy", []) or []:
                    alias, _, src_path = str(rule.get("from", "")).lstrip("@").partition("/")
                    src = aliases.get(alias) or {}
                    if src.get("kind") != "GitRepository":
                        continue
                    rev = self._git_revision(
                        str(src.get("name")), str(src.get("namespace", gns)), gitrepos, force
                    )
                    if rev is None:
                        return None
                    if rev is False:
                        continue
                    src_dir = src_path.split("*", 1)[0].rstrip("/") or "."
                    dest = _norm(str(rule.get("to", "")).split("@artifact", 1)[-1])
                    if dest == ".":
                        mapped = _norm(f"{src_dir}/{want}")
                    elif want == dest or want.startswith(dest + "/"):
                        mapped = _norm(src_dir + want[len(dest) :])
                    else:
                        continue
                    if best is None or len(dest) > best[0]:
                        best = (len(dest), str(rev), mapped)
        if best is None:
            return None
        return [(best[1], best[2], "flux", patches)]

    @staticmethod
    def _leaf_key(doc: Mapping[str, Any]) -> str:
        meta = doc.get("metadata", {}) or {}
        return f"{doc.get('apiVersion')}/{doc.get('kind')}/{meta.get('namespace', '')}/{meta.get('name')}"

    def _leaf(self, doc: dict[str, Any], rev: str, force: str | None) -> dict[str, Any]:
        return doc


def digest(leaves: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(leaves, sort_keys=True).encode()).hexdigest()


_PARSED: dict[bytes, list[dict[str, Any]]] = {}


def _documents(data: bytes) -> list[dict[str, Any]]:
    """The mappings of an emitted file, parsed once per content in a run (read them, never
    change them: the same objects are shared)."""
    if data not in _PARSED:
        _PARSED[data] = [d for d in yaml.load_all(data, Loader=_LOADER) if isinstance(d, dict)]
    return _PARSED[data]


def flux_start(files: Mapping[str, bytes], cluster: str) -> list[dict[str, Any]]:
    """The objects emitted for one cluster's own Flux (`clusters/<cluster>/sync.yaml`)."""
    return list(_documents(files[f"clusters/{cluster}/sync.yaml"]))


def argocd_start(files: Mapping[str, bytes], cluster: str) -> list[dict[str, Any]]:
    """The Application an ApplicationSet's list generator makes for `cluster`."""
    for path, data in sorted(files.items()):
        if not path.endswith(".yaml"):
            continue
        for doc in _documents(data):
            if doc.get("kind") != "ApplicationSet":
                continue
            for generator in doc["spec"]["generators"]:
                for element in generator["list"]["elements"]:
                    if element["cluster"] == cluster:
                        app = _substitute(doc["spec"]["template"], element)
                        return [
                            {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", **app}
                        ]
    raise KeyError(cluster)


def _substitute(value: Any, params: Mapping[str, Any]) -> Any:
    if isinstance(value, str):

        def one(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in params:
                raise EmulationError(f"missing template key {key}")
            return str(params[key])

        return re.sub(r"\{\{\s*\.(\w+)\s*\}\}", one, value)
    if isinstance(value, Mapping):
        return {k: _substitute(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, params) for v in value]
    return value
