# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import copy

from ansible_collections.virt.kubevirt.plugins.module_utils._merge import (
    ANY,
    Declared,
    carry_forward,
    deep_merge,
    is_subset,
    leaf_paths,
    managed_fields_of,
    needs_apply,
    released_fields,
    without_nulls,
)


def test_deep_merge_override_wins_and_inputs_are_untouched():
    base = {"a": {"b": 1, "c": 2}, "x": [1, 2]}
    override = {"a": {"b": 10}, "x": [3]}
    assert deep_merge(base, override) == {"a": {"b": 10, "c": 2}, "x": [3]}
    assert base == {"a": {"b": 1, "c": 2}, "x": [1, 2]}


def test_deep_merge_named_lists_merge_by_name():
    base = {"disks": [{"name": "root", "disk": {"bus": "sata"}, "bootOrder": 1}, {"name": "data", "disk": {}}]}
    override = {"disks": [{"name": "root", "disk": {"bus": "virtio"}}, {"name": "cloudinit", "disk": {}}]}
    assert deep_merge(base, override)["disks"] == [
        {"name": "root", "disk": {"bus": "virtio"}, "bootOrder": 1},
        {"name": "data", "disk": {}},
        {"name": "cloudinit", "disk": {}},
    ]


def test_deep_merge_unnamed_lists_are_replaced():
    assert deep_merge({"t": [{"key": "a"}]}, {"t": [{"key": "b"}]}) == {"t": [{"key": "b"}]}


def test_is_subset_ignores_server_defaults():
    desired = {"spec": {"template": {"spec": {"domain": {"devices": {"interfaces": [{"name": "default", "masquerade": {}}]}}}}}}
    live = {"spec": {"template": {"spec": {"domain": {
        "devices": {"interfaces": [{"name": "default", "masquerade": {}, "macAddress": "02:00"}]},
        "machine": {"type": "q35"},
    }}}}}
    assert is_subset(desired, live)


def test_is_subset_detects_changed_scalar_and_list_length():
    assert not is_subset({"a": "2Gi"}, {"a": "4Gi"})
    assert not is_subset({"l": [{"name": "a"}]}, {"l": [{"name": "a"}, {"name": "b"}]})
    assert not is_subset({"a": {"b": 1}}, {"a": None})
    assert not is_subset({"missing": 1}, {})


def test_is_subset_does_not_equate_bools_and_ints():
    assert not is_subset({"a": True}, {"a": 1})
    assert is_subset({"a": 1}, {"a": 1.0})


def test_released_fields_reports_owned_but_dropped_paths():
    owned = {"f:metadata": {"f:labels": {"f:app": {}, "f:tier": {}}}, "f:spec": {"f:runStrategy": {}}}
    desired = {"metadata": {"labels": {"app": "web"}}, "spec": {"runStrategy": "Always"}}
    assert released_fields(owned, desired) == ["metadata.labels.tier"]


def test_released_fields_keyed_and_set_items():
    owned = {"f:items": {'k:{"name":"a"}': {".": {}, "f:value": {}}, 'k:{"name":"b"}': {}}, "f:tags": {'v:"x"': {}}}
    desired = {"items": [{"name": "a", "value": 1}], "tags": ["y"]}
    assert released_fields(owned, desired) == ['items[{"name":"b"}]', 'tags["x"]']


def test_managed_fields_of_picks_our_apply_entry():
    obj = {"metadata": {"managedFields": [
        {"manager": "virt-controller", "operation": "Update", "fieldsV1": {"f:status": {}}},
        {"manager": "virt.kubevirt", "operation": "Apply", "fieldsV1": {"f:spec": {}}},
    ]}}
    assert managed_fields_of(obj, "virt.kubevirt") == {"f:spec": {}}
    assert managed_fields_of(obj, "other") == {}


def test_needs_apply():
    desired = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "vm"}, "spec": {"runStrategy": "Always"}}
    live = {"metadata": {"name": "vm", "managedFields": [
        {"manager": "virt.kubevirt", "operation": "Apply", "fieldsV1": {"f:spec": {"f:runStrategy": {}}}}
    ]}, "spec": {"runStrategy": "Always", "template": {}}}
    assert needs_apply(desired, None, "virt.kubevirt")
    assert not needs_apply(desired, live, "virt.kubevirt")
    assert needs_apply(dict(desired, spec={"runStrategy": "Halted"}), live, "virt.kubevirt")
    live["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:template"] = {}
    assert needs_apply(desired, live, "virt.kubevirt")


