"""``python -m tests.cluster --kubeconfig FILE [options]``: run the local test cluster in the foreground.

Writes the kubeconfig (contexts ``local`` = admin, ``restricted``), prints exactly one line
``ready https://127.0.0.1:PORT`` on stdout once serving, logs to stderr, and exits cleanly on
SIGTERM/SIGINT.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Optional, Sequence

from .faults import FaultSpecError, parse_spec


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tests.cluster",
                                description="Local Kubernetes API server with simulated KubeVirt and CDI.")
    p.add_argument("--kubeconfig", required=True, help="where to write the kubeconfig (mode 0600)")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    p.add_argument("--flavor", choices=("openshift", "kubernetes"), default="openshift")
    p.add_argument("--seed-vms", type=int, default=0, help="create N VMs at start")
    p.add_argument("--seed-namespaces", type=int, default=1, help="spread the seeded VMs over M namespaces")
    p.add_argument("--time-scale", type=float, default=1.0,
                   help="seconds one simulated transition takes (tests: 0.05, demo: about 1)")
    p.add_argument("--faults", default="", help="fault injection spec (see tests/cluster/README.md)")
    p.add_argument("--restricted-namespaces", default="restricted-ns",
                   help="comma-separated namespaces the 'restricted' user may use (created at start)")
    p.add_argument("--nodes", type=int, default=3, help="number of simulated worker nodes")
    p.add_argument("--seed", type=int, default=0, help="seed of every simulated random choice")
    p.add_argument("--log-level", default="WARNING", help="stderr log level (DEBUG, INFO, WARNING)")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, str(args.log_level).upper(), logging.WARNING), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        parse_spec(args.faults)
    except FaultSpecError as exc:
        print(f"error: --faults: {exc}", file=sys.stderr)
        return 2
    restricted = tuple(n.strip() for n in args.restricted_namespaces.split(",") if n.strip())

    from .cluster import Cluster, ClusterOptions
    cluster = Cluster(ClusterOptions(
        port=args.port, flavor=args.flavor, time_scale=args.time_scale, seed_vms=args.seed_vms,
        seed_namespaces=args.seed_namespaces, faults=args.faults, restricted_namespaces=restricted,
        nodes=args.nodes, seed=args.seed))
    stop = threading.Event()

    def on_signal(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        cluster.start()
        cluster.write_kubeconfig(args.kubeconfig)
        cluster.seed(args.seed_vms, args.seed_namespaces)
        if not stop.is_set():
            sys.stdout.write(f"ready {cluster.url}\n")
            sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
