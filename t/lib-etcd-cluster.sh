# SPDX-License-Identifier: GPL-2.0-or-later
#
# lib-etcd-cluster.sh: several managers on etcd (issue 19) over
# t/lib-cluster.sh's namespaces: in each node an etcd member (one
# cluster of N members, data in the scratch folder) and one
# lunlink-policyd that is a manager candidate on its own member and the
# node's agent (its tgtd N<I>), given every manager's URL.  Source it after
# test-lib.sh, lib-cluster.sh and lib-policy-cluster.sh (its agent_kill,
# stop_all, now_ms), with N, API_PORT, JOIN_PORT and AREA_SIZE set.
#
#   etcd_start I, etcd_kill I, etcd_healthy I, etcd_keys I (count, revision)
#   etcd_members I       the store URI of node I: every member, its own first
#   etcd_raft_leader     the node whose member leads etcd's own raft
#   etcd_move_leader I   etcd's raft leadership moved to node I's member
#   node_conf I          n<I>.conf: manager and agent, store etcd_members I
#   daemon_start I, daemon_kill I   (kill -9; started once at a time)
#   leads I, leader      node I's manager leads; the node whose manager leads
#   ctl ARGS             lunlinkctl through the leader's socket
#   leaders              how many answer as the leader now
#   new_leader OLD T0 [S] wait (S s, or BOUND) for another leader; its
#                        time since T0 in TAKEOVERS, took, and NEW
#   etcd_cluster_up      namespaces, members, tgtds, CA, daemons, a leader,
#                        every node online with its area in the pool
#
# TTL (election_ttl), OFFLINE_AFTER and BOUND (s a takeover may take) may
# be set before sourcing.
#
# policy/lunlink-cluster-demo.sh's etcd mode sources it too, for
# etcd_start, etcd_healthy, etcd_members, urls, leader and ctl (TRASH its state folder,
# which is also its working folder; test_atexit a no-op there).

ETCD=/usr/bin/etcd
: "${TTL:=3}" "${OFFLINE_AFTER:=10}" "${BOUND:=15}"
TAKEOVERS=		# ms, each measured takeover

# etcd_prereqs: skip_all without etcd or curl
etcd_prereqs() {
	[ -x "$ETCD" ] || skip_all "no $ETCD (apt-get install etcd-server; make setup does)"
	command -v curl >/dev/null || skip_all "curl not installed"
}

# ---- etcd: one member per node ----
etcd_start() {
	local i=$1 a cluster= j=1
	a=$(node_addr "$i")
	while [ "$j" -le "$N" ]; do
		cluster="$cluster${cluster:+,}e$j=http://$(node_addr "$j"):2380"
		j=$((j + 1))
	done
	ip netns exec "$(node_ns "$i")" "$ETCD" --name "e$i" --data-dir "$TRASH/e$i" \
		--listen-client-urls "http://$a:2379" --advertise-client-urls "http://$a:2379" \
		--listen-peer-urls "http://$a:2380" --initial-advertise-peer-urls "http://$a:2380" \
		--initial-cluster "$cluster" --initial-cluster-token "ll-$CL_ID" \
		--initial-cluster-state new >>"e$i.log" 2>&1 &
	eval "ETCD${i}_PID=\$!"
}
etcd_kill() {
	local pid
	eval "pid=\${ETCD${1}_PID:-}"
	[ -n "$pid" ] || return 0
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	eval "ETCD${1}_PID="
}
etcd_healthy() { curl -s -m 2 "http://$(node_addr "$1"):2379/health" | grep -q '"health":"true"'; }
# etcd_keys I: the count of /lunlink/ keys and the revision member I holds (its own
# copy, serializable: no quorum asked)
etcd_keys() {
	curl -s -m 2 -X POST "http://$(node_addr "$1"):2379/v3/kv/range" \
		-d "{\"key\":\"$(printf /lunlink/ | base64)\",\"range_end\":\"$(printf /lunlink0 | base64)\",\"count_only\":true,\"serializable\":true}" |
		jq -r '"\(.count) \(.header.revision)"'
}
# etcd_members I: "etcd://OWN:2379,OTHER:2379,...": the client moves on from
# a member that does not answer (doc/store.md), so a manager outlives its
# own member
etcd_members() {
	local i=$1 u j=1
	u="etcd://$(node_addr "$i"):2379"
	while [ "$j" -le "$N" ]; do
		[ "$j" = "$i" ] || u="$u,$(node_addr "$j"):2379"
		j=$((j + 1))
	done
	echo "$u"
}
# etcd_status I: member I's maintenance status (its member_id and the leader's)
etcd_status() { curl -s -m 2 -X POST "http://$(node_addr "$1"):2379/v3/maintenance/status" -d '{}'; }
etcd_raft_leader() {
	local j=1 s
	while [ "$j" -le "$N" ]; do
		s=$(etcd_status "$j") &&
		[ -n "$s" ] && [ "$(echo "$s" | jq -r '.header.member_id')" = "$(echo "$s" | jq -r '.leader')" ] &&
		{ echo "$j"; return 0; }
		j=$((j + 1))
	done
	return 1
}
etcd_move_leader() {
	local to=$1 from id
	from=$(etcd_raft_leader) || return 1
	[ "$from" = "$to" ] && return 0
	id=$(etcd_status "$to" | jq -r '.header.member_id') &&
	curl -s -m 10 -X POST "http://$(node_addr "$from"):2379/v3/maintenance/transfer-leadership" \
		-d "{\"targetID\":\"$id\"}" >/dev/null &&
	wait_for 10 eval "test \"\$(etcd_raft_leader)\" = $to"
}
etcd_all_kill() { local i=1; while [ "$i" -le "$N" ]; do etcd_kill $i; i=$((i + 1)); done; }
test_atexit etcd_all_kill

