# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.vm_info input mistakes: one line naming the option, and not a single request."""

from __future__ import annotations

import pytest

# (id, options, fragment of the message; it starts with the option's path)
CASES = [
    ("namespace-empty", {"namespace": ""}, "namespace: must not be empty; omit it to read every namespace"),
    ("namespace-blank", {"namespace": "  "}, "namespace: must not be empty; omit it to read every namespace"),
    ("namespace-slash", {"namespace": "a/b"}, "namespace: must be lowercase letters"),
    ("namespace-uppercase", {"namespace": "Prod"}, "namespace: must be lowercase letters"),
    ("namespaces-item", {"namespaces": ["ok", "not ok"]}, "namespaces[1]: must be lowercase letters"),
    ("name-dotdot", {"name": "..", "namespace": "default"}, "name: must be an object name, not a path"),
    ("name-slash", {"name": "a/b"}, "name: must be an object name, not a path"),
    ("name-254", {"name": "x" * 254}, "name: must be at most 253 characters"),
    ("label-selector-unbalanced", {"label_selectors": ["tier in (db,cache"]},
     "label_selectors[0]: 'tier in (db,cache' is not a valid label selector: expected a value, ',' or ')' in the values of tier, found the end"),
    ("label-selector-stray-comma", {"label_selectors": ["app=web,,tier=db"]},
     "label_selectors[0]: 'app=web,,tier=db' is not a valid label selector: expected a label key, found ',' at position 9"),
    ("label-selector-garbage", {"label_selectors": ["app = = web"]},
     "label_selectors[0]: 'app = = web' is not a valid label selector: expected a value after app="),
    ("label-selector-bad-key", {"label_selectors": ["-app=web"]},
     "label_selectors[0]: '-app=web' is not a valid label selector: label key '-app' is not valid"),
    ("label-selector-bad-value", {"label_selectors": ["app=web!"]},
     "label_selectors[0]: 'app=web!' is not a valid label selector: expected ',' or the end after a requirement, found '!' at position 8"),
    ("label-selector-empty-set", {"label_selectors": ["tier in ()"]},
     "label_selectors[0]: 'tier in ()' is not a valid label selector: tier in () has no values"),
    ("label-selector-gt-word", {"label_selectors": ["gen>new"]},
     "label_selectors[0]: 'gen>new' is not a valid label selector: gen> needs an integer, got 'new'"),
    ("label-selector-empty", {"label_selectors": [""]}, "label_selectors[0]: must not be empty"),
    ("field-selector-no-operator", {"field_selectors": ["metadata.name"]}, "field_selectors[0]: 'metadata.name' is not a field selector requirement"),
    ("wait-timeout-negative", {"wait_timeout": -1}, "wait_timeout must be zero or more seconds, got -1"),
    ("wait-condition-string", {"wait_condition": "Ready"}, "wait_condition must be a dictionary with reason, status, type"),
    ("wait-condition-type-blank", {"wait_condition": {"type": " "}}, "wait_condition.type: must not be empty"),
    ("query-empty", {"query": ""}, "query: must not be empty"),
    ("namespace-and-namespaces", {"namespace": "a", "namespaces": ["b"]}, "parameters are mutually exclusive: namespace|namespaces"),
    ("api-key-newline", {"api_key": "abc\ndef"}, "api_key must be one line of printable characters"),
    ("proxy-not-a-url", {"proxy": "proxy.example.com:3128"}, "proxy must be a URL"),
]


@pytest.mark.parametrize("args, fragment", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_fails_before_any_request(runner, args, fragment):
    run = runner.run("vm_info", args)
    assert run.failed, run
    assert fragment in run.msg, run.msg
    assert fragment.split(":")[0].split(" must")[0] in run.msg
    assert "Traceback" not in run.output and "MODULE FAILURE" not in run.output, run.output
    assert run.requests == [], run


def test_valid_selectors_are_sent(runner, namespace):
    run = runner.run("vm_info", {
        "namespace": namespace,
        "label_selectors": ["app in (web, db),!legacy", "example.com/tier!=cache", "gen>1", "env"],
        "field_selectors": ["metadata.name!=other"],
    })
    assert not run.failed, run
    assert run.result["resources"] == []
    assert [r["verb"] for r in run.requests] == ["list"], run


# Connection mistakes (checked in _auth.py / _kubeconfig.py) through the vm module as well.
def test_connection_mistakes_name_the_option(runner, namespace, tmp_path):
    not_yaml = tmp_path / "not-yaml"
    not_yaml.write_text("apiVersion: v1\nclusters: [\n")
    a_list = tmp_path / "a-list"
    a_list.write_text("- one\n- two\n")
    vm = {"name": "vm1", "namespace": namespace, "run_strategy": "Halted"}
    rows = [
        ({"kubeconfig": str(not_yaml)}, "is not a YAML kubeconfig"),
        ({"kubeconfig": str(a_list)}, "kubeconfig"),
        ({"kubeconfig": [1, 2]}, "kubeconfig must be the path of a kubeconfig file or the kubeconfig content"),
        ({"kubeconfig": str(tmp_path / "missing")}, "kubeconfig"),
        ({"api_key": "abc\ndef"}, "api_key must be one line of printable characters"),
        ({"proxy": "proxy.example.com:3128"}, "proxy must be a URL"),
        ({"ca_cert": str(tmp_path / "missing-ca.pem")}, "ca_cert must be an existing file"),
        ({"client_cert": str(tmp_path / "missing-cert.pem")}, "client_cert must be an existing file"),
    ]
    for extra, fragment in rows:
        run = runner.run("vm", dict(vm, **extra))
        assert run.failed, (extra, run)
        assert fragment in run.msg and "cannot reach the API server" not in run.msg, (extra, run.msg)
        assert run.requests == [], (extra, run)
