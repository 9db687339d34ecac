// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pr-agent: the policy agent's end of a pr=cluster LUN's socket, played for
 * the module's protocol test (t/t2060-pr-cluster-node.sh).  It is not the
 * agent: it keeps one volume's state itself, as the manager would (the
 * engine of target/lib/pr.c), and speaks the protocol through the same
 * reader and writer (target/lib/pr_wire.c).  Several sockets, one per
 * "node", share that state, so two tgtds' LUNs are one volume.
 *
 *   pr-agent -l LOG -c CONTROL [-g GEN] [-v VALID_MS] SOCKET...
 *
 * It listens on each SOCKET (SOCK_SEQPACKET).  A HELLO gets the state
 * (STATE GEN VALID_MS 0 0); an OUT is applied to the state: a refused one
 * is answered DONE at once, a change makes GEN+1, is pushed as STATE (with
 * its unit attentions and aborts) to every connection, and DONE follows
 * once every connection has ACKed it (or VALID_MS has passed).  VALID is
 * sent to every connection each VALID_MS/3.  LOG gets a line for each
 * message read ("HELLO ...", "OUT SEQ ...", "ACK GEN") and sent
 * ("sent DONE ...").  CONTROL (a FIFO) takes lines:
 *   renew on|off   send VALID or stop (the state's validity runs out)
 *   fail N         answer the next N OUTs with FAIL
 *   hold on|off    hold back DONEs (off: send those due)
 *   mute on|off    read OUTs and never answer them
 *   raw TEXT       send TEXT ("\n" for a newline) as a packet to every connection
 *   quit
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lunlink/pr.h"
#include "lunlink/pr_wire.h"

#define MAX_LISTEN	4
#define MAX_CONN	16
#define MAX_WAIT	16

static FILE *logf;
static int lfd[MAX_LISTEN], nlisten;
static struct conn {
	int fd;			/* -1: free */
	int hello;
	uint64_t acked;
} conns[MAX_CONN];
static struct wait {
	int used, fd;
	uint64_t seq, gen, deadline;
	uint8_t status, key;
	uint16_t asc;
} waits[MAX_WAIT];

static struct ll_pr_state st;
static struct ll_pr_result res;
static struct ll_pr_wire_msg in, out;
static char text[LL_PR_TEXT_MAX], rx[LL_PR_WIRE_MAX + 1], tx[LL_PR_WIRE_BUF];
static char volume[LL_PR_WIRE_VOLUME_LEN + 1];
static uint64_t gen = 1, valid_ms = 3000;
static int renew = 1, fail_n, hold, mute;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(logf, fmt, ap);
	va_end(ap);
	fputc('\n', logf);
	fflush(logf);
}

static void send_raw(int fd, const char *p, size_t n)
{
	if (send(fd, p, n, MSG_NOSIGNAL) != (ssize_t)n)
		say("send failed: %s", strerror(errno));
}

static void send_msg(int fd, const struct ll_pr_wire_msg *m)
{
	char why[256];
	long n = ll_pr_wire_format(m, tx, sizeof(tx), why, sizeof(why));

	if (n < 0) {
		say("cannot write %s: %s", ll_pr_wire_type_name(m->type), why);
		exit(1);
	}
	send_raw(fd, tx, (size_t)n);
	if (m->type != LL_PR_WIRE_VALID && m->type != LL_PR_WIRE_STATE)
		say("sent %.*s", (int)n, tx);
	else if (m->type == LL_PR_WIRE_STATE)
		say("sent STATE %" PRIu64 " %u %u", m->gen, m->nua, m->nabort);
}

/* the state as STATE, with the effects of the change that made it (r) */
static void send_state(int fd, const struct ll_pr_result *r)
{
	long n = ll_pr_format(&st, text, sizeof(text));

	memset(&out, 0, sizeof(out));
	out.type = LL_PR_WIRE_STATE;
	out.gen = gen;
	out.valid_ms = renew ? (uint32_t)valid_ms : 0;
	if (r) {
		out.nua = r->nua;
		memcpy(out.ua, r->ua, sizeof(r->ua[0]) * r->nua);
		out.nabort = r->nabort;
		memcpy(out.abort, r->abort, sizeof(r->abort[0]) * r->nabort);
	}
	out.text = text;
	out.text_len = (size_t)n;
	send_msg(fd, &out);
}

