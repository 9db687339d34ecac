// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pr_cluster.c: a pr=cluster LUN's link to the node's policy agent, which
 * keeps the volume's persistent reservation state with the manager
 * (doc/reservations.md, "pr=cluster").
 *
 * One SOCK_SEQPACKET Unix socket per LUN, in tgtd's event loop: connected
 * without blocking (a Unix socket's connect never waits: it is made at
 * once or fails, EAGAIN when the agent's accept queue is full), and again
 * with a back-off when it is lost; HELLO names
 * the volume; a PERSISTENT RESERVE OUT is sent as OUT and its command
 * stays async until DONE or FAIL comes back (or the connection goes, or
 * pr_timeout runs out: then it ends ABORTED COMMAND and the initiator
 * learns the state by PERSISTENT RESERVE IN); STATE replaces the cached
 * state (pr_scsi.c applies it) and is ACKed; VALID extends the state's
 * validity.  Every packet read is parsed by pr_wire.c, which refuses
 * anything out of the protocol; a refused packet drops the connection,
 * since the two ends no longer agree on what was said.
 *
 * The validity is a lease: the state the agent pushed may be used until
 * receipt + VALID_MS on CLOCK_MONOTONIC, even if the socket goes in the
 * meantime, because the manager counts on exactly that bound before it
 * answers a PR OUT without this node's ACK.  Past it, commands a
 * reservation could refuse end NOT READY (pr_scsi.c).
 *
 * Deliberately left out: queuing sends.  Messages are small and rare (a
 * PR OUT, an ACK); a socket the agent does not drain (send would block) is
 * treated as an agent gone: dropped and connected again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "scsi/pr_cluster.h"

#define LINK_TICK_MS		100
#define LINK_BACKOFF_MIN_MS	100
#define LINK_BACKOFF_MAX_MS	5000
/* PR OUTs of one LUN waiting for the agent at once; more: BUSY */
#define LINK_PENDING		16

struct pending {
	struct scsi_cmd *cmd;		/* NULL: free */
	uint64_t seq;
	uint64_t deadline;		/* ms */
};

struct ll_pr_link {
	struct ll_lu *l;
	char volume[LL_PR_WIRE_VOLUME_LEN + 1];
	int fd;				/* -1: not connected */
	int tick_fd;
	uint64_t retry_at, backoff;
	uint64_t opened_at;		/* ms: a first state is awaited from then */
	char last_why[160];		/* the last failure logged (not again) */
	/* the cached state's generation and validity */
	int has_state;
	uint64_t gen;
	uint64_t valid_until;		/* ms; 0: never valid */
	int said_invalid;		/* "no valid state" logged */
	int ack_held;			/* gen's ACK waits for aborted commands */
	/* the connection was lost: the PR OUTs waiting end at the next tick
	 * (link_drop may run inside a command's dispatch, where tgt must
	 * not see other commands complete) */
	int fail_due;
	char fail_why[160];
	uint64_t seq;
	struct pending out[LINK_PENDING];
};

/*
 * One packet buffer each way and one parsed message (about 200 KiB) for
 * every LUN: tgtd's loop is one thread, and nothing here reads them again
 * after a call that can complete a command (a completion may dispatch the
 * next command, and with it another LUN's PR OUT through them).
 */
static char rx[LL_PR_WIRE_MAX + 1], tx[LL_PR_WIRE_BUF];
static struct ll_pr_wire_msg msg;

static void link_drop(struct ll_pr_link *k, const char *why);

/* ---- PR OUTs waiting for the agent --------------------------------------- */

static void out_end(struct ll_pr_link *k, struct pending *o, int status, uint8_t key,
		    uint16_t asc)
{
	struct scsi_cmd *cmd = o->cmd;

	o->cmd = NULL;
	if (status == SAM_STAT_CHECK_CONDITION)
		sense_data_build(cmd, key, asc);
	target_cmd_io_done(cmd, status);
}

/* every waiting PR OUT ends with the communication failure's sense */
static void out_fail_all(struct ll_pr_link *k, const char *why)
{
	unsigned int i, n = 0;

	for (i = 0; i < LINK_PENDING; i++)
		if (k->out[i].cmd) {
			out_end(k, &k->out[i], SAM_STAT_CHECK_CONDITION, LL_PRC_OUT_FAILED_KEY,
				LL_PRC_OUT_FAILED_ASC);
			n++;
		}
	if (n)
		ll_err(k->l, "persistent reservations: %u PERSISTENT RESERVE OUT(s) waiting for "
		       "the policy agent end ABORTED COMMAND (08/00): %s; whether the cluster "
		       "applied them shows in PERSISTENT RESERVE IN\n", n, why);
}

static struct pending *out_find(struct ll_pr_link *k, uint64_t seq)
{
	for (unsigned int i = 0; i < LINK_PENDING; i++)
		if (k->out[i].cmd && k->out[i].seq == seq)
			return &k->out[i];
	return NULL;
}

/* ---- the socket ---------------------------------------------------------- */

static int link_send(struct ll_pr_link *k, const struct ll_pr_wire_msg *m)
{
	char why[200];
	long n = ll_pr_wire_format(m, tx, sizeof(tx), why, sizeof(why));
	ssize_t w;

	if (n < 0) {
		ll_err(k->l, "persistent reservations: cannot write a %s message: %s\n",
		       ll_pr_wire_type_name(m->type), why);
		return -1;
	}
	if (k->fd < 0)
		return -1;
	do
		w = send(k->fd, tx, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w != n) {
		snprintf(why, sizeof(why), "sending %s to the policy agent: %s",
			 ll_pr_wire_type_name(m->type),
			 w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ?
			 "its socket is full (the agent does not read)" :
			 w < 0 ? strerror(errno) : "cut short");
		link_drop(k, why);
		return -1;
	}
	return 0;
}

static void link_hello(struct ll_pr_link *k)
{
	struct ll_pr_wire_msg *m = &msg;

	m->type = LL_PR_WIRE_HELLO;
	memcpy(m->volume, k->volume, sizeof(m->volume));
	m->tid = (uint32_t)k->l->lu->tgt->tid;
	m->lun = k->l->lu->lun;
	if (link_send(k, m))
		return;
	ll_info(k->l, "persistent reservations: connected to the policy agent at %s for "
		"volume %s\n", k->l->opts.pr_socket, k->volume);
}

/* The connection is lost (or never came): close it, fail what waits,
 * connect again after the back-off.  Said once per distinct reason. */
static void link_drop(struct ll_pr_link *k, const char *why)
{
	uint64_t now = ll_now_ms();

	if (k->fd >= 0) {
		tgt_event_del(k->fd);
		close(k->fd);
		k->fd = -1;
	}
	if (!k->fail_due) {
		k->fail_due = 1;
		snprintf(k->fail_why, sizeof(k->fail_why), "%s", why);
	}
	if (strncmp(k->last_why, why, sizeof(k->last_why) - 1)) {
		snprintf(k->last_why, sizeof(k->last_why), "%s", why);
		ll_warn(k->l, "persistent reservations: no connection to the policy agent at %s: "
			"%s; trying again every %u s at most%s\n", k->l->opts.pr_socket, why,
			LINK_BACKOFF_MAX_MS / 1000,
			k->has_state && now < k->valid_until ?
			" (the reservation state stays in use until its validity runs out)" : "");
	}
	k->retry_at = now + k->backoff;
	k->backoff = k->backoff * 2 > LINK_BACKOFF_MAX_MS ? LINK_BACKOFF_MAX_MS : k->backoff * 2;
}

static void on_state(struct ll_pr_link *k, const struct ll_pr_wire_msg *m, uint64_t now)
{
	/* the agent answers: a connection lost from now on is tried again
	 * soon (one it closes at once is not: the back-off grows) */
	k->last_why[0] = '\0';
	k->backoff = LINK_BACKOFF_MIN_MS;
	if (k->has_state && m->gen < k->gen) {
		ll_warn(k->l, "persistent reservations: the agent sent generation %" PRIu64
			", older than the %" PRIu64 " in use: ignored\n", m->gen, k->gen);
		return;
	}
	if (!k->has_state || m->gen > k->gen) {
		int applied = ll_pr_cluster_apply(k->l, m);

		k->has_state = 1;
		k->gen = m->gen;
		k->valid_until = now + m->valid_ms;
		if (!applied) {
			k->ack_held = 1;	/* ACKed once the aborted commands end */
			return;
		}
	} else {
		k->valid_until = now + m->valid_ms;	/* the same state again */
		if (k->ack_held)
			return;		/* not applied whole yet: ACKed then */
	}
	ll_pr_link_ack(k, m->gen);
}

static void on_message(struct ll_pr_link *k, size_t len, uint64_t now)
{
	struct ll_pr_wire_msg *m = &msg;
	struct pending *o;
	char why[256], drop[320];

	if (ll_pr_wire_parse(rx, len, m, why, sizeof(why))) {
		snprintf(drop, sizeof(drop), "it sent a message out of the protocol (%s)", why);
		link_drop(k, drop);
		return;
	}
	switch (m->type) {
	case LL_PR_WIRE_STATE:
		on_state(k, m, now);
		break;
	case LL_PR_WIRE_VALID:
		if (k->has_state && m->gen == k->gen)
			k->valid_until = now + m->valid_ms;
		break;
	case LL_PR_WIRE_DONE:
		o = out_find(k, m->seq);
		if (!o) {
			ll_warn(k->l, "persistent reservations: DONE %" PRIu64 " from the agent for "
				"no PERSISTENT RESERVE OUT waiting (it timed out before)\n", m->seq);
			break;
		}
		out_end(k, o, m->status == LL_PR_GOOD ? SAM_STAT_GOOD :
			m->status == LL_PR_CONFLICT ? SAM_STAT_RESERVATION_CONFLICT :
			SAM_STAT_CHECK_CONDITION, m->sense_key, m->asc);
		break;
	case LL_PR_WIRE_FAIL:
		o = out_find(k, m->seq);
		ll_err(k->l, "persistent reservations: the policy agent failed PERSISTENT RESERVE "
		       "OUT %" PRIu64 ": %s%s\n", m->seq, m->reason,
		       o ? "; it ends ABORTED COMMAND (08/00)" : "");
		if (o)
			out_end(k, o, SAM_STAT_CHECK_CONDITION, LL_PRC_OUT_FAILED_KEY,
				LL_PRC_OUT_FAILED_ASC);
		break;
	default:
		snprintf(drop, sizeof(drop), "it sent %s, which only the module sends",
			 ll_pr_wire_type_name(m->type));
		link_drop(k, drop);
	}
}

static void link_event(int fd, int events, void *data)
{
	struct ll_pr_link *k = data;
	char why[200];
	ssize_t n;

	/* every packet there is, each whole; MSG_TRUNC gives a longer one's
	 * real length */
	while (k->fd == fd) {
		n = recv(fd, rx, sizeof(rx), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			link_drop(k, n < 0 ? strerror(errno) : "the agent closed the connection");
			return;
		}
		if ((size_t)n > LL_PR_WIRE_MAX) {
			snprintf(why, sizeof(why), "it sent a message of %zd bytes (at most %d)", n,
				 LL_PR_WIRE_MAX);
			link_drop(k, why);
			return;
		}
		on_message(k, (size_t)n, ll_now_ms());
	}
	if (events & (EPOLLHUP | EPOLLERR) && k->fd == fd)
		link_drop(k, "the agent closed the connection");
}

static void link_connect(struct ll_pr_link *k)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char why[200];
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", k->l->opts.pr_socket);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, sizeof(why), "socket: %s", strerror(errno));
		link_drop(k, why);
		return;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		snprintf(why, sizeof(why), "connect: %s%s", strerror(errno),
			 errno == ENOENT || errno == ECONNREFUSED ?
			 " (is lunlink-policyd's agent running with this pr_socket?)" :
			 errno == EAGAIN ? " (the agent accepts no connection: is it stuck?)" : "");
		close(fd);
		link_drop(k, why);
		return;
	}
	if (tgt_event_add(fd, EPOLLIN, link_event, k)) {
		close(fd);
		link_drop(k, "cannot watch its socket in tgtd's event loop");
		return;
	}
	k->fd = fd;
	link_hello(k);
}