# ---- the daemons: manager candidate and agent in one ----
urls() {
	local j=1 u=
	while [ "$j" -le "$N" ]; do
		u="$u${u:+, }https://$(node_addr "$j"):$API_PORT"
		j=$((j + 1))
	done
	echo "$u"
}
node_conf() {
	local i=$1 a port ctl
	a=$(node_addr "$i")
	eval "port=\$N${i}_PORT ctl=\$N${i}_CTL"
	mkdir -p "n$i/state" "n$i/area" &&
	cat >"n$i.conf" <<-EOC
	policy = {
		manager = true;
		store = "$(etcd_members "$i")";
		listen = "$a:$API_PORT";
		join_listen = "$a:$JOIN_PORT";
		socket = "$TRASH/n$i/policyd.sock";
		state_dir = "$TRASH/n$i/state";
		node_name = "n$i";
		address = "$a";
		election_ttl = $TTL;
		manager_url = "$(urls)";
		portals = [ "$a:$port" ];
		areas = ( { path = "$TRASH/n$i/area"; size = "$AREA_SIZE"; } );
		heartbeat_interval = 1;
		offline_after = $OFFLINE_AFTER;
		tgtadm = "$TGTADM";
		tgt_control_port = $ctl;
		pr_socket = "$TRASH/n$i/pr.sock";
	};
	EOC
}
daemon_start() {
	local i=$1 dir pid
	eval "pid=\${AGENT${i}_PID:-}"
	[ -z "$pid" ] || { say "n$i's lunlink-policyd runs already ($pid)"; return 1; }
	eval "dir=\$N${i}_DIR"
	env TGT_IPC_SOCKET="$dir/socket" LUNLINK_IMAGE="$SRC_DIR/target/lunlink-image" \
		ip netns exec "$(node_ns "$i")" "$PD" -f -c "n$i.conf" 2>>"n$i.log" &
	eval "AGENT${i}_PID=\$!"
}
daemon_kill() { agent_kill "$1"; rm -f "$TRASH/n$1/policyd.sock"; }

# leads I: node I's manager says, on its local socket, that it leads (a
# follower passes its socket's requests on to the leader, so that its
# answer names another; a manager past its term answers 503)
leads() {
	# bounded: a follower passes status on to a leader that may be cut off
	[ "$(timeout -s KILL 2 "$CTL" -c "n$1.conf" --json status 2>/dev/null |
	     jq -r '.managers.leader // empty')" = "n$1" ]
}
# leader: the node whose manager leads
leader() {
	local i=1
	while [ "$i" -le "$N" ]; do
		leads "$i" && { echo "$i"; return 0; }
		i=$((i + 1))
	done
	return 1
}
# ctl ARGS: lunlinkctl through the leader's socket
ctl() {
	local l
	l=$(leader) || { echo "no manager leads" >&2; return 1; }
	"$CTL" -c "n$l.conf" "$@"
}
# leaders: how many managers say they lead now
leaders() {
	local i=1 n=0
	while [ "$i" -le "$N" ]; do
		leads "$i" && n=$((n + 1))
		i=$((i + 1))
	done
	echo $n
}
# new_leader OLD T0: wait until a manager other than OLD leads; the takeover's
# time since T0 (ms) goes to TAKEOVERS and took
new_leader() {
	local old=$1 t0=$2 bound=${3:-$BOUND} j end
	end=$(( $(now_ms) + bound * 1000 ))
	while [ "$(now_ms)" -lt "$end" ]; do
		# the others only: the old one's answer may take its store
		# calls' time (cut off), which would count in the takeover
		j=1
		while [ "$j" -le "$N" ]; do
			[ "$j" != "$old" ] && leads "$j" && {
				took=$(( $(now_ms) - t0 ))
				TAKEOVERS="$TAKEOVERS $took"
				say "n$j leads, $took ms after n$old was killed"
				NEW=$j
				return 0
			}
			j=$((j + 1))
		done
		sleep 0.1
	done
	say "no other manager led within $bound s"
	return 1
}
etcd_cluster_up() {
	local i
	cluster_up "$N" || return 1
	i=1; while [ "$i" -le "$N" ]; do etcd_start $i; i=$((i + 1)); done
	i=1; while [ "$i" -le "$N" ]; do wait_for 30 etcd_healthy $i || return 1; i=$((i + 1)); done
	i=1; while [ "$i" -le "$N" ]; do node_tgtd_start $i && node_conf $i || return 1; i=$((i + 1)); done
	"$CTL" -c n1.conf ca init >/dev/null || return 1
	i=1
	while [ "$i" -le "$N" ]; do
		{ [ "$i" = 1 ] || cp -a n1/state/ca "n$i/state/ca"; } &&
		cp n1/state/ca/ca.crt "n$i/state/ca.crt" && daemon_start $i || return 1
		i=$((i + 1))
	done
	wait_for 20 leader >/dev/null || return 1
	i=1
	while [ "$i" -le "$N" ]; do
		wait_for 30 node_is "n$i" online &&
		ctl area add "n$i" "$TRASH/n$i/area" --size "$AREA_SIZE" >/dev/null || return 1
		i=$((i + 1))
	done
}
