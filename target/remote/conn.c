// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * conn.c: a connection to a peer's iSCSI LUN in tgtd's event loop
 * (libiscsi's async API, its socket registered with tgt_event_add).
 *
 * Sending.  A logged-in connection's socket is not armed for EPOLLOUT when
 * a command is queued (two epoll_ctl calls and an extra loop round per
 * write): what is queued is sent from a scheduled event at the end of this
 * loop round, all of it at once, and only a socket that is full is armed
 * for EPOLLOUT.  Sending from the scheduled event, never from inside the
 * call that queued, keeps libiscsi's callbacks (a failed send completes
 * commands) out of tgt's bs_cmd_submit.
 *
 * libiscsi's own reconnect is off: the owner decides when to connect
 * again (with its back-off), and what a lost connection means for the
 * commands it had in flight.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "lunlink/initiator.h"
#include "remote/conn.h"

static void conn_event(int fd, int events, void *data);
static void conn_flush(struct event_data *ev);


void ll_conn_init(struct ll_conn *c, const char *url, const char *who, unsigned int timeout_s,
		  void (*broke)(struct ll_conn *, const char *), void *owner)
{
	memset(c, 0, sizeof(*c));
	c->url = url;
	c->who = who;
	c->timeout_s = timeout_s;
	c->broke = broke;
	c->owner = owner;
	c->fd = -1;
	tgt_init_sched_event(&c->flush_ev, conn_flush, c);
}

static void conn_broke(struct ll_conn *c, const char *why)
{
	if (c->dead)
		return;
	c->broke(c, ll_conn_plain(c, why));
	c->dead = 1;
}

static void conn_logged_in(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct ll_conn *c = priv;

	/* the owner's callback still sees logging_in: a failed login is
	 * said in the login's words (ll_conn_plain) */
	c->logged_in(iscsi, status, data, c->logged_in_priv);
	if (c->iscsi == iscsi)
		c->logging_in = 0;
}

void ll_conn_fd_update(struct ll_conn *c)
{
	int fd, ev, want = 0;

	if (!c->iscsi || c->dead)
		return;
	fd = iscsi_get_fd(c->iscsi);
	ev = iscsi_which_events(c->iscsi);
	if (ev & POLLIN)
		want |= EPOLLIN;
	if (ev & POLLOUT)
		want |= EPOLLOUT;
	if (fd != c->fd) {
		if (c->fd >= 0)
			tgt_event_del(c->fd);
		c->fd = -1;
		c->events = want ? want : EPOLLIN;
		if (fd >= 0 && !tgt_event_add(fd, c->events, conn_event, c))
			c->fd = fd;
		return;
	}
	if (fd < 0 || !want)
		return;
	if ((want & EPOLLOUT) && !(c->events & EPOLLOUT) && iscsi_is_logged_in(c->iscsi)) {
		tgt_add_sched_event(&c->flush_ev);	/* send at the end of this round */
		want &= ~EPOLLOUT;
	}
	/* one epoll_ctl per change, not per command */
	if (want != c->events) {
		c->events = want;
		tgt_event_modify(fd, want);
	}
}

static void conn_event(int fd, int events, void *data)
{
	struct ll_conn *c = data;
	int rev = 0;

	(void)fd;
	if (!c->iscsi || c->dead)
		return;
	if (events & EPOLLIN)
		rev |= POLLIN;
	if (events & EPOLLOUT)
		rev |= POLLOUT;
	if (events & EPOLLERR)		/* libiscsi then reads the socket's error */
		rev |= POLLERR;
	if (events & EPOLLHUP)
		rev |= POLLHUP;
	if (iscsi_service(c->iscsi, rev) < 0) {
		conn_broke(c, iscsi_get_error(c->iscsi));
		return;
	}
	ll_conn_fd_update(c);
}

