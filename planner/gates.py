"""Gates: the evidence a released step must show before the next step is released.

A wave's `gates:` (policy) are checked after its step's bake, before the next step goes out:
a Prometheus query against a threshold (`max:` / `min:`, optionally holding `for:` a window)
or a command (argv, never a shell) that must exit 0, run once per step or once per cluster.
This module owns the gate models, the placeholders (`{{cluster}}`, `{{clusters}}`,
`{{clusters_regex}}`, `{{step}}`, `{{wave}}`, `{{labels.KEY}}`) and their safe substitution,
the checks a probe's answer is held to, and the verdict. Running a query or a command is an
adapter's job (`planner.adapters.probes`); everything here is pure.

Gates are evidence, so they are never skipped: a gate that cannot be evaluated (server down,
timeout, no data, a placeholder with no value) fails, with that reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from planner.durations import Duration, duration_seconds
from planner.inventory import check_name

_STRICT = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=True)
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.\-/]+)\s*\}\}")
_STEP_NAMES = ("clusters", "clusters_regex", "step", "wave")
OUTPUT_TAIL = 2000
FAILING = "failing"


def seconds(text: str) -> int:
    """A duration (`planner.durations`) in seconds."""
    return duration_seconds(text)


def _check_positive(text: str) -> str:
    if seconds(text) <= 0:
        raise ValueError(f"{text!r} must be longer than 0s")
    return text


def _check_url(text: str) -> str:
    if not re.match(r"^https?://[^\s/]+", text):
        raise ValueError(f"{text!r} is not an http(s) URL like http://prometheus.monitoring:9090")
    return text


PositiveDuration = Annotated[Duration, AfterValidator(_check_positive)]
URL = Annotated[str, AfterValidator(_check_url)]
GateName = Annotated[str, AfterValidator(check_name)]


class PrometheusCheck(BaseModel):
    """An instant query (or, with `for:`, the same query over a window) held to a threshold.

    Every series the query returns must satisfy `max:` (value <= max) and/or `min:`
    (value >= min); with `for:` every sample over that window must, and the samples must
    cover it. No data fails the gate.
    """

    model_config = _STRICT

    url: URL = Field(description="Prometheus base URL, e.g. http://prometheus.monitoring:9090.")
    query: str = Field(min_length=1, description="PromQL; placeholders are substituted safely.")
    max: float | None = Field(default=None, description="Pass when every value is <= max.")
    min: float | None = Field(default=None, description="Pass when every value is >= min.")
    for_: PositiveDuration | None = Field(
        default=None, alias="for", description="The condition must hold over this window."
    )

    @model_validator(mode="after")
    def _check(self) -> PrometheusCheck:
        if self.max is None and self.min is None:
            raise ValueError("a prometheus gate needs `max:` or `min:`")
        return self

    @property
    def window_seconds(self) -> int:
        return seconds(self.for_) if self.for_ else 0


class GateSpec(BaseModel):
    """One gate of a wave: a Prometheus check or a command, named in every verdict."""

    model_config = _STRICT

    name: GateName
    prometheus: PrometheusCheck | None = None
    command: tuple[str, ...] | None = Field(
        default=None, description="argv run without a shell; exit 0 passes. Output is kept."
    )
    per: Literal["step", "cluster"] = Field(
        default="step", description="`cluster`: evaluated once per cluster of the step."
    )
    timeout: PositiveDuration = Field(default="60s", description="Longer than this fails the gate.")

    @model_validator(mode="after")
    def _check(self) -> GateSpec:
        if (self.prometheus is None) == (self.command is None):
            raise ValueError(f"gate {self.name!r} needs exactly one of `prometheus:`, `command:`")
        if self.command is not None and not self.command:
            raise ValueError(f"gate {self.name!r}: `command:` is an empty argv")
        for name in self.placeholders():
            if name == "cluster" and self.per != "cluster":
                raise ValueError(
                    f"gate {self.name!r} uses {{{{cluster}}}}: add `per: cluster` "
                    "(or use {{clusters}} / {{clusters_regex}})"
                )
            if name not in (*_STEP_NAMES, "cluster") and not name.startswith("labels."):
                raise ValueError(
                    f"gate {self.name!r}: unknown placeholder {{{{{name}}}}} (known: cluster, "
                    "clusters, clusters_regex, step, wave, labels.KEY)"
                )
        return self

    def placeholders(self) -> list[str]:
        texts = [self.prometheus.query] if self.prometheus else list(self.command or ())
        return [m.group(1) for text in texts for m in _PLACEHOLDER.finditer(text)]

    @property
    def timeout_seconds(self) -> int:
        return seconds(self.timeout)

    def describe(self) -> str:
        if self.prometheus is not None:
            limits = []
            if self.prometheus.max is not None:
                limits.append(f"<= {self.prometheus.max:g}")
            if self.prometheus.min is not None:
                limits.append(f">= {self.prometheus.min:g}")
            held = f" for {self.prometheus.for_}" if self.prometheus.for_ else ""
            return f"prometheus {' and '.join(limits)}{held}"
        return f"command per {self.per}"


# ------------------------------------------------------------------------- placeholders


class PlaceholderError(ValueError):
    """A placeholder with no value for this step or cluster."""


@dataclass(frozen=True)
class GateSubject:
    """What one evaluation of a gate is about: a step, or one cluster of it."""

    step: str
    wave: str
    clusters: tuple[str, ...]
    labels: Mapping[str, Mapping[str, str]]  # cluster -> labels
    cluster: str | None = None

    def value(self, name: str, *, regex: bool) -> str:
        """A placeholder's text (regex-escaped when it lands in a regular expression)."""
        if name == "clusters_regex":
            return "|".join(regex_escape(c) for c in self.clusters)
        if name == "cluster":
            text = self.cluster or ""
        elif name == "clusters":
            text = ",".join(self.clusters)
        elif name == "step":
            text = self.step
        elif name == "wave":
            text = self.wave
        elif name.startswith("labels."):
            text = self._label(name.removeprefix("labels."))
        else:
            raise PlaceholderError(f"unknown placeholder {{{{{name}}}}}")
        return regex_escape(text) if regex else text

    def _label(self, key: str) -> str:
        names = (self.cluster,) if self.cluster else self.clusters
        values = {self.labels.get(n, {}).get(key) for n in names}
        if None in values:
            missing = [n for n in names if key not in self.labels.get(n, {})]
            raise PlaceholderError(f"{{{{labels.{key}}}}}: cluster(s) {', '.join(missing)} "
                                   f"have no label {key!r}")  # fmt: skip
        if len(values) > 1:
            raise PlaceholderError(
                f"{{{{labels.{key}}}}}: the step's clusters differ ({', '.join(sorted(map(str, values)))}); "  # noqa: E501
                "use `per: cluster`"
            )
        return str(values.pop())


