"""The renderer adapter: finding a renderer, the cache, the sandbox, materializing units."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from planner.adapters import renderer
from planner.adapters.renderer import Command, KustomizeRenderer, RenderCache
from planner.errors import UserError
from planner.policy import RenderSettings
from planner.precise import RenderJob, RenderOutput, Unit, unit_key
from planner.snapshot import MemorySnapshot
from tests.testing.marks import requires_kubectl


def _which(*present: str) -> Callable[[str], str | None]:
    return lambda name: f"/usr/bin/{name}" if name in present else None


@pytest.mark.parametrize(
    ("present", "argv"),
    [
        (("kubectl", "kustomize"), ("kubectl", "kustomize")),
        (("kustomize",), ("kustomize", "build")),
    ],
)
def test_default_renderer(present: tuple[str, ...], argv: tuple[str, ...]) -> None:
    assert renderer.find_command(RenderSettings(), which=_which(*present)).argv == argv


def test_no_renderer_says_how_to_install() -> None:
    with pytest.raises(UserError) as caught:
        renderer.find_command(RenderSettings(), which=_which())
    problem = caught.value.problems[0]
    assert problem.key == "--precise"
    assert problem.fix is not None
    assert "install kubectl" in problem.fix


@pytest.mark.parametrize(
    "flag", ["--enable-alpha-plugins", "--enable-exec", "--enable-helm", "--helm-command=helm"]
)
def test_configured_command_never_enables_plugins(flag: str) -> None:
    settings = RenderSettings(command=("kustomize", "build", flag))
    with pytest.raises(UserError, match="never runs plugins"):
        renderer.find_command(settings, which=_which("kustomize"))


def test_configured_command_must_exist() -> None:
    settings = RenderSettings(command=("my-kustomize",))
    with pytest.raises(UserError, match="not on PATH"):
        renderer.find_command(settings, which=_which())


def test_cache_round_trip(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path)
    assert cache.get("ab" * 32) is None
    cache.put("ab" * 32, RenderOutput(text="kind: A\n"))
    cache.put("cd" * 32, RenderOutput(error="boom"))
    assert cache.get("ab" * 32) == RenderOutput(text="kind: A\n")
    assert cache.get("cd" * 32) == RenderOutput(error="boom")
    (tmp_path / "ef").mkdir()
    (tmp_path / "ef" / f"{'ef' * 32}.json").write_text("not json")
    assert cache.get("ef" * 32) is None


def test_disabled_cache_stores_nothing(tmp_path: Path) -> None:
    cache = RenderCache(None)
    cache.put("ab" * 32, RenderOutput(text="x"))
    assert cache.get("ab" * 32) is None


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WAVE_PLANNER_CACHE": "/c"}, Path("/c")),
        ({"WAVE_PLANNER_CACHE": "off"}, None),
        ({"XDG_CACHE_HOME": "/x", "HOME": "/h"}, Path("/x/wave-planner/renders")),
        ({"HOME": "/h"}, Path("/h/.cache/wave-planner/renders")),
        ({}, Path(".wave-planner-cache")),
    ],
)
def test_cache_location(env: dict[str, str], expected: Path | None) -> None:
    assert renderer.default_cache_dir(env) == expected


def test_sandbox_has_no_network_and_no_user_config(tmp_path: Path) -> None:
    env = renderer._sandbox_env(tmp_path)
    assert env["HOME"] == str(tmp_path)
    assert env["HTTPS_PROXY"] == env["https_proxy"] == "http://127.0.0.1:9"
    assert env["GIT_ALLOW_PROTOCOL"] == "file"
    assert "KUBECONFIG" in env
    assert not {k for k in env if "TOKEN" in k or "AWS" in k}


def test_materialize_stays_inside(tmp_path: Path) -> None:
    renderer._materialize(
        tmp_path / "u",
        [("a/b.yaml", "1"), ("../escape.yaml", "2")],
        [("a/link", "b.yaml"), ("a/abs", "/etc/passwd")],
        {"a/b.yaml": b"x", "../escape.yaml": b"y"},
    )
    assert (tmp_path / "u" / "a" / "b.yaml").read_bytes() == b"x"
    assert (tmp_path / "u" / "a" / "link").read_bytes() == b"x"
    assert not (tmp_path / "escape.yaml").exists()
    assert not (tmp_path / "u" / "a" / "abs").exists()


class _Counting(KustomizeRenderer):
    def _run(self, target: Path, root: Path) -> tuple[RenderOutput, bool]:
        self.invocations += 1
        text = (target / "kustomization.yaml").read_text()
        return RenderOutput(text=text), True


def _job(files: dict[str, bytes], folder: str = "app") -> RenderJob:
    snap = MemorySnapshot(files)
    unit = Unit(kind="kustomize", path=folder, files=tuple((p, "id-" + p) for p in sorted(files)))
    return RenderJob(replace(unit, key=unit_key(unit)), snap)


def test_render_materializes_caches_and_reuses(tmp_path: Path) -> None:
    job = _job({"app/kustomization.yaml": b"resources: []\n"})
    command = Command(("kustomize", "build"), "test")
    first = _Counting(RenderSettings(), command, RenderCache(tmp_path))
    assert first.render([job]) == {job.unit.key: RenderOutput(text="resources: []\n")}
    assert first.invocations == 1
    second = _Counting(RenderSettings(), command, RenderCache(tmp_path))
    assert second.render([job]) == first.render([job])
    assert second.invocations == 0


def test_the_renderer_identity_is_part_of_the_key(tmp_path: Path) -> None:
    job = _job({"app/kustomization.yaml": b"resources: []\n"})
    one = _Counting(RenderSettings(), Command(("kustomize", "build"), "v1"), RenderCache(tmp_path))
    two = _Counting(RenderSettings(), Command(("kustomize", "build"), "v2"), RenderCache(tmp_path))
    one.render([job])
    two.render([job])
    assert two.invocations == 1


@requires_kubectl
def test_kubectl_renders_a_unit_and_reports_errors(tmp_path: Path) -> None:
    good = _job(
        {
            "app/kustomization.yaml": b"resources: [cm.yaml]\n",
            "app/cm.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
        }
    )
    bad = _job({"bad/kustomization.yaml": b"resources: [nope.yaml]\n"}, folder="bad")
    real = KustomizeRenderer(RenderSettings(), cache=RenderCache(None))
    out = real.render([good, bad])
    text = out[good.unit.key].text
    assert text is not None
    assert "name: a" in text
    error = out[bad.unit.key].error
    assert error is not None
    assert "nope.yaml" in error
    assert str(tmp_path) not in error
