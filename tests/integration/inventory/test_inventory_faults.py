# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``ansible-inventory`` while the local cluster injects faults: bounded retries converge on the
same inventory, and giving up names the cluster, the request, its status and the number of tries."""

from __future__ import annotations

import pytest

from .conftest import plain

VMS = "/apis/kubevirt.io/v1/virtualmachines"
VMIS = "/apis/kubevirt.io/v1/virtualmachineinstances"
SERVICES = "/api/v1/services"


@pytest.fixture(scope="module")
def faulty(cluster, objects, inventory):
    """A running VM behind a NodePort Service, and the inventory read without faults."""
    ns = objects.namespace("faults")
    objects.vm(ns, "web")
    objects.service(ns, "web-ssh", "web", "NodePort", 22, 22, node_port=30222)
    objects.wait_running(ns, "web")
    source = inventory.source({"kubeconfig": cluster.kubeconfig, "context": "local", "name": "lab"})
    baseline = inventory.run(cluster, source)
    assert "%s-web" % ns in baseline.hostvars, baseline
    return ns, source, baseline


def statuses(run, path):
    return [r["status"] for r in run.requests if r["path"] == path]


@pytest.mark.parametrize(
    "rule, path, expected",
    [
        ("error=429;times=1;retry-after=1", VMS, [429, 200]),
        ("error=503;times=2;retry-after=0", VMIS, [503, 503, 200]),
        ("error=500;times=2", SERVICES, [500, 500, 200]),
        ("error=502;times=1", VMS, [502, 200]),
        ("reset=1;times=2", VMS, [0, 0, 200]),
        ("reset=1;phase=tls;times=2", VMIS, [0, 0, 200]),
    ],
    ids=["429-retry-after", "503", "500", "502", "reset", "tls-eof"],
)
def test_transient_faults_converge_on_the_same_inventory(cluster, inventory, faulty, faults, rule, path, expected):
    ns, source, baseline = faulty
    faults("%s;verb=list;path=%s" % (rule, path))
    run = inventory.run(cluster, source)
    assert run.returncode == 0, run
    assert statuses(run, path) == expected, run
    assert run.hostvars == baseline.hostvars
    web = plain(run.hostvars["%s-web" % ns])
    assert web["ansible_port"] == 30222 and web["ansible_host"] == web["vmi_node_name"]


@pytest.mark.parametrize(
    "rule, path, status, tries",
    [
        ("error=503;retry-after=0", VMS, "503 ServiceUnavailable", 10),
        ("error=429;retry-after=0", VMIS, "429 TooManyRequests", 10),
        ("error=500", VMS, "500 InternalError", 5),
    ],
    ids=["503", "429", "500"],
)
def test_giving_up_names_the_request_status_and_tries(cluster, inventory, faulty, faults, rule, path, status, tries):
    source = faulty[1]
    faults("%s;verb=list;path=%s" % (rule, path))
    run = inventory.run(cluster, source)
    assert run.returncode != 0
    assert "cluster lab (%s): " % cluster.url in run.stderr, run
    assert status in run.stderr and "after %d tries" % tries in run.stderr, run.stderr
    assert "(request: GET %s" % path in run.stderr, run.stderr
    assert statuses(run, path) == [int(status.split()[0])] * tries
    assert "Traceback" not in run.stderr


def test_dropped_connections_give_up_after_bounded_tries(cluster, inventory, faulty, faults):
    source = faulty[1]
    faults("reset=1;verb=list;path=%s" % VMS)
    run = inventory.run(cluster, source)
    assert run.returncode != 0
    assert "cluster lab (%s): " % cluster.url in run.stderr and "after 5 tries" in run.stderr, run.stderr
    assert "(request: GET %s" % VMS in run.stderr
    assert statuses(run, VMS) == [0] * 5


def test_history_compacted_between_pages_still_lists_every_vm(cluster_factory, inventory):
    """The continue token of page 1 expires (410) while page 2 is on its way."""
    import threading
    import time

    seeded = cluster_factory("--seed-vms", "1100", "--seed-namespaces", "20")
    # Every VM page is delayed, so the compaction lands after page 1 and before page 2 is read.
    seeded.set_faults("latency=2s;verb=list;path=%s" % VMS)
    source = inventory.source({"kubeconfig": seeded.kubeconfig, "context": "local", "use_service": False,
                               "include_stopped": True})
    mark = seeded.mark()
    done = threading.Event()

    def compact_after_first_page():
        while not done.is_set():
            if any(r["path"] == VMS and r["status"] == 200 for r in seeded.requests(since=mark)):
                seeded.compact()
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=compact_after_first_page)
    watcher.start()
    try:
        run = inventory.run(seeded, source)
    finally:
        done.set()
        watcher.join()
    pages = statuses(run, VMS)
    assert 410 in pages, run
    assert run.returncode == 0, run
    assert len(run.hostvars) == 1100