# -- partial requests ----------------------------------------------------------------------
DEVICES = ("spec", "template", "spec", "domain", "devices")
VOLUMES = ("spec", "template", "spec", "volumes")


def _vm(spec, labels=None, fields=None, manager="virt.kubevirt", operation="Apply"):
    metadata = {"name": "vm", "namespace": "ns"}
    if labels is not None:
        metadata["labels"] = labels
    if fields is not None:
        metadata["managedFields"] = [{"manager": manager, "operation": operation, "fieldsV1": fields}]
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": metadata, "spec": spec}


def _tspec(memory="1Gi", disks=("root", "cloudinitdisk")):
    return {"template": {
        "metadata": {"labels": {"kubevirt.io/domain": "vm"}},
        "spec": {
            "domain": {"memory": {"guest": memory}, "devices": {"disks": [{"name": n, "disk": {"bus": "virtio"}} for n in disks]}},
            "volumes": [{"name": n, "containerDisk": {"image": "img-" + n}} for n in disks],
        },
    }}


# What the API server records for an apply of _vm(dict(runStrategy=..., **_tspec()), labels=...):
# leaves and map entries, atomic lists as one field, template metadata (unknown fields) with ".".
OWNED = {
    "f:metadata": {"f:labels": {"f:app": {}, "f:tier": {}}},
    "f:spec": {
        "f:runStrategy": {},
        "f:template": {
            "f:metadata": {"f:labels": {".": {}, "f:kubevirt.io/domain": {}}},
            "f:spec": {"f:domain": {"f:memory": {"f:guest": {}}, "f:devices": {"f:disks": {}}}, "f:volumes": {}},
        },
    },
}


def _live(**extra):
    spec = dict(runStrategy="Always", **_tspec())
    spec.update(extra)
    return _vm(spec, labels={"app": "web", "tier": "db", "other": "theirs"}, fields=OWNED)


def test_leaf_paths_address_named_items_by_name():
    raw = {"runStrategy": "Always", "template": {"spec": {
        "domain": {"firmware": {"bootloader": {"bios": {}}}},
        "volumes": [{"name": "root", "containerDisk": {"image": "x"}}, {"name": "scratch"}],
        "tolerations": [{"key": "a"}],
        "nodeSelector": None,
    }}}
    assert leaf_paths(raw, ("spec",)) == [
        ("spec", "runStrategy"),
        ("spec", "template", "spec", "domain", "firmware", "bootloader", "bios"),
        ("spec", "template", "spec", "volumes", "root", "containerDisk", "image"),
        ("spec", "template", "spec", "volumes", "scratch"),
        ("spec", "template", "spec", "tolerations"),
        ("spec", "template", "spec", "nodeSelector"),
    ]
    assert leaf_paths({}, ("spec",)) == [("spec",)]


def test_without_nulls_drops_null_entries_at_any_depth():
    assert without_nulls({"a": None, "b": {"c": None, "d": 1}, "l": [{"e": None, "name": "x"}]}) == {"b": {"d": 1}, "l": [{"name": "x"}]}


def test_declared_covers_patterns_wildcards_and_kept_exceptions():
    declared = Declared(paths=(DEVICES + ("disks", ANY), ("metadata", "labels")), kept=(DEVICES + ("disks", "cloudinitdisk"),))
    assert declared.covers(DEVICES + ("disks", "root"))
    assert declared.covers(DEVICES + ("disks", "root", "disk", "bus"))
    assert not declared.covers(DEVICES + ("disks", "cloudinitdisk"))
    assert not declared.covers(DEVICES + ("disks",))
    assert declared.covers(("metadata", "labels", "app"))
    assert not declared.covers(("metadata", "annotations"))
    assert declared.reaches_below(DEVICES + ("disks",))
    assert not declared.reaches_below(DEVICES + ("disks", "root"))
    assert not Declared().covers(("spec",))


