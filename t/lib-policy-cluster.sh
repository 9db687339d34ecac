# SPDX-License-Identifier: GPL-2.0-or-later
#
# lib-policy-cluster.sh: the policy daemon on a cluster of t/lib-cluster.sh's
# namespaces: the manager on node 1 (its own lunlink-policyd, or node 1's
# agent's with MGR_AGENT=1, below; its state in
# the scratch folder), an agent on each node with its tgtd N<I> and one
# directory area of AREA_SIZE (256M unless set), and lunlinkctl helpers.
# Source it after test-lib.sh and lib-cluster.sh, with N (the nodes),
# API_PORT and JOIN_PORT set; policy_cluster_up does the whole setup:
#
#   policy_cluster_up     namespaces, tgtds, the manager with a new CA,
#                         every node joined with a token and online, each
#                         node's area in the pool
#   ctl ARGS...           lunlinkctl as the manager's admin
#   vol_is NAME STATE, vol_url NAME, lent_url NAME, legs_up NAME,
#   pr_current VOLUME_ID N
#   now_ms, vol_field JQ, leg_of NODE FIELD (of the volume v),
#   write_acked URL LBA FILE, data_at IMG LBA COUNT
#   node_join I          node I's agent configured, given the CA and started
#                         with a fresh one-time token
#   agent_start I, agent_kill I, mgr_start, mgr_kill, stop_all (at exit)
#
# MGR_EXTRA, if set, is more of the manager's settings ("lease_ms = 3000;").
#
# With MGR_AGENT=1 the manager is also node 1's agent, in the same
# lunlink-policyd (manager = true and manager_url: its node registered
# with the manager's certificate, no token); agent_start 1 and agent_kill 1
# then start and kill the manager, and node 1 has no n1.conf.

CTL="$SRC_DIR/policy/lunlinkctl"
PD="$SRC_DIR/policy/lunlink-policyd"
TOOL="$SRC_DIR/t/helpers/api-tool"
MGR_ADDR=
AREA_SIZE=${AREA_SIZE:-256M}
# iscsi-io's initiator name
CLIENT=iqn.2026-11.org.lunlink:test-client

# policy_cluster_prereqs: skip_all unless the programs and jq are there
policy_cluster_prereqs() {
	[ -x "$PD" ] && [ -x "$CTL" ] || skip_all "lunlink-policyd not built (make policy-progs)"
	command -v jq >/dev/null || skip_all "jq not installed"
}

