"""Gates, approvals and notifications in the policy, and the pure rules behind them."""

from __future__ import annotations

import json
import re

import pytest

from planner import approvals, gates, notify
from planner.errors import UserError
from planner.gates import Evaluation, GateSubject, PrometheusCheck, Sample, Verdict
from planner.policy import default_policy, load_policy

GATED = b"""
waves:
- name: production
  selector: {}
  bake: 2h
  approval: {required: true, signers: .wave-planner/allowed_signers}
  gates:
  - name: error-rate
    prometheus:
      url: http://prometheus.monitoring:9090
      query: 'max(rate(http_requests_errors_total{cluster=~"{{clusters_regex}}"}[10m]))'
      max: 0.01
      for: 30m
  - name: synced-and-healthy
    command: [flux, get, kustomizations, --context, '{{cluster}}', --status-selector, ready=false]
    per: cluster
  on_failure: rollback
notify:
- {webhook: https://hooks.example.com/x}
- {webhook: https://hooks.example.com/y, format: slack}
"""

STEP = GateSubject(
    "production-1",
    "production",
    ("prod.eu-1", "prod-eu-2"),
    {"prod.eu-1": {"region": "eu-west"}, "prod-eu-2": {"region": "eu-west"}},
)


def test_the_issue_policy_loads() -> None:
    policy = load_policy(GATED, source="rollout.yaml")
    wave = policy.waves[0]
    assert [g.name for g in wave.gates] == ["error-rate", "synced-and-healthy"]
    assert wave.gates[0].prometheus is not None
    assert wave.gates[0].prometheus.window_seconds == 1800
    assert wave.gates[1].per == "cluster"
    assert wave.gates[1].timeout_seconds == 60
    assert wave.on_failure == "rollback"
    assert wave.signers == ".wave-planner/allowed_signers"
    assert [h.format for h in policy.notify] == ["json", "slack"]
    assert "for" in json.dumps(policy.model_dump(mode="json", by_alias=True))


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        ("{name: g, command: [check], prometheus: {url: 'http://p:9090', query: up, max: 1}}",
         "exactly one of"),
        ("{name: g}", "exactly one of"),
        ("{name: g, prometheus: {url: 'http://p:9090', query: up}}", "needs `max:` or `min:`"),
        ("{name: g, prometheus: {url: 'ftp://p', query: up, max: 1}}", "not an http(s) URL"),
        ("{name: g, command: [check, '{{cluster}}']}", "add `per: cluster`"),
        ("{name: g, command: [check, '{{nope}}'], per: cluster}", "unknown placeholder"),
        ("{name: g, command: [check], timeout: soon}", "not a duration"),
        ("{name: g, command: [check], per: region}", "per"),
    ],
)  # fmt: skip
def test_bad_gates_are_named(gate: str, message: str) -> None:
    text = f"waves:\n- name: w\n  selector: {{}}\n  gates: [{gate}]\n".encode()
    with pytest.raises(UserError) as exc:
        load_policy(text, source="rollout.yaml")
    assert message in str(exc.value)
    assert "rollout.yaml" in str(exc.value)


def test_duplicate_gate_names_are_refused() -> None:
    text = b"waves:\n- name: w\n  selector: {}\n  gates: [{name: a, command: [x]}, {name: a, command: [y]}]\n"
    with pytest.raises(UserError, match="gate names must be unique"):
        load_policy(text, source="p")


@pytest.mark.parametrize(
    ("approval", "steps"),
    [
        ("required", ["required", "none", "none"]),
        ("each-step", ["required", "required", "required"]),
        ("none", ["none", "none", "none"]),
        ("{required: true, signers: s}", ["required", "none", "none"]),
        ("{required: true, signers: s, each_step: true}", ["required", "required", "required"]),
        ("{required: false}", ["none", "none", "none"]),
    ],
)
def test_approval_once_per_wave_or_each_step(approval: str, steps: list[str]) -> None:
    policy = load_policy(
        f"waves:\n- name: w\n  selector: {{}}\n  approval: {approval}\n".encode(), source="p"
    )
    assert [policy.waves[0].step_approval(i) for i in (1, 2, 3)] == steps


def test_default_policy_asks_once_per_wave() -> None:
    production = default_policy().wave("production")
    assert production.step_approval(1) == "required"
    assert all(production.step_approval(i) == "none" for i in range(2, 40))


