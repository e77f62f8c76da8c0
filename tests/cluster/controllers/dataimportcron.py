"""CDI's DataImportCron controller (cdi.kubevirt.io/v1beta1), pvc source format.

What dataimportcron-controller.go's ``update`` does, one reconcile at a time:

- poll the source digest (the poller pod's image digest in CDI). No registry is reachable here, so
  the digest is ``sha256(url + "\\n" + revision)`` where the revision is the cron's annotation
  ``sim.virt.kubevirt.io/image-revision`` (default ``"0"``): a test "publishes a new image" by
  changing it, and the change is polled at once (as CDI polls at once on creation). The digest goes
  to ``cdi.kubevirt.io/storage.import.sourceDesiredDigest``, the poll time to
  ``storage.import.lastCronTime`` / ``status.lastExecutionTimestamp``; ``spec.schedule`` is kept
  but not evaluated;
- a new digest: condition UpToDate False Outdated, and an import DataVolume named like
  ``createDvName``: ``<managedDataSource>-<12 hex digits of the digest>`` (template spec, registry
  URL pinned ``@sha256:...``, label ``cdi.kubevirt.io/dataImportCron``), ``status.currentImports``;
- while it imports: Progressing True ImportProgressing / False ImportScheduled / the DV phase,
  UpToDate False ImportProgressing; once it succeeded: ``cdi.kubevirt.io/lastUseTime`` on its PVC,
  ``status.lastImportedPVC``, ``lastImportTimestamp``, Progressing False NoImport, UpToDate True,
  the managed DataSource (created with the cron label) pointing at it, and garbage collection of
  the cron's older PVCs (and DataVolumes) beyond ``importsToKeep`` (default 3) unless
  ``garbageCollect: Never``.
"""
from __future__ import annotations

import copy
import hashlib
import re
from datetime import datetime, timezone
from typing import Iterable, Optional

from ..api import errors
from ..api.objects import now_rfc3339
from ..api.resources import GR, AdmissionRequest
from ..api.store import Event
from . import dataimportcron_admission as admission
from .cdi import update_condition
from .cdi_render import reject
from .keys import DATASOURCE, DV, PVC
from .runtime import Controller, ObjKey, Runtime

DATAIMPORTCRON: GR = ("cdi.kubevirt.io", "dataimportcrons")
A = "cdi.kubevirt.io/"
LABEL_CRON = A + "dataImportCron"
LABEL_CLEANUP = LABEL_CRON + ".cleanup"  # retentionPolicy None: removed with the cron
ANN_DIGEST = A + "storage.import.sourceDesiredDigest"
ANN_LAST_CRON = A + "storage.import.lastCronTime"
ANN_NEXT_CRON = A + "storage.import.nextCronTime"
ANN_LAST_USE = A + "lastUseTime"
ANN_REVISION = "sim.virt.kubevirt.io/image-revision"
DEFAULT_IMPORTS_TO_KEEP = 3


def source_url(template: dict) -> str:
    source = ((template.get("spec") or {}).get("source") or {})
    for kind in ("registry", "http"):
        if kind in source:
            return (source[kind] or {}).get("url") or (source[kind] or {}).get("imageStream") or ""
    return ""


def dv_name(prefix: str, digest: str) -> str:
    return f"{prefix}-{digest.split(':', 1)[-1][:12]}"


_ALLOWED_LABEL = re.compile(r"^([\w.]+\.kubevirt.io|kubevirt.io)/[\w.-]+$")  # CopyAllowedLabels


def resource_labels(cron: dict) -> dict:
    """setDataImportCronResourceLabels: the cron's kubevirt.io labels (default instancetype and
    preference...), the cron label, and the cleanup label when nothing is retained."""
    meta = cron["metadata"]
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if _ALLOWED_LABEL.match(k)}
    labels[LABEL_CRON] = meta["name"]
    if (cron.get("spec") or {}).get("retentionPolicy") == "None":
        labels[LABEL_CLEANUP] = "true"
    return labels