def regex_escape(text: str) -> str:
    """Escape every regular-expression metacharacter (RE2 and Python agree on these)."""
    return re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", text)


def _promql_string(text: str, quote: str) -> str:
    if quote == "`":
        if "`" in text:
            raise PlaceholderError(f"{text!r} cannot go inside a `raw` PromQL string")
        return text
    return text.replace("\\", "\\\\").replace(quote, "\\" + quote).replace("\n", "\\n")


def render_query(template: str, target: GateSubject) -> str:
    """Substitute placeholders in PromQL: escaped for the string literal they sit in, and
    regex-escaped inside a regular expression (`=~"..."`, `!~"..."`)."""
    out: list[str] = []
    i = 0
    quote: str | None = None
    regex = False
    while i < len(template):
        match = _PLACEHOLDER.match(template, i)
        if match:
            name = match.group(1)
            value = target.value(name, regex=regex)
            if quote is None:
                if name not in ("cluster", "step", "wave") and not name.startswith("labels."):
                    raise PlaceholderError(
                        f"{{{{{name}}}}} must sit inside a quoted PromQL string"
                    )  # fmt: skip
                if not re.fullmatch(r"[A-Za-z0-9_.:\-]*", value):
                    raise PlaceholderError(f"{value!r} is not safe outside a PromQL string")
                out.append(value)
            elif name == "clusters_regex" and quote != "`":
                value = value.replace("\\", "\\\\")
                out.append(value)
            else:
                out.append(_promql_string(value, quote))
            i = match.end()
            continue
        char = template[i]
        if quote is None and char in "\"'`":
            quote = char
            regex = template[:i].rstrip().endswith(("=~", "!~"))
        elif quote is not None and char == "\\" and quote != "`":
            out.append(template[i : i + 2])
            i += 2
            continue
        elif quote is not None and char == quote:
            quote = None
            regex = False
        out.append(char)
        i += 1
    return "".join(out)


