"""The renderer: runs kustomize for precise mode, isolated, in parallel, and cached.

`kubectl kustomize` (or a `kustomize` binary, or the policy's `render.command`) renders one
unit at a time in a temporary folder holding only the files that unit reads (written from
git objects, never from a checkout), with `--load-restrictor` from the policy. It never
runs exec plugins or Helm (no `--enable-alpha-plugins`, `--enable-exec`, `--enable-helm`;
a configured command that asks for them is refused, however the flag is spelt: flags are
normalised first, `--enable_helm` and `-enable-helm` being `--enable-helm`; no policy option
widens this) and never reaches the network: remote
references are refused before rendering, and the process runs with an unreachable proxy,
git limited to local files and an empty home, so anything that slips through fails fast.

Renders are content-addressed: the key is the unit's key (the git blob ids of every file it
reads) plus the renderer's identity, so a layer shared by many clusters renders once and a
re-run reads the cache instead of starting kustomize. The cache lives in `$WAVE_PLANNER_CACHE`
(`off` disables it), else the user cache folder (`~/.cache/wave-planner/renders`), else
`.wave-planner-cache` in the current folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from planner.adapters.progress import Progress
from planner.errors import UserError
from planner.policy import RenderSettings
from planner.precise import RenderJob, RenderOutput

ENV_CACHE = "WAVE_PLANNER_CACHE"
FORBIDDEN_FLAGS = (
    "--enable-alpha-plugins",
    "--enable-exec",
    "--enable-helm",
    "--helm-command",
    "--helm-api-versions",
    "--helm-kube-version",
    "--helm-debug",
    "--enable-star",
    "--network",
    "--network-name",
    "--mount",
    "--env",
    "--as-current-user",
)


def normalise_flag(arg: str) -> str:
    """A flag as kustomize's flag parser reads it: `--Enable_Helm=true`, `-enable-helm` and
    `--enable-helm` are all `--enable-helm`."""
    name = arg.split("=", 1)[0].strip().lower().replace("_", "-")
    return "--" + name.lstrip("-") if name.startswith("-") else name


def forbidden_flags(argv: Sequence[str]) -> list[str]:
    """The arguments (or words inside an argument, e.g. of `sh -c "..."`) that would let
    the renderer run plugins, Helm, containers or reach the network."""
    bad = []
    for arg in argv:
        for word in arg.split():
            if normalise_flag(word) in FORBIDDEN_FLAGS:
                bad.append(arg)
                break
    return bad


INSTALL_FIX = (
    "install kubectl (it includes kustomize: https://kubernetes.io/docs/tasks/tools/) or "
    "kustomize (https://kubectl.docs.kubernetes.io/installation/kustomize/) on PATH, or set "
    "`render.command` in the policy; or plan without --precise"
)
_KLOG = re.compile(r"(?m)^[EWI]\d{4} [\d:.]+\s+\d+ [\w.:]+\] ")
_NOWHERE = "http://127.0.0.1:9"


@dataclass(frozen=True)
class Command:
    """The renderer's argv prefix and an identity that changes when the binary does."""

    argv: tuple[str, ...]
    identity: str


def find_command(
    settings: RenderSettings, which: Callable[[str], str | None] = shutil.which
) -> Command:
    """The configured renderer, else `kubectl kustomize`, else `kustomize build`."""
    if settings.command:
        argv = tuple(settings.command)
        bad = forbidden_flags(argv)
        if bad:
            raise UserError.single(
                f"render.command asks for {', '.join(bad)}: precise mode never runs plugins "
                "or Helm",
                key="render.command",
                fix="remove the flag (charts are compared by their files instead)",
            )
        binary = which(argv[0])
        if binary is None:
            raise UserError.single(
                f"the renderer {argv[0]!r} (render.command) is not on PATH",
                key="--precise",
                fix=INSTALL_FIX,
            )
        return Command(argv, _identity(binary, argv))
    for argv in (("kubectl", "kustomize"), ("kustomize", "build")):
        binary = which(argv[0])
        if binary is not None:
            return Command(argv, _identity(binary, argv))
    raise UserError.single(
        "no renderer: neither kubectl nor kustomize is on PATH",
        key="--precise",
        fix=INSTALL_FIX,
    )


def _identity(binary: str, argv: tuple[str, ...]) -> str:
    try:
        info = os.stat(binary)
        stamp = f"{info.st_size}:{info.st_mtime_ns}"
    except OSError:
        stamp = "?"
    return json.dumps([os.path.realpath(binary), stamp, argv])


class RenderCache:
    """Render outputs on disk, one JSON file per key (None: no cache)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def _path(self, key: str) -> Path | None:
        return self.folder / key[:2] / f"{key}.json" if self.folder is not None else None

    def get(self, key: str) -> RenderOutput | None:
        path = self._path(key)
        if path is None:
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        text, error = data.get("text"), data.get("error")
        if not (isinstance(text, str) or isinstance(error, str)):
            return None
        return RenderOutput(
            text=text if isinstance(text, str) else None,
            error=error if isinstance(error, str) else None,
        )

    def put(self, key: str, output: RenderOutput) -> None:
        path = self._path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"text": output.text, "error": output.error}, handle)
            os.replace(tmp, path)
        except OSError:
            return  # a cache that cannot be written only costs time


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if environ is None else environ
    configured = env.get(ENV_CACHE)
    if configured is not None:
        if configured.strip().lower() in ("", "off", "0", "false", "no"):
            return None
        return Path(configured).expanduser()
    base = env.get("XDG_CACHE_HOME") or (
        str(Path(env["HOME"]) / ".cache") if env.get("HOME") else None
    )
    if base:
        return Path(base) / "wave-planner" / "renders"
    return Path(".wave-planner-cache")


def _scratch_parent() -> str | None:
    """Memory-backed temporary space when the system has it (many small files)."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


