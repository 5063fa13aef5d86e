"""What `init` drafts (clusters, skipped candidates, scope rules) and the evidence vocabulary:
the folder names and words discovery looks for. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from planner import inventory
from planner.hierarchy.scopes import ScopeRule

YAML = (".yaml", ".yml")
CLUSTER_DIRS = ("clusters",)
ENV_DIRS = ("envs", "environments", "env", "overlays")
NOT_CLUSTERS = frozenset(
    {"base", "bases", "common", "shared", "components", "templates", "default", "defaults",
     "global", "all", "lib", "libs", "flux-system", "argocd", "bootstrap", "crds", "modules"}
)  # fmt: skip
ENV_WORDS = frozenset(
    {"production", "prod", "staging", "stage", "stg", "dev", "development", "test", "testing",
     "qa", "uat", "preprod", "sandbox", "nonprod", "integration", "canary"}
)  # fmt: skip
REGION = re.compile(
    r"(?:(?:us|eu|ap|sa|ca|me|af|il|mx|cn)-(?:gov-)?(?:north|south|east|west|central|"
    r"northeast|northwest|southeast|southwest)-\d+|(?:us|europe|asia|australia|northamerica|"
    r"southamerica|me|africa)-(?:north|south|east|west|central|northeast|northwest|southeast|"
    r"southwest)\d+)"
)
CANONICAL = {"prod": "production", "stage": "staging", "stg": "staging"}  # for guesses only
IN_CLUSTER = ("https://kubernetes.default.svc", "https://kubernetes.default.svc:443")
SECRET_LABEL = inventory.ARGOCD_SECRET_TYPE


class DraftCluster(BaseModel):
    """One cluster found in the repository, with the evidence for each field."""

    model_config = ConfigDict(extra="forbid")

    name: str
    path: str
    server: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    evidence: list[str] = Field(default_factory=list, description="Why this is a cluster.")
    label_sources: dict[str, str] = Field(default_factory=dict, description="Why each label.")
    guesses: list[str] = Field(
        default_factory=list, description="Fields inferred from names, not from layers."
    )


class Skipped(BaseModel):
    """A folder or object that looked like a cluster and why it is not drafted."""

    model_config = ConfigDict(extra="forbid")

    what: str
    reason: str


class Discovery(BaseModel):
    """What `init` found: the clusters, what it left out, and the scope rules it needs."""

    model_config = ConfigDict(extra="forbid")

    clusters: list[DraftCluster] = Field(default_factory=list)
    skipped: list[Skipped] = Field(default_factory=list)
    scopes: list[ScopeRule] = Field(
        default_factory=list, description="Scope rules beyond the defaults (for rollout.yaml)."
    )
    notes: list[str] = Field(default_factory=list)


@dataclass
class Candidate:
    path: str
    name: str
    evidence: list[str] = field(default_factory=list)
    server: str | None = None
    guesses: list[str] = field(default_factory=list)
    secret_labels: dict[str, str] = field(default_factory=dict)
    secret_file: str = ""