static void done(struct wait *w)
{
	memset(&out, 0, sizeof(out));
	out.type = LL_PR_WIRE_DONE;
	out.seq = w->seq;
	out.status = w->status;
	out.sense_key = w->key;
	out.asc = w->asc;
	send_msg(w->fd, &out);
	w->used = 0;
}

/* DONEs whose generation every connection has (or whose time is up) */
static void check_waits(void)
{
	uint64_t now = now_ms();

	if (hold)
		return;
	for (int i = 0; i < MAX_WAIT; i++) {
		int all = 1;

		if (!waits[i].used)
			continue;
		for (int c = 0; c < MAX_CONN; c++)
			if (conns[c].fd >= 0 && conns[c].hello && conns[c].acked < waits[i].gen)
				all = 0;
		if (all || now >= waits[i].deadline)
			done(&waits[i]);
	}
}

static void on_out(int fd)
{
	struct wait *w = NULL;

	if (mute)
		return;
	if (fail_n > 0) {
		fail_n--;
		memset(&out, 0, sizeof(out));
		out.type = LL_PR_WIRE_FAIL;
		out.seq = in.seq;
		strcpy(out.reason, "the test agent was told to fail it");
		send_msg(fd, &out);
		return;
	}
	ll_pr_out(&st, &in.nexus, in.cdb, in.cdb_len, in.param, in.plen,
		  &res);
	for (int i = 0; i < MAX_WAIT && !w; i++)
		if (!waits[i].used)
			w = &waits[i];
	if (!w)
		exit(2);
	*w = (struct wait){ 1, fd, in.seq, gen, now_ms() + valid_ms, res.status,
			    res.status == LL_PR_CHECK_CONDITION ? res.sense_key : 0,
			    res.status == LL_PR_CHECK_CONDITION ? res.asc : 0 };
	if (res.status == LL_PR_GOOD && res.changed) {
		w->gen = ++gen;
		for (int c = 0; c < MAX_CONN; c++)
			if (conns[c].fd >= 0 && conns[c].hello)
				send_state(conns[c].fd, &res);
	}
	check_waits();
}

static void drop(struct conn *c)
{
	say("closed %d", c->fd);
	close(c->fd);
	c->fd = -1;
}

static void on_conn(struct conn *c)
{
	char why[256];
	ssize_t n = recv(c->fd, rx, sizeof(rx), 0);

	if (n <= 0) {
		drop(c);
		return;
	}
	if (ll_pr_wire_parse(rx, (size_t)n, &in, why, sizeof(why))) {
		say("refused: %s", why);
		drop(c);
		return;
	}
	switch (in.type) {
	case LL_PR_WIRE_HELLO:
		say("HELLO %s %" PRIu32 " %" PRIu64, in.volume, in.tid, in.lun);
		if (strcmp(in.volume, volume) && volume[0]) {
			drop(c);
			return;
		}
		c->hello = 1;
		send_state(c->fd, NULL);
		break;
	case LL_PR_WIRE_OUT:
		say("OUT %" PRIu64 " %s %02x", in.seq, in.nexus.id, in.cdb[1] & 0x1f);
		on_out(c->fd);
		break;
	case LL_PR_WIRE_ACK:
		say("ACK %" PRIu64, in.gen);
		if (in.gen > c->acked)
			c->acked = in.gen;
		check_waits();
		break;
	default:
		say("refused: %s from the module", ll_pr_wire_type_name(in.type));
		drop(c);
	}
}

