"""The rollout policy (`rollout.yaml`): waves, gates, guardrail rules and emitter settings.

Owns the policy models (strict, unknown keys rejected with their location), durations
(`30m`, `2h`, `1d`), the built-in default policy (canary, staging, production one region per
step) and loading a policy file. Sections other than `waves` are optional; each has a
docstring that ends up in the published JSON Schema (`wave-planner schema policy`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from planner import saferegex, yamlsafe
from planner.approvals import ApprovalSpec
from planner.durations import Duration, duration_seconds
from planner.errors import Problem, UserError, validate_model
from planner.gates import GateSpec
from planner.hierarchy.scopes import HierarchyConfig, ScopeRule
from planner.impactconfig import ImpactConfig, UnownedRule
from planner.inventory import Inventory, LabelRoles, check_name
from planner.notify import Webhook
from planner.selector import LabelSelector, Requirement
from planner.wiring.repourl import check_policy_url

WaveName = Annotated[str, AfterValidator(check_name)]
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_PERCENT = re.compile(r"^(100|[1-9]?[0-9])%$|^[0-9]+$")


def _check_object_name(value: str) -> str:
    if not _SUBDOMAIN.fullmatch(value):
        raise ValueError(f"{value!r} is not a DNS-1123 name (lowercase letters, digits, '-', '.')")
    return value


def _no_template_syntax(value: Any, where: str) -> None:
    """Values copied into an Argo CD template must not carry template syntax of their own."""
    if isinstance(value, str) and ("{{" in value or "}}" in value):
        raise ValueError(f"{where}: {value!r} contains template syntax ({{{{ or }}}})")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _no_template_syntax(str(key), where)
            _no_template_syntax(item, f"{where}.{key}")
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _no_template_syntax(item, f"{where}[{index}]")


DNSLabel = Annotated[str, AfterValidator(check_name)]
ObjectName = Annotated[str, AfterValidator(_check_object_name)]
PolicyURL = Annotated[str, AfterValidator(check_policy_url)]

_STRICT = ConfigDict(strict=True, extra="forbid", frozen=True)


class Wave(BaseModel):
    """One wave: which clusters belong to it, how it is split into steps, and its gates."""

    model_config = _STRICT

    name: WaveName
    selector: LabelSelector | None = Field(
        default=None, description="Clusters of this wave (the first matching wave wins)."
    )
    any_of: tuple[LabelSelector, ...] = Field(
        default=(), description="Alternative selectors: a cluster matching any of them belongs."
    )
    bake: Duration | None = Field(
        default=None, description="How long a released step must run before the next one."
    )
    max_clusters: int | None = Field(default=None, ge=1, description="At most this many per step.")
    max_percent: float | None = Field(
        default=None, gt=0, le=100, description="At most this % of the wave's members per step."
    )
    group_by: str | None = Field(
        default=None, description="Label key or role (region): one group per step."
    )
    order: tuple[str, ...] = Field(
        default=(), description="Explicit group order for group_by (others follow, smallest first)."
    )
    approval: Literal["required", "each-step", "none"] | ApprovalSpec = Field(
        default="none",
        description="`required`: the wave's first step needs --approve (once per wave); "
        "`each-step`: every step does; `{required: true, signers: FILE}`: a signed approval.",
    )
    gates: tuple[GateSpec, ...] = Field(
        default=(), description="Evidence each step must show after its bake (planner.gates)."
    )
    on_failure: Literal["halt", "rollback"] = Field(
        default="halt", description="When a gate fails: hold the rollout, or roll the step back."
    )

    @model_validator(mode="after")
    def _check(self) -> Wave:
        if self.selector is None and not self.any_of:
            raise ValueError(f"wave {self.name!r} needs a selector (or any_of)")
        names = [g.name for g in self.gates]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"wave {self.name!r}: gate names must be unique: {duplicates}")
        return self

    def step_approval(self, index: int) -> str:
        """`required` or `none` for the wave's step number `index` (1-based)."""
        approval = self.approval
        if isinstance(approval, ApprovalSpec):
            needed = approval.required and (approval.each_step or index == 1)
        else:
            needed = approval == "each-step" or (approval == "required" and index == 1)
        return "required" if needed else "none"

    @property
    def signers(self) -> str | None:
        """The allowed-signers file when approvals must be signed."""
        approval = self.approval
        return approval.signers if isinstance(approval, ApprovalSpec) else None

    def selectors(self) -> tuple[LabelSelector, ...]:
        return ((self.selector,) if self.selector is not None else ()) + self.any_of

    def match(self, labels: Mapping[str, str]) -> LabelSelector | None:
        """The selector that matches these labels, if any."""
        for selector in self.selectors():
            if selector.matches(labels):
                return selector
        return None

    def describe(self) -> str:
        return " or ".join(s.describe() for s in self.selectors())

    @property
    def bake_seconds(self) -> int:
        return duration_seconds(self.bake) if self.bake else 0

    @property
    def splits(self) -> bool:
        return bool(self.max_clusters or self.max_percent or self.group_by)


