#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='lunlinkctl against lunlink-policyd as manager

lunlink-policyd runs as the manager on a scratch state folder with the
SQLite store, its API and join ports on loopback (free ports) and its Unix
socket in the scratch folder; lunlinkctl makes the CA, tokens and asks for
the (empty) node list, in tables and in JSON (read with jq); usage errors
exit 2 with the usage line, a manager that cannot be reached exits 1
naming the socket; a second daemon joins as a node with a token, a
third through a list of managers whose first is down, and lunlinkctl
--url takes such a list; SIGTERM stops the manager and removes its socket.'
. "$(dirname "$0")/test-lib.sh"

CTL="$SRC_DIR/policy/lunlinkctl"
PD="$SRC_DIR/policy/lunlink-policyd"
[ -x "$CTL" ] || skip_all "policy/lunlinkctl not built (make policy-progs)"
if [ ! -x "$PD" ]; then
	[ -f "$SRC_DIR/policy/manager.c" ] ||
		skip_all "lunlink-policyd not built: the manager (policy/manager.c) is not on this branch yet"
	skip_all "policy/lunlink-policyd not built (make policy-progs)"
fi
command -v jq >/dev/null || skip_all "jq not installed"

PORT=$(free_port) && JOIN=$(free_port) || die "no free port"
[ "$PORT" != "$JOIN" ] || JOIN=$((PORT + 1))
STATE=$TRASH/state
SOCK=$TRASH/run/policyd.sock

cat >mgr.conf <<EOF
policy = {
	manager = true;
	store = "sqlite:$STATE/policy.db";
	listen = "127.0.0.1:$PORT";
	join_listen = "127.0.0.1:$JOIN";
	socket = "$SOCK";
	state_dir = "$STATE";
	node_name = "mgr";
	address = "127.0.0.1";
};
EOF

PD_PID=
pd_stop() {
	[ -n "$PD_PID" ] || return 0
	kill "$PD_PID" 2>/dev/null
	wait "$PD_PID" 2>/dev/null
	PD_PID=
}
test_atexit pd_stop

ctl() { "$CTL" -c mgr.conf "$@"; }

# exit_code CODE CMD...: CMD exits with CODE
exit_code() {
	want=$1
	shift
	"$@"
	got=$?
	[ "$got" = "$want" ] || { echo "exit code $got, not $want: $*" >&2; return 1; }
}

test_expect_success 'usage errors exit 2 with the usage line' '
	exit_code 2 ctl 2>err &&
	grep "^usage: lunlinkctl" err &&
	exit_code 2 ctl volume create db 2>err &&
	grep "^lunlinkctl: volume create: --way and --size are needed" err &&
	exit_code 2 ctl volume create 2>err &&
	grep "^lunlinkctl: volume create: too few arguments" err &&
	grep "^usage: lunlinkctl volume create NAME --way single|doubled|integrated|divided --size SIZE" err &&
	exit_code 2 ctl volume create db --way striped --size 1G 2>err &&
	grep "a way is single, doubled, integrated or divided" err &&
	exit_code 2 ctl token create --ttl 30y 2>err &&
	grep "^usage: lunlinkctl token create" err &&
	exit_code 2 ctl frobnicate 2>err &&
	grep "unknown command .frobnicate." err &&
	exit_code 2 ctl node 2>err &&
	grep "^usage: lunlinkctl node list" err &&
	exit_code 2 ctl volume show "a/b" 2>err &&
	grep "is not a name" err &&
	exit_code 2 ctl --url http://127.0.0.1:1 node list 2>err &&
	grep "https://HOST:PORT" err &&
	exit_code 2 "$CTL" -c nothere.conf node list 2>err &&
	grep "nothere.conf: No such file" err
'

test_expect_success 'a manager that cannot be reached: exit 1, the socket and the cause named' '
	exit_code 1 ctl node list 2>err &&
	grep "lunlinkctl: node list: cannot connect to the socket $SOCK: No such file or directory" err
'

test_expect_success 'a bad configuration is refused with its line and setting' '
	printf "policy = {\n manager = true;\n listen = \"127.0.0.1\";\n};\n" >bad.conf &&
	exit_code 2 "$PD" -f -c bad.conf 2>err &&
	grep "bad.conf:3: policy.listen: .127.0.0.1. has no port" err &&
	printf "policy = { mangaer = true; };\n" >typo.conf &&
	exit_code 2 "$PD" -f -c typo.conf 2>err &&
	grep "typo.conf:1: policy.mangaer: unknown setting" err
'

test_expect_success 'the manager will not start without a CA, and says how to make one' '
	exit_code 1 "$PD" -f -c mgr.conf 2>err &&
	grep "lunlink-policyd: error: no cluster CA in $STATE/ca: run .lunlinkctl ca init." err
'

test_expect_success 'ca init makes the CA once' '
	ctl ca init >out &&
	grep "made the cluster CA in $STATE/ca" out &&
	test "$(stat -c %a "$STATE/ca/ca.key")" = 600 &&
	exit_code 1 ctl ca init 2>err &&
	grep "lunlinkctl: ca init: .*already exists" err
'

test_expect_success 'the manager starts, on its ports and socket' '
	"$PD" -f -c mgr.conf 2>pd.log &
	PD_PID=$! &&
	i=0 &&
	while [ ! -S "$SOCK" ] && [ $i -lt 50 ]; do
		kill -0 "$PD_PID" || { cat pd.log; false; } || exit 1
		sleep 0.1
		i=$((i + 1))
	done &&
	test -S "$SOCK" &&
	grep "API on 127.0.0.1:$PORT, join on 127.0.0.1:$JOIN" pd.log &&
	test -s "$STATE/node.crt"
