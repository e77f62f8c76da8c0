#!/usr/bin/env bash
# `make demo`: build and install the collection, start the local test cluster,
# run playbooks/demo.yml against it, and always stop the cluster.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/venv.sh"
"$ROOT/scripts/build.sh"

demo="$CACHE/demo"
rm -rf "$demo"
mkdir -p "$demo"
kubeconfig="$demo/kubeconfig"
namespace="${DEMO_NAMESPACE:-virt-demo}"

log "generating a throwaway SSH key in $demo"
python - "$demo/id_ed25519" <<'PY'
import pathlib, sys
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import ed25519

key = ed25519.Ed25519PrivateKey.generate()
path = pathlib.Path(sys.argv[1])
path.write_bytes(key.private_bytes(s.Encoding.PEM, s.PrivateFormat.OpenSSH, s.NoEncryption()))
path.chmod(0o600)
public = key.public_key().public_bytes(s.Encoding.OpenSSH, s.PublicFormat.OpenSSH)
path.with_suffix(".pub").write_bytes(public + b" virt-kubevirt-demo\n")
PY

log "starting the local test cluster (log: ${demo#"$ROOT"/}/cluster.log)"
stop_cluster() {
  "$ROOT/scripts/local-cluster.sh" stop "$demo"
  log "local test cluster stopped"
}
trap stop_cluster EXIT
url="$(TIME_SCALE=1 PYTHON="$VENV/bin/python" "$ROOT/scripts/local-cluster.sh" start "$demo")" \
  || die "the local test cluster did not start (see ${demo#"$ROOT"/}/cluster.log)"
url="${url#ready }"
log "cluster ready at $url"

# The vm module expects an existing namespace (as KubeVirt does); create it the
# way a platform team would, outside the VM playbook (server-side apply: idempotent).
printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n' "$namespace" \
  | kubectl --kubeconfig "$kubeconfig" apply --server-side --field-manager virt-kubevirt-demo -f -

export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_DIR"
export K8S_AUTH_KUBECONFIG="$kubeconfig"
export ANSIBLE_CALLBACK_RESULT_FORMAT=yaml
export ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false
start=$SECONDS
# DEMO_PLAYBOOK runs another playbook against the same throwaway cluster.
ansible-playbook "${DEMO_PLAYBOOK:-playbooks/demo.yml}" \
  -e "demo_namespace=$namespace" \
  -e "demo_ssh_public_key_file=$demo/id_ed25519.pub" \
  -e "demo_work_dir=$demo" \
  -e "ansible_python_interpreter=$VENV/bin/python"
log "demo finished in $((SECONDS - start)) s against $url (namespace $namespace)"
