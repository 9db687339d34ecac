#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='lunlink-policyd --role manager|agent: one configuration, two daemons

One file says both manager = true and manager_url, as on a manager host
that is a storage node too (the packages run lunlink-manager.service and
lunlink-agent.service from it).  --role manager starts the manager alone,
--join-only joins as the agent into agent_state_dir and exits, --role agent
starts the agent alone, which reports and is online.  A role the file does
not describe is refused with exit 2, naming the setting and the file.'
. "$(dirname "$0")/test-lib.sh"

CTL="$SRC_DIR/policy/lunlinkctl"
PD="$SRC_DIR/policy/lunlink-policyd"
[ -x "$PD" ] && [ -x "$CTL" ] || skip_all "lunlink-policyd not built (make policy-progs)"
command -v jq >/dev/null || skip_all "jq not installed"

PORT=$(free_port) && JOIN=$(free_port) || die "no free port"
[ "$PORT" != "$JOIN" ] || JOIN=$((PORT + 1))
SOCK=$TRASH/run/policyd.sock

# both parts; the agent's files apart (agent_state_dir); no tgtd here:
# true (found in PATH, as a bare tgtadm is) reads as a tgtd without targets
cat >both.conf <<EOF
policy = {
	manager = true;
	store = "sqlite:$TRASH/mgr/policy.db";
	listen = "127.0.0.1:$PORT";
	join_listen = "127.0.0.1:$JOIN";
	socket = "$SOCK";
	state_dir = "$TRASH/mgr";
	agent_state_dir = "$TRASH/agent";
	manager_url = "https://127.0.0.1:$PORT";
	node_name = "n1";
	address = "127.0.0.1";
	heartbeat_interval = 1;
	offline_after = 3;
	tgtadm = "true";
};
EOF
printf 'policy = {\n\tmanager = true;\n\tstate_dir = "%s/x";\n};\n' "$TRASH" >mgr-only.conf
printf 'policy = {\n\tmanager_url = "https://127.0.0.1:%s";\n\tstate_dir = "%s/x";\n};\n' \
	"$PORT" "$TRASH" >agent-only.conf

MGR_PID= AGENT_PID=
stop() {
	for p in $AGENT_PID $MGR_PID; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	AGENT_PID= MGR_PID=
}
test_atexit stop

exit_code() {
	want=$1
	shift
	"$@"
	got=$?
	[ "$got" = "$want" ] || { echo "exit code $got, not $want: $*" >&2; return 1; }
}
ctl() { "$CTL" -c both.conf "$@"; }
n1_state() { ctl --json node list | jq -r '.nodes[] | select(.name == "n1") | .state'; }
n1_online() { test "$(n1_state)" = online; }

test_expect_success 'a role that is neither manager nor agent: exit 2 with the usage' '
	exit_code 2 "$PD" -f -c both.conf --role storage 2>err &&
	grep "^lunlink-policyd: --role .storage.: a role is manager or agent" err &&
	grep "^usage: lunlink-policyd" err
'

test_expect_success '--role agent without manager_url: exit 2, the setting and the file named' '
	exit_code 2 "$PD" -f -c mgr-only.conf --role agent 2>err &&
	grep "error: --role agent: mgr-only.conf sets no policy.manager_url" err &&
	test ! -e "$TRASH/x"
'

test_expect_success '--role manager without manager = true: exit 2, the setting and the file named' '
	exit_code 2 "$PD" -f -c agent-only.conf --role manager 2>err &&
	grep "error: --role manager: agent-only.conf does not make this host the manager (policy.manager is not true)" err &&
	test ! -e "$TRASH/x"
'

test_expect_success 'the manager does not join' '
	exit_code 2 "$PD" -f -c both.conf --role manager --join 0123abcd.0123456789abcdef0123456789abcdef 2>err &&
	grep "role manager does not join" err &&
	exit_code 2 "$PD" -c both.conf --role manager --join-only 0123abcd.0123456789abcdef0123456789abcdef 2>err &&
	grep "role manager does not join" err
'

test_expect_success '--role manager: the manager alone, no agent' '
	"$CTL" -c both.conf ca init &&
	"$PD" -f -v -c both.conf --role manager 2>mgr.log &
	MGR_PID=$! &&
	wait_for 10 test -S "$SOCK" &&
	grep "manager: API on 127.0.0.1:$PORT" mgr.log &&
	! grep "agent:" mgr.log &&
	test -s "$TRASH/mgr/node.crt" &&
	test ! -e "$TRASH/agent"
'

test_expect_success '--join-only: the agent joins into agent_state_dir and exits' '
	mkdir -m 0700 "$TRASH/agent" &&
	cp "$TRASH/mgr/ca/ca.crt" "$TRASH/agent/ca.crt" &&
	token=$(ctl token create) &&
	"$PD" -c both.conf --join-only "$token" 2>join.log &&
	grep "joined: key $TRASH/agent/node.key, certificate $TRASH/agent/node.crt" join.log &&
	test "$(stat -c %a "$TRASH/agent/node.key")" = 600 &&
	openssl verify -CAfile "$TRASH/mgr/ca/ca.crt" "$TRASH/agent/node.crt" &&
	! cmp "$TRASH/agent/node.crt" "$TRASH/mgr/node.crt" &&
	test "$(n1_state)" = offline &&
	exit_code 1 "$PD" -c both.conf --join-only "$token" 2>err &&
	grep "this node has joined already ($TRASH/agent/node.crt exists)" err
'

test_expect_success '--role agent: the agent alone reports from its own files, and is online' '
	"$PD" -f -c both.conf --role agent 2>agent.log &
	AGENT_PID=$! &&
	wait_for 10 n1_online &&
	grep "agent: node n1, reporting to https://127.0.0.1:$PORT" agent.log &&
	! grep "manager:" agent.log &&
	# the record is written by the first reconcile, which follows the
	# first report that made the node online
	wait_for 10 test -s "$TRASH/agent/agent-record.json" &&
	test ! -e "$TRASH/mgr/agent-record.json"
'

test_done
