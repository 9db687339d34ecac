// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * remote.c: the remote layer: an iSCSI LUN on a peer node, reached with
 * libiscsi in tgtd's event loop (remote/conn.c), as a layer any stack can
 * use: an extent of a concatenation on another server (seed 001's areas of
 * several servers joined into one volume).
 *
 * Requests go to the peer as READ(16), WRITE(16) (FUA when the request is
 * durable), SYNCHRONIZE CACHE(16) and, for a hole punch, WRITE SAME(16) of
 * zeros (every target has it; not all take UNMAP).  The peer's blocks must
 * be 512 bytes, as lunlink's LUNs are.
 *
 * A connection that breaks, or a peer that does not answer within
 * leg_timeout, is dropped and tried again with a back-off (0.5 s doubling
 * to 30 s).  Meanwhile requests wait, those in flight when it broke
 * included (the peer did not answer them: sending them again is what any
 * SCSI initiator does), each for leg_timeout from when it came; then it
 * fails with EIO (MEDIUM ERROR to the initiator) and the log says why.  A
 * peer that answers a request with an error fails that request.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "lunlink.h"
#include "remote/conn.h"

#define REMOTE_TICK_MS		100
#define REMOTE_BACKOFF_MIN_MS	500
#define REMOTE_BACKOFF_MAX_MS	30000
#define REMOTE_BLOCK		512

enum remote_state { R_DOWN, R_CONNECTING, R_UP };
static const char *const state_name[] = { "down", "connecting", "up" };

struct rio {
	struct ll_io *io;
	struct remote *r;
	uint64_t deadline;		/* ms: fails if not done by then */
	unsigned char ua_tries;
	struct scsi_iovec iov;		/* libiscsi reads into the request's buffer */
	struct rio *next;
};

struct remote {
	struct ll_layer ly;
	struct ll_conn conn;
	char url[LL_URL_MAX + 1];
	char name[LL_URL_MAX + 48];	/* for messages: "extent 3 (iscsi://...)" */
	unsigned int set;		/* extent= number set */
	enum remote_state state;
	uint64_t capacity;		/* bytes, from READ CAPACITY at login */
	uint64_t retry_at;		/* ms */
	unsigned int backoff;		/* ms */
	int tick_fd;
	struct rio *wait, *wait_tail;	/* requests waiting for a connection */
	unsigned int inflight;
	char why[256];			/* why it is down */
	int down_said, failing_said;
	uint64_t errors;		/* requests the peer failed */
	uint64_t expired;		/* requests failed waiting for a connection */
	unsigned int nwait;		/* requests waiting for one now */
	char status_path[128];		/* its status file, for lunlink-status */
	uint64_t status_at;		/* ms: written last */
	unsigned char cap_tries;	/* unit attentions met by READ CAPACITY */
};

static uint8_t zero_block[REMOTE_BLOCK];

