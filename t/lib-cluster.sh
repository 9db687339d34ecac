# SPDX-License-Identifier: GPL-2.0-or-later
#
# lib-cluster.sh: several storage nodes on one machine, for the policy
# daemon's tests.  Each node is a network namespace with one veth into a
# bridge in the test's own namespace, on a /24 of its own (10.201.X.0/24,
# X from the test's pid, so that tests running at once do not meet):
#
#   root namespace: bridge llbXXXX, 10.201.X.1 (the tests' side)
#   node i:         namespace llXXXX-i, eth0 10.201.X.(i+1), default route
#                   through the bridge
#
# cluster_up N makes them and removes them at the end (test_atexit);
# node_ns I, node_addr I name a node's namespace and address; node_cut I
# and node_heal I take its link down and up (its processes keep running);
# node_tgtd_start I starts a tgtd in it (t/lib-tgtd.sh's, named N<I>, its
# portal on the node's address).  Needs root.

cluster_up() {
	local n=$1 i ns v
	CL_ID=$(printf '%04x' $(( $$ % 65536 )))
	CL_NET=10.201.$(( $$ % 250 + 1 ))
	CL_BR=llb$CL_ID
	CL_N=$n
	test_atexit "cluster_down"
	ip link add "$CL_BR" type bridge || return 1
	ip addr add "$CL_NET.1/24" dev "$CL_BR" && ip link set "$CL_BR" up || return 1
	i=1
	while [ "$i" -le "$n" ]; do
		ns=ll$CL_ID-$i
		v=llv$CL_ID$i
		ip netns add "$ns" &&
		ip link add "$v" type veth peer name eth0 netns "$ns" &&
		ip link set "$v" master "$CL_BR" && ip link set "$v" up &&
		ip -n "$ns" addr add "$CL_NET.$((i + 1))/24" dev eth0 &&
		ip -n "$ns" link set eth0 up && ip -n "$ns" link set lo up &&
		ip -n "$ns" route add default via "$CL_NET.1" || return 1
		i=$((i + 1))
	done
}

cluster_down() {
	local i=1
	while [ "$i" -le "${CL_N:-0}" ]; do
		ip link del "llv$CL_ID$i" 2>/dev/null
		ip netns del "ll$CL_ID-$i" 2>/dev/null
		i=$((i + 1))
	done
	[ -n "${CL_BR:-}" ] && ip link del "$CL_BR" 2>/dev/null
	return 0
}

node_ns() { echo "ll$CL_ID-$1"; }
node_addr() { echo "$CL_NET.$(($1 + 1))"; }
node_cut() { ip link set "llv$CL_ID$1" down; }
node_heal() { ip link set "llv$CL_ID$1" up; }

# node_isolate I: node I and the other nodes stop reaching each other,
# silently (each sends the other's frames to a MAC nobody has: no reset,
# no ICMP, as when the switch between them fails), while the tests' side
# still reaches every node: a client that sees both halves of a split.
# node_rejoin I ends it (the addresses resolved again).
CL_VOID_MAC=02:00:00:00:00:01
node_isolate() {
	local j=1
	while [ "$j" -le "$CL_N" ]; do
		[ "$j" = "$1" ] ||
		{ ip -n "$(node_ns "$1")" neigh replace "$(node_addr "$j")" lladdr $CL_VOID_MAC dev eth0 nud permanent &&
		  ip -n "$(node_ns "$j")" neigh replace "$(node_addr "$1")" lladdr $CL_VOID_MAC dev eth0 nud permanent; } ||
			return 1
		j=$((j + 1))
	done
}
node_rejoin() {
	local j=1
	while [ "$j" -le "$CL_N" ]; do
		[ "$j" = "$1" ] ||
		{ ip -n "$(node_ns "$1")" neigh del "$(node_addr "$j")" dev eth0 &&
		  ip -n "$(node_ns "$j")" neigh del "$(node_addr "$1")" dev eth0; } ||
			return 1
		j=$((j + 1))
	done
}

# node_exec I CMD...: run CMD in node I's namespace
node_exec() {
	local i=$1
	shift
	ip netns exec "$(node_ns "$i")" "$@"
}

# node_tgtd_start I: a tgtd named N<I> in node I, its portal on the node's
# address (N<I>_PORT, N<I>_ADDR as tgtd_start sets them)
node_tgtd_start() {
	TGTD_NETNS=$(node_ns "$1") TGTD_ADDR=$(node_addr "$1") tgtd_start "N$1"
}
