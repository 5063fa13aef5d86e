"""Grouping clusters by the effect of a change: identity set aside, stable ids."""

from __future__ import annotations

from planner.diff_groups import generalize, group_diffs, group_of, identity_values
from planner.inventory import Cluster, LabelRoles
from planner.render_diff import ClusterDiff, unified


def _cluster(name: str, region: str, env: str = "production") -> Cluster:
    return Cluster(
        name=name,
        labels={"region": region, "env": env, "gpu": "true"},
        server=f"https://{name}.k8s.example.com",
    )


def _diff(cluster: Cluster, replicas: str = "3", extra: str = "") -> ClusterDiff:
    before = (
        f"# source: clusters/{cluster.name}\nkind: ConfigMap\nmetadata:\n"
        f"  name: {cluster.name}-settings\ndata:\n  region: {cluster.labels['region']}\n"
        f"  server: {cluster.server}\n  replicas: '2'\n  gpu: 'true'\n"
    )
    after = before.replace("replicas: '2'", f"replicas: '{replicas}'") + extra
    name = f"ConfigMap/{cluster.name}-settings"
    return ClusterDiff(objects=((name, "changed"),), text=unified(name, before, after))


CLUSTERS = {
    c.name: c
    for c in (
        _cluster("prod-eu-west-1", "eu-west"),
        _cluster("prod-eu-west-2", "eu-west"),
        _cluster("prod-us-east-1", "us-east"),
        _cluster("prod-ap-south-1", "ap-south"),
    )
}
ROLES = LabelRoles()


def test_identity_only_differences_group_together() -> None:
    diffs = {name: _diff(c) for name, c in CLUSTERS.items()}
    assert len({d.text for d in diffs.values()}) == 4  # every raw diff differs
    groups = group_diffs(diffs, CLUSTERS, ROLES)
    assert len(groups) == 1
    (group,) = groups
    assert group.clusters == tuple(sorted(CLUSTERS))
    assert group.regions == ("ap-south", "eu-west", "us-east")
    assert "${name}" in group.diff and "${server}" in group.diff
    assert "${labels.region}" in group.diff
    assert group.objects[0].object == "ConfigMap/${name}-settings"
    assert group.placeholders == ("${labels.region}", "${name}", "${server}")
    for name in CLUSTERS:
        assert name not in group.diff


def test_a_cluster_whose_edit_differs_lands_in_its_own_group() -> None:
    diffs = {name: _diff(c) for name, c in CLUSTERS.items()}
    diffs["prod-us-east-1"] = _diff(CLUSTERS["prod-us-east-1"], replicas="5")
    groups = group_diffs(diffs, CLUSTERS, ROLES)
    assert [g.clusters for g in groups] == [
        ("prod-ap-south-1", "prod-eu-west-1", "prod-eu-west-2"),
        ("prod-us-east-1",),
    ]
    assert group_of(groups)["prod-us-east-1"] == groups[1].id
    assert "replicas: '5'" in groups[1].diff
    # a group of one shows its exact diff, no placeholders
    assert groups[1].placeholders == ()
    assert "prod-us-east-1" in groups[1].diff


def test_identical_diffs_group_without_placeholders() -> None:
    same = _diff(CLUSTERS["prod-eu-west-1"])
    groups = group_diffs({"a": same, "b": same}, {}, ROLES)
    assert len(groups) == 1
    assert groups[0].diff == same.text
    assert groups[0].placeholders == ()


def test_ids_are_content_hashes_stable_across_runs_and_order() -> None:
    diffs = {name: _diff(c) for name, c in CLUSTERS.items()}
    first = group_diffs(diffs, CLUSTERS, ROLES)
    again = group_diffs(dict(reversed(list(diffs.items()))), CLUSTERS, ROLES)
    assert first == again
    assert len(first[0].id) == 12


def test_largest_group_first() -> None:
    diffs = {name: _diff(c) for name, c in CLUSTERS.items()}
    diffs["prod-eu-west-1"] = _diff(CLUSTERS["prod-eu-west-1"], replicas="9")
    groups = group_diffs(diffs, CLUSTERS, ROLES)
    assert [len(g.clusters) for g in groups] == [3, 1]


def test_values_that_say_nothing_are_never_substituted() -> None:
    cluster = Cluster(name="abc-1", labels={"gpu": "true", "tier": "1", "az": "a", "env": "prod"})
    values = dict(identity_values(cluster))
    assert "true" not in values and "1" not in values and "a" not in values
    text, used = generalize(
        "enabled: true\nenv: prod\nproduct: prod-x\nname: abc-1\n", list(values.items())
    )
    assert text == "enabled: true\nenv: ${labels.env}\nproduct: ${labels.env}-x\nname: ${name}\n"
    assert used == ("${labels.env}", "${name}")


def test_a_value_inside_a_longer_word_is_left_alone() -> None:
    text, _ = generalize("image: eu-westerly\nregion: eu-west\n", [("eu-west", "${labels.region}")])
    assert text == "image: eu-westerly\nregion: ${labels.region}\n"


def test_a_generated_name_of_the_clusters_own_in_context_groups_together() -> None:
    def diff(suffix: str) -> ClusterDiff:
        before = f"envFrom:\n  - region-config-4bdm5tt2fb\n  - cluster-identity-{suffix}\nx: 1\n"
        after = before.replace("4bdm5tt2fb", "tb5m6cc2d2")
        return ClusterDiff(
            objects=(("Deployment/a/b", "changed"),), text=unified("D", before, after)
        )

    groups = group_diffs({"a": diff("8855dftcdk"), "b": diff("d48fd52g2k")}, {}, ROLES)
    assert len(groups) == 1
    assert "   - cluster-identity-${hash}\n" in groups[0].diff
    assert "-  - region-config-4bdm5tt2fb\n+  - region-config-tb5m6cc2d2\n" in groups[0].diff
    assert groups[0].placeholders == ("${hash}",)


def test_a_value_shared_by_the_whole_group_reads_as_itself() -> None:
    def diff(cluster: Cluster) -> ClusterDiff:
        before = f"env: {cluster.labels['env']}\nregion: {cluster.labels['region']}\nx: 1\n"
        return ClusterDiff(
            objects=(("ConfigMap/a/b", "changed"),),
            text=unified("ConfigMap/a/b", before, before.replace("x: 1", "x: 2")),
        )

    groups = group_diffs({n: diff(c) for n, c in CLUSTERS.items()}, CLUSTERS, ROLES)
    assert len(groups) == 1
    assert " env: production\n" in groups[0].diff  # every cluster is in production
    assert " region: ${labels.region}\n" in groups[0].diff  # regions differ
    assert groups[0].placeholders == ("${labels.region}",)