static void conn_flush(struct event_data *ev)
{
	struct ll_conn *c = ev->data;

	if (!c->iscsi || c->dead || c->fd < 0)
		return;
	if ((iscsi_which_events(c->iscsi) & POLLOUT) && iscsi_service(c->iscsi, POLLOUT) < 0) {
		conn_broke(c, iscsi_get_error(c->iscsi));
		return;
	}
	if (c->dead || !c->iscsi)
		return;
	/* what did not fit waits for the socket to drain */
	if ((iscsi_which_events(c->iscsi) & POLLOUT) && !(c->events & EPOLLOUT)) {
		c->events |= EPOLLOUT;
		tgt_event_modify(c->fd, c->events);
	}
	ll_conn_fd_update(c);
}

int ll_conn_start(struct ll_conn *c, iscsi_command_cb connected, void *priv, int *bad_url,
		  char *why, size_t len)
{
	char name[LL_INITIATOR_MAX + 1];
	struct iscsi_url *u;

	*bad_url = 0;
	c->dead = 0;
	c->iscsi = iscsi_create_context(ll_initiator_name(name, sizeof(name)));
	if (!c->iscsi) {
		snprintf(why, len, "cannot create an iSCSI context");
		return -1;
	}
	u = iscsi_parse_full_url(c->iscsi, c->url);
	if (!u) {
		snprintf(why, len, "bad URL: %s", iscsi_get_error(c->iscsi));
		*bad_url = 1;
		ll_conn_close(c);
		return -1;
	}
	iscsi_set_targetname(c->iscsi, u->target);
	iscsi_set_session_type(c->iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(c->iscsi, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	iscsi_set_noautoreconnect(c->iscsi, 1);
	iscsi_set_timeout(c->iscsi, (int)c->timeout_s);
	c->lun = u->lun;
	c->logging_in = 1;
	c->connect_at = ll_now_ms();
	c->logged_in = connected;
	c->logged_in_priv = priv;
	if (iscsi_full_connect_async(c->iscsi, u->portal, u->lun, conn_logged_in, c)) {
		snprintf(why, len, "%s", ll_conn_plain(c, iscsi_get_error(c->iscsi)));
		iscsi_destroy_url(u);
		ll_conn_close(c);
		return -1;
	}
	iscsi_destroy_url(u);
	ll_conn_fd_update(c);
	return 0;
}

void ll_conn_tick(struct ll_conn *c, uint64_t now)
{
	char why[96];

	if (!c->iscsi || c->dead)
		return;
	if (iscsi_service(c->iscsi, 0) < 0) {	/* timeouts */
		conn_broke(c, iscsi_get_error(c->iscsi));
		return;
	}
	ll_conn_fd_update(c);
	if (c->logging_in && now - c->connect_at >= c->timeout_s * 1000ULL) {
		snprintf(why, sizeof(why), "no answer from its portal within leg_timeout=%u s",
			 c->timeout_s);
		conn_broke(c, why);
	}
}

void ll_conn_close(struct ll_conn *c)
{
	tgt_remove_sched_event(&c->flush_ev);
	if (c->fd >= 0)
		tgt_event_del(c->fd);
	c->fd = -1;
	if (c->iscsi) {
		struct iscsi_context *ctx = c->iscsi;

		c->iscsi = NULL;
		iscsi_destroy_context(ctx);
	}
	c->dead = 0;
	c->logging_in = 0;
}

/* A sense's key and code in words: libiscsi's, or the few it lacks. */
static const char *sense_words(const struct scsi_task *t)
{
	const char *s = scsi_sense_ascq_str(t->sense.ascq);

	if (s)
		return s;
	switch (t->sense.ascq) {
	case 0x0c00: return "write error";
	case 0x1100: return "unrecovered read error";
	}
	return scsi_sense_key_str(t->sense.key);
}

void ll_conn_describe(const struct ll_conn *c, const char *what, int status,
		      const struct scsi_task *t, char *why, size_t len)
{
	if (status == SCSI_STATUS_TIMEOUT)
		snprintf(why, len, "%s timed out after leg_timeout=%u s", what, c->timeout_s);
	else if (status == SCSI_STATUS_CANCELLED)
		snprintf(why, len, "the connection was lost during %s", what);
	else if (status == SCSI_STATUS_CHECK_CONDITION && t)
		snprintf(why, len, "it answered %s with sense %x/%02x/%02x (%s)", what,
			 t->sense.key, (t->sense.ascq >> 8) & 0xff, t->sense.ascq & 0xff,
			 sense_words(t));
	else if (status == SCSI_STATUS_GOOD)	/* good, but not what was asked */
		snprintf(why, len, "%s returned too little data", what);
	else
		snprintf(why, len, "%s failed (status 0x%x): %s", what, status,
			 c->iscsi ? iscsi_get_error(c->iscsi) : "no connection");
}

/*
 * Some of libiscsi 1.19's messages hide the cause they had: with its own
 * reconnect off it says "iscsi_service_reconnect_if_loggedin. Can not
 * reconnect right now." of any broken connection (a refused connect, a
 * reset, the far end closing); a failed connect may leave "Failed to
 * connect to iSCSI socket. " and nothing; a login that timed out is
 * "command timed out".
 */
const char *ll_conn_plain(const struct ll_conn *c, const char *why)
{
	static const char *const connecting =
		"the connection to its portal failed or broke during login (is its tgtd "
		"running and listening there?)";
	static char login[128], broke[160];

	/* a login task that timed out: its portal took the connection but
	 * said nothing (a hung target, a half-dead node) */
	if (c->logging_in && !strcmp(why, "command timed out")) {
		snprintf(login, sizeof(login), "its portal took the connection but did not answer "
			 "the login within leg_timeout=%u s", c->timeout_s);
		return login;
	}
	if (!strncmp(why, "iscsi_service_reconnect_if_loggedin", 35)) {
		if (c->logging_in)
			return connecting;
		snprintf(broke, sizeof(broke), "the connection broke (closed or reset from the "
			 "%s's side: its tgtd stopped, its node failed, or the network is down)",
			 c->who);
		return broke;
	}
	if (!strncmp(why, "Failed to connect to iSCSI socket.", 34) &&
	    strspn(why + 34, " \r\n") == strlen(why + 34))
		return connecting;
	return why;
}

/*
 * Unit attentions one command may meet and be sent again after.  tgt
 * queues one per change on each I_T nexus of the target and never merges
 * them (five LUNs added next to a leg's are five REPORTED LUNS DATA HAS
 * CHANGED for its next command), so a handful is not enough; the bound
 * only stops a target that answers nothing else.
 */
#define CONN_UA_TRIES	32

int ll_conn_ua(int status, const struct scsi_task *t, unsigned char *tries, int *asc,
	       int *ascq)
{
	if (status != SCSI_STATUS_CHECK_CONDITION || !t ||
	    t->sense.key != SCSI_SENSE_UNIT_ATTENTION || *tries >= CONN_UA_TRIES)
		return 0;
	(*tries)++;
	*asc = (t->sense.ascq >> 8) & 0xff;
	*ascq = t->sense.ascq & 0xff;
	return 1;
}

const char *ll_conn_ua_name(int asc, int ascq)
{
	const char *s = scsi_sense_ascq_str((asc << 8) | ascq);

	if (s)
		return s;
	if (asc == 0x29)
		return "POWER ON, RESET OR BUS DEVICE RESET OCCURRED";
	if (asc == 0x2a && ascq == 0x09)
		return "CAPACITY DATA HAS CHANGED";
	if (asc == 0x2a)
		return "PARAMETERS CHANGED";
	if (asc == 0x3f && ascq == 0x0e)
		return "REPORTED LUNS DATA HAS CHANGED";
	return "?";
}
