#!/usr/bin/env bash
# Fake Linux "hosts" for molecule's delegated driver: one network namespace per host, each
# with its own NICs and an sshd, reachable from the root namespace over SSH as root.
#
#   scripts/netns-hosts.sh up   STATE_DIR NAME [NAME...]   (re)create the hosts; writes
#                                                           STATE_DIR/inventory.yml (group hosts)
#   scripts/netns-hosts.sh down STATE_DIR [NAME...]        remove them (all of STATE_DIR if no NAME)
#
# Host number i (1-based position in the `up` list) gets eth0 = 10.251.<i>.2/24 with a default
# route via its root-side peer 10.251.<i>.1, plus eth1..eth3: veths whose peers stay in the root
# namespace, free for a test to enslave, bridge or address. The namespaces share the root
# filesystem, so tests must keep per-host files in per-host directories.
# Needs root, iproute2, openssh-client; installs openssh-server if /usr/sbin/sshd is missing.
set -euo pipefail

SUBNET_PREFIX=10.251
EXTRA_NICS=(eth1 eth2 eth3)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
usage() { die "usage: $0 up STATE_DIR NAME [NAME...] | down STATE_DIR [NAME...]"; }

# Root-side peer names must be <= 15 chars (IFNAMSIZ) and unique per host; keep the host name
# when it fits with the "-eN" suffix, else a prefix plus a checksum of the full name.
short_name() {
  local name="$1" sum
  if ((${#name} <= 11)); then
    printf '%s' "$name"
  else
    sum=$(printf '%s' "$name" | cksum | cut -d' ' -f1)
    printf '%s%04x' "${name:0:7}" $((sum % 65536))
  fi
}

# Kill everything running inside the namespace (sshd and any session or daemon a test started):
# a namespace held by a live process outlives `ip netns del`, and so do its veths.
kill_ns_procs() {
  local ns="$1" pids try
  for try in TERM TERM TERM KILL; do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [[ -n "$pids" ]] || return 0
    # shellcheck disable=SC2086  # one pid per word
    kill -"$try" $pids 2>/dev/null || true
    sleep 0.2
  done
}

# host_down STATE_DIR NAME: idempotent; tolerates half-created hosts and foreign leftovers.
host_down() {
  local state="$1" name="$2" short pid nic
  short=$(short_name "$name")
  if [[ -f "$state/$name/sshd.pid" ]]; then
    pid=$(cat "$state/$name/sshd.pid" 2>/dev/null || true)
    # Only kill the pid if it is still our sshd (pids get reused).
    if [[ -n "$pid" ]] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$state/$name/sshd_config"; then
      kill "$pid" 2>/dev/null || true
    fi
  fi
  if ip netns list | grep -qx "$name\( .*\)\?"; then
    kill_ns_procs "$name"
    ip netns del "$name" 2>/dev/null || true
  fi
  # Deleting a veth end deletes its pair; the kernel frees a dead namespace's devices
  # asynchronously, so remove the root-side ends ourselves rather than wait for it.
  for nic in e0 e1 e2 e3; do
    ip link del "$short-$nic" 2>/dev/null || true
  done
  rm -rf "${state:?}/${name:?}"
}

# Hosts this STATE_DIR knows about: each has STATE_DIR/NAME/host.env.
recorded_hosts() {
  local f
  for f in "$1"/*/host.env; do
    [[ -f "$f" ]] && basename "$(dirname "$f")"
  done
  return 0
}

ensure_sshd() {
  [[ -x /usr/sbin/sshd ]] && return 0
  log "installing openssh-server"
  export DEBIAN_FRONTEND=noninteractive
  # The package lists are usually fresh enough; only refresh them when the install fails.
  apt-get install -y --no-install-recommends openssh-server >/dev/null \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends openssh-server >/dev/null; } \
    || die "could not install openssh-server"
}

# Keys are made once per STATE_DIR so known inventories and agents keep working across `up`s.
ensure_keys() {
  local state="$1"
  [[ -f "$state/id_ed25519" ]] || ssh-keygen -q -t ed25519 -N '' -C netns-hosts -f "$state/id_ed25519"
  [[ -f "$state/ssh_host_ed25519_key" ]] || ssh-keygen -q -t ed25519 -N '' -C netns-hosts-host -f "$state/ssh_host_ed25519_key"
  cp "$state/id_ed25519.pub" "$state/authorized_keys"
  chmod 600 "$state/id_ed25519" "$state/ssh_host_ed25519_key"
}

# host_up STATE_DIR NAME INDEX
host_up() {
  local state="$1" name="$2" i="$3" short dir gw addr nic n
  short=$(short_name "$name")
  dir="$state/$name"
  gw="$SUBNET_PREFIX.$i.1"
  addr="$SUBNET_PREFIX.$i.2"
  # Another STATE_DIR (or anything else) using this subnet would make routing ambiguous.
  if [[ -n "$(ip -4 -o addr show to "$SUBNET_PREFIX.$i.0/24")" ]]; then
    die "$SUBNET_PREFIX.$i.0/24 is already in use in the root namespace (another STATE_DIR still up?)"
  fi
  mkdir -p "$dir"
  ip netns add "$name"
  ip -n "$name" link set lo up

  ip link add "$short-e0" type veth peer name eth0 netns "$name"
  ip addr add "$gw/24" dev "$short-e0"
  ip link set "$short-e0" up
  ip -n "$name" addr add "$addr/24" dev eth0
  ip -n "$name" link set eth0 up
  ip -n "$name" route add default via "$gw"

  n=1
  for nic in "${EXTRA_NICS[@]}"; do
    ip link add "$short-e$n" type veth peer name "$nic" netns "$name"
    ip link set "$short-e$n" up
    ip -n "$name" link set "$nic" up
    n=$((n + 1))
  done

  cat > "$dir/sshd_config" <<EOF
# Generated by scripts/netns-hosts.sh for netns $name.
ListenAddress $addr:22
HostKey $state/ssh_host_ed25519_key
PidFile $dir/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile $state/authorized_keys
# Sandbox: root owns everything but the state dir may be group/world readable.
StrictModes no
# No PAM stack to talk to in a container, and none needed for key auth.
UsePAM no
UseDNS no
# Ansible transfers files over sftp; the in-process server needs no helper binary path.
Subsystem sftp internal-sftp
EOF
  printf 'NETNS_INDEX=%s\nNETNS_ADDR=%s\nNETNS_GATEWAY=%s\n' "$i" "$addr" "$gw" > "$dir/host.env"
  # -E: there is no syslog here, so keep sshd's log where a failing test can be debugged.
  ip netns exec "$name" /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
}

wait_ssh() {
  local state="$1" name="$2" addr="$3" try
  for try in $(seq 1 50); do
    if ssh -q -i "$state/id_ed25519" -o BatchMode=yes -o ConnectTimeout=1 \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "root@$addr" true 2>/dev/null; then
      return 0
    fi
    ((try % 10)) || log "waiting for sshd of $name at $addr"
    sleep 0.2
  done
  die "sshd of $name at $addr did not accept a connection within 10 s (see $state/$name/sshd.log)"
}

# The ns shares the filesystem, so the controller's system python works remotely too; a pyenv
# shim breaks Ansible's interpreter discovery, hence /usr/bin/python3 first.
target_python() {
  local py
  if [[ -x /usr/bin/python3 ]]; then
    printf '/usr/bin/python3'
  else
    py=$(command -v python3) || die "no python3 in PATH"
    readlink -f "$py"
  fi
}

write_inventory() {
  local state="$1" py name; shift
  py=$(target_python)
  {
    printf '# Generated by scripts/netns-hosts.sh; network-namespace hosts reachable over SSH.\n'
    printf 'hosts:\n  hosts:\n'
    for name in "$@"; do
      # shellcheck disable=SC1090  # written by host_up
      ( source "$state/$name/host.env"
        printf '    %s:\n' "$name"
        printf '      ansible_host: %s\n' "$NETNS_ADDR"
        printf '      ansible_user: root\n'
        printf '      ansible_ssh_private_key_file: %s\n' "$state/id_ed25519"
        printf "      ansible_ssh_common_args: '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'\n"
        printf '      ansible_python_interpreter: %s\n' "$py"
        printf '      netns_gateway: %s\n' "$NETNS_GATEWAY"
        printf '      netns_name: %s\n' "$name" )
    done
  } > "$state/inventory.yml"
}

cmd_up() {
  local state="$1" name i; shift
  (($# >= 1)) || usage
  (($# <= 254)) || die "at most 254 hosts (one /24 each under $SUBNET_PREFIX.0.0/16)"
  for name in "$@"; do
    [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "bad host name: $name"
  done
  ensure_sshd
  # sshd refuses to start without its privilege separation directory (normally made by systemd).
  mkdir -p /run/sshd
  ensure_keys "$state"
  # Addresses come from list positions, so whatever this STATE_DIR held before goes first;
  # so does any namespace of the same name (idempotent re-up).
  for name in $(recorded_hosts "$state") "$@"; do
    host_down "$state" "$name"
  done
  # A half-built set is of no use to a scenario; leave nothing behind on failure.
  # shellcheck disable=SC2064  # expand now: the arguments are gone when the trap runs
  trap "((\$? == 0)) || cmd_down '$state' $* 2>/dev/null" EXIT
  i=1
  for name in "$@"; do
    host_up "$state" "$name" "$i"
    i=$((i + 1))
  done
  i=1
  for name in "$@"; do
    wait_ssh "$state" "$name" "$SUBNET_PREFIX.$i.2"
    i=$((i + 1))
  done
  write_inventory "$state" "$@"
  trap - EXIT
  log "up: $* (inventory: $state/inventory.yml)"
}

cmd_down() {
  local state="$1" name names; shift
  if (($# == 0)); then mapfile -t names < <(recorded_hosts "$state"); set -- "${names[@]}"; fi
  for name in "$@"; do
    host_down "$state" "$name"
  done
  # The inventory would list hosts that are gone.
  if [[ -z "$(recorded_hosts "$state")" ]]; then rm -f "$state/inventory.yml"; fi
}

(($# >= 2)) || usage
[[ $EUID -eq 0 ]] || die "must run as root (network namespaces)"
action="$1"
mkdir -p "$2"
# Absolute, because the path ends up in sshd_config and the inventory.
state_dir=$(cd "$2" && pwd)
[[ "$state_dir" != *[[:space:]]* ]] || die "STATE_DIR must not contain whitespace (sshd_config)"
shift 2
case "$action" in
  up) cmd_up "$state_dir" "$@" ;;
  down) cmd_down "$state_dir" "$@" ;;
  *) usage ;;
esac
