"""MigrationPolicy matching as KubeVirt's MatchPolicy, and a matched policy's configuration on a migration."""
from __future__ import annotations

import time

import pytest

from tests.cluster.controllers.migration import transfer_steps
from tests.cluster.controllers.migration_policies import MIGRATION_POLICY, match_policy
from tests.cluster.tests.harness import NS, VMI, VMIM
from tests.cluster.tests.test_migration import migrate, start
from tests.cluster.tests.virt_harness import Sim


@pytest.fixture
def sim():
    """The migration tests' time scale (test_migration.py)."""
    with Sim(time_scale=0.004) as simulation:
        yield simulation


def policy(name: str, vmi: dict | None = None, ns: dict | None = None, **spec) -> dict:
    selectors = {}
    if vmi is not None:
        selectors["virtualMachineInstanceSelector"] = vmi
    if ns is not None:
        selectors["namespaceSelector"] = ns
    return {"apiVersion": "migrations.kubevirt.io/v1alpha1", "kind": "MigrationPolicy", "metadata": {"name": name},
            "spec": {"selectors": selectors, **spec}}


def names(policies, vmi_labels, ns_labels):
    found = match_policy(policies, {"metadata": {"labels": vmi_labels}}, {"metadata": {"labels": ns_labels}})
    return found and found["metadata"]["name"]


def test_every_selector_label_must_match():
    policies = [policy("a", vmi={"app": "db", "tier": "1"})]
    assert names(policies, {"app": "db", "tier": "1", "x": "y"}, {}) == "a"
    assert names(policies, {"app": "db"}, {}) is None
    assert names([policy("n", ns={"env": "prod"})], {"app": "db"}, {"env": "dev"}) is None
    assert names([policy("n", ns={"env": "prod"})], {"app": "db"}, None) is None


def test_most_matched_labels_win_then_vmi_labels_then_name():
    vmi, ns = {"app": "db", "tier": "1"}, {"env": "prod"}
    assert names([policy("a", vmi={"app": "db"}), policy("b", vmi={"app": "db"}, ns={"env": "prod"})], vmi, ns) == "b"
    # Same total: more VMI labels win.
    assert names([policy("a", ns={"env": "prod"}), policy("b", vmi={"tier": "1"})], vmi, ns) == "b"
    # Same score: the first name.
    assert names([policy("z", vmi={"app": "db"}), policy("m", vmi={"tier": "1"})], vmi, ns) == "m"
    # No selectors at all match every VMI, with the lowest score.
    assert names([policy("all"), policy("db", vmi={"app": "db"})], vmi, ns) == "db"
    assert names([policy("all")], vmi, ns) == "all"


def test_selectors_are_not_looked_at_for_a_vmi_without_labels():
    # KubeVirt checks the VMI's label map for nil before either selector.
    assert names([policy("a", vmi={"app": "db"}, ns={"env": "prod"})], None, {}) == "a"


def test_bandwidth_comes_from_the_handed_configuration():
    vmi = {"spec": {"domain": {"memory": {"guest": "4Gi"}}}, "status": {"migrationState": {
        "migrationConfiguration": {"bandwidthPerMigration": "1Gi"}}}}
    assert transfer_steps(_Store(), vmi) == 4
    vmi["status"] = {}
    assert transfer_steps(_Store(), vmi) == 64  # the cluster's 64Mi


class _Store:
    def list(self, _gr, _namespace=None):
        return [], 0


@pytest.mark.parametrize("with_policy", [False, True])
def test_matched_policy_overrides_configuration_and_duration(sim, with_policy):
    sim.update(NS, None, "demo", lambda ns: ns["metadata"].setdefault("labels", {}).update(env="prod"))
    sim.create(MIGRATION_POLICY, policy("other", vmi={"app": "web"}, bandwidthPerMigration="1Mi"))
    if with_policy:
        sim.create(MIGRATION_POLICY, policy("fast", vmi={"kubevirt.io/domain": "vm1"}, ns={"env": "prod"},
                                            bandwidthPerMigration="8Gi", allowPostCopy=True))
    start(sim, "vm1", memory="16Gi")
    started = time.monotonic()
    name = migrate(sim, "vm1")
    sim.wait(lambda: (sim.get(VMIM, name).get("status") or {}).get("phase") == "Succeeded", 10)
    elapsed = time.monotonic() - started
    state = sim.get(VMI, "vm1")["status"]["migrationState"]
    config = state["migrationConfiguration"]
    if with_policy:
        assert state["migrationPolicyName"] == "fast"
        assert config["bandwidthPerMigration"] == "8Gi" and config["allowPostCopy"] is True
        assert elapsed < 0.6, elapsed  # 2 steps of transfer
    else:
        assert "migrationPolicyName" not in state
        assert config["bandwidthPerMigration"] == "64Mi" and config["allowPostCopy"] is False
        assert elapsed > 1.0, elapsed  # 16Gi at 64Mi: 256 steps of 4 ms
