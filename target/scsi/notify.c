// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * notify.c: telling initiators at once that a target's LUNs changed (seed
 * 000: storage linked to a running server is presented with no hand work).
 *
 * Stock tgt only queues the unit attention REPORTED LUNS DATA HAS CHANGED
 * (3F/0E), which an initiator sees with its next command to another LUN of
 * the target: an idle initiator never does, and Linux rescans nothing on it.
 * An iSCSI Async Message carrying that sense is what open-iscsi's iscsid
 * rescans on.  tgt cannot send one; lunlink's tgtd patch
 * (target/tgt-patches/) adds iscsi_target_scsi_event(), which we find at
 * run time, so the same bs_lunlink.so loads in a stock tgtd (unit attention
 * only, said once in the log) and in a patched one (both).
 *
 * A burst of changes (a script adding ten LUNs) sends one message per
 * session: the message goes out once the target's LUNs have been quiet for
 * LL_NOTIFY_QUIET_MS, and at the latest LL_NOTIFY_MAX_DELAY_MS after the
 * first change, so a stream of changes cannot hold it back forever.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "lunlink.h"

#define LL_NOTIFY_QUIET_MS	50
#define LL_NOTIFY_MAX_DELAY_MS	500
#define ASC_REPORTED_LUNS_CHANGED	0x3f0e

typedef int (*scsi_event_fn)(int tid, uint64_t lun, uint8_t sense_key, uint16_t asc);

struct pending {
	int tid;
	uint64_t lun;		/* the lowest LUN changed in the burst */
	int fd;			/* timerfd */
	uint64_t first_ms;	/* when the burst began */
	struct pending *next;
};

static struct pending *pending;
static scsi_event_fn scsi_event;
static int looked_up;

static int arm(struct pending *p)
{
	uint64_t now = ll_now_ms(), at = now + LL_NOTIFY_QUIET_MS;
	struct itimerspec its;

	if (at > p->first_ms + LL_NOTIFY_MAX_DELAY_MS)
		at = p->first_ms + LL_NOTIFY_MAX_DELAY_MS;
	if (at <= now)
		at = now + 1;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)((at - now) / 1000);
	its.it_value.tv_nsec = (long)((at - now) % 1000) * 1000000;
	return timerfd_settime(p->fd, 0, &its, NULL);
}

static void unlink_pending(struct pending *p)
{
	struct pending **pp;

	for (pp = &pending; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			return;
		}
}

static void send_now(int fd, int events, void *data)
{
	struct pending *p = data;
	uint64_t expirations;
	int told;

	(void)events;
	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno == EAGAIN)
		return;
	tgt_event_del(fd);
	close(fd);
	unlink_pending(p);

	told = scsi_event(p->tid, p->lun, UNIT_ATTENTION, ASC_REPORTED_LUNS_CHANGED);
	if (told == 0)
		ll_log(LL_LOG_INFO, "tid %d: LUNs changed; no session is logged in to tell\n",
			p->tid);
	else if (told > 0)
		ll_log(LL_LOG_INFO, "tid %d: LUNs changed: Async Message REPORTED LUNS DATA HAS "
			"CHANGED (3F/0E, LUN %" PRIu64 ") sent to %d session(s)\n",
			p->tid, p->lun, told);
	else
		ll_log(LL_LOG_WARNING, "tid %d: LUNs changed, but no Async Message was sent: %s\n",
			p->tid, strerror(-told));
	free(p);
}

/* Does this tgtd send Async Messages?  Look once, say once if not. */
static int can_send(void)
{
	if (!looked_up) {
		looked_up = 1;
		scsi_event = (scsi_event_fn)dlsym(RTLD_DEFAULT, "iscsi_target_scsi_event");
		if (!scsi_event)
			ll_log(LL_LOG_WARNING, "this tgtd cannot send iSCSI Async Messages (it lacks "
				"iscsi_target_scsi_event: build lunlink's patched tgtd with 'make "
				"tgtd'); initiators learn of added and removed LUNs only from the "
				"unit attention on their next command\n");
	}
	return scsi_event != NULL;
}

void ll_notify_luns_changed(int tid, uint64_t lun)
{
	struct pending *p;

	if (!can_send())
		return;
	for (p = pending; p; p = p->next)
		if (p->tid == tid) {
			if (lun < p->lun)
				p->lun = lun;
			if (arm(p))
				ll_log(LL_LOG_ERROR, "tid %d: cannot re-arm the notification timer: %m\n",
					tid);
			return;
		}

	p = calloc(1, sizeof(*p));
	if (!p)
		goto err;
	p->tid = tid;
	p->lun = lun;
	p->first_ms = ll_now_ms();
	p->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (p->fd < 0)
		goto err_free;
	if (arm(p) || tgt_event_add(p->fd, EPOLLIN, send_now, p))
		goto err_close;
	p->next = pending;
	pending = p;
	return;

err_close:
	close(p->fd);
err_free:
	free(p);
err:
	ll_log(LL_LOG_ERROR, "tid %d: cannot schedule the Async Message for LUN %" PRIu64
		": %m; initiators will learn of it from the unit attention\n", tid, lun);
}