class KustomizeRenderer:
    """Implements `planner.precise.Renderer` with a kustomize subprocess per unit."""

    def __init__(
        self,
        settings: RenderSettings,
        command: Command | None = None,
        cache: RenderCache | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.settings = settings
        self.command = command or find_command(settings)
        self.cache = cache if cache is not None else RenderCache(default_cache_dir())
        self.progress = progress
        self.invocations = 0  # renderer processes started (a warm run starts none)
        self.total = 0  # units asked for, over every call
        self.done = 0
        self.hits = 0  # answered from the cache

    def _advance(self, hit: bool) -> None:
        self.done += 1
        self.hits += hit
        if self.progress is not None:
            self.progress.update(self.done, self.total, self.hits)

    def key(self, unit_key: str) -> str:
        text = f"{self.command.identity}\n{self.settings.load_restrictor}\n{unit_key}"
        return hashlib.sha256(text.encode()).hexdigest()

    def render(self, jobs: Sequence[RenderJob]) -> dict[str, RenderOutput]:
        outputs: dict[str, RenderOutput] = {}
        misses: list[RenderJob] = []
        self.total += len(jobs)
        for job in jobs:
            cached = self.cache.get(self.key(job.unit.key))
            if cached is not None:
                outputs[job.unit.key] = cached
                self._advance(True)
            else:
                misses.append(job)
        if not misses:
            return outputs
        contents = _read_all(misses)
        scratch = tempfile.mkdtemp(prefix="wave-planner-render-", dir=_scratch_parent())
        try:
            with ThreadPoolExecutor(max_workers=self.settings.parallel) as pool:
                done = pool.map(
                    lambda job: self._render_one(job, Path(scratch), contents[id(job.snapshot)]),
                    misses,
                )
                for job, (output, cacheable) in zip(misses, done, strict=True):
                    outputs[job.unit.key] = output
                    self._advance(False)
                    if cacheable:
                        self.cache.put(self.key(job.unit.key), output)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return outputs

    def _render_one(
        self, job: RenderJob, scratch: Path, data: Mapping[str, bytes]
    ) -> tuple[RenderOutput, bool]:
        unit = job.unit
        root = scratch / unit.key[:32]
        try:
            _materialize(root, unit.files, unit.links, data)
            target = root if unit.path == "." else root / unit.path
            if unit.generated is not None:
                target.mkdir(parents=True, exist_ok=True)
                (target / "kustomization.yaml").write_text(unit.generated, encoding="utf-8")
            return self._run(target, root)
        except OSError as exc:
            return RenderOutput(error=f"cannot prepare the render: {exc.strerror}"), False
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def _run(self, target: Path, root: Path) -> tuple[RenderOutput, bool]:
        argv = [
            *self.command.argv,
            str(target),
            f"--load-restrictor={self.settings.load_restrictor}",
        ]
        self.invocations += 1
        try:
            proc = subprocess.run(
                argv,
                capture_output=True,
                cwd=root,
                env=_sandbox_env(root),
                timeout=self.settings.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return RenderOutput(error=f"timed out after {self.settings.timeout}s"), False
        except OSError as exc:
            return RenderOutput(error=f"cannot start {argv[0]}: {exc.strerror}"), False
        if proc.returncode != 0:
            return RenderOutput(error=_clean(proc.stderr, root) or f"exit {proc.returncode}"), True
        return RenderOutput(text=proc.stdout.decode("utf-8", errors="replace")), True


def _read_all(jobs: Sequence[RenderJob]) -> dict[int, dict[str, bytes]]:
    """Every file the jobs need, one bulk read per revision."""
    wanted: dict[int, tuple[RenderJob, set[str]]] = {}
    for job in jobs:
        entry = wanted.setdefault(id(job.snapshot), (job, set()))
        entry[1].update(p for p, _ in job.unit.files)
    return {key: job.snapshot.read_many(sorted(paths)) for key, (job, paths) in wanted.items()}


def _materialize(
    root: Path,
    files: Sequence[tuple[str, str]],
    links: Sequence[tuple[str, str]],
    data: Mapping[str, bytes],
) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for path, _ in files:
        dest = _inside(root, path)
        content = data.get(path)
        if dest is None or content is None:
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(content)
    for link, target in links:
        dest = _inside(root, link)
        if dest is None or dest.exists() or dest.is_symlink() or target.startswith("/"):
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, dest)


def _inside(root: Path, path: str) -> Path | None:
    parts = path.split("/")
    if not path or path.startswith("/") or ".." in parts:
        return None
    return root.joinpath(*parts)


def _sandbox_env(home: Path) -> dict[str, str]:
    """No network, no user configuration, no credentials."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "TMPDIR": str(home),
        "XDG_CONFIG_HOME": str(home),
        "XDG_CACHE_HOME": str(home),
        "KUBECONFIG": os.devnull,
        "LC_ALL": "C",
        "GIT_ALLOW_PROTOCOL": "file",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_SSH_COMMAND": "false",
        "NO_PROXY": "",
        "no_proxy": "",
    }
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env[name] = env[name.lower()] = _NOWHERE
    return env


def _clean(stderr: bytes, root: Path) -> str:
    text = stderr.decode("utf-8", errors="replace").replace(str(root), "<repo>")
    text = _KLOG.sub("", text)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith("# Warning")]
    message = "; ".join(lines)
    return message if len(message) <= 600 else message[:597] + "..."
