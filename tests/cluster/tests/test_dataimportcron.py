"""DataImportCrons: import at once, managed DataSource, new digests, garbage collection; DataSources."""
from __future__ import annotations

from tests.cluster.tests.harness import DS, DV, PVC
from tests.cluster.tests.storage_env import condition

DIC = ("cdi.kubevirt.io", "dataimportcrons")
URL = "docker://quay.io/containerdisks/fedora:41"


def cron(env, keep=None, gc=None) -> None:
    spec = {"schedule": "0 */12 * * *", "managedDataSource": "fedora",
            "template": {"spec": {"source": {"registry": {"url": URL}},
                                  "storage": {"resources": {"requests": {"storage": "5Gi"}}}}}}
    if keep is not None:
        spec["importsToKeep"] = keep
    if gc is not None:
        spec["garbageCollect"] = gc
    env.create(DIC, {"metadata": {"name": "fedora-cron", "namespace": "demo"}, "spec": spec})


def up_to_date(env) -> dict:
    return env.wait(lambda: condition(env.get(DIC, "demo", "fedora-cron"), "UpToDate").get("status") == "True"
                    and env.get(DIC, "demo", "fedora-cron"), what="cron up to date", timeout=10)


def publish(env, revision: str) -> None:
    """A new image upstream: the simulated digest changes and is polled at once."""
    def bump(o: dict) -> None:
        o["metadata"].setdefault("annotations", {})["sim.virt.kubevirt.io/image-revision"] = revision
    env.service.mutate(DIC, "demo", "fedora-cron", bump)


def test_cron_imports_at_once_and_points_the_managed_data_source_at_it(env):
    cron(env)
    first = env.wait(lambda: (env.get(DIC, "demo", "fedora-cron").get("status") or {}).get("currentImports"))
    name = first[0]["DataVolumeName"]
    digest = first[0]["Digest"]
    assert name == f"fedora-{digest[len('sha256:'):][:12]}"
    dv = env.get(DV, "demo", name)
    assert dv["metadata"]["labels"]["cdi.kubevirt.io/dataImportCron"] == "fedora-cron"
    assert dv["spec"]["source"]["registry"]["url"] == f"docker://quay.io/containerdisks/fedora@{digest}"
    progressing = env.wait(lambda: condition(env.get(DIC, "demo", "fedora-cron"), "Progressing").get("reason")
                           in ("ImportProgressing", "ImportScheduled") and env.get(DIC, "demo", "fedora-cron"))
    assert condition(progressing, "UpToDate")["status"] == "False"
    done = up_to_date(env)
    status = done["status"]
    assert status["lastImportedPVC"] == {"namespace": "demo", "name": name} and status["lastImportTimestamp"]
    assert status["lastExecutionTimestamp"]
    assert done["metadata"]["annotations"]["cdi.kubevirt.io/storage.import.sourceDesiredDigest"] == digest
    up = condition(done, "UpToDate")
    assert (up["reason"], up["message"]) == ("UpToDate", "Latest import is up to date")
    prog = condition(done, "Progressing")
    assert (prog["status"], prog["reason"], prog["message"]) == ("False", "NoImport", "No current import")
    ds = env.get(DS, "demo", "fedora")
    assert ds["spec"]["source"] == {"pvc": {"namespace": "demo", "name": name}}
    assert ds["metadata"]["labels"]["cdi.kubevirt.io/dataImportCron"] == "fedora-cron"
    env.wait(lambda: condition(env.get(DS, "demo", "fedora"), "Ready").get("status") == "True")


def test_new_digests_import_again_and_old_imports_are_collected(env):
    cron(env, keep=2)
    names = [up_to_date(env)["status"]["lastImportedPVC"]["name"]]
    for revision in ("1", "2"):
        publish(env, revision)
        env.wait(lambda: up_to_date(env)["status"]["lastImportedPVC"]["name"] not in names, timeout=10,
                 what=f"revision {revision} imported")
        names.append(env.get(DIC, "demo", "fedora-cron")["status"]["lastImportedPVC"]["name"])
    assert len(set(names)) == 3
    env.wait(lambda: env.get(PVC, "demo", names[0]) is None and env.get(DV, "demo", names[0]) is None,
             what="oldest import collected")
    assert env.get(PVC, "demo", names[1]) is not None and env.get(PVC, "demo", names[2]) is not None
    assert env.get(DS, "demo", "fedora")["spec"]["source"]["pvc"]["name"] == names[2]