#define r_log(level, r, fmt, args...) \
	ll_lu_log(level, (r)->ly.l, "%s: " fmt, (r)->name, ##args)

static void send_rio(struct rio *x);

static void rio_complete(struct rio *x, int res)
{
	struct ll_io *io = x->io;

	free(x);
	io->res = res;
	io->complete(io);
}

/*
 * The status file (ll_status_path: -eN.status), rewritten whole at each
 * change of state and once a second: the peer's state, what it holds, the
 * requests waiting for it and those failed, and why it is down.
 * lunlink-status prints it; doc/lunlink-status.8 names the fields.
 */
static void write_status(struct remote *r)
{
	char tmp[160], pub[LL_URL_MAX + 1];
	FILE *f;

	r->status_at = ll_now_ms();
	if (!r->status_path[0])
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", r->status_path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	ll_url_public(r->url, pub, sizeof(pub));
	fprintf(f, "lun tid=%d lun=%" PRIu64 " extent=%u remote=%s tgtd=%d\n",
		r->ly.l->lu->tgt->tid, r->ly.l->lu->lun, r->set + 1, pub, (int)getpid());
	fprintf(f, "peer state=%s capacity=%" PRIu64 " needs=%" PRIu64 " waiting=%u inflight=%u "
		"failed_waiting=%" PRIu64 " peer_errors=%" PRIu64, state_name[r->state],
		r->capacity, r->ly.size, r->nwait, r->inflight, r->expired, r->errors);
	if (r->state != R_UP && r->why[0])
		fprintf(f, " error=\"%s\"", r->why);
	fputc('\n', f);
	if (fclose(f) == 0)
		rename(tmp, r->status_path);
}

static void wait_add(struct remote *r, struct rio *x)
{
	x->next = NULL;
	if (r->wait_tail)
		r->wait_tail->next = x;
	else
		r->wait = x;
	r->wait_tail = x;
	r->nwait++;
}

/* The connection is lost: from the next tick, connect again. */
static void remote_down(struct remote *r, const char *why)
{
	snprintf(r->why, sizeof(r->why), "%s", why);
	r->why[strcspn(r->why, "\r\n")] = '\0';	/* libiscsi's messages end in one */
	if (r->state == R_UP || !r->down_said)
		r_log(LL_LOG_ERROR, r, "%s %s; its requests wait up to leg_timeout=%u s for it to "
		      "return, retrying in %u ms\n", r->state == R_UP ? "lost:" : "cannot connect:",
		      r->why, r->ly.l->opts.leg_timeout, r->backoff);
	r->down_said = 1;
	r->state = R_DOWN;
	write_status(r);
	r->conn.dead = 1;		/* closed at the next tick (conn.c sets it too,
					 * after this, when the break is its own) */
}

static void conn_broke(struct ll_conn *c, const char *why)
{
	remote_down(c->owner, why);
}

static void task_done(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct rio *x = priv;
	struct remote *r = x->r;
	struct scsi_task *t = data;
	char why[256];
	int asc, ascq;

	r->inflight--;
	if (r->conn.iscsi == iscsi && !r->conn.dead &&
	    ll_conn_ua(status, t, &x->ua_tries, &asc, &ascq)) {
		r_log(LL_LOG_INFO, r, "unit attention %02x/%02x (%s): sending the command again\n",
		      asc, ascq, ll_conn_ua_name(asc, ascq));
		scsi_free_scsi_task(t);
		send_rio(x);
		return;
	}
	if (status == SCSI_STATUS_GOOD) {
		scsi_free_scsi_task(t);
		rio_complete(x, 0);
		return;
	}
	if (status == SCSI_STATUS_CHECK_CONDITION && t) {
		/* the peer ran it and failed it: this request fails */
		ll_conn_describe(&r->conn, x->io->op == LL_OP_READ ? "a read" : "a write", status,
				 t, why, sizeof(why));
		if (r->errors++ < 20 || r->errors % 1000 == 0)
			r_log(LL_LOG_ERROR, r, "%s; the request fails\n", why);
		scsi_free_scsi_task(t);
		rio_complete(x, -EIO);
		return;
	}
	/* cancelled (the connection closed), timed out, or lost: the peer
	 * may not have run it; it waits for the connection to return */
	if (r->conn.iscsi == iscsi && !r->conn.dead) {
		ll_conn_describe(&r->conn, "a command", status, t, why, sizeof(why));
		remote_down(r, why);
	}
	if (t)
		scsi_free_scsi_task(t);
	wait_add(r, x);
}

static void send_rio(struct rio *x)
{
	struct remote *r = x->r;
	struct ll_io *io = x->io;
	struct iscsi_context *c = r->conn.iscsi;
	uint64_t lba = io->off / REMOTE_BLOCK;
	struct scsi_task *t;

	if (r->state != R_UP || r->conn.dead) {
		wait_add(r, x);
		return;
	}
	switch (io->op) {
	case LL_OP_READ:
		x->iov.iov_base = io->buf;
		x->iov.iov_len = io->len;
		t = iscsi_read16_iov_task(c, r->conn.lun, lba, (uint32_t)io->len, REMOTE_BLOCK,
					  0, 0, 0, 0, 0, task_done, x, &x->iov, 1);
		break;
	case LL_OP_WRITE:
		t = iscsi_write16_task(c, r->conn.lun, lba, io->buf, (uint32_t)io->len,
				       REMOTE_BLOCK, 0, 0, !!(io->flags & LL_IO_DSYNC), 0, 0,
				       task_done, x);
		break;
	case LL_OP_PUNCH:
		t = iscsi_writesame16_task(c, r->conn.lun, lba, zero_block, REMOTE_BLOCK,
					   (uint32_t)(io->len / REMOTE_BLOCK), 0, 0, 0, 0,
					   task_done, x);
		break;
	default:		/* LL_OP_DATASYNC */
		t = iscsi_synchronizecache16_task(c, r->conn.lun, 0, 0, 0, 0, task_done, x);
	}
	if (!t) {
		remote_down(r, iscsi_get_error(c));
		wait_add(r, x);
		return;
	}
	r->inflight++;
	ll_conn_fd_update(&r->conn);
}

static void remote_submit(struct ll_layer *ly, struct ll_io *io)
{
	struct remote *r = (struct remote *)ly;
	struct rio *x;

	if (io->op == LL_OP_FADVISE) {		/* the peer reads ahead itself */
		io->res = 0;
		ll_later(ly->l, io);
		return;
	}
	if (io->op != LL_OP_DATASYNC &&
	    (io->off % REMOTE_BLOCK || io->len % REMOTE_BLOCK || io->len / REMOTE_BLOCK > UINT32_MAX)) {
		io->res = -EINVAL;
		ll_later(ly->l, io);
		return;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		io->res = -ENOMEM;
		ll_later(ly->l, io);
		return;
	}
	x->io = io;
	x->r = r;
	x->deadline = ll_now_ms() + ly->l->opts.leg_timeout * 1000ULL;
	if (r->state == R_UP && !r->conn.dead) {
		send_rio(x);
		return;
	}
	wait_add(r, x);		/* sent when connected, failed at its deadline */
}

/* Send what waited, now that the peer is up. */
static void resend_waiting(struct remote *r)
{
	struct rio *x = r->wait, *next;

	r->wait = r->wait_tail = NULL;
	r->nwait = 0;
	for (; x; x = next) {
		next = x->next;
		send_rio(x);
	}
}

/* Fail what waited past its deadline (all of it when closing). */
static void expire_waiting(struct remote *r, uint64_t now, int all)
{
	struct rio *x = r->wait, *next, *keep = NULL, *keep_tail = NULL;
	unsigned int failed = 0;

	r->wait = r->wait_tail = NULL;
	r->nwait = 0;
	for (; x; x = next) {
		next = x->next;
		if (all || now >= x->deadline) {
			failed++;
			r->expired++;
			rio_complete(x, -EIO);
			continue;
		}
		r->nwait++;
		x->next = NULL;
		if (keep_tail)
			keep_tail->next = x;
		else
			keep = x;
		keep_tail = x;
	}
	/* completions may have queued more: they go after what stays */
	if (keep) {
		keep_tail->next = r->wait;
		r->wait = keep;
		if (!r->wait_tail)
			r->wait_tail = keep_tail;
	}
	if (failed && !r->failing_said) {
		r_log(LL_LOG_ERROR, r, "no connection for leg_timeout=%u s (%s): its requests fail "
		      "(MEDIUM ERROR) until it returns\n", r->ly.l->opts.leg_timeout,
		      r->why[0] ? r->why : "not connected yet");
		r->failing_said = 1;
	}
}

static void capacity_read(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct remote *r = priv;
	struct scsi_task *t = data;
	struct scsi_readcapacity16 *rc = NULL;
	char why[256];
	int asc, ascq;

	if (r->conn.iscsi != iscsi || r->conn.dead) {
		if (t)
			scsi_free_scsi_task(t);
		return;
	}
	if (ll_conn_ua(status, t, &r->cap_tries, &asc, &ascq)) {
		/* a new session's first command meets the reset it reports */
		scsi_free_scsi_task(t);
		if (!iscsi_readcapacity16_task(iscsi, r->conn.lun, capacity_read, r))
			remote_down(r, iscsi_get_error(iscsi));
		else
			ll_conn_fd_update(&r->conn);
		return;
	}
	if (status == SCSI_STATUS_GOOD && t)
		rc = scsi_datain_unmarshall(t);
	if (!rc) {
		ll_conn_describe(&r->conn, "READ CAPACITY", status, t, why, sizeof(why));
		remote_down(r, why);
	} else if (rc->block_length != REMOTE_BLOCK) {
		snprintf(why, sizeof(why), "its blocks are %u bytes; lunlink needs 512 (export it "
			 "with block-size 512)", rc->block_length);
		r->backoff = REMOTE_BACKOFF_MAX_MS;
		remote_down(r, why);
	} else if ((r->capacity = (rc->returned_lba + 1) * REMOTE_BLOCK) < r->ly.size) {
		snprintf(why, sizeof(why), "it is %" PRIu64 " bytes, and the extent needs %" PRIu64
			 " (grow it on its node)", r->capacity, r->ly.size);
		r->backoff = REMOTE_BACKOFF_MAX_MS;
		remote_down(r, why);
	} else {
		r_log(LL_LOG_INFO, r, "connected: %" PRIu64 " bytes\n", r->capacity);
		r->state = R_UP;
		r->backoff = REMOTE_BACKOFF_MIN_MS;
		r->down_said = r->failing_said = 0;
		r->why[0] = '\0';
		resend_waiting(r);
		write_status(r);
	}
	if (t)
		scsi_free_scsi_task(t);
}

static void logged_in(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct remote *r = priv;

	(void)data;
	if (r->conn.iscsi != iscsi || r->conn.dead)
		return;
	r->cap_tries = 0;
	if (status != SCSI_STATUS_GOOD) {
		remote_down(r, ll_conn_plain(&r->conn, iscsi_get_error(iscsi)));
		return;
	}
	if (!iscsi_readcapacity16_task(iscsi, r->conn.lun, capacity_read, r)) {
		remote_down(r, iscsi_get_error(iscsi));
		return;
	}
	ll_conn_fd_update(&r->conn);
}

/* 0, or -1 if the URL itself is wrong (why says it). */
static int remote_connect(struct remote *r, char *why, size_t len)
{
	int bad_url;

	r->state = R_CONNECTING;
	if (!ll_conn_start(&r->conn, logged_in, r, &bad_url, why, len))
		return 0;
	if (bad_url)
		return -1;
	remote_down(r, why);
	return 0;
}

static void tick(int fd, int events, void *data)
{
	struct remote *r = data;
	uint64_t n, now = ll_now_ms();
	char why[256];

	(void)events;
	if (read(fd, &n, sizeof(n)) < 0)
		n = 1;
	ll_conn_tick(&r->conn, now);
	if (r->conn.dead) {
		ll_conn_close(&r->conn);	/* in flight: cancelled, back to waiting */
		r->retry_at = now + r->backoff;
		r->backoff = r->backoff * 2 > REMOTE_BACKOFF_MAX_MS ? REMOTE_BACKOFF_MAX_MS :
			     r->backoff * 2;
	}
	if (r->state == R_DOWN && !r->conn.iscsi && now >= r->retry_at)
		remote_connect(r, why, sizeof(why));
	expire_waiting(r, now, 0);
	if (now - r->status_at >= 1000)
		write_status(r);
}

static void remote_destroy(struct ll_layer *ly)
{
	struct remote *r = (struct remote *)ly;

	if (r->tick_fd >= 0) {
		tgt_event_del(r->tick_fd);
		close(r->tick_fd);
	}
	ll_conn_close(&r->conn);	/* nothing is in flight: tgt closes an idle LUN */
	expire_waiting(r, 0, 1);
	if (r->status_path[0])
		unlink(r->status_path);
	free(r);
}

static const struct ll_layer_ops remote_ops = {
	.name = "remote",
	.submit = remote_submit,
	.destroy = remote_destroy,
};

struct ll_layer *ll_remote_open(struct ll_lu *l, const char *url, uint64_t size,
				unsigned int set)
{
	struct itimerspec its = { .it_interval = { 0, REMOTE_TICK_MS * 1000000L },
				  .it_value = { 0, REMOTE_TICK_MS * 1000000L } };
	struct remote *r = calloc(1, sizeof(*r));
	char pub[LL_URL_MAX + 1], why[256];

	if (!r) {
		ll_err(l, "refused: out of memory\n");
		return NULL;
	}
	r->ly.ops = &remote_ops;
	r->ly.l = l;
	r->ly.size = size;
	r->tick_fd = -1;
	r->backoff = REMOTE_BACKOFF_MIN_MS;
	snprintf(r->url, sizeof(r->url), "%s", url);
	ll_url_public(url, pub, sizeof(pub));
	r->set = set;
	snprintf(r->name, sizeof(r->name), "extent %u (%s)", set + 1, pub);
	if (ll_status_path(l, set, r->status_path, sizeof(r->status_path)))
		r->status_path[0] = '\0';
	ll_conn_init(&r->conn, r->url, "peer", l->opts.leg_timeout, conn_broke, r);
	r->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r->tick_fd < 0 || timerfd_settime(r->tick_fd, 0, &its, NULL) ||
	    tgt_event_add(r->tick_fd, EPOLLIN, tick, r)) {
		ll_err(l, "refused: %s: cannot start its timer: %s\n", r->name, strerror(errno));
		if (r->tick_fd >= 0)
			close(r->tick_fd);
		free(r);
		return NULL;
	}
	if (remote_connect(r, why, sizeof(why))) {
		ll_err(l, "refused: %s: %s\n", r->name, why);
		remote_destroy(&r->ly);
		return NULL;
	}
	write_status(r);
	return &r->ly;
}