static void link_tick(int fd, int events, void *data)
{
	struct ll_pr_link *k = data;
	uint64_t n, now = ll_now_ms();
	unsigned int i;

	(void)events;
	if (read(fd, &n, sizeof(n)) < 0)
		n = 1;
	if (k->fail_due) {
		k->fail_due = 0;
		out_fail_all(k, k->fail_why);
	}
	if (k->fd < 0 && now >= k->retry_at)
		link_connect(k);
	for (i = 0; i < LINK_PENDING; i++)
		if (k->out[i].cmd && now >= k->out[i].deadline) {
			ll_err(k->l, "persistent reservations: no answer from the policy agent to "
			       "PERSISTENT RESERVE OUT %" PRIu64 " in %u s (pr_timeout): it ends "
			       "ABORTED COMMAND (08/01); whether the cluster applied it shows in "
			       "PERSISTENT RESERVE IN\n", k->out[i].seq, k->l->opts.pr_timeout);
			out_end(k, &k->out[i], SAM_STAT_CHECK_CONDITION, LL_PRC_OUT_FAILED_KEY,
				LL_PRC_OUT_TIMEOUT_ASC);
		}
	/* say when the state stops and starts being usable, once each */
	if (ll_pr_link_valid(k)) {
		if (k->said_invalid)
			ll_info(k->l, "persistent reservations: a valid state from the cluster "
				"(generation %" PRIu64 "); commands are served again\n", k->gen);
		k->said_invalid = 0;
	} else if (!k->said_invalid && (k->has_state || now >= k->opened_at + 5000)) {
		ll_warn(k->l, "persistent reservations: %s; commands a reservation could refuse "
			"end NOT READY (04/01) until the policy agent sends one\n",
			k->has_state ? "the cluster's state is no longer valid (no renewal from "
			"the policy agent in time)" : "no state from the cluster yet");
		k->said_invalid = 1;
	}
}

