#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# lunlink-cluster-demo.sh start [sqlite|etcd] | stop | leader | revive: lunlink's main
# job on one machine: a cluster of three storage nodes, each a network
# namespace with its own address, tgtd (this build's bs_lunlink.so, in a
# private mount namespace; nothing is installed) and lunlink-policyd agent.
# lunlinkctl gives a folder of each node to the pool, makes a doubled volume
# (a mirror over two nodes), lends it to an initiator name and prints its
# URL, its CHAP account and what to try.
#
# start, or start sqlite (make cluster-demo): one manager on n1, in the same
# lunlink-policyd as n1's agent, its store SQLite; the other nodes join with
# one-time tokens.
# start etcd (make cluster-demo-etcd): the managers elected over etcd
# (doc/policy.md, "Several managers"): each node also runs an etcd member,
# and each node's lunlink-policyd is a manager candidate as well as its
# agent, given every manager's URL; one leads.  The CA is made once and
# copied to each; no tokens (the leader registers every candidate).  The
# volume is put on the two nodes that do not lead, so that killing the
# leading manager shows a takeover while the volume stays served.
# leader (make cluster-demo-leader): which manager leads now, and its
# daemon's pid (etcd).  revive (make cluster-demo-revive): starts again the
# node daemons that are not running.
# stop (make cluster-demo-stop): stops either.
# Run as root from the source tree, after `make`.

