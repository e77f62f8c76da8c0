# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

from kubernetes.client.exceptions import ApiException

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import (
    KubeApiError,
    from_api_exception,
    parse_retry_after,
)


def _status(code, reason, message, causes=None):
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": message}
    if causes is not None:
        body["details"] = {"name": "vm1", "kind": "virtualmachines", "causes": causes}
    return json.dumps(body).encode()


def test_from_response_reads_status_fields():
    err = KubeApiError.from_response(404, _status(404, "NotFound", 'virtualmachines.kubevirt.io "vm1" not found'))
    assert err.status == 404
    assert err.reason == "NotFound"
    assert err.message == 'virtualmachines.kubevirt.io "vm1" not found'
    assert str(err) == '404 NotFound: virtualmachines.kubevirt.io "vm1" not found'


def test_422_names_the_offending_field_from_causes():
    body = _status(
        422, "Invalid", 'VirtualMachine.kubevirt.io "vm1" is invalid',
        causes=[{"reason": "FieldValueInvalid", "message": "Invalid value: \"2GB\"", "field": "spec.template.spec.domain.memory.guest"}],
    )
    err = KubeApiError.from_response(422, body)
    assert err.causes == [
        {"field": "spec.template.spec.domain.memory.guest", "message": 'Invalid value: "2GB"', "reason": "FieldValueInvalid"}
    ]
    assert "spec.template.spec.domain.memory.guest: Invalid value" in str(err)


def test_cause_field_already_in_message_is_not_repeated():
    message = 'strict decoding error: unknown field "spec.template.spec.bogus"'
    body = _status(400, "BadRequest", message, causes=[{"reason": "FieldValueInvalid", "message": "unknown field", "field": "spec.template.spec.bogus"}])
    assert str(KubeApiError.from_response(400, body)) == "400 BadRequest: " + message


def test_cause_repeating_the_message_only_adds_the_field():
    message = 'admission webhook denied the request: Failure to find instancetype: "nope" not found'
    body = _status(422, "Invalid", message, causes=[{"field": "spec.instancetype", "message": 'Failure to find instancetype: "nope" not found'}])
    assert str(KubeApiError.from_response(422, body)) == "422 Invalid: %s (field spec.instancetype)" % message


def test_non_json_body_keeps_the_text():
    err = KubeApiError.from_response(502, b"Bad Gateway from proxy\n", http_reason="Bad Gateway")
    assert err.message == "Bad Gateway from proxy"
    assert err.reason == "Bad Gateway"


def test_empty_body_falls_back_to_http_reason():
    err = KubeApiError.from_response(503, b"", http_reason="Service Unavailable")
    assert err.message == "Service Unavailable"


def test_401_message_carries_a_credentials_hint():
    err = KubeApiError.from_response(401, _status(401, "Unauthorized", "Unauthorized"))
    assert "check api_key, kubeconfig and context" in str(err)


def test_apply_schema_error_gets_an_unknown_field_hint():
    message = "failed to create typed patch object (ns/vm1; kubevirt.io/v1, Kind=VirtualMachine): .spec.template.spec.bogus: field not declared in schema"
    err = KubeApiError.from_response(500, _status(500, "InternalError", message))
    assert err.is_schema_error
    assert str(err).endswith(".spec.template.spec.bogus: field not declared in schema (unknown or misspelled field: it is not part of the resource's schema)")


def test_timeout_and_input_errors_have_no_status_prefix():
    assert str(KubeApiError("Timed out", reason="Timeout")) == "Timed out"


def test_context_prefixes_the_message_once():
    err = KubeApiError("boom", status=500, reason="InternalError")
    err.with_context("Failed to get VirtualMachine ns/vm1").with_context("ignored")
    assert str(err) == "Failed to get VirtualMachine ns/vm1: 500 InternalError: boom"


def test_message_is_one_line():
    assert "\n" not in str(KubeApiError("line one\nline two", status=400))


def test_to_result_for_fail_json():
    err = KubeApiError.from_response(403, _status(403, "Forbidden", "forbidden"))
    assert err.to_result() == {"msg": "403 Forbidden: forbidden", "status": 403, "reason": "Forbidden"}


def test_from_api_exception_with_headers_and_retry_after():
    exc = ApiException(status=429, reason="Too Many Requests")
    exc.body = _status(429, "TooManyRequests", "slow down").decode()
    exc.headers = {"Retry-After": "3"}
    err = from_api_exception(exc)
    assert (err.status, err.reason, err.retry_after) == (429, "TooManyRequests", 3.0)


def test_parse_retry_after_variants():
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert parse_retry_after({"Retry-After": "-1"}) is None
    assert parse_retry_after(None) is None


def test_give_up_message_names_the_request_and_the_tries():
    err = KubeApiError("unavailable", status=503, reason="ServiceUnavailable")
    err.attempts = 3
    err.with_context("Restart of VirtualMachine ns/vm1 failed", "PUT /apis/x/restart")
    assert str(err) == (
        "Restart of VirtualMachine ns/vm1 failed: 503 ServiceUnavailable: unavailable after 3 tries (request: PUT /apis/x/restart)"
    )
    assert err.to_result()["attempts"] == 3


def test_refusals_keep_their_message_alone():
    err = KubeApiError("Halted does not support manual restart requests", status=409, reason="Conflict")
    assert err.refused
    err.with_context("Restart of VirtualMachine ns/vm1 refused", "PUT /apis/x/restart")
    assert str(err) == "Restart of VirtualMachine ns/vm1 refused: 409 Conflict: Halted does not support manual restart requests"
