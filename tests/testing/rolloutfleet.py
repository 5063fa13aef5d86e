"""The rollout fleet: canary, staging and production clusters in three regions, as a real git
repository; the change edits the eu-west and us-east region layers (the ap-south clusters are
members of every wave but unaffected). The policy is the documented `rollout.yaml`."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.testing.fleetrepo import FleetRepo, build_fleet_repo, from_template
from tests.testing.policies import ISSUE_POLICY as _ISSUE_POLICY_TEXT

POLICY = _ISSUE_POLICY_TEXT
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


CLUSTERS = {
    "dev-eu-west-1": ("dev", "eu-west", True),
    "dev-us-east-1": ("dev", "us-east", True),
    "dev-ap-south-1": ("dev", "ap-south", True),
    "staging-eu-west-1": ("staging", "eu-west", False),
    "staging-us-east-1": ("staging", "us-east", False),
    "staging-ap-south-1": ("staging", "ap-south", False),
    "prod-eu-west-1": ("production", "eu-west", False),
    "prod-eu-west-2": ("production", "eu-west", False),
    "prod-us-east-1": ("production", "us-east", False),
    "prod-us-east-2": ("production", "us-east", False),
    "prod-us-east-3": ("production", "us-east", False),
    "prod-ap-south-1": ("production", "ap-south", False),
}


STEPS = {
    "canary": ["dev-eu-west-1", "dev-us-east-1"],
    "staging": ["staging-eu-west-1", "staging-us-east-1"],
    "production-1": ["prod-eu-west-1", "prod-eu-west-2"],
    "production-2": ["prod-us-east-1", "prod-us-east-2", "prod-us-east-3"],
}


UNAFFECTED = ["dev-ap-south-1", "prod-ap-south-1", "staging-ap-south-1"]


KUSTOMIZATION = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"


def _configmap(name: str, value: str) -> str:
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: kube-system\n"
        f"data:\n  setting: {value}\n"
    )


def write_fleet(src: Path) -> None:
    """A fixture fleet folder (base/, head/) in the layout tests/testing/fleetrepo.py builds."""
    files: dict[str, str] = {
        "rollout.yaml": POLICY,
        "base/kustomization.yaml": KUSTOMIZATION + "resources:\n  - namespace.yaml\n",
        "base/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n",
    }
    for env in ("dev", "staging", "production"):
        files[f"environments/{env}/kustomization.yaml"] = (
            KUSTOMIZATION + "resources:\n  - ../../base\n"
        )
    for region in ("eu-west", "us-east", "ap-south"):
        files[f"regions/{region}/kustomization.yaml"] = (
            KUSTOMIZATION + "resources:\n  - settings.yaml\n"
        )
        files[f"regions/{region}/settings.yaml"] = _configmap(f"region-{region}", "v1")
    inventory: list[dict[str, Any]] = []
    for name, (env, region, canary) in CLUSTERS.items():
        labels = {"environment": env, "region": region}
        if canary:
            labels["rollout.wave"] = "canary"
        inventory.append(
            {"name": name, "labels": labels, "server": f"https://{name}.k8s.example.com"}
        )
        files[f"clusters/{name}/kustomization.yaml"] = (
            KUSTOMIZATION
            + f"resources:\n  - ../../environments/{env}\n  - ../../regions/{region}\n"
        )
    files["clusters.yaml"] = yaml.safe_dump({"clusters": inventory}, sort_keys=False)
    for rel, text in files.items():
        (src / "base" / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / "base" / rel).write_text(text)
    for region in ("eu-west", "us-east"):
        path = src / "head" / "regions" / region / "settings.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_configmap(f"region-{region}", "v2"))


def git(repo: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_DATE="2024-01-02T12:00:00+00:00",
        GIT_COMMITTER_DATE="2024-01-02T12:00:00+00:00",
    )
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True
    )
    return proc.stdout


Run = Callable[..., Any]


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file of the work tree (a link by what it points to) but under `.git`, by path."""
    out: dict[str, bytes] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [name for name in dirs if name != ".git"]  # not read, not walked
        for name in files:
            path = os.path.join(folder, name)
            if name != ".git" and os.path.isfile(path):
                with open(path, "rb") as data:
                    out[Path(os.path.relpath(path, root)).as_posix()] = data.read()
    return dict(sorted(out.items()))


