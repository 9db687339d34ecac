#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='the policy API transport: mutual TLS, the join port, the Unix socket

A test server (t/helpers/api-echo, the policy API library with an echo
route) is driven with curl and with the library'"'"'s own client
(t/helpers/api-tool): a member certificate is served; no certificate, a
foreign, a revoked or an expired one is refused at the handshake; a node
joins with a one-time token; the Unix socket admits root and refuses
another uid; bad requests get 4xx with a JSON error naming the field;
/metrics is Prometheus text.'
. "$(dirname "$0")/test-lib.sh"

ECHO="$T_DIR/helpers/api-echo"
TOOL="$T_DIR/helpers/api-tool"
[ -x "$ECHO" ] && [ -x "$TOOL" ] || skip_all "t/helpers/api-echo not built (make policy)"
command -v curl >/dev/null || skip_all "curl not installed"
command -v openssl >/dev/null || skip_all "openssl not installed"
command -v setpriv >/dev/null && test_set_prereq SETPRIV

# The Unix socket lives where uid 65534 can reach it: a private folder
# under /tmp, open to all, removed at the end.
SOCKDIR=$(mktemp -d /tmp/lunlink-t3600.XXXXXX) || die "mktemp failed"
chmod 755 "$SOCKDIR"
test_atexit 'rm -rf "$SOCKDIR"'
SOCK=$SOCKDIR/api.sock

SERVER_PID=
server_stop() {
	[ -n "$SERVER_PID" ] || return 0
	kill "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
}
test_atexit server_stop

# server_start: api-echo on loopback (ports chosen by the kernel, read
# back from its ports file) and the socket, mode $1 (default 0660)
server_start() {
	rm -f ports
	"$ECHO" --ca-dir ca --cert mgr.crt --key mgr.key --tls 127.0.0.1 --join 127.0.0.1 \
		--unix "$SOCK" --unix-mode "${1:-0660}" --revoked revoked --tokens tokens \
		--ports ports 2>>server.log &
	SERVER_PID=$!
	i=0
	while [ ! -s ports ] && [ $i -lt 50 ]; do
		kill -0 "$SERVER_PID" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	PORT=$(sed -n 's/^tls //p' ports)
	JOIN=$(sed -n 's/^join //p' ports)
	URL=https://127.0.0.1:$PORT
	[ -n "$PORT" ] && [ -n "$JOIN" ]
}

# curl as member NAME (its NAME.crt and NAME.key) to PATH; more curl args after
curl_as() {
	who=$1 path=$2
	shift 2
	curl -sS --max-time 10 --cacert ca/ca.crt --cert "$who.crt" --key "$who.key" "$@" "$URL$path"
}

# refused_at_tls WHO REASON: curl as WHO gets no HTTP reply at all, and
# the server logged the refusal with REASON.  (The client may see the
# server's alert or only the closed connection: with TLS 1.3 the client
# has sent its request before the server judges its certificate, and the
# reset of the unread request can overtake the alert.)
refused_at_tls() {
	before=$(grep -c "$2" server.log)
	if [ "$1" = - ]; then
		test_must_fail curl -sS --max-time 10 --cacert ca/ca.crt -w "%{http_code}" \
			"$URL/v1/whoami" >code 2>err
	else
		test_must_fail curl_as "$1" /v1/whoami -w "%{http_code}" >code 2>err
	fi &&
	cat err &&
	grep -x 000 code &&
	test "$(grep -c "$2" server.log)" -gt "$before"
}

call_as() {
	who=$1
	shift
	"$TOOL" call "$URL" "$@" --ca ca/ca.crt --cert "$who.crt" --key "$who.key"
}

test_expect_success 'a cluster CA, a manager and an operator certificate' '
	"$TOOL" ca-init ca &&
	test "$(stat -c %a ca/ca.key)" = 600 &&
	"$TOOL" issue ca node mgr mgr.key mgr.crt --host 127.0.0.1 --host localhost &&
	"$TOOL" issue ca admin op op.key op.crt &&
	"$TOOL" issue ca host web1 web1.key web1.crt &&
	openssl verify -CAfile ca/ca.crt mgr.crt op.crt web1.crt &&
	mkdir tokens && : >revoked
'

test_expect_success 'the server starts on loopback and the socket' '
	server_start &&
	test "$(stat -c %a "$SOCK")" = 660
'

test_expect_success 'a member certificate is served, and named as the caller' '
	curl_as op /v1/whoami >out &&
	grep -x "{\"caller\":\"admin op\"}" out &&
	call_as web1 GET /v1/whoami >out &&
	grep "\"caller\":\"host web1\"" out
'