def test_carry_forward_keeps_everything_a_partial_request_does_not_declare():
    live = _live()
    desired = _vm({"runStrategy": "Halted", "template": {"metadata": {"labels": {"kubevirt.io/domain": "vm"}}, "spec": {"domain": {"devices": {}}}}})
    before = copy.deepcopy(desired)
    applied = carry_forward(live, "virt.kubevirt", desired, Declared(paths=(("spec", "runStrategy"),)))
    assert desired == before, "inputs are not modified"
    assert applied["spec"]["runStrategy"] == "Halted"
    assert applied["spec"]["template"] == _tspec()["template"]
    # Our labels only: the one another manager set is theirs to keep, not ours to send.
    assert applied["metadata"] == {"name": "vm", "namespace": "ns", "labels": {"app": "web", "tier": "db"}}
    assert released_fields(OWNED, applied) == []
    assert needs_apply(applied, live, "virt.kubevirt")
    rerun = carry_forward(dict(live, spec=dict(live["spec"], runStrategy="Halted")), "virt.kubevirt", desired,
                          Declared(paths=(("spec", "runStrategy"),)))
    assert not needs_apply(rerun, dict(live, spec=dict(live["spec"], runStrategy="Halted")), "virt.kubevirt")


def test_carry_forward_declared_map_is_exact_for_our_keys():
    desired = _vm({}, labels={"app": "web", "new": "1"})
    applied = carry_forward(_live(), "virt.kubevirt", desired, Declared(paths=(("metadata", "labels"),)))
    assert applied["metadata"]["labels"] == {"app": "web", "new": "1"}
    assert released_fields(OWNED, applied) == ["metadata.labels.tier"]
    assert applied["spec"]["runStrategy"] == "Always"


def test_carry_forward_ignores_other_managers_and_update_entries():
    live = _live()
    live["metadata"]["managedFields"][0]["manager"] = "kubectl"
    assert carry_forward(live, "virt.kubevirt", _vm({}), Declared()) == _vm({})
    live = _vm(dict(runStrategy="Always"), fields={"f:spec": {"f:runStrategy": {}}}, operation="Update")
    assert carry_forward(live, "virt.kubevirt", _vm({}), Declared()) == _vm({})
    assert carry_forward(None, "virt.kubevirt", _vm({"a": 1}), Declared()) == _vm({"a": 1})


def test_carry_forward_atomic_list_is_copied_whole_when_undeclared():
    applied = carry_forward(_live(), "virt.kubevirt", _vm({}), Declared())
    assert applied["spec"]["template"]["spec"]["volumes"] == _tspec()["template"]["spec"]["volumes"]


def test_carry_forward_named_list_declared_in_part_keeps_the_other_items_in_place():
    # A request that declares only the cloud-init disk keeps the root disk before it.
    desired = _vm({"template": {"spec": {"domain": {"devices": {"disks": [{"name": "cloudinitdisk", "disk": {"bus": "sata"}}]}}}}})
    declared = Declared(paths=(DEVICES + ("disks", "cloudinitdisk"),))
    disks = carry_forward(_live(), "virt.kubevirt", desired, declared)["spec"]["template"]["spec"]["domain"]["devices"]["disks"]
    assert disks == [{"name": "root", "disk": {"bus": "virtio"}}, {"name": "cloudinitdisk", "disk": {"bus": "sata"}}]


def test_carry_forward_declared_items_replace_but_kept_exceptions_stay():
    # Every disk declared but the cloud-init one: "data" is new, "root" changes, cloudinitdisk stays last.
    desired = _vm({"template": {"spec": {"domain": {"devices": {"disks": [
        {"name": "root", "disk": {"bus": "sata"}}, {"name": "data", "disk": {}},
    ]}}}}})
    declared = Declared(paths=(DEVICES + ("disks", ANY),), kept=(DEVICES + ("disks", "cloudinitdisk"),))
    disks = carry_forward(_live(), "virt.kubevirt", desired, declared)["spec"]["template"]["spec"]["domain"]["devices"]["disks"]
    assert [d["name"] for d in disks] == ["root", "data", "cloudinitdisk"]
    assert disks[0] == {"name": "root", "disk": {"bus": "sata"}}
    # Dropping a declared item removes it.
    desired["spec"]["template"]["spec"]["domain"]["devices"]["disks"] = []
    disks = carry_forward(_live(), "virt.kubevirt", desired, declared)["spec"]["template"]["spec"]["domain"]["devices"]["disks"]
    assert disks == [{"name": "cloudinitdisk", "disk": {"bus": "virtio"}}]