class DataImportCronController(Controller):
    name = "dataimportcron"
    watches = (DATAIMPORTCRON, DV)

    def setup(self, rt: Runtime) -> None:
        self.rt = rt
        rt.registry.add_validating(DATAIMPORTCRON, self._admit)

    @staticmethod
    def _admit(request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if new is None or request.subresource or request.operation not in ("CREATE", "UPDATE"):
            return
        if request.operation == "UPDATE" and new["metadata"].get("deletionTimestamp"):
            return
        causes = admission.validate(new, old if request.operation == "UPDATE" else None)
        if causes:
            raise reject(causes, admission.WEBHOOK)

    def keys_for(self, event: Event) -> Iterable[ObjKey]:
        meta = event.obj["metadata"]
        if event.gr == DATAIMPORTCRON:
            yield (DATAIMPORTCRON, meta["namespace"], meta["name"])
        elif event.gr == DV and (meta.get("labels") or {}).get(LABEL_CRON):
            yield (DATAIMPORTCRON, meta["namespace"], meta["labels"][LABEL_CRON])

    def reconcile(self, rt: Runtime, gr: GR, namespace: str, name: str) -> None:
        cron = rt.store.get(DATAIMPORTCRON, namespace, name)
        if cron is None or cron["metadata"].get("deletionTimestamp"):
            self._cleanup(rt, namespace, name)
            return
        spec = cron.get("spec") or {}
        anns = dict(cron["metadata"].get("annotations") or {})
        status = copy.deepcopy(cron.get("status") or {})
        imports = list(status.get("currentImports") or [])
        succeeded = False
        dv = rt.store.get(DV, namespace, imports[0]["DataVolumeName"]) if imports else None
        conds = status.get("conditions") or []
        if dv is not None:
            phase = (dv.get("status") or {}).get("phase", "")
            if phase == "Succeeded":
                succeeded = True
                self._mark_used(rt, namespace, dv["metadata"]["name"])
            elif phase == "ImportScheduled":
                conds = update_condition(conds, "Progressing", "False", "Import is scheduled", "ImportScheduled")
            elif phase == "ImportInProgress":
                conds = update_condition(conds, "Progressing", "True", "Import is progressing", "ImportProgressing")
            else:
                conds = update_condition(conds, "Progressing", "False", f"Import DataVolume phase {phase}", phase)
        elif imports:
            imports = imports[1:]
            conds = update_condition(conds, "Progressing", "False", "No current import", "NoImport")
        else:
            conds = update_condition(conds, "Progressing", "False", "No current import", "NoImport")
        if succeeded:
            last = {"namespace": namespace, "name": imports[0]["DataVolumeName"]}
            if status.get("lastImportedPVC") != last:
                status["lastImportedPVC"] = last
                status["lastImportTimestamp"] = now_rfc3339()
            conds = update_condition(conds, "Progressing", "False", "No current import", "NoImport")
            self._collect(rt, cron)
        self._managed_source(rt, cron, status.get("lastImportedPVC"))
        # poll the source digest (simulated, see the module docstring)
        revision = anns.get(ANN_REVISION, "0")
        digest = "sha256:" + hashlib.sha256(f"{source_url(spec.get('template') or {})}\n{revision}".encode()).hexdigest()
        if anns.get(ANN_DIGEST) != digest:
            anns[ANN_DIGEST] = digest
            anns[ANN_LAST_CRON] = now_rfc3339()
            anns.setdefault(ANN_NEXT_CRON, anns[ANN_LAST_CRON])
        if not imports or digest != imports[0].get("Digest"):
            conds = update_condition(conds, "UpToDate", "False", "Source digest updated since last import", "Outdated")
            if succeeded or not imports:
                imports = self._create_import(rt, cron, digest)
        elif succeeded:
            conds = update_condition(conds, "UpToDate", "True", "Latest import is up to date", "UpToDate")
        else:
            conds = update_condition(conds, "UpToDate", "False", "Import is progressing", "ImportProgressing")
        status["currentImports"] = imports
        status["conditions"] = conds
        status["sourceFormat"] = "pvc"
        if anns.get(ANN_LAST_CRON):
            status["lastExecutionTimestamp"] = anns[ANN_LAST_CRON]
        if anns != (cron["metadata"].get("annotations") or {}):
            rt.service.mutate(DATAIMPORTCRON, namespace, name, lambda o: o["metadata"].__setitem__("annotations", anns))
        if status != (cron.get("status") or {}):
            rt.service.mutate(DATAIMPORTCRON, namespace, name, lambda o: o.__setitem__("status", status),
                              subresource="status")

    # -- steps ---------------------------------------------------------------------------------
    def _create_import(self, rt: Runtime, cron: dict, digest: str) -> list[dict]:
        meta, spec = cron["metadata"], cron.get("spec") or {}
        name = dv_name(spec.get("managedDataSource") or meta["name"], digest)
        imports = [{"DataVolumeName": name, "Digest": digest}]  # CDI's JSON keys (ImportStatus)
        if rt.store.get(PVC, meta["namespace"], name) is not None or rt.store.get(DV, meta["namespace"], name) is not None:
            return imports  # the source exists already: no new DataVolume
        template = copy.deepcopy(spec.get("template") or {})
        dv_spec = template.get("spec") or {}
        registry = (dv_spec.get("source") or {}).get("registry")
        if registry and registry.get("url"):
            base = registry["url"].split("@", 1)[0]
            if base.rsplit("/", 1)[-1].count(":"):
                base = base.rsplit(":", 1)[0]
            registry["url"] = f"{base}@{digest}"
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        labels.update(resource_labels(cron))
        dv = {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
              "metadata": {"name": name, "namespace": meta["namespace"], "labels": labels,
                           "annotations": dict((template.get("metadata") or {}).get("annotations") or {})},
              "spec": dv_spec}
        try:
            rt.service.create(DV, dv)
        except errors.ApiError as exc:
            if exc.code != 409:
                raise
        return imports

    def _mark_used(self, rt: Runtime, namespace: str, name: str) -> None:
        pvc = rt.store.get(PVC, namespace, name)
        if pvc is not None and ANN_LAST_USE not in (pvc["metadata"].get("annotations") or {}):
            rt.service.mutate(PVC, namespace, name, lambda o: o["metadata"].setdefault("annotations", {}).update(
                {ANN_LAST_USE: datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}))  # RFC3339Nano

    def _managed_source(self, rt: Runtime, cron: dict, last: Optional[dict]) -> None:
        meta, spec = cron["metadata"], cron.get("spec") or {}
        name = spec.get("managedDataSource") or ""
        if not name:
            return
        source = {"pvc": dict(last)} if last else {}
        ds = rt.store.get(DATASOURCE, meta["namespace"], name)
        if ds is None:
            rt.service.create(DATASOURCE, {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataSource",
                                           "metadata": {"name": name, "namespace": meta["namespace"],
                                                        "labels": resource_labels(cron)},
                                           "spec": {"source": source}})
        elif (ds["metadata"].get("labels") or {}).get(LABEL_CRON) == meta["name"] and \
                (ds.get("spec") or {}).get("source") != source and source:
            rt.service.mutate(DATASOURCE, meta["namespace"], name, lambda o: o["spec"].__setitem__("source", source))

    @staticmethod
    def _cleanup(rt: Runtime, namespace: str, name: str) -> None:
        """A deleted cron takes the DataSources, DataVolumes and claims labelled for cleanup along."""
        for gr in (DATASOURCE, DV, PVC):
            for obj in rt.store.list(gr, namespace)[0]:
                labels = obj["metadata"].get("labels") or {}
                if labels.get(LABEL_CRON) == name and labels.get(LABEL_CLEANUP) == "true":
                    try:
                        rt.service.delete(gr, namespace, obj["metadata"]["name"])
                    except errors.ApiError as exc:
                        if exc.code != 404:
                            raise

    def _collect(self, rt: Runtime, cron: dict) -> None:
        """garbageCollectPVCs: keep the ``importsToKeep`` most recently used imports."""
        spec, meta = cron.get("spec") or {}, cron["metadata"]
        if (spec.get("garbageCollect") or "Outdated") != "Outdated":
            return
        keep = spec.get("importsToKeep")
        keep = DEFAULT_IMPORTS_TO_KEEP if keep is None or keep < 0 else int(keep)
        claims = [p for p in rt.store.list(PVC, meta["namespace"])[0]
                  if (p["metadata"].get("labels") or {}).get(LABEL_CRON) == meta["name"]]
        if len(claims) <= keep:
            return
        claims.sort(key=lambda p: (p["metadata"].get("annotations") or {}).get(ANN_LAST_USE, ""), reverse=True)
        for pvc in claims[keep:]:
            for gr in (DV, PVC):
                try:
                    rt.service.delete(gr, meta["namespace"], pvc["metadata"]["name"])
                except errors.ApiError as exc:
                    if exc.code != 404:
                        raise