test_expect_success 'TLS 1.3 is what two current ends agree on' '
	curl_as op /v1/whoami -v 2>err >/dev/null &&
	grep "SSL connection using TLSv1.3" err
'

test_expect_success 'a client without a certificate is refused at TLS' '
	refused_at_tls - "TLS handshake with a client failed: certificate required"
'

test_expect_success 'a certificate from another CA is refused at TLS' '
	"$TOOL" ca-init other &&
	"$TOOL" issue other admin mallory mallory.key mallory.crt &&
	refused_at_tls mallory "certificate /CN=mallory refused: unable to get local issuer certificate"
'

test_expect_success 'the client names a certificate of another CA before connecting' '
	test_must_fail call_as mallory GET /v1/whoami 2>err &&
	grep "the certificate mallory.crt is not signed by the cluster CA in ca/ca.crt" err
'

test_expect_success 'refusals at TLS are counted' '
	curl_as op /metrics >metrics &&
	grep "^lunlink_api_tls_refused_total [1-9]" metrics
'

test_expect_success 'the client says when the server is not from the cluster CA' '
	test_must_fail "$TOOL" call "$URL" GET /v1/whoami --ca other/ca.crt \
		--cert mallory.crt --key mallory.key 2>err &&
	grep "TLS: the server 127.0.0.1:$PORT.s certificate is not signed by the cluster CA in other/ca.crt" err
'

test_expect_success 'an expired certificate is refused at TLS' '
	"$TOOL" issue ca admin old old.key old.crt --expired &&
	refused_at_tls old "certificate /CN=old refused: certificate has expired" &&
	test_must_fail call_as old GET /v1/whoami 2>err &&
	grep "old.crt is not valid against the cluster CA in ca/ca.crt: certificate has expired" err
'

test_expect_success 'a missing key file is named' '
	test_must_fail "$TOOL" call "$URL" GET /v1/whoami --ca ca/ca.crt \
		--cert op.crt --key nothere.key 2>err &&
	grep "cannot open the key nothere.key: No such file or directory" err
'

test_expect_success 'a revoked certificate is refused at TLS, from the next handshake on' '
	"$TOOL" issue ca host gone gone.key gone.crt &&
	curl_as gone /v1/whoami &&
	"$TOOL" serial gone.crt >>revoked &&
	refused_at_tls gone "host gone.s certificate (serial $(cat revoked)) is revoked" &&
	test_must_fail call_as gone GET /v1/whoami 2>err &&
	grep "TLS: the server 127.0.0.1:$PORT .* our certificate gone.crt" err &&
	curl_as op /v1/whoami
'

test_expect_success 'a node joins with a one-time token and then talks mutual TLS' '
	token=$("$TOOL" token node 600 tokens) &&
	"$TOOL" join "https://127.0.0.1:$JOIN" ca/ca.crt "$token" n1 n1.key n1.crt \
		--host 127.0.0.2 &&
	test "$(stat -c %a n1.key)" = 600 &&
	openssl verify -CAfile ca/ca.crt n1.crt &&
	openssl x509 -in n1.crt -noout -ext subjectAltName | grep "URI:lunlink:node/n1, IP Address:127.0.0.2" &&
	call_as n1 GET /v1/whoami >out &&
	grep "\"caller\":\"node n1\"" out &&
	test_must_fail "$TOOL" join "https://127.0.0.1:$JOIN" ca/ca.crt "$token" n2 n2.key n2.crt 2>err &&
	grep "HTTP 403: field .token.: the token has been used already" err
'

test_expect_success 'a wrong or expired token gets 403 naming the token' '
	token=$("$TOOL" token host 1 tokens) &&
	sleep 1.1 &&
	test_must_fail "$TOOL" join "https://127.0.0.1:$JOIN" ca/ca.crt "$token" h1 h1.key h1.crt 2>err &&
	grep "field .token.: the token expired" err &&
	token=$("$TOOL" token host 600 tokens) &&
	bad=$(echo "$token" | sed "s/.\$/x/") &&
	test_must_fail "$TOOL" join "https://127.0.0.1:$JOIN" ca/ca.crt "$bad" h1 h1.key h1.crt 2>err &&
	grep "field .token." err
'

test_expect_success 'the join port serves nothing but joining, and asks no certificate' '
	curl -sS --max-time 10 --cacert ca/ca.crt -w "%{http_code}\n" \
		"https://127.0.0.1:$JOIN/v1/whoami" >out &&
	grep "^404$" out &&
	grep "only joining is served here" out
'

test_expect_success 'a role a route does not admit gets 403 naming the caller' '
	curl_as web1 /v1/admin -w "%{http_code}\n" >out &&
	grep "^403$" out &&
	grep "\"field\":\"caller\",\"message\":\"host web1 may not GET /v1/admin\"" out &&
	curl_as op /v1/admin >out && grep "admin op" out