/* ---- what pr_scsi.c calls ------------------------------------------------ */

int ll_pr_link_valid(struct ll_pr_link *k)
{
	return k->has_state && ll_now_ms() < k->valid_until;
}

void ll_pr_link_ack(struct ll_pr_link *k, uint64_t gen)
{
	struct ll_pr_wire_msg *m = &msg;

	if (gen >= k->gen)
		k->ack_held = 0;
	if (k->fd < 0)
		return;		/* the agent pushes the state again on reconnecting */
	m->type = LL_PR_WIRE_ACK;
	m->gen = gen;
	link_send(k, m);
}

int ll_pr_link_out(struct ll_pr_link *k, struct scsi_cmd *cmd, const struct ll_pr_nexus *me)
{
	struct ll_pr_wire_msg *m = &msg;
	struct pending *o = NULL;
	uint32_t plen = scsi_get_out_length(cmd);
	unsigned int i;

	/* not connected, or cut off from the cluster: nothing is applied */
	if (k->fd < 0 || !ll_pr_link_valid(k)) {
		sense_data_build(cmd, LL_PRC_OUT_FAILED_KEY, LL_PRC_OUT_FAILED_ASC);
		return SAM_STAT_CHECK_CONDITION;
	}
	for (i = 0; i < LINK_PENDING && !o; i++)
		if (!k->out[i].cmd)
			o = &k->out[i];
	if (!o)
		return SAM_STAT_BUSY;
	if (cmd->scb_len < LL_PR_WIRE_CDB_MIN || cmd->scb_len > LL_PR_WIRE_CDB_MAX) {
		sense_data_build(cmd, ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
		return SAM_STAT_CHECK_CONDITION;
	}
	if (plen > LL_PR_WIRE_PARAM_MAX) {
		sense_data_build(cmd, ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERR);
		return SAM_STAT_CHECK_CONDITION;
	}
	m->type = LL_PR_WIRE_OUT;
	m->seq = ++k->seq;
	m->nexus = *me;
	memcpy(m->cdb, cmd->scb, (size_t)cmd->scb_len);
	m->cdb_len = (size_t)cmd->scb_len;
	m->has_param = plen > 0;
	m->plen = plen;
	if (plen)
		memcpy(m->param, scsi_get_out_buffer(cmd), plen);
	if (link_send(k, m)) {
		sense_data_build(cmd, LL_PRC_OUT_FAILED_KEY, LL_PRC_OUT_FAILED_ASC);
		return SAM_STAT_CHECK_CONDITION;
	}
	o->cmd = cmd;
	o->seq = m->seq;
	o->deadline = ll_now_ms() + k->l->opts.pr_timeout * 1000ULL;
	set_cmd_async(cmd);
	return SAM_STAT_GOOD;
}

struct ll_pr_link *ll_pr_link_open(struct ll_lu *l, const char *volume_hex)
{
	struct itimerspec its = { .it_interval = { 0, LINK_TICK_MS * 1000000L },
				  .it_value = { 0, LINK_TICK_MS * 1000000L } };
	struct ll_pr_link *k = calloc(1, sizeof(*k));

	if (!k) {
		ll_err(l, "refused: out of memory\n");
		return NULL;
	}
	k->l = l;
	k->fd = -1;
	k->backoff = LINK_BACKOFF_MIN_MS;
	k->opened_at = ll_now_ms();
	snprintf(k->volume, sizeof(k->volume), "%s", volume_hex);
	k->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (k->tick_fd < 0 || timerfd_settime(k->tick_fd, 0, &its, NULL) ||
	    tgt_event_add(k->tick_fd, EPOLLIN, link_tick, k)) {
		ll_err(l, "refused: pr=cluster: cannot start its timer: %s\n", strerror(errno));
		if (k->tick_fd >= 0)
			close(k->tick_fd);
		free(k);
		return NULL;
	}
	ll_info(l, "persistent reservations: pr=cluster, volume %s, through the policy agent "
		"at %s\n", k->volume, l->opts.pr_socket);
	link_connect(k);
	return k;
}

void ll_pr_link_close(struct ll_pr_link *k)
{
	if (!k)
		return;
	tgt_event_del(k->tick_fd);
	close(k->tick_fd);
	if (k->fd >= 0) {
		tgt_event_del(k->fd);
		close(k->fd);
	}
	out_fail_all(k, "the LUN is going");
	free(k);
}
