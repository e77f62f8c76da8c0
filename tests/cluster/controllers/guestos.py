"""What the qemu guest agent would report for a VMI (``status.guestOSInfo``), guessed from names.

There is no guest, so the operating system is inferred, in this order, from the VMI's annotations
(``vm.kubevirt.io/os``, ``kubevirt.io/[cluster-]preference-name``, ``kubevirt.io/[cluster-]instancetype-name``),
its ``os.template.kubevirt.io/<os>`` labels, its containerDisk image names and any extra hints the
caller passes (DataVolume source URLs, DataSource names). Keywords: windows / win2k19 / win11 ...,
rhel8 / rhel9, centos[-stream], fedora, ubuntu, debian, opensuse. An unrecognised guest (cirros,
alpine, blank disks) is treated as having no guest agent: no guestOSInfo, no AgentConnected.
"""
from __future__ import annotations

import re
from typing import Iterable, Optional

_WINDOWS = re.compile(r"(windows|mswindows|win(?:2k|10|11|dows)|win-?20\d\d)")
_RELEASES = {
    "2016": ("Windows Server 2016 Datacenter", "14393"),
    "2019": ("Windows Server 2019 Datacenter", "17763"),
    "2022": ("Windows Server 2022 Datacenter", "20348"),
    "2025": ("Windows Server 2025 Datacenter", "26100"),
    "10": ("Windows 10 Pro", "19045"),
    "11": ("Windows 11 Pro", "22631"),
}


def hints_of(vmi: dict) -> list[str]:
    meta = vmi.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    out = [annotations.get(k, "") for k in (
        "vm.kubevirt.io/os", "kubevirt.io/cluster-preference-name", "kubevirt.io/preference-name",
        "kubevirt.io/cluster-instancetype-name", "kubevirt.io/instancetype-name")]
    out += [k.split("/", 1)[1] for k in (meta.get("labels") or {}) if k.startswith("os.template.kubevirt.io/")]
    for volume in (vmi.get("spec") or {}).get("volumes") or ():
        if volume.get("containerDisk"):
            out.append(volume["containerDisk"].get("image", ""))
    return [h.lower() for h in out if h]


def _windows(text: str) -> dict:
    version = "2022"
    for pattern, release in ((r"2k16|2016", "2016"), (r"2k19|2019", "2019"), (r"2k22|2022", "2022"),
                             (r"2k25|2025", "2025"), (r"win(?:dows)?[._-]?11", "11"),
                             (r"win(?:dows)?[._-]?10", "10")):
        if re.search(pattern, text):
            version = release
            break
    pretty, build = _RELEASES[version]
    return {"id": "mswindows", "kernelRelease": build, "kernelVersion": "10.0", "machine": "x86_64",
            "name": "Microsoft Windows", "prettyName": pretty, "version": version, "versionId": version}


def _linux(text: str) -> Optional[dict]:
    if "rhel" in text or "red-hat" in text or "redhat" in text:
        major = "8" if re.search(r"rhel[._-]?8", text) else "10" if re.search(r"rhel[._-]?10", text) else "9"
        minor, code, kernel = {"8": ("8.10", "Ootpa", "4.18.0-553.el8_10.x86_64"),
                               "9": ("9.6", "Plow", "5.14.0-570.12.1.el9_6.x86_64"),
                               "10": ("10.0", "Coughlan", "6.12.0-55.9.1.el10_0.x86_64")}[major]
        return {"id": "rhel", "name": "Red Hat Enterprise Linux", "prettyName":
                f"Red Hat Enterprise Linux {minor} ({code})", "version": f"{minor} ({code})", "versionId": minor,
                "kernelRelease": kernel, "kernelVersion": "#1 SMP PREEMPT_DYNAMIC", "machine": "x86_64"}
    if "centos" in text:
        major = "10" if re.search(r"stream[._-]?10|centos[._-]?10", text) else \
            "8" if re.search(r"stream[._-]?8|centos[._-]?8", text) else "9"
        return {"id": "centos", "name": "CentOS Stream", "prettyName": f"CentOS Stream {major}", "version": major,
                "versionId": major, "kernelRelease": "5.14.0-592.el9.x86_64",
                "kernelVersion": "#1 SMP PREEMPT_DYNAMIC", "machine": "x86_64"}
    if "fedora" in text:
        found = re.search(r"fedora\D{0,20}?(\d{2})|base-(\d{2})", text)
        release = next((g for g in found.groups() if g), "42") if found else "42"
        return {"id": "fedora", "name": "Fedora Linux", "prettyName": f"Fedora Linux {release} (Cloud Edition)",
                "version": f"{release} (Cloud Edition)", "versionId": release,
                "kernelRelease": f"6.14.0-63.fc{release}.x86_64", "kernelVersion": "#1 SMP PREEMPT_DYNAMIC",
                "machine": "x86_64"}
    if "ubuntu" in text:
        found = re.search(r"(2\d)\.?(04|10)", text)
        release = f"{found.group(1)}.{found.group(2)}" if found else "24.04"
        return {"id": "ubuntu", "name": "Ubuntu", "prettyName": f"Ubuntu {release} LTS",
                "version": f"{release} LTS", "versionId": release, "kernelRelease": "6.8.0-60-generic",
                "kernelVersion": "#63-Ubuntu SMP PREEMPT_DYNAMIC", "machine": "x86_64"}
    if "debian" in text:
        return {"id": "debian", "name": "Debian GNU/Linux", "prettyName": "Debian GNU/Linux 12 (bookworm)",
                "version": "12 (bookworm)", "versionId": "12", "kernelRelease": "6.1.0-37-cloud-amd64",
                "kernelVersion": "#1 SMP PREEMPT_DYNAMIC Debian 6.1.140-1", "machine": "x86_64"}
    if "opensuse" in text or "sles" in text:
        return {"id": "opensuse-leap", "name": "openSUSE Leap", "prettyName": "openSUSE Leap 15.6",
                "version": "15.6", "versionId": "15.6", "kernelRelease": "6.4.0-150600.23.50-default",
                "kernelVersion": "#1 SMP PREEMPT_DYNAMIC", "machine": "x86_64"}
    return None


def guest_os_info(vmi: dict, extra_hints: Iterable[str] = ()) -> Optional[dict]:
    """The guest agent's guestOSInfo, or None when the guest is not recognised (no agent)."""
    for text in hints_of(vmi) + [h.lower() for h in extra_hints if h]:
        if _WINDOWS.search(text):
            return _windows(text)
        info = _linux(text)
        if info is not None:
            return info
    return None