def render_argv(argv: Sequence[str], target: GateSubject) -> list[str]:
    """Substitute placeholders in a command's argv: plain text, never through a shell."""
    return [_PLACEHOLDER.sub(lambda m: target.value(m.group(1), regex=False), arg) for arg in argv]


def targets(gate: GateSpec, step: GateSubject) -> list[GateSubject]:
    """One evaluation per step, or one per cluster (`per: cluster`)."""
    if gate.per == "step":
        return [step]
    return [
        GateSubject(step.step, step.wave, step.clusters, step.labels, cluster=c)
        for c in step.clusters
    ]


# ----------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Sample:
    """One series of a Prometheus answer: its labels and its values over time."""

    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]  # (unix time, value)


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of one gate on a step (or one of its clusters)."""

    gate: str
    passed: bool
    evidence: str
    cluster: str | None = None


def judge_samples(
    check: PrometheusCheck, samples: Sequence[Sample], *, start: float, end: float, step: float
) -> tuple[bool, str]:
    """Whether a Prometheus answer passes, and the evidence (the worst value, its series)."""
    if not samples or not any(s.points for s in samples):
        return False, "the query returned no data"
    worst: tuple[float, Sample] | None = None
    failed: tuple[float, float, Sample] | None = None
    for sample in samples:
        for at, value in sample.points:
            bad = (
                math.isnan(value)
                or (check.max is not None and value > check.max)
                or (check.min is not None and value < check.min)
            )
            if bad and failed is None:
                failed = (at, value, sample)
            score = value if check.max is not None else -value
            if worst is None or score > worst[0]:
                worst = (score, sample)
    limit = (f"max {check.max:g}" if check.max is not None else "") + (
        f"{' and ' if check.max is not None and check.min is not None else ''}min {check.min:g}"
        if check.min is not None
        else ""
    )
    if failed is not None:
        _, value, sample = failed
        return False, f"value {value:g}{_series(sample)} breaks {limit}"
    if check.window_seconds:
        earliest = min(s.points[0][0] for s in samples if s.points)
        if earliest > start + step:
            held = max(0, int(end - earliest))
            return False, f"held for only {held}s of the {check.for_} window ({limit})"
    assert worst is not None
    value = (
        max(v for _, v in worst[1].points)
        if check.max is not None
        else min(v for _, v in worst[1].points)
    )
    window = f" over {check.for_}" if check.for_ else ""
    return True, f"value {value:g}{_series(worst[1])} within {limit}{window}"


def _series(sample: Sample) -> str:
    labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()) if k != "__name__")
    return f" ({labels})" if labels else ""


def tail(text: str, limit: int = OUTPUT_TAIL) -> str:
    """The end of a command's output, as kept in the history."""
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


@dataclass(frozen=True)
class Verdict:
    """Every gate of a step, evaluated: passed, or the failures with their evidence."""

    step: str
    evaluations: tuple[Evaluation, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return all(e.passed for e in self.evaluations)

    def failures(self) -> list[Evaluation]:
        return [e for e in self.evaluations if not e.passed]

    def failing_gates(self) -> list[str]:
        return list(dict.fromkeys(e.gate for e in self.failures()))

    def failing_clusters(self) -> list[str]:
        return sorted({e.cluster for e in self.failures() if e.cluster})

    def summary(self) -> str:
        """One line per gate: pass, or FAIL with the clusters and the evidence."""
        parts: list[str] = []
        by_gate: dict[str, list[Evaluation]] = {}
        for evaluation in self.evaluations:
            by_gate.setdefault(evaluation.gate, []).append(evaluation)
        for gate, evaluations in by_gate.items():
            bad = [e for e in evaluations if not e.passed]
            if not bad:
                where = f" on {len(evaluations)} cluster(s)" if evaluations[0].cluster else ""
                parts.append(f"gate {gate} passed{where}: {evaluations[0].evidence}")
                continue
            for e in bad:
                where = f" on cluster {e.cluster}" if e.cluster else ""
                parts.append(f"gate {gate} failed{where}: {e.evidence}")
        return "; ".join(parts)

    def refusal(self) -> str:
        gates = ", ".join(self.failing_gates())
        clusters = self.failing_clusters()
        on = f" on {', '.join(clusters)}" if clusters else ""
        return f"gate(s) {gates} of step {self.step} failed{on}: {self.summary()}"