# The manager: a daemon on node 1, its socket and state in the scratch
# folder; with MGR_AGENT=1 also node 1's agent (its area n1/area, its
# tgtd N1), else a daemon of its own beside node 1's agent.
mgr_conf() {
	local agent= name=manager
	if [ -n "${MGR_AGENT:-}" ]; then
		name=n1
		mkdir -p n1/area &&
		agent="manager_url = \"https://$MGR_ADDR:$API_PORT\";
		portals = [ \"$MGR_ADDR:$N1_PORT\" ];
		areas = ( { path = \"$TRASH/n1/area\"; size = \"$AREA_SIZE\"; } );
		tgtadm = \"$TGTADM\";
		tgt_control_port = $N1_CTL;
		pr_socket = \"$TRASH/n1/pr.sock\";" || return 1
	fi
	cat >mgr.conf <<-EOC
	policy = {
		manager = true;
		store = "sqlite:$TRASH/mgr/policy.db";
		listen = "$MGR_ADDR:$API_PORT";
		join_listen = "$MGR_ADDR:$JOIN_PORT";
		socket = "$TRASH/mgr/policyd.sock";
		state_dir = "$TRASH/mgr";
		node_name = "$name";
		address = "$MGR_ADDR";
		offline_after = 3;
		heartbeat_interval = 1;
		${MGR_EXTRA:-}
		$agent
	};
	EOC
}

# node I's agent: its areas in the scratch folder, its tgtd N<I>, the
# socket of its pr=cluster LUNs n<I>/pr.sock
agent_conf() {
	local i=$1 port ctl
	eval "port=\$N${i}_PORT ctl=\$N${i}_CTL"
	mkdir -p "n$i/state" "n$i/area" &&
	cat >"n$i.conf" <<-EOC
	policy = {
		manager_url = "https://$MGR_ADDR:$API_PORT";
		join_listen = "$MGR_ADDR:$JOIN_PORT";
		node_name = "n$i";
		address = "$(node_addr "$i")";
		portals = [ "$(node_addr "$i"):$port" ];
		areas = ( { path = "$TRASH/n$i/area"; size = "$AREA_SIZE"; } );
		heartbeat_interval = 1;
		offline_after = 3;
		tgtadm = "$TGTADM";
		tgt_control_port = $ctl;
		state_dir = "$TRASH/n$i/state";
		pr_socket = "$TRASH/n$i/pr.sock";
	};
	EOC
}

MGR_PID=
mgr_start() {
	# a simple command put in the background: $! is the daemon itself
	# (ip netns exec executes it in place), which kill -9 must reach;
	# as node 1's agent it reaches N1's control socket
	env TGT_IPC_SOCKET="${N1_DIR:-}/socket" LUNLINK_IMAGE="$SRC_DIR/target/lunlink-image" \
		ip netns exec "$(node_ns 1)" "$PD" -f -c mgr.conf 2>>mgr.log &
	MGR_PID=$!
	wait_for 10 test -S "$TRASH/mgr/policyd.sock"
}
mgr_kill() {
	[ -n "$MGR_PID" ] || return 0
	kill -9 "$MGR_PID" 2>/dev/null
	wait "$MGR_PID" 2>/dev/null
	MGR_PID=
	rm -f "$TRASH/mgr/policyd.sock"
}

# agent_start I [--join TOKEN]: node I's agent, reaching its tgtd's
# private control socket, with this build's lunlink-image
agent_start() {
	local i=$1 dir
	shift
	[ "$i${MGR_AGENT:-}" != 11 ] || { mgr_start; return; }
	eval "dir=\$N${i}_DIR"
	env TGT_IPC_SOCKET="$dir/socket" LUNLINK_IMAGE="$SRC_DIR/target/lunlink-image" \
		ip netns exec "$(node_ns "$i")" "$PD" -f -c "n$i.conf" "$@" 2>>"n$i.log" &
	eval "AGENT${i}_PID=\$!"
}
agent_kill() {
	local pid
	[ -n "${1:-}" ] || return 1
	[ "$1${MGR_AGENT:-}" != 11 ] || { mgr_kill; return; }
	eval "pid=\${AGENT${1}_PID:-}"
	[ -n "$pid" ] || return 0
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	eval "AGENT${1}_PID="
}
# node_join I: node I's agent joins the manager with a one-time token
node_join() {
	local tok
	agent_conf "$1" &&
	cp mgr/ca/ca.crt "n$1/state/ca.crt" &&
	tok=$(ctl token create --role node) &&
	agent_start "$1" --join "$tok"
}
stop_all() {
	local i=1
	while [ "$i" -le "$N" ]; do agent_kill $i; i=$((i + 1)); done
	mgr_kill
}
test_atexit stop_all

ctl() { "$CTL" -c mgr.conf "$@"; }
node_state() { ctl --json node list | jq -r ".nodes[] | select(.name == \"$1\") | .state"; }
node_is() { test "$(node_state "$1")" = "$2"; }
vol_state() { ctl --json volume show "$1" | jq -r .state; }
vol_is() { test "$(vol_state "$1")" = "$2"; }
vol_url() { ctl --json volume show "$1" | jq -r .serving.url; }
# ms since the epoch
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# vol_field JQ: a field of the volume v, as the manager shows it
vol_field() { ctl --json volume show v | jq -r "$1"; }
# leg_of NODE FIELD: a field of the volume v's leg on NODE
leg_of() { vol_field ".legs[] | select(.node == \"$1\") | .$2"; }
# write_acked URL LBA FILE: a write acknowledged within 3 s
write_acked() { timeout -s KILL 3 "$IO" "$1" write "$2" "$3" >/dev/null 2>&1; }
# data_at IMG LBA COUNT: COUNT blocks at LBA of the volume's data in image IMG
data_at() {
	off=$("$SRC_DIR/target/lunlink-image" show --json "$1" | jq -r .data_offset) &&
	dd if="$1" bs=512 skip=$(( off / 512 + $2 )) count="$3" status=none
}
# the URL with the borrower's CHAP account (iscsi://user%secret@...)
lent_url() {
	ctl --json volume show "$1" |
		jq -r '.borrower.chap_user + "%" + .borrower.chap_secret + "@" + (.serving.url | ltrimstr("iscsi://"))' |
		sed "s|^|iscsi://|"
}
# pr_current VOL N: N nodes hold volume VOL's current reservation state,
# as lunlinkctl volume pr shows it (the answer left in pr.json)
pr_current() {
	ctl --json volume pr "$1" >pr.json &&
	test "$(jq "[.nodes[] | select(.current)] | length" pr.json)" = "$2"
}
# every leg of volume $1 is in sync, as its serving node reports
legs_up() {
	ctl --json volume show "$1" >legs.json &&
	test "$(jq "[.parts[] | select(.role == \"leg\")] | length" legs.json)" -gt 0 &&
	test "$(jq "[.parts[] | select(.role == \"leg\" and .sync != \"up\")] | length" legs.json)" = 0
}

policy_cluster_up() {
	local i=1
	cluster_up "$N" &&
	MGR_ADDR=$(node_addr 1) &&
	while [ "$i" -le "$N" ]; do node_tgtd_start $i || return 1; i=$((i + 1)); done &&
	mgr_conf && ctl ca init >/dev/null && mgr_start || return 1
	i=1
	[ -z "${MGR_AGENT:-}" ] || i=2
	while [ "$i" -le "$N" ]; do
		node_join $i || return 1
		i=$((i + 1))
	done
	i=1
	while [ "$i" -le "$N" ]; do
		wait_for 20 node_is n$i online &&
		ctl area add n$i "$TRASH/n$i/area" --size "$AREA_SIZE" >/dev/null || return 1
		i=$((i + 1))
	done
}