set -eu

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
STATE=${LUNLINK_DEMO_DIR:-/run/lunlink-cluster-demo}
AREAS=${LUNLINK_DEMO_AREAS:-/var/lib/lunlink-cluster-demo}
SIZE=${LUNLINK_DEMO_SIZE:-1G}
CLIENT=${LUNLINK_DEMO_INITIATOR:-iqn.2026-11.org.lunlink:demo-client}
PD="$SRC_DIR/policy/lunlink-policyd"
CTL="$SRC_DIR/policy/lunlinkctl"
API_PORT=7700
# the demo's confs and logs are named from here (lib-etcd-cluster.sh's
# helpers take them relative): both paths made absolute
case $STATE in /*) ;; *) STATE=$PWD/$STATE ;; esac
case $AREAS in /*) ;; *) AREAS=$PWD/$AREAS ;; esac

die() { printf 'lunlink-cluster-demo: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'lunlink-cluster-demo: %s\n' "$*"; }

[ "$(id -u)" = 0 ] || die "run as root (network namespaces, tgtd)"
[ -x "$PD" ] && [ -x "$CTL" ] && [ -f "$SRC_DIR/target/bs_lunlink.so" ] ||
	die "lunlink is not built: run make"
command -v jq >/dev/null || die "jq is not installed (packaging/setup-debian.sh installs it)"

TRASH=$STATE TEST_NAME=cluster-demo N=3
test_atexit() { :; }	# the demo stays up until `stop`
. "$SRC_DIR/t/lib-tgtd.sh"
. "$SRC_DIR/t/lib-cluster.sh"
# etcd_start, etcd_healthy, leader (the node whose manager says on its
# socket that it leads), urls (every manager's)
. "$SRC_DIR/t/lib-etcd-cluster.sh"

# ours PID: PID is one of this demo's processes still (its command line
# names the state folder), not another that took the number since
ours() { { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null | grep -qF "$STATE/"; }
# stop_pids PID...: SIGTERM to those that are ours, SIGKILL to any left
# after 10 s (a manager on SIGTERM gives up its election lease first)
stop_pids() {
	local pid left i=0
	for pid; do ! ours "$pid" || kill "$pid" 2>/dev/null || true; done
	while [ $i -lt 100 ]; do
		left=
		for pid; do ! ours "$pid" || left="$left $pid"; done
		[ -n "$left" ] || return 0
		sleep 0.1
		i=$((i + 1))
	done
	for pid in $left; do kill -9 "$pid" 2>/dev/null || true; done
}

# save: the state file, which stop, leader and revive read (the store, the
# namespaces, each process's pid)
save() {
	{
		echo "STORE=$STORE"
		echo "CL_ID=$CL_ID CL_NET=$CL_NET CL_BR=$CL_BR CL_N=$CL_N"
		echo "DAEMONS='$DAEMONS' ETCDS='$ETCDS'"
		for i in 1 2 3; do
			eval "echo N${i}_PID=\${N${i}_PID:-} N${i}_CTL=\${N${i}_CTL:-} N${i}_DIR=\${N${i}_DIR:-}"
			eval "echo DAEMON${i}_PID=\${DAEMON${i}_PID:-}"
		done
	} >"$STATE/state"
}

# node_conf I FILE SETTINGS: node I's lunlink-policyd configuration in FILE:
# its agent (portals, area, tgtd, the socket of its pr=cluster LUNs) and
# SETTINGS, the lines that make it a manager or tell it where they are
node_conf() {
	local i=$1 a port ctl_port
	a=$(node_addr "$i")
	eval "port=\$N${i}_PORT ctl_port=\$N${i}_CTL"
	mkdir -p "$STATE/n$i" "$AREAS/n$i"
	cat >"$2" <<EOF
policy = {
$3
	node_name = "n$i";
	address = "$a";
	portals = [ "$a:$port" ];
	areas = ( { path = "$AREAS/n$i"; size = "8G"; } );
	tgtadm = "$TGTADM";
	tgt_control_port = $ctl_port;
	pr_socket = "$STATE/n$i/pr.sock";
};
EOF
}

# daemon_run I CONF LOG [ARG...]: node I's lunlink-policyd, in its namespace
daemon_run() {
	local i=$1 conf=$2 log=$3 dir
	shift 3
	eval "dir=\$N${i}_DIR"
	env TGT_IPC_SOCKET="$dir/socket" LUNLINK_IMAGE="$SRC_DIR/target/lunlink-image" \
		ip netns exec "$(node_ns "$i")" "$PD" -f -c "$conf" "$@" >/dev/null 2>>"$log" &
	eval "DAEMON${i}_PID=\$!"
	DAEMONS="$DAEMONS $!"
	save
}

stop() {
	[ -f "$STATE/state" ] || { say "not running"; return 0; }
	. "$STATE/state"
	stop_pids $DAEMONS
	stop_pids ${ETCDS:-}
	for i in 1 2 3; do tgtd_stop "N$i" 2>/dev/null || true; done
	cluster_down
	rm -f "$STATE/state"
	say "stopped; the images stay in $AREAS"
}

# show_leader: the leading manager, its daemon and how to reach it
show_leader() {
	local l pid
	[ -f "$STATE/state" ] || die "not running"
	. "$STATE/state"
	[ "$STORE" = etcd ] || { say "one manager, on n1 (the SQLite store)"; return 0; }
	cd "$STATE"
	l=$(leader) || die "no manager leads now (an election takes a few seconds): try again"
	eval "pid=\${DAEMON${l}_PID}"
	say "n$l leads: its lunlink-policyd is pid $pid; $CTL -c $STATE/n$l.conf status"
}

# revive: start again each node's daemon that is not running (a leader
# killed to see a takeover comes back as a follower)
revive() {
	local i pid p conf log n=0
	[ -f "$STATE/state" ] || die "not running"
	. "$STATE/state"
	cd "$STATE"
	for i in 1 2 3; do
		eval "pid=\${DAEMON${i}_PID:-}"
		! ours "$pid" || continue
		DAEMONS=$(for p in $DAEMONS; do [ "$p" = "$pid" ] || printf ' %s' "$p"; done)
		conf=$STATE/n$i.conf log=$STATE/n$i.log
		[ "$STORE$i" != sqlite1 ] || conf=$STATE/manager.conf log=$STATE/manager.log
		daemon_run "$i" "$conf" "$log"
		say "n$i's lunlink-policyd started again: pid $!"
		n=$((n + 1))
	done
	[ $n -gt 0 ] || say "every node's lunlink-policyd runs"
}

case "${1:-start}" in
stop) stop; exit 0 ;;
leader) show_leader; exit 0 ;;
revive) revive; exit 0 ;;
start) STORE=${2:-sqlite} ;;
*) die "usage: $0 start [sqlite|etcd] | stop | leader | revive" ;;
esac
case $STORE in
sqlite) ;;
etcd)	[ -x "$ETCD" ] || die "no $ETCD: apt-get install etcd-server (packaging/setup-debian.sh does)"
	command -v curl >/dev/null || die "curl is not installed (packaging/setup-debian.sh installs it)" ;;
*) die "unknown store '$STORE': start sqlite or start etcd" ;;
esac
[ ! -f "$STATE/state" ] || die "already running: stop it first (make cluster-demo-stop)"

rm -rf "$STATE" && mkdir -p "$STATE" "$AREAS"
cd "$STATE"
DAEMONS= ETCDS= L= pid= on=

# sqlite_managers: the manager in n1's daemon (its node registered with the
# manager's own certificate, no token), the other nodes joined with tokens
sqlite_managers() {
	local i mgr tok
	mgr=$(node_addr 1)
	CONF=$STATE/manager.conf
	ctl() { "$CTL" -c "$CONF" "$@"; }
	node_conf 1 "$CONF" "	manager = true;
	manager_url = \"https://$mgr:$API_PORT\";
	store = \"sqlite:$STATE/manager/policy.db\";
	listen = \"$mgr:$API_PORT\";
	socket = \"$STATE/manager/policyd.sock\";
	state_dir = \"$STATE/manager\";"
	ctl ca init >/dev/null || die "cannot make the cluster CA"
	daemon_run 1 "$CONF" "$STATE/manager.log"
	wait_for 10 test -S "$STATE/manager/policyd.sock" ||
		die "the manager did not start; see $STATE/manager.log"
	for i in 2 3; do
		node_conf "$i" "$STATE/n$i.conf" "	manager_url = \"https://$mgr:$API_PORT\";
	state_dir = \"$STATE/n$i\";"
		cp "$STATE/manager/ca/ca.crt" "$STATE/n$i/ca.crt"
		tok=$(ctl token create --role node 2>/dev/null) || die "cannot make a join token"
		daemon_run "$i" "$STATE/n$i.conf" "$STATE/n$i.log" --join "$tok"
	done
}

# etcd_managers: an etcd member in each node, each node's daemon a manager
# candidate on its own member; the CA made on n1 and copied to the others
etcd_managers() {
	local i a
	for i in 1 2 3; do
		etcd_start "$i"
		eval "ETCDS=\"\$ETCDS \$ETCD${i}_PID\""
		save
	done
	for i in 1 2 3; do
		wait_for 30 etcd_healthy "$i" || die "etcd member $i is not healthy; see $STATE/e$i.log"
	done
	for i in 1 2 3; do
		a=$(node_addr "$i")
		node_conf "$i" "$STATE/n$i.conf" "	manager = true;
	store = \"$(etcd_members "$i")\";
	manager_url = \"$(urls)\";
	listen = \"$a:$API_PORT\";
	socket = \"$STATE/n$i/policyd.sock\";
	state_dir = \"$STATE/n$i\";"
	done
	"$CTL" -c "$STATE/n1.conf" ca init >/dev/null || die "cannot make the cluster CA"
	for i in 1 2 3; do
		{ [ "$i" = 1 ] || cp -a "$STATE/n1/ca" "$STATE/n$i/ca"; } &&
			cp "$STATE/n1/ca/ca.crt" "$STATE/n$i/ca.crt" || die "cannot copy the CA to n$i"
		daemon_run "$i" "$STATE/n$i.conf" "$STATE/n$i.log"
	done
	wait_for 30 leader || die "no manager leads; see $STATE/n*.log and $STATE/e*.log"
	# lib-etcd-cluster.sh's ctl: lunlinkctl through the leader's socket
}

cluster_up 3 || die "cannot make the network namespaces"
save
PATCHED="$SRC_DIR/build/tgt/usr/tgtd"
[ -x "$PATCHED" ] && TGTD=$PATCHED
for i in 1 2 3; do
	node_tgtd_start "$i" || die "node $i's tgtd did not start; see $STATE/tgtd-N$i/log"
	save
done
${STORE}_managers

online() { [ "$(ctl --json node list | jq '[.nodes[] | select(.state == "online")] | length')" = 3 ]; }
wait_for 30 online || die "the nodes did not come online: $(ctl node list)"
for i in 1 2 3; do
	ctl area add "n$i" "$AREAS/n$i" --size 8G >/dev/null || die "cannot add node n$i's area"
done
if [ "$STORE" = etcd ]; then
	L=$(leader) || die "no manager leads"
	for i in 1 2 3; do [ "$i" = "$L" ] || on="$on${on:+,}n$i"; done
	CONF=$STATE/n$L.conf
fi
ctl volume create demo --way doubled --size "$SIZE" ${on:+--on "$on"} >/dev/null ||
	die "cannot make the volume"
# ready, and its leg in sync: the state says ready as soon as both nodes
# have their part, before the primary has reported its leg up
ready() {
	ctl --json volume show demo | jq -e '.state == "ready" and
		([.parts[] | select(.role == "leg" and .sync != "up")] | length) == 0' >/dev/null
}
wait_for 60 ready || die "the volume is not ready: $(ctl volume show demo)"
ctl lend demo --to "$CLIENT" >/dev/null || die "cannot lend the volume"
vol=$(ctl --json volume show demo)
url=$(echo "$vol" | jq -r .serving.url)
user=$(echo "$vol" | jq -r .borrower.chap_user)
secret=$(echo "$vol" | jq -r .borrower.chap_secret)
serving=$(echo "$vol" | jq -r .serving.node)
# the serving node's agent applies the lend after lunlinkctl returns; its
# last step binds the CHAP account to the volume's target
lent() { tgtadm_on "N${serving#n}" --lld iscsi --mode target --op show | grep -qx "[[:space:]]*$user"; }
wait_for 15 lent || die "$serving's tgtd did not get the CHAP account $user; see $STATE/*.log"

if [ "$STORE" = etcd ]; then
	eval "pid=\$DAEMON${L}_PID"
	echo "lunlink cluster demo: three nodes in network namespaces, each with an etcd member and a manager; n$L leads"
else
	echo "lunlink cluster demo: three nodes in network namespaces, the manager on n1 (in n1's agent's daemon)"
fi
cat <<MSG
  volume    : demo, doubled ($SIZE), copies on two nodes: lunlinkctl -c $CONF volume show demo
  iSCSI URL : $url
  lent to   : $CLIENT, CHAP user $user secret $secret
  try       : iscsi-inq -i $CLIENT ${url%%//*}//$user%$secret@${url#iscsi://}
  cluster   : $CTL -c $CONF status | node list | events --follow
MSG
[ "$STORE" = sqlite ] || cat <<MSG
  managers  : status shows MANAGERS (the leader, its term), on any node's conf (a follower passes it on)
  takeover  : kill -9 $pid   (n$L's lunlink-policyd, the leader): another leads within seconds,
              the volume (on $on) stays served; then: sudo make cluster-demo-leader;
              sudo make cluster-demo-revive starts n$L's again (it follows)
MSG
cat <<MSG
  logs      : $STATE/*.log
  stop      : sudo make cluster-demo-stop
MSG