'

test_expect_success 'bad JSON gets 400 naming the field' '
	curl_as op /v1/echo -d "{\"name\":\"a\",\"size\":\"12Q\"}" -w "%{http_code}\n" >out &&
	grep "^400$" out &&
	grep "\"field\":\"size\"" out &&
	curl_as op /v1/echo -d "{\"name\":\"a/b\"}" >out &&
	grep "\"field\":\"name\"" out &&
	curl_as op /v1/echo -d "{\"name\":" >out &&
	grep "\"field\":\"body\"" out &&
	curl_as op /v1/echo -d "{\"name\":\"a\",\"colour\":1}" >out &&
	grep "\"field\":\"colour\",\"message\":\"unknown field" out &&
	test_must_fail call_as op POST /v1/echo "{\"name\":\"a\",\"count\":1000}" 2>err &&
	grep "HTTP 400: field .count.: field .count. must be between 1 and 100" err &&
	call_as op POST /v1/echo "{\"name\":\"db1\",\"size\":\"10G\"}" >out &&
	grep "\"size\":10737418240" out
'

test_expect_success 'unknown paths get 404, wrong methods 405' '
	curl_as op /v1/nothing -w "%{http_code}\n" >out && grep "^404$" out &&
	grep "\"field\":\"path\"" out &&
	curl_as op /v1/echo -w "%{http_code}\n" >out && grep "^405$" out &&
	grep "\"field\":\"method\"" out
'

# The server reads and drops the oversize body before it answers 413
# (evhttp's lingering close): however early curl sends the body, it gets
# the answer, not a reset connection.
test_expect_success 'an oversize body gets 413' '
	head -c 70000 /dev/zero | tr "\0" " " >big &&
	curl_as op /v1/echo --data-binary @big -o body \
		-w "%{http_code}\n" >out &&
	grep "^413$" out && cat body && echo
'

test_expect_success 'the Unix socket admits root' '
	curl -sS --max-time 10 --unix-socket "$SOCK" http://localhost/v1/whoami >out &&
	grep "\"caller\":\"local admin uid 0\"" out &&
	"$TOOL" call "unix:$SOCK" GET /v1/admin >out &&
	grep "local admin uid 0" out
'

test_expect_success SETPRIV 'at mode 0660, another uid cannot connect' '
	test_must_fail setpriv --reuid=65534 --regid=65534 --clear-groups \
		curl -sS --max-time 10 --unix-socket "$SOCK" http://localhost/v1/whoami 2>err &&
	grep -i "connect" err
'

test_expect_success SETPRIV 'at mode 0666, another uid is refused by its credentials' '
	server_stop &&
	server_start 0666 &&
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		curl -sS --max-time 10 --unix-socket "$SOCK" -w "%{http_code}\n" \
		http://localhost/v1/whoami >out &&
	grep "^403$" out &&
	grep "uid 65534 (pid [0-9]*) may not use this socket" out &&
	test_must_fail setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$TOOL" call "unix:$SOCK" GET /v1/whoami 2>err &&
	grep "HTTP 403: field .caller.: uid 65534" err
'

test_expect_success '/metrics is Prometheus text' '
	curl_as op /metrics -D headers >metrics &&
	grep -i "^content-type: text/plain; version=0.0.4" headers &&
	grep "^# TYPE lunlink_api_requests_total counter$" metrics &&
	grep "^lunlink_api_requests_total{listener=\"unix\",code=\"4xx\"} [1-9]" metrics &&
	grep "^lunlink_test_echoes_total{test=\"t3600\"} " metrics &&
	! grep -v -e "^# HELP [a-z_]* " -e "^# TYPE [a-z_]* \(counter\|gauge\)$" \
		-e "^[a-z_]*\({[a-z]*=\"[^\"]*\"\(,[a-z]*=\"[^\"]*\"\)*}\)\? [0-9.e+-]*$" metrics
'

test_expect_success 'the server stops on SIGTERM and removes its socket' '
	kill "$SERVER_PID" && wait "$SERVER_PID" &&
	SERVER_PID= &&
	test ! -e "$SOCK"
'

test_expect_success 'the client says the connection was refused, and where' '
	test_must_fail call_as op GET /v1/whoami 2>err &&
	grep "cannot connect to 127.0.0.1:$PORT: Connection refused" err &&
	test_must_fail "$TOOL" call "unix:$SOCK" GET /v1/whoami 2>err &&
	grep "cannot connect to the socket $SOCK: No such file or directory" err
'

test_done