def documents(folder: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Kubernetes object (and kustomization.yaml) under a folder, with its file name."""
    for path in sorted(folder.rglob("*.yaml")):
        for doc in yaml.load_all(path.read_bytes(), Loader=_LOADER):
            if isinstance(doc, dict) and "apiVersion" in doc and "kind" in doc:
                yield path.name, doc


def pinned(folder: Path, target: str) -> dict[str, str]:
    """The revision each cluster runs, read back from the manifests."""
    out: dict[str, str] = {}
    docs = [doc for _, doc in documents(folder) if "kustomize.config" not in doc["apiVersion"]]
    if target == "argocd":
        for doc in docs:
            assert doc["kind"] == "ApplicationSet"
            for generator in doc["spec"]["generators"]:
                for element in generator["list"]["elements"]:
                    assert element["cluster"] not in out, "a cluster listed twice"
                    out[element["cluster"]] = element["revision"]
        return out
    commits = {
        d["metadata"]["name"]: d["spec"]["ref"]["commit"]
        for d in docs
        if d["kind"] == "GitRepository"
    }
    for doc in docs:
        if doc["kind"] == "Kustomization":
            cluster = doc["spec"]["path"].removeprefix("./").removeprefix("clusters/")
            assert cluster not in out, "a cluster listed twice"
            out[cluster] = commits[doc["spec"]["sourceRef"]["name"]]
    return out


def start_args(repo: FleetRepo, name: str, base: str, head: str, target: str) -> list[str]:
    return [
        "start", "--base", base, "--head", head, "--name", name, "--target", target,
        "--inventory", str(repo.path / "clusters.yaml"),
        "--policy", str(repo.path / "rollout.yaml"),
    ]  # fmt: skip


NAME = "region-settings"


def build_rollout_fleet(work: Path, dest: Path) -> FleetRepo:
    """The fleet as a git repository at dest (its fixture folder written under work), with
    the release manager's identity and an origin."""
    write_fleet(work)
    built = build_fleet_repo(work, dest)
    git(built.path, "config", "user.name", "Release Manager")
    git(built.path, "config", "user.email", "rm@example.com")
    git(built.path, "remote", "add", "origin", "https://git.example.com/platform/fleet.git")
    return built


def invoke(repo: Path, *args: str, minute: int = 0, code: int = 0) -> Any:
    """`wave-planner rollout ... --repo repo` at a time (minutes after 2024-01-03T09:00:00Z)."""
    from typer.testing import CliRunner

    from planner.cli import app

    now = f"2024-01-03T{9 + minute // 60:02d}:{minute % 60:02d}:00Z"
    result = CliRunner().invoke(
        app, ["rollout", *args, "--repo", str(repo)], env={"WAVE_PLANNER_NOW": now}
    )
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def started_fleet(work: Path, dest: Path, target: str) -> FleetRepo:
    """The fleet with rollout NAME started (`--commit`) and its first step released at minute
    5 (`--commit`): run once per test run, then copied (the same bytes and commits)."""

    def build(path: Path) -> FleetRepo:
        built = build_rollout_fleet(work, path)
        invoke(path, *start_args(built, NAME, built.base, built.head, target), "--commit")
        invoke(path, "advance", NAME, "--commit", minute=5)
        return built

    return from_template(("rollout-started", NAME, target), dest, build)


@pytest.fixture
def fleet_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FleetRepo:
    """The fleet of tests/cli/test_rollout.py (canary 1h, staging 1h, production approval)."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return build_rollout_fleet(tmp_path / "src", tmp_path / "fleet")


@pytest.fixture
def run(fleet_repo: FleetRepo) -> Run:
    """`wave-planner rollout ...` at a time (minutes after 2024-01-03T09:00:00Z)."""

    def run_at(*args: str, minute: int = 0, code: int = 0) -> Any:
        return invoke(fleet_repo.path, *args, minute=minute, code=code)

    return run_at