'

test_expect_success 'node list: the table header and no node' '
	ctl node list >out &&
	cat out &&
	test $(wc -l <out) = 1 &&
	grep "^NAME  *ID  *ADDRESS  *STATE  *SINCE" out
'

test_expect_success 'node list --json: the API answer, parsed by jq' '
	ctl node list --json >out &&
	jq -e "(if type == \"array\" then . else .nodes end) | length == 0" out
'

test_expect_success 'token create prints the token alone, --json the API answer' '
	ctl token create --ttl 10m >token 2>err &&
	grep -Ex "[0-9a-f]{8}\.[0-9a-f]{32}" token &&
	grep "a node token, valid for 10m" err &&
	ctl --json token create --role admin >out &&
	jq -e ".token | test(\"^[0-9a-f]{8}[.][0-9a-f]{32}$\")" out
'

test_expect_success 'the manager'"'"'s refusal: exit 1 with its field and message' '
	exit_code 1 ctl area add nowhere /srv/x --size 5Q 2>err &&
	grep "^lunlinkctl: area add: size: " err
'

test_expect_success 'status shows the three tables' '
	ctl status >out &&
	grep -x NODES out && grep -x AREAS out && grep -x VOLUMES out
'

test_expect_success 'a node joins with a token and keeps its key private' '
	mkdir node &&
	cp "$STATE/ca/ca.crt" node/ca.crt &&
	cat >node.conf <<-EOF &&
	policy = {
		manager_url = "https://127.0.0.1:$PORT";
		join_listen = "127.0.0.1:$JOIN";
		state_dir = "$TRASH/node";
		node_name = "n1";
		address = "127.0.0.1";
		heartbeat_interval = 1;
	};
	EOF
	token=$(ctl token create) &&
	{ "$PD" -f -c node.conf --join "$token" 2>node.log & node_pid=$!; } &&
	i=0 &&
	while ! grep -q "joined:" node.log && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done &&
	kill "$node_pid" 2>/dev/null; wait "$node_pid" 2>/dev/null
	cat node.log &&
	grep "joined: key $TRASH/node/node.key" node.log &&
	test "$(stat -c %a node/node.key)" = 600 &&
	openssl verify -CAfile "$STATE/ca/ca.crt" node/node.crt
'

# 127.0.0.2 is loopback too, where nothing listens: a manager that is down
test_expect_success 'a node joins through a list of managers, the first one down' '
	mkdir node2 &&
	cp "$STATE/ca/ca.crt" node2/ca.crt &&
	cat >node2.conf <<-EOF &&
	policy = {
		manager_url = "https://127.0.0.2:$PORT, https://127.0.0.1:$PORT";
		join_listen = "127.0.0.1:$JOIN";
		state_dir = "$TRASH/node2";
		node_name = "n2";
		address = "127.0.0.1";
		heartbeat_interval = 1;
	};
	EOF
	token=$(ctl token create) &&
	{ "$PD" -f -c node2.conf --join "$token" 2>node2.log & node_pid=$!; } &&
	i=0 &&
	while ! grep -q "joined:" node2.log && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done &&
	kill "$node_pid" 2>/dev/null; wait "$node_pid" 2>/dev/null
	cat node2.log &&
	grep "joining the cluster at https://127.0.0.2:$JOIN, https://127.0.0.1:$JOIN as node n2" node2.log &&
	grep "joined: key $TRASH/node2/node.key" node2.log &&
	openssl verify -CAfile "$STATE/ca/ca.crt" node2/node.crt
'

TOOL="$SRC_DIR/t/helpers/api-tool"
test_expect_success 'lunlinkctl --url takes a list: the manager down is passed' '
	test -x "$TOOL" &&
	token=$(ctl token create --role admin) &&
	"$TOOL" join "https://127.0.0.1:$JOIN" "$STATE/ca/ca.crt" "$token" ops ops.key ops.crt &&
	ctl --url "https://127.0.0.2:$PORT, https://127.0.0.1:$PORT" --cert ops.crt --key ops.key \
		--ca "$STATE/ca/ca.crt" --json node list >out &&
	jq -e ".nodes" out &&
	ctl --url "https://127.0.0.2:$PORT https://127.0.0.1:$PORT" --cert ops.crt --key ops.key \
		--ca "$STATE/ca/ca.crt" --json events --since 0 >out &&
	test -s out
'

test_expect_success 'lunlinkctl --url with every manager down: exit 1, each named' '
	exit_code 1 ctl --url "https://127.0.0.2:$PORT,https://127.0.0.3:$PORT" --cert ops.crt \
		--key ops.key --ca "$STATE/ca/ca.crt" node list 2>err &&
	cat err &&
	grep "https://127.0.0.2:$PORT: cannot connect to 127.0.0.2:$PORT: Connection refused; https://127.0.0.3:$PORT: cannot connect to 127.0.0.3:$PORT: Connection refused" err &&
	exit_code 2 ctl --url "https://127.0.0.1:$PORT, http://127.0.0.2:$PORT" --cert ops.crt \
		--key ops.key node list 2>err &&
	grep "url http://127.0.0.2:$PORT: the manager.s API is https://HOST:PORT" err
'

test_expect_success 'SIGTERM stops the manager cleanly and removes its socket' '
	kill "$PD_PID" &&
	wait "$PD_PID" &&
	PD_PID= &&
	test ! -e "$SOCK" &&
	grep "stopping" pd.log
'

test_done