def test_placeholders_in_a_regex_are_escaped() -> None:
    query = 'max(rate(errors{cluster=~"{{clusters_regex}}",region="{{labels.region}}"}[5m]))'
    rendered = gates.render_query(query, STEP)
    assert rendered == (
        'max(rate(errors{cluster=~"prod\\\\.eu-1|prod-eu-2",region="eu-west"}[5m]))'
    )
    # What Prometheus reads inside the string is the regex prod\.eu-1|prod-eu-2.
    assert re.fullmatch(r"prod\.eu-1|prod-eu-2", "prod.eu-1")
    assert not re.fullmatch(r"prod\.eu-1|prod-eu-2", "prodXeu-1")


def test_any_placeholder_in_regex_context_is_regex_escaped() -> None:
    one = GateSubject("s", "w", ("a.b",), {}, cluster="a.b")
    assert gates.render_query('up{c=~"{{cluster}}"}', one) == 'up{c=~"a\\\\.b"}'
    assert gates.render_query('up{c="{{cluster}}"}', one) == 'up{c="a.b"}'
    assert gates.render_query("up{c=~'{{cluster}}.*'}", one) == "up{c=~'a\\\\.b.*'}"


def test_a_label_value_cannot_break_out_of_its_string() -> None:
    evil = GateSubject("s", "w", ("c",), {"c": {"team": 'x"} or vector(1) #'}}, cluster="c")
    rendered = gates.render_query('up{team="{{labels.team}}"}', evil)
    assert rendered == 'up{team="x\\"} or vector(1) #"}'


def test_placeholders_outside_strings_must_be_plain() -> None:
    evil = GateSubject("s", "w", ("c",), {"c": {"team": "1) or vector(1"}}, cluster="c")
    with pytest.raises(gates.PlaceholderError):
        gates.render_query("up > {{labels.team}}", evil)
    with pytest.raises(gates.PlaceholderError, match="inside a quoted"):
        gates.render_query("up{c=~{{clusters_regex}}}", STEP)


def test_argv_is_substituted_without_a_shell() -> None:
    one = GateSubject("s", "w", ("c",), {"c": {"region": "eu; rm -rf /"}}, cluster="c")
    argv = gates.render_argv(["check", "--context={{cluster}}", "{{labels.region}}"], one)
    assert argv == ["check", "--context=c", "eu; rm -rf /"]


def test_a_label_that_differs_across_a_step_is_an_evaluation_error() -> None:
    mixed = GateSubject("s", "w", ("a", "b"), {"a": {"region": "x"}, "b": {"region": "y"}})
    with pytest.raises(gates.PlaceholderError, match="per: cluster"):
        gates.render_argv(["{{labels.region}}"], mixed)
    with pytest.raises(gates.PlaceholderError, match="no label"):
        gates.render_argv(["{{labels.zone}}"], mixed)


def test_per_cluster_targets() -> None:
    spec = gates.GateSpec(name="g", command=("x", "{{cluster}}"), per="cluster")
    assert [t.cluster for t in gates.targets(spec, STEP)] == ["prod.eu-1", "prod-eu-2"]


CHECK = PrometheusCheck(url="http://p:9090", query="q", max=0.5)
WINDOW = PrometheusCheck.model_validate(
    {"url": "http://p:9090", "query": "q", "min": 1, "for": "1m"}
)


@pytest.mark.parametrize(
    ("check", "samples", "passed", "evidence"),
    [
        (CHECK, [Sample({"cluster": "a"}, ((10.0, 0.1),))], True, "value 0.1 (cluster=a) within max 0.5"),
        (CHECK, [Sample({"cluster": "a"}, ((10.0, 0.1),)), Sample({"cluster": "b"}, ((10.0, 0.9),))],
         False, "value 0.9 (cluster=b) breaks max 0.5"),
        (CHECK, [], False, "no data"),
        (CHECK, [Sample({}, ((10.0, float("nan")),))], False, "breaks"),
        (WINDOW, [Sample({}, tuple((t, 1.0) for t in range(0, 61, 1)))], True, "over 1m"),
        (WINDOW, [Sample({}, tuple((t, 1.0) for t in range(40, 61, 1)))], False, "held for only 20s"),
        (WINDOW, [Sample({}, ((0.0, 1.0), (30.0, 0.0), (60.0, 1.0)))], False, "value 0 breaks min 1"),
    ],
)  # fmt: skip
def test_judging_prometheus_answers(
    check: PrometheusCheck, samples: list[Sample], passed: bool, evidence: str
) -> None:
    ok, text = gates.judge_samples(check, samples, start=0.0, end=60.0, step=1.0)
    assert ok is passed
    assert evidence in text