static void on_control(char *line)
{
	char *arg = strchr(line, ' ');

	if (arg)
		*arg++ = '\0';
	say("control %s %s", line, arg ? arg : "");
	if (!strcmp(line, "renew"))
		renew = arg && !strcmp(arg, "on");
	else if (!strcmp(line, "fail"))
		fail_n = arg ? atoi(arg) : 1;
	else if (!strcmp(line, "hold"))
		hold = arg && !strcmp(arg, "on");
	else if (!strcmp(line, "mute"))
		mute = arg && !strcmp(arg, "on");
	else if (!strcmp(line, "raw") && arg) {
		char pkt[1024];
		size_t n = 0;

		for (char *p = arg; *p && n < sizeof(pkt); p++)
			pkt[n++] = p[0] == '\\' && p[1] == 'n' ? (p++, '\n') : *p;
		for (int c = 0; c < MAX_CONN; c++)
			if (conns[c].fd >= 0)
				send_raw(conns[c].fd, pkt, n);
	} else if (!strcmp(line, "quit"))
		exit(0);
	check_waits();
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8)) {
		fprintf(stderr, "pr-agent: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	const char *log_path = NULL, *control = NULL;
	char cbuf[4096];
	size_t clen = 0;
	uint64_t next_renew;
	uint16_t port = 1;
	int opt, cfd;

	while ((opt = getopt(argc, argv, "l:c:g:v:V:")) != -1) {
		switch (opt) {
		case 'l': log_path = optarg; break;
		case 'c': control = optarg; break;
		case 'g': gen = strtoull(optarg, NULL, 10); break;
		case 'v': valid_ms = strtoull(optarg, NULL, 10); break;
		case 'V': snprintf(volume, sizeof(volume), "%s", optarg); break;
		default: return 1;
		}
	}
	if (!log_path || !control || optind == argc) {
		fprintf(stderr, "usage: pr-agent -l LOG -c CONTROL [-g GEN] [-v VALID_MS] "
			"[-V VOLUME] SOCKET...\n");
		return 1;
	}
	logf = fopen(log_path, "a");
	cfd = open(control, O_RDWR | O_NONBLOCK | O_CLOEXEC);	/* RDWR: no EOF */
	if (!logf || cfd < 0) {
		fprintf(stderr, "pr-agent: %s: %s\n", logf ? control : log_path, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	ll_pr_init(&st, &port, 1, 1);
	for (int c = 0; c < MAX_CONN; c++)
		conns[c].fd = -1;
	for (; optind < argc && nlisten < MAX_LISTEN; optind++)
		lfd[nlisten++] = listen_on(argv[optind]);
	say("listening, generation %" PRIu64 ", validity %" PRIu64 " ms", gen, valid_ms);
	next_renew = now_ms() + valid_ms / 3;

	for (;;) {
		struct pollfd p[1 + MAX_LISTEN + MAX_CONN];
		int np = 0, map[MAX_CONN];
		uint64_t now = now_ms();

		p[np++] = (struct pollfd){ cfd, POLLIN, 0 };
		for (int i = 0; i < nlisten; i++)
			p[np++] = (struct pollfd){ lfd[i], POLLIN, 0 };
		for (int c = 0; c < MAX_CONN; c++) {
			map[c] = -1;
			if (conns[c].fd >= 0) {
				map[c] = np;
				p[np++] = (struct pollfd){ conns[c].fd, POLLIN, 0 };
			}
		}
		poll(p, (nfds_t)np, 50);
		if (p[0].revents & POLLIN) {
			ssize_t n = read(cfd, cbuf + clen, sizeof(cbuf) - 1 - clen);
			char *nl;

			if (n > 0)
				clen += (size_t)n;
			while ((nl = memchr(cbuf, '\n', clen))) {
				*nl = '\0';
				on_control(cbuf);
				clen -= (size_t)(nl + 1 - cbuf);
				memmove(cbuf, nl + 1, clen);
			}
		}
		for (int i = 0; i < nlisten; i++)
			if (p[1 + i].revents & POLLIN) {
				int fd = accept4(lfd[i], NULL, NULL, SOCK_CLOEXEC);

				for (int c = 0; c < MAX_CONN && fd >= 0; c++)
					if (conns[c].fd < 0) {
						conns[c] = (struct conn){ fd, 0, 0 };
						say("accepted %d on socket %d", fd, i);
						fd = -1;
					}
				if (fd >= 0)
					close(fd);
			}
		for (int c = 0; c < MAX_CONN; c++)
			if (conns[c].fd >= 0 && map[c] >= 0 && p[map[c]].fd == conns[c].fd &&
			    p[map[c]].revents)
				on_conn(&conns[c]);
		if (renew && now >= next_renew) {
			for (int c = 0; c < MAX_CONN; c++)
				if (conns[c].fd >= 0 && conns[c].hello) {
					memset(&out, 0, sizeof(out));
					out.type = LL_PR_WIRE_VALID;
					out.gen = gen;
					out.valid_ms = (uint32_t)valid_ms;
					send_msg(conns[c].fd, &out);
				}
			next_renew = now + valid_ms / 3;
		}
		check_waits();
	}
}
