/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * conn.h: a connection to an iSCSI LUN on a peer, in tgtd's event loop:
 * libiscsi's async API with its socket registered with tgt_event_add, the
 * login, the batching of sends, and the words for what went wrong.  The
 * remote layer (layers/remote.c) is built on it.
 */
#ifndef LUNLINK_CONN_H
#define LUNLINK_CONN_H

#include <stddef.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "list.h"
#include "util.h"
#include "tgtd.h"

/* milliseconds of CLOCK_MONOTONIC (layers/layer.c) */
uint64_t ll_now_ms(void);

struct ll_conn {
	/* set by ll_conn_init */
	const char *url;		/* may carry a CHAP password: never logged */
	const char *who;		/* what the far end is, in messages: "leg", "peer" */
	unsigned int timeout_s;		/* login and each command */
	/* the connection failed under libiscsi (a broken socket, a failed
	 * send): the owner drops it; called from the event loop, inside
	 * libiscsi's service, so ll_conn_close must wait for the loop's next
	 * round (the owner's tick) */
	void (*broke)(struct ll_conn *c, const char *why);
	void *owner;
	iscsi_command_cb logged_in;	/* the owner's login callback */
	void *logged_in_priv;
	/* the connection */
	struct iscsi_context *iscsi;
	int fd;				/* registered with tgtd, or -1 */
	int events;			/* what it is registered for */
	int lun;
	int logging_in;			/* connected, login not yet answered */
	uint64_t connect_at;		/* ms: this attempt started */
	int dead;			/* broken: to be closed at the owner's tick
					 * (set after broke ran) */
	struct event_data flush_ev;	/* send what is queued, after this round */
};

void ll_conn_init(struct ll_conn *c, const char *url, const char *who, unsigned int timeout_s,
		  void (*broke)(struct ll_conn *, const char *), void *owner);

/* Start connecting and logging in; connected runs as libiscsi's login
 * callback, once the login is answered (logging_in is 0 after it).  0; or
 * -1 with why, bad_url set when the URL itself is wrong (no retry helps). */
int ll_conn_start(struct ll_conn *c, iscsi_command_cb connected, void *priv, int *bad_url,
		  char *why, size_t len);

/* After queuing commands: register for the events libiscsi needs (sends
 * go out at the end of this loop round). */
void ll_conn_fd_update(struct ll_conn *c);

/* From the owner's tick: libiscsi's timeouts, and a connect nobody
 * answers (a cut link, a node gone: TCP's own limit is minutes), bounded
 * by timeout_s.  Either calls broke. */
void ll_conn_tick(struct ll_conn *c, uint64_t now);

/* Drop the context: its callbacks run now, cancelled. */
void ll_conn_close(struct ll_conn *c);

/* How a command (what: "a write", "READ CAPACITY") failed, in words. */
void ll_conn_describe(const struct ll_conn *c, const char *what, int status,
		      const struct scsi_task *t, char *why, size_t len);

/* libiscsi's own reason put plainly (some of its messages hide the cause). */
const char *ll_conn_plain(const struct ll_conn *c, const char *why);

/* A UNIT ATTENTION worth sending the command again for (at most a few
 * times per command: tries counts them); its ASC/ASCQ in *asc, *ascq. */
int ll_conn_ua(int status, const struct scsi_task *t, unsigned char *tries, int *asc,
	       int *ascq);
const char *ll_conn_ua_name(int asc, int ascq);

#endif
