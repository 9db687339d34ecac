#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# lunlink-cluster-demo.sh start|stop: lunlink's main job on one machine: a
# cluster of three storage nodes, each a network namespace with its own
# address, tgtd (this build's bs_lunlink.so, in a private mount namespace;
# nothing is installed) and lunlink-policyd agent; the manager on node 1,
# in the same lunlink-policyd as node 1's agent.
# The nodes join with one-time tokens, give a folder each to the pool, and
# lunlinkctl makes a doubled volume (a mirror over two nodes), lends it to
# an initiator name and prints its URL, its CHAP account and what to try.
# Run as root from the source tree, after `make`.

set -eu

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
STATE=${LUNLINK_DEMO_DIR:-/run/lunlink-cluster-demo}
AREAS=${LUNLINK_DEMO_AREAS:-/var/lib/lunlink-cluster-demo}
SIZE=${LUNLINK_DEMO_SIZE:-1G}
CLIENT=${LUNLINK_DEMO_INITIATOR:-iqn.2026-11.org.lunlink:demo-client}
PD="$SRC_DIR/policy/lunlink-policyd"
CTL="$SRC_DIR/policy/lunlinkctl"

die() { printf 'lunlink-cluster-demo: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'lunlink-cluster-demo: %s\n' "$*"; }

[ "$(id -u)" = 0 ] || die "run as root (network namespaces, tgtd)"
[ -x "$PD" ] && [ -x "$CTL" ] && [ -f "$SRC_DIR/target/bs_lunlink.so" ] ||
	die "lunlink is not built: run make"

TRASH=$STATE TEST_NAME=cluster-demo
. "$SRC_DIR/t/lib-tgtd.sh"
. "$SRC_DIR/t/lib-cluster.sh"
test_atexit() { :; }	# the demo stays up until `stop`

ctl() { "$CTL" -c "$STATE/manager.conf" "$@"; }

stop() {
	[ -f "$STATE/state" ] || { say "not running"; return 0; }
	. "$STATE/state"
	for pid in $DAEMONS; do kill "$pid" 2>/dev/null || true; done
	for i in 1 2 3; do tgtd_stop "N$i" 2>/dev/null || true; done
	cluster_down
	rm -f "$STATE/state"
	say "stopped; the images stay in $AREAS"
}

case "${1:-start}" in
stop) stop; exit 0 ;;
start) ;;
*) die "usage: $0 start|stop" ;;
esac
[ ! -f "$STATE/state" ] || die "already running: stop it first (make cluster-demo-stop)"

rm -rf "$STATE" && mkdir -p "$STATE" "$AREAS"
DAEMONS=
save() {
	{
		echo "CL_ID=$CL_ID CL_NET=$CL_NET CL_BR=$CL_BR CL_N=$CL_N"
		echo "DAEMONS='$DAEMONS'"
		for i in 1 2 3; do
			eval "echo N${i}_PID=\${N${i}_PID:-} N${i}_CTL=\${N${i}_CTL:-} N${i}_DIR=\${N${i}_DIR:-}"
		done
	} >"$STATE/state"
}

cluster_up 3 || die "cannot make the network namespaces"
save
PATCHED="$SRC_DIR/build/tgt/usr/tgtd"
[ -x "$PATCHED" ] && TGTD=$PATCHED
for i in 1 2 3; do
	node_tgtd_start "$i" || die "node $i's tgtd did not start; see $STATE/tgtd-N$i/log"
	save
done

mgr=$(node_addr 1)
mkdir -p "$AREAS/n1"
# the manager is also node 1's agent: one daemon, its node registered with
# the manager's own certificate (no token)
cat >"$STATE/manager.conf" <<EOF
policy = {
	manager = true;
	manager_url = "https://$mgr:7700";
	store = "sqlite:$STATE/manager/policy.db";
	listen = "$mgr:7700";
	socket = "$STATE/manager/policyd.sock";
	state_dir = "$STATE/manager";
	node_name = "n1";
	address = "$mgr";
	portals = [ "$mgr:$N1_PORT" ];
	areas = ( { path = "$AREAS/n1"; size = "8G"; } );
	tgtadm = "$TGTADM";
	tgt_control_port = $N1_CTL;
};
EOF
ctl ca init >/dev/null || die "cannot make the cluster CA"
env TGT_IPC_SOCKET="$N1_DIR/socket" LUNLINK_IMAGE="$SRC_DIR/target/lunlink-image" \
	ip netns exec "$(node_ns 1)" "$PD" -f -c "$STATE/manager.conf" >/dev/null 2>>"$STATE/manager.log" &
DAEMONS="$DAEMONS $!"
save
i=0
until [ -S "$STATE/manager/policyd.sock" ]; do
	i=$((i + 1)); [ $i -le 100 ] || die "the manager did not start; see $STATE/manager.log"
	sleep 0.1
done

for i in 2 3; do
	eval "port=\$N${i}_PORT ctl_port=\$N${i}_CTL dir=\$N${i}_DIR"
	mkdir -p "$STATE/n$i" "$AREAS/n$i"
	cp "$STATE/manager/ca/ca.crt" "$STATE/n$i/ca.crt"
	cat >"$STATE/n$i.conf" <<EOF
policy = {
	manager_url = "https://$mgr:7700";
	node_name = "n$i";
	address = "$(node_addr "$i")";
	portals = [ "$(node_addr "$i"):$port" ];
	areas = ( { path = "$AREAS/n$i"; size = "8G"; } );
	tgtadm = "$TGTADM";
	tgt_control_port = $ctl_port;
	state_dir = "$STATE/n$i";
};
EOF
	tok=$(ctl token create --role node 2>/dev/null) || die "cannot make a join token"
	env TGT_IPC_SOCKET="$dir/socket" LUNLINK_IMAGE="$SRC_DIR/target/lunlink-image" \
		ip netns exec "$(node_ns "$i")" "$PD" -f -c "$STATE/n$i.conf" --join "$tok" \
		>/dev/null 2>>"$STATE/n$i.log" &
	DAEMONS="$DAEMONS $!"
	save
done

online() { [ "$(ctl --json node list | jq '[.nodes[] | select(.state == "online")] | length')" = 3 ]; }
wait_for 30 online || die "the nodes did not come online: $(ctl node list)"
for i in 1 2 3; do
	ctl area add "n$i" "$AREAS/n$i" --size 8G >/dev/null || die "cannot add node n$i's area"
done
ctl volume create demo --way doubled --size "$SIZE" >/dev/null || die "cannot make the volume"
ready() { [ "$(ctl --json volume show demo | jq -r .state)" = ready ]; }
wait_for 60 ready || die "the volume is not ready: $(ctl volume show demo)"
ctl lend demo --to "$CLIENT" >/dev/null || die "cannot lend the volume"
vol=$(ctl --json volume show demo)
url=$(echo "$vol" | jq -r .serving.url)
user=$(echo "$vol" | jq -r .borrower.chap_user)
secret=$(echo "$vol" | jq -r .borrower.chap_secret)

cat <<MSG
lunlink cluster demo: three nodes in network namespaces, the manager on n1 (in n1's agent's daemon)
  volume    : demo, doubled ($SIZE), copies on two nodes: lunlinkctl -c $STATE/manager.conf volume show demo
  iSCSI URL : $url
  lent to   : $CLIENT, CHAP user $user secret $secret
  try       : iscsi-inq -i $CLIENT ${url%%//*}//$user%$secret@${url#iscsi://}
  cluster   : $CTL -c $STATE/manager.conf status | node list | events --follow
  logs      : $STATE/*.log
  stop      : sudo make cluster-demo-stop
MSG