def test_garbage_collect_never_keeps_every_import(env):
    cron(env, keep=1, gc="Never")
    first = up_to_date(env)["status"]["lastImportedPVC"]["name"]
    publish(env, "1")
    env.wait(lambda: up_to_date(env)["status"]["lastImportedPVC"]["name"] != first, timeout=10)
    assert env.get(PVC, "demo", first) is not None


def test_webhook_refuses_bad_specs_and_any_spec_change(env):
    from tests.cluster.api import errors
    good = {"schedule": "0 */12 * * *", "managedDataSource": "fedora",
            "template": {"spec": {"source": {"registry": {"url": URL}},
                                  "storage": {"resources": {"requests": {"storage": "5Gi"}}}}}}
    bad = {"schedule": ("61 * * * *", "Illegal cron schedule"), "importsToKeep": (-1, "Illegal ImportsToKeep value"),
           "garbageCollect": ("Sometimes", "Illegal GarbageCollect value"),
           "managedDataSource": ("", "Illegal ManagedDataSource value")}
    for field, (value, message) in bad.items():
        try:
            env.create(DIC, {"metadata": {"name": "bad", "namespace": "demo"}, "spec": dict(good, **{field: value})})
        except errors.ApiError as exc:
            assert exc.message == ('admission webhook "dataimportcron-validate.cdi.kubevirt.io" denied the request: '
                                   " %s" % message), exc.message
        else:
            raise AssertionError(field)
    created = env.create(DIC, {"metadata": {"name": "fedora-cron", "namespace": "demo"}, "spec": good})
    changed = dict(created, spec=dict(good, schedule="0 1 * * *"))
    try:
        env.admitted_update(DIC, changed, created)
    except errors.ApiError as exc:
        assert "Cannot update DataImportCron Spec" in exc.message
    else:
        raise AssertionError("spec change admitted")


def test_retention_none_removes_what_the_cron_made_with_it(env):
    spec = {"managedDataSource": "gone", "retentionPolicy": "None",
            "template": {"spec": {"source": {"registry": {"url": URL}},
                                  "storage": {"resources": {"requests": {"storage": "1Gi"}}}}}}
    env.create(DIC, {"metadata": {"name": "gone-cron", "namespace": "demo"}, "spec": spec})
    done = env.wait(lambda: condition(env.get(DIC, "demo", "gone-cron"), "UpToDate").get("status") == "True"
                    and env.get(DIC, "demo", "gone-cron"), timeout=10)
    made = done["status"]["lastImportedPVC"]["name"]
    assert env.get(DV, "demo", made)["metadata"]["labels"]["cdi.kubevirt.io/dataImportCron.cleanup"] == "true"
    cron(env)  # RetainAll (the default): kept when its cron goes
    kept = up_to_date(env)["status"]["lastImportedPVC"]["name"]
    env.service.delete(DIC, "demo", "gone-cron")
    env.service.delete(DIC, "demo", "fedora-cron")
    env.wait(lambda: env.get(DV, "demo", made) is None and env.get(PVC, "demo", made) is None
             and env.get(DS, "demo", "gone") is None, what="cleanup")
    assert env.get(PVC, "demo", kept) is not None and env.get(DS, "demo", "fedora") is not None


def test_cron_kubevirt_labels_reach_the_data_source_and_imports(env):
    spec = {"managedDataSource": "rhel", "template": {"spec": {"source": {"registry": {"url": URL}},
                                                               "storage": {"resources": {"requests": {"storage": "1Gi"}}}}}}
    env.create(DIC, {"metadata": {"name": "rhel-cron", "namespace": "demo",
                                  "labels": {"instancetype.kubevirt.io/default-preference": "rhel.9", "team": "x"}},
                     "spec": spec})
    ds = env.wait(lambda: env.get(DS, "demo", "rhel"))
    assert ds["metadata"]["labels"]["instancetype.kubevirt.io/default-preference"] == "rhel.9"
    assert "team" not in ds["metadata"]["labels"]