class ArgoCDSettings(BaseModel):
    """How Argo CD ApplicationSets are written.

    Every value here is written into an ApplicationSet template, so names must be
    DNS-1123 names and no string may contain template syntax (`{{`).
    """

    model_config = _STRICT

    repoURL: PolicyURL | None = Field(default=None, description="Repository URL (default: origin).")
    project: ObjectName = "default"
    namespace: DNSLabel = Field(default="argocd", description="Namespace of the ApplicationSets.")
    destination_namespace: DNSLabel | None = Field(
        default=None, description="Destination namespace of the generated Applications."
    )
    syncPolicy: dict[str, Any] | None = Field(
        default=None, description="Copied into the Application template."
    )
    name_prefix: DNSLabel = Field(
        default="wave", description="ApplicationSet/Application name prefix."
    )
    max_update: int | str = Field(default=1, description="RollingSync maxUpdate per step.")
    shard_size: int = Field(
        default=500, ge=1, description="Most elements per ApplicationSet (etcd object limit)."
    )

    @model_validator(mode="after")
    def _check(self) -> ArgoCDSettings:
        _no_template_syntax(self.syncPolicy, "syncPolicy")
        if isinstance(self.max_update, int) and self.max_update < 0:
            raise ValueError("max_update must be >= 0 (or a percentage like 25%)")
        if isinstance(self.max_update, str) and not _PERCENT.fullmatch(self.max_update):
            raise ValueError(f"max_update {self.max_update!r} is not a number or a percentage")
        return self


class FluxSettings(BaseModel):
    """How Flux GitRepositories and Kustomizations are written."""

    model_config = _STRICT

    url: PolicyURL | None = Field(default=None, description="Repository URL (default: origin).")
    namespace: DNSLabel = "flux-system"
    interval: Duration = "10m"
    prune: bool = True
    kubeconfig: bool = Field(
        default=False, description="Add kubeConfig.secretRef `<cluster>-kubeconfig` (hub mode)."
    )
    secret_ref: ObjectName | None = Field(
        default=None, description="GitRepository credentials Secret."
    )


class IdentityRule(BaseModel):
    """A declarative identity rule: when a cluster matches, its labels must satisfy `require`.

    `name_matches` (a regular expression on the cluster name) and `selector` both narrow
    which clusters the rule applies to; `require` maps a label key or role to its value;
    `label` + `one_of` restricts a label's allowed values.
    """

    model_config = _STRICT

    name_matches: str | None = None
    selector: LabelSelector | None = None
    require: dict[str, str] = Field(default_factory=dict)
    label: str | None = None
    one_of: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> IdentityRule:
        if self.name_matches is not None:
            try:
                saferegex.compile_pattern(self.name_matches)
            except ValueError as exc:
                raise ValueError(f"name_matches: {exc}") from None
        if (self.label is None) != (not self.one_of):
            raise ValueError("`label` and `one_of` go together")
        if not self.require and self.label is None:
            raise ValueError("a rule needs `require` or `label` + `one_of`")
        return self

    def describe(self) -> str:
        when = []
        if self.name_matches:
            when.append(f"name matches {self.name_matches!r}")
        if self.selector:
            when.append(f"labels match {self.selector.describe()}")
        then = [f"{k}={v}" for k, v in sorted(self.require.items())]
        if self.label:
            then.append(f"{self.label} in ({', '.join(self.one_of)})")
        prefix = f"if {' and '.join(when)} then " if when else ""
        return prefix + " and ".join(then)