def test_a_verdict_names_gate_clusters_and_evidence() -> None:
    verdict = Verdict(
        "production-1",
        (
            Evaluation("error-rate", True, "value 0.001 within max 0.01"),
            Evaluation("synced", True, "exit 0", "a"),
            Evaluation("synced", False, "exit 1; output: kustomization apps not ready", "b"),
        ),
    )
    assert not verdict.passed
    assert verdict.failing_gates() == ["synced"]
    assert verdict.failing_clusters() == ["b"]
    assert verdict.refusal() == (
        "gate(s) synced of step production-1 failed on b: gate error-rate passed: value 0.001 "
        "within max 0.01; gate synced failed on cluster b: exit 1; output: kustomization apps "
        "not ready"
    )


def test_output_tail_keeps_the_end() -> None:
    assert gates.tail("x" * 5000 + "END").endswith("END")
    assert len(gates.tail("x" * 5000)) == gates.OUTPUT_TAIL + 3


def test_signed_approval_rules() -> None:
    good = approvals.Signature(
        "HEAD", "a" * 40, True, "alice@example.com", "ok\n\nApprove: r/production\n", ""
    )
    assert approvals.check(good, "r", "production") is None
    assert "does not say what it approves" in str(approvals.check(good, "r", "staging"))
    unsigned = approvals.Signature("HEAD", "b" * 40, False, None, "Approve: r/production", "")
    assert "not signed by a listed key" in str(approvals.check(unsigned, "r", "production"))
    assert approvals.principal_of('Good "git" signature for bob@x with ED25519 key') == "bob@x"
    assert approvals.tag_name("r", "production") == "approve/r/production"


def test_events_as_json_and_slack() -> None:
    event = notify.RolloutEvent(
        rollout="r", what="release", step="canary", clusters=("a", "b"), by="alice",
        at="2024-01-03T09:00:00Z", text="released", state="in-progress",
        link="https://git.example.com/fleet/tree/abc/waves/r",
    )  # fmt: skip
    hooks = [
        notify.Webhook(webhook="http://127.0.0.1:1/a"),
        notify.Webhook(webhook="http://127.0.0.1:1/b", format="slack"),
    ]
    (url1, json_body), (url2, slack_body) = notify.deliveries(hooks, [event])
    assert (url1, url2) == ("http://127.0.0.1:1/a", "http://127.0.0.1:1/b")
    assert json.loads(json_body) == {
        "rollout": "r", "event": "release", "step": "canary", "clusters": ["a", "b"],
        "by": "alice", "at": "2024-01-03T09:00:00Z", "text": "released",
        "state": "in-progress", "link": "https://git.example.com/fleet/tree/abc/waves/r",
    }  # fmt: skip
    slack = json.loads(slack_body)
    assert "rollout `r` step `canary`: release by alice" in slack["text"]
    assert slack["blocks"][0]["type"] == "section"
    assert notify.link("https://git.example.com/fleet.git", "abc", "r") == (
        "https://git.example.com/fleet/tree/abc/waves/r"
    )
    assert notify.link("git@example.com:fleet.git", "abc", "r") is None


@pytest.mark.parametrize("policy", ["issue", "default"])
def test_a_global_change_needs_one_approval_per_wave(policy: str) -> None:
    import dataclasses

    from planner.plan import plan_change
    from tests.testing.memfleet import memory_inputs

    inputs = memory_inputs(200)  # (28 production steps under the issue policy, 4 by default)
    if policy == "default":
        inputs = dataclasses.replace(inputs, policy=default_policy(inputs.inventory))
    plan = plan_change(inputs)
    production = [s for s in plan.waves if s.wave == "production"]
    assert len(production) > 1
    asked = [s.name for s in plan.waves if s.approval == "required"]
    assert asked == [production[0].name]