def test_carry_forward_live_items_win_over_undeclared_fill_ins():
    # The request fills in a default cloud-init volume; the VM's own one is kept instead.
    desired = _vm({"template": {"spec": {"volumes": [{"name": "cloudinitdisk", "cloudInitNoCloud": {"userData": "#cloud-config\n"}}]}}})
    volumes = carry_forward(_live(), "virt.kubevirt", desired, Declared())["spec"]["template"]["spec"]["volumes"]
    assert volumes == _tspec()["template"]["spec"]["volumes"]


def test_carry_forward_merges_named_lists_we_do_not_own():
    # Applying an atomic list replaces all of it, so undeclared items stay whoever set them.
    live = _live()
    live["metadata"]["managedFields"][0]["fieldsV1"] = {"f:spec": {"f:runStrategy": {}}}
    desired = _vm({"template": {"spec": {"volumes": [{"name": "cloudinitdisk", "cloudInitNoCloud": {"userData": "x"}}]}}})
    declared = Declared(paths=(VOLUMES + ("cloudinitdisk",),))
    volumes = carry_forward(live, "virt.kubevirt", desired, declared)["spec"]["template"]["spec"]["volumes"]
    assert volumes == [{"name": "root", "containerDisk": {"image": "img-root"}}, {"name": "cloudinitdisk", "cloudInitNoCloud": {"userData": "x"}}]


def test_carry_forward_item_declared_in_part_is_merged_over_the_live_item():
    desired = _vm({"template": {"spec": {"volumes": [{"name": "root", "containerDisk": {"imagePullPolicy": "Always"}}]}}})
    declared = Declared(paths=(VOLUMES + ("root", "containerDisk", "imagePullPolicy"),))
    volumes = carry_forward(_live(), "virt.kubevirt", desired, declared)["spec"]["template"]["spec"]["volumes"]
    assert volumes[0] == {"name": "root", "containerDisk": {"image": "img-root", "imagePullPolicy": "Always"}}
    assert [v["name"] for v in volumes] == ["root", "cloudinitdisk"]


def test_carry_forward_keyed_and_set_items_item_by_item():
    live = _vm({"claims": [{"name": "a", "size": 1}, {"name": "b", "size": 2}], "tags": ["x", "y"]}, fields={"f:spec": {
        "f:claims": {'k:{"name":"a"}': {".": {}, "f:name": {}, "f:size": {}}, 'k:{"name":"b"}': {".": {}, "f:name": {}, "f:size": {}}},
        "f:tags": {'v:"x"': {}},
    }})
    desired = _vm({"claims": [{"name": "b", "size": 3}]})
    applied = carry_forward(live, "virt.kubevirt", desired, Declared(paths=(("spec", "claims", "b"),)))
    assert applied["spec"] == {"claims": [{"name": "a", "size": 1}, {"name": "b", "size": 3}], "tags": ["x"]}
    applied = carry_forward(live, "virt.kubevirt", desired, Declared(paths=(("spec", "claims"), ("spec", "tags"))))
    assert applied["spec"] == {"claims": [{"name": "b", "size": 3}]}


def test_carry_forward_atomic_map_is_what_the_request_builds():
    live = _vm({"sel": {"matchLabels": {"a": "1"}}}, fields={"f:spec": {"f:sel": {}}})
    assert carry_forward(live, "virt.kubevirt", _vm({}), Declared())["spec"] == {"sel": {"matchLabels": {"a": "1"}}}
    desired = _vm({"sel": {"matchLabels": {"b": "2"}}})
    declared = Declared(paths=(("spec", "sel", "matchLabels", "b"),))
    assert carry_forward(live, "virt.kubevirt", desired, declared)["spec"] == {"sel": {"matchLabels": {"b": "2"}}}