class IdentityPolicy(BaseModel):
    """Identity checks: labels against the layers a cluster inherits and its identity ConfigMap."""

    model_config = _STRICT

    rules: tuple[IdentityRule, ...] = ()
    required_labels: tuple[str, ...] = ()
    match: Literal["prefix", "exact"] = Field(
        default="prefix",
        description="`prefix`: label eu-west agrees with literal eu-west-1 (extends at a dash).",
    )
    configmap: str = Field(default="cluster-identity", description="Identity ConfigMap name.")
    known_labels: tuple[str, ...] = Field(
        default=(), description="Extra label keys that are not typos."
    )


class Constraint(BaseModel):
    """A blast-radius limit per step: steps are split until every limit holds."""

    model_config = _STRICT

    label: str = Field(description="Label key or role, e.g. compliance or region.")
    value: str | None = Field(default=None, description="Only clusters with this value count.")
    max_per_step: int | None = Field(default=None, ge=1)
    max_percent_per_step: float | None = Field(
        default=None, gt=0, le=100, description="% of the fleet's clusters with that value."
    )

    @model_validator(mode="after")
    def _check(self) -> Constraint:
        if self.max_per_step is None and self.max_percent_per_step is None:
            raise ValueError("a constraint needs max_per_step or max_percent_per_step")
        return self

    def describe(self) -> str:
        what = f"{self.label}={self.value}" if self.value else f"one {self.label}"
        limits = []
        if self.max_per_step is not None:
            limits.append(f"{self.max_per_step} cluster(s)")
        if self.max_percent_per_step is not None:
            limits.append(f"{self.max_percent_per_step:g}%")
        return f"at most {' and '.join(limits)} of {what} per step"


class RenderSettings(BaseModel):
    """Precise mode: how cluster paths are rendered."""

    model_config = _STRICT

    command: tuple[str, ...] | None = Field(
        default=None,
        description="Renderer argv (default: kubectl kustomize, else kustomize build).",
    )
    load_restrictor: Literal["LoadRestrictionsRootOnly", "LoadRestrictionsNone"] = (
        "LoadRestrictionsRootOnly"
    )
    parallel: int = Field(default=2, ge=1, le=64)
    timeout: int = Field(default=120, ge=1)


_HIERARCHY = HierarchyConfig()
_IMPACT = ImpactConfig()


class RolloutPolicy(BaseModel):
    """The whole policy file."""

    model_config = _STRICT

    waves: tuple[Wave, ...] = Field(min_length=1)
    labels: LabelRoles = Field(default_factory=LabelRoles)
    # The hierarchy's and impact tracing's settings, with their engines' defaults.
    scopes: tuple[ScopeRule, ...] = _HIERARCHY.scopes
    flux_sources: tuple[str, ...] = _HIERARCHY.flux_sources
    unowned: UnownedRule = _IMPACT.unowned
    ignore: tuple[str, ...] = _IMPACT.ignore
    identity: IdentityPolicy = Field(default_factory=IdentityPolicy)
    constraints: tuple[Constraint, ...] = ()
    argocd: ArgoCDSettings = Field(default_factory=ArgoCDSettings)
    flux: FluxSettings = Field(default_factory=FluxSettings)
    render: RenderSettings = Field(default_factory=RenderSettings)
    notify: tuple[Webhook, ...] = Field(
        default=(), description="Webhooks that get one JSON event per rollout action."
    )

    @model_validator(mode="after")
    def _unique_waves(self) -> RolloutPolicy:
        names = [w.name for w in self.waves]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"wave names must be unique: {', '.join(duplicates)}")
        return self

    def hierarchy_config(self) -> HierarchyConfig:
        return HierarchyConfig(scopes=self.scopes, flux_sources=self.flux_sources)

    def impact_config(self) -> ImpactConfig:
        return ImpactConfig(unowned=self.unowned, ignore=self.ignore)

    def digest(self) -> str:
        data = self.model_dump(mode="json", by_alias=True)
        # Keys added later count only when set, so a policy that does not use them keeps
        # the digest (and the plan ids) it always had.
        if not data.get("notify"):
            data.pop("notify", None)
        for wave in data["waves"]:
            if not wave.get("gates"):
                wave.pop("gates", None)
            if wave.get("on_failure") == "halt":
                wave.pop("on_failure", None)
        canon = json.dumps(data, sort_keys=True)
        return hashlib.sha256(canon.encode()).hexdigest()

    def wave(self, name: str) -> Wave:
        for wave in self.waves:
            if wave.name == name:
                return wave
        raise KeyError(name)


def load_policy(data: bytes, *, source: str) -> RolloutPolicy:
    """Parse a policy file; every problem is reported at once as a `UserError`."""
    try:
        doc = yamlsafe.load_one(data, strict=True)
    except yamlsafe.YamlError as exc:
        raise UserError(Problem(str(exc), file=source, fix="fix the YAML syntax")) from None
    if not isinstance(doc, Mapping):
        raise UserError(
            Problem(
                f"expected a mapping with `waves:`, found {type(doc).__name__}",
                file=source,
                fix="start the file with `waves:` (see `wave-planner policy init`)",
            )
        )
    return validate_model(RolloutPolicy, doc, file=source)


CANARY_VALUES = ("canary",)
PRODUCTION_VALUES = ("production", "prod")


def default_policy(inventory: Inventory | None = None) -> RolloutPolicy:
    """Canary, then every non-production environment, then production one region per step.

    The label keys are the ones the inventory uses for each role (plain `environment` and
    `region` when there is no inventory or no such label).
    """
    roles = LabelRoles()
    env_key = _role_key(inventory, roles, "environment") or "environment"
    region_key = _role_key(inventory, roles, "region") or "region"
    canary = tuple(
        LabelSelector(match_labels={key: "canary"})
        for key in _role_keys(inventory, roles, "wave", default=roles.wave)
    )
    staging = LabelSelector(
        match_expressions=(
            Requirement(key=env_key, operator="Exists"),
            Requirement(key=env_key, operator="NotIn", values=PRODUCTION_VALUES),
        )
    )
    return RolloutPolicy(
        waves=(
            Wave(name="canary", any_of=canary, bake="1h"),
            Wave(name="staging", selector=staging, bake="1h"),
            Wave(
                name="production",
                selector=LabelSelector(),
                group_by=region_key,
                approval="required",
            ),
        )
    )


def _role_keys(
    inventory: Inventory | None, roles: LabelRoles, role: str, default: tuple[str, ...]
) -> tuple[str, ...]:
    keys = set(default)
    if inventory is not None:
        for cluster in inventory.clusters:
            key = roles.key_of(cluster.labels, role)
            if key:
                keys.add(key)
    return tuple(sorted(keys))


def _role_key(inventory: Inventory | None, roles: LabelRoles, role: str) -> str | None:
    if inventory is None:
        return None
    counts: dict[str, int] = {}
    for cluster in inventory.clusters:
        key = roles.key_of(cluster.labels, role)
        if key:
            counts[key] = counts.get(key, 0) + 1
    return max(sorted(counts), key=lambda k: counts[k]) if counts else None


def policy_yaml(policy: RolloutPolicy) -> str:
    """The policy as an editable YAML file (defaults left out)."""
    data = policy.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return yamlsafe.dump(data)
