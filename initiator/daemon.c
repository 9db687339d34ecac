// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * daemon.c: lunlink-rescand's event loop (see daemon.h).
 *
 * The daemon remembers, per SCSI host, the devices it saw last ("known"),
 * so a worker can say what a scan changed even when iscsid's own scan got
 * there first.  A worker inherits that table through fork(); when it ends
 * the parent looks at the host again.  Nothing but the parent touches the
 * table, and nothing but the workers writes to sysfs.
 *
 * What it listens to: the kernel's uevents (unit attentions; SCSI devices,
 * hosts and iSCSI sessions coming and going) and, when the kernel has an
 * iSCSI transport, iscsid's netlink group of NETLINK_ISCSI (Async
 * Messages: iscsinl.h).  A device added while none of our jobs runs on its
 * host was added by someone else (iscsid's scan after an Async Message or
 * a login, an administrator): the target's LUN set may have changed, so
 * the host is reconciled, not scanned again.
 */
#include "daemon.h"
#include "background.h"
#include "lunlink/daemon.h"
#include "iscsinl.h"
#include "log.h"
#include "manager.h"
#include "reconcile.h"
#include "report.h"
#include "sched.h"
#include "uevent.h"
#include "ueventsock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_JOBS	64	/* max_parallel's ceiling */
#define STOP_WAIT_MS	10000	/* at SIGTERM, how long running workers get */
#define MGR_RESTART_MS	5000	/* a manager connection that ended starts again */
#define MGR_BUSY_MAX	64	/* hosts a link works on at once */
/* A reconcile runs when someone else scanned or is scanning (iscsid, after
 * an Async Message or a login): a LUN without a device yet is given this
 * long to get one from that scan before the reconcile scans itself. */
#define ISCSID_SCAN_GRACE_MS	1000

struct known {
	unsigned int host;
	struct rd_devtab t;
};

struct job {
	pid_t pid;
	struct rd_job_key key;
	uint64_t started;
};

struct daemon {
	const struct rd_config *cfg;
	struct rd_env *env;
	const struct rd_daemon_opts *opts;
	int ufd, sfd, tfd, pfd, ifd;
	bool netlink, iscsi_wanted;
	struct rd_sched sched;
	struct known *known;
	size_t nknown;
	struct job jobs[MAX_JOBS];
	bool stopping;
	uint64_t stop_deadline;
	/* the manager connection's process: its pid, its pipe, the hosts its
	 * links work on ("busy"), and those it said "idle" for since the
	 * uevents were last read (they stay busy until then) */
	pid_t mgr_pid;
	int mfd;
	uint64_t mgr_restart_at;
	unsigned int mgr_busy[MGR_BUSY_MAX], mgr_idle[MGR_BUSY_MAX];
	size_t nbusy, nidle;
	char mgr_line[64];
	size_t mgr_line_len;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- what we know of each host ------------------------------------------ */

static struct known *known_get(struct daemon *d, unsigned int host)
{
	for (size_t i = 0; i < d->nknown; i++)
		if (d->known[i].host == host)
			return &d->known[i];
	return NULL;
}

static void known_forget(struct daemon *d, unsigned int host)
{
	struct known *k = known_get(d, host);

	if (!k)
		return;
	rd_devtab_free(&k->t);
	*k = d->known[--d->nknown];
}

/* A host that just appeared (a login): every device it gets is new. */
static void known_empty(struct daemon *d, unsigned int host)
{
	struct known *nv;

	if (known_get(d, host))
		return;
	nv = realloc(d->known, (d->nknown + 1) * sizeof(*nv));
	if (!nv)
		return;
	d->known = nv;
	d->known[d->nknown].host = host;
	memset(&d->known[d->nknown].t, 0, sizeof(d->known[d->nknown].t));
	d->nknown++;
}

static void known_refresh(struct daemon *d, unsigned int host)
{
	struct known *k = known_get(d, host);
	struct rd_devtab t;
	char err[512];

	if (rd_devtab_snapshot(d->env, host, &t, err, sizeof(err))) {
		rd_warn("cannot look at host%u's devices: %s", host, err);
		return;
	}
	if (!k) {
		struct known *nv = realloc(d->known, (d->nknown + 1) * sizeof(*nv));

		if (!nv) {
			rd_devtab_free(&t);
			return;
		}
		d->known = nv;
		k = &d->known[d->nknown++];
		k->host = host;
	} else {
		rd_devtab_free(&k->t);
	}
	k->t = t;
}

/* "host2" for a host-wide job, "2:0:0:1" for a device's */
static const char *key_name(const struct rd_job_key *k, char buf[RD_HCTL_LEN])
{
	if (k->kind == RD_JOB_RESCAN)
		return rd_hctl_fmt(&k->hctl, buf);
	snprintf(buf, RD_HCTL_LEN, "host%u", k->hctl.host);
	return buf;
}

/* ---- workers -------------------------------------------------------------- */

/* In a forked child (a worker, the manager connection): the main loop's
 * descriptors are the parent's to read; the child closes its copies. */
static void close_loop_fds(const struct daemon *d)
{
	close(d->ufd);
	close(d->sfd);
	close(d->tfd);
	if (d->pfd >= 0)
		close(d->pfd);
	if (d->ifd >= 0)
		close(d->ifd);
	if (d->mfd >= 0)
		close(d->mfd);
}

/* The child's work: never returns.  A follow-up of a scan (events that
 * came during the scan or its hold) reconciles: the scan found what the
 * target had when it ran; a LUN added after it shows in REPORT LUNS as one
 * without a device, and only then is the host scanned again. */
static void worker(struct daemon *d, const struct rd_sched_run *run)
{
	const struct rd_job_key *key = &run->key;
	unsigned int events = run->events;
	const char *evs = events == 1 ? "" : "s";
	struct known *k = known_get(d, key->hctl.host);
	const struct rd_devtab *before = k ? &k->t : NULL;
	struct rd_changes ch = { 0 };
	struct rd_session s;
	struct rd_devtab now;
	char err[512], hb[RD_HCTL_LEN];
	sigset_t none;
	int rc;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	close_loop_fds(d);

	rc = rd_session_of_host(d->env, key->hctl.host, &s, err, sizeof(err));
	if (rc <= 0) {
		if (rc < 0)
			rd_err("%s", err);
		else
			rd_info("host%u has no iSCSI session any more; nothing to do", key->hctl.host);
		_exit(rc < 0);
	}
	switch (key->kind) {
	case RD_JOB_SCAN:
		if (run->followup) {
			rd_info("reconciling host%u (session %u, %s) with the target's LUNs for %u "
				"LUN change event%s that came after its scan began", s.host, s.sid,
				s.target, events, evs);
			d->env->scan_grace_ms = 0;	/* no one else is scanning */
			rd_reconcile_session(d->env, &s, before, &ch);
			break;
		}
		rd_info("scanning host%u (session %u, %s) for %u LUN change event%s", s.host, s.sid,
			s.target, events, evs);
		rd_rescan_session(d->env, &s, before, &ch);
		break;
	case RD_JOB_RECONCILE:
		rd_info("reconciling host%u (session %u, %s) with the target's LUNs for %u "
			"event%s", s.host, s.sid, s.target, events, evs);
		d->env->scan_grace_ms = ISCSID_SCAN_GRACE_MS;
		rd_reconcile_session(d->env, &s, before, &ch);
		break;
	case RD_JOB_RESCAN:
		rd_info("rescanning %s (session %u) for a capacity change",
			rd_hctl_fmt(&key->hctl, hb), s.sid);
		rd_rescan_device(d->env, &s, &key->hctl, before ? rd_devtab_find(before, &key->hctl) : NULL,
				 &ch);
		break;
	case RD_JOB_CHECK:
		if (rd_devtab_snapshot(d->env, s.host, &now, err, sizeof(err))) {
			rd_err("periodic check of session %u: %s", s.sid, err);
			_exit(1);
		}
		err[0] = '\0';
		if (rd_luns_differ(d->env, &s, &now, err, sizeof(err))) {
			rd_notice("periodic check: the LUNs session %u (%s) reports differ from its "
				  "devices; scanning", s.sid, s.target);
			rd_rescan_session(d->env, &s, before, &ch);
		} else if (err[0]) {
			rd_warn("periodic check of session %u (%s): %s", s.sid, s.target, err);
		} else {
			rd_debug("periodic check of session %u: the devices match the target's LUNs",
				 s.sid);
		}
		rd_devtab_free(&now);
		break;
	}
	rd_changes_log(&ch, 0, &s);
	rc = ch.errors ? 1 : 0;
	rd_changes_free(&ch);
	rd_log_close();
	_exit(rc);
}

static void start_jobs(struct daemon *d)
{
	struct rd_sched_run run;
	const struct rd_job_key *key = &run.key;
	char hb[RD_HCTL_LEN];

	if (d->stopping)
		return;
	while (rd_sched_take(&d->sched, now_ms(), &run)) {
		struct job *j = NULL;
		pid_t pid;

		for (size_t i = 0; i < MAX_JOBS && !j; i++)
			if (!d->jobs[i].pid)
				j = &d->jobs[i];
		if (!j)
			pid = -1, errno = EAGAIN;
		else
			pid = fork();
		if (pid == 0)
			worker(d, &run);
		if (pid < 0) {
			rd_err("cannot start the %s of %s: fork: %s", rd_job_kind_name(key->kind),
			       key_name(key, hb), strerror(errno));
			rd_sched_done(&d->sched, key, now_ms());
			/* noted again while held, it is retried after the hold, not at once */
			rd_sched_note(&d->sched, key, now_ms());
			break;
		}
		j->pid = pid;
		j->key = *key;
		j->started = now_ms();
		rd_debug("worker %d: %s%s of %s", (int)pid, run.followup ? "follow-up " : "",
			 rd_job_kind_name(key->kind), key_name(key, hb));
	}
}

/* ---- the manager connection ------------------------------------------------- */

static bool mgr_busy(const struct daemon *d, unsigned int host)
{
	for (size_t i = 0; i < d->nbusy; i++)
		if (d->mgr_busy[i] == host)
			return true;
	return false;
}

static void mgr_start(struct daemon *d)
{
	int p[2];
	pid_t pid;

	d->mgr_restart_at = 0;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK)) {
		rd_err("cannot start the manager connection: pipe: %s", strerror(errno));
		d->mgr_restart_at = now_ms() + MGR_RESTART_MS;
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		close_loop_fds(d);
		rd_mgr_run(d->cfg, d->env, d->opts->version, p[1]);
	}
	close(p[1]);
	if (pid < 0) {
		rd_err("cannot start the manager connection: fork: %s", strerror(errno));
		close(p[0]);
		d->mgr_restart_at = now_ms() + MGR_RESTART_MS;
		return;
	}
	d->mgr_pid = pid;
	d->mfd = p[0];
	d->mgr_line_len = 0;
	rd_debug("manager connection: process %d", (int)pid);
}

static void mgr_ended(struct daemon *d, int status)
{
	if (!d->stopping)
		rd_err("the manager connection (process %d) ended (%s %d); starting it again in "
		       "%u s", (int)d->mgr_pid, WIFSIGNALED(status) ? "signal" : "status",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
		       MGR_RESTART_MS / 1000);
	d->mgr_pid = 0;
	d->nbusy = d->nidle = 0;
	if (d->mfd >= 0)
		close(d->mfd);
	d->mfd = -1;
	if (!d->stopping)
		d->mgr_restart_at = now_ms() + MGR_RESTART_MS;
}

static void mgr_line(struct daemon *d, const char *line)
{
	unsigned int host;

	if (sscanf(line, "busy %u", &host) == 1) {
		if (!mgr_busy(d, host) && d->nbusy < MGR_BUSY_MAX)
			d->mgr_busy[d->nbusy++] = host;
	} else if (sscanf(line, "idle %u", &host) == 1) {
		if (d->nidle < MGR_BUSY_MAX)
			d->mgr_idle[d->nidle++] = host;
	} else {
		rd_warn("manager connection: an unknown line '%s' from its pipe", line);
	}
}

/* Read its lines; "idle" waits for mgr_settle (after the uevents) */
static void mgr_read(struct daemon *d)
{
	char buf[512];
	ssize_t n;

	while ((n = read(d->mfd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;		/* EAGAIN: all read */
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (d->mgr_line_len < sizeof(d->mgr_line) - 1)
					d->mgr_line[d->mgr_line_len++] = buf[i];
				continue;
			}
			d->mgr_line[d->mgr_line_len] = '\0';
			d->mgr_line_len = 0;
			mgr_line(d, d->mgr_line);
		}
	}
	/* the end of the pipe: the process is ending, SIGCHLD follows */
	close(d->mfd);
	d->mfd = -1;
}

/* The uevents its work caused have been read: the idle hosts are idle. */
static void mgr_settle(struct daemon *d)
{
	for (size_t i = 0; i < d->nidle; i++)
		for (size_t j = 0; j < d->nbusy; j++)
			if (d->mgr_busy[j] == d->mgr_idle[i]) {
				d->mgr_busy[j] = d->mgr_busy[--d->nbusy];
				break;
			}
	d->nidle = 0;
}

static void reap(struct daemon *d)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == d->mgr_pid) {
			mgr_ended(d, status);
			continue;
		}
		for (size_t i = 0; i < MAX_JOBS; i++) {
			struct job *j = &d->jobs[i];

			if (j->pid != pid)
				continue;
			if (WIFSIGNALED(status))
				rd_err("the %s worker of host%u (pid %d) died of signal %d",
				       rd_job_kind_name(j->key.kind), j->key.hctl.host, (int)pid,
				       WTERMSIG(status));
			rd_debug("worker %d done in %llu ms, status %d", (int)pid,
				 (unsigned long long)(now_ms() - j->started), status);
			rd_sched_done(&d->sched, &j->key, now_ms());
			known_refresh(d, j->key.hctl.host);
			j->pid = 0;
		}
	}
}

/* ---- the uevent socket ------------------------------------------------------ */

static void note(struct daemon *d, enum rd_job_kind kind, const struct rd_hctl *h,
		 const char *why)
{
	struct rd_job_key key = { .kind = kind, .hctl = *h };
	char hb[RD_HCTL_LEN];

	if (d->stopping)
		return;
	if (kind == RD_JOB_SCAN) {
		struct rd_job_key rk = { .kind = RD_JOB_RECONCILE, .hctl = *h };

		if (rd_sched_drop(&d->sched, &rk))
			rd_debug("%s: the pending reconcile of host%u joins the scan", why, h->host);
	}
	switch (rd_sched_note(&d->sched, &key, now_ms())) {
	case RD_NOTE_NEW:
		rd_info("%s: %s of %s %s", why, rd_job_kind_name(kind), key_name(&key, hb),
			rd_sched_host_busy(&d->sched, h->host) ? "once the job running on its host ends" :
								 "now");
		break;
	case RD_NOTE_COALESCED:
		rd_debug("%s: joins the pending %s", why, rd_job_kind_name(kind));
		break;
	case RD_NOTE_AGAIN:
		rd_info("%s: came during the %s of %s: one follow-up after its hold", why,
			rd_job_kind_name(kind), key_name(&key, hb));
		break;
	case RD_NOTE_HELD:
		rd_info("%s: the %s of %s ran less than %u ms ago: one follow-up after its hold",
			why, rd_job_kind_name(kind), key_name(&key, hb), d->cfg->hold_ms);
		break;
	case RD_NOTE_FULL:
		rd_err("%s: dropped, %d jobs are already waiting", why, RD_SCHED_MAX);
		break;
	}
}

/* The session sid: 1 found, 0 none, -1 error (logged). */
static int session_host(struct daemon *d, unsigned int sid, struct rd_session *out)
{
	struct rd_session *v;
	char err[512];
	size_t n;
	int found = 0;

	if (rd_sessions_list(d->env, &v, &n, err, sizeof(err))) {
		rd_err("%s", err);
		return -1;
	}
	for (size_t i = 0; i < n && !found; i++)
		if (v[i].sid == sid) {
			*out = v[i];
			found = 1;
		}
	free(v);
	return found;
}

static void scan_all(struct daemon *d, enum rd_job_kind kind, const char *why)
{
	struct rd_session *v;
	char err[512];
	size_t n;

	if (rd_sessions_list(d->env, &v, &n, err, sizeof(err))) {
		rd_err("%s: %s", why, err);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct rd_hctl h = { .host = v[i].host };
		struct rd_job_key scan = { .kind = RD_JOB_SCAN, .hctl = h };

		if ((kind == RD_JOB_CHECK || kind == RD_JOB_RECONCILE) && rd_sched_has(&d->sched, &scan))
			continue;	/* a scan is coming anyway */
		note(d, kind, &h, why);
	}
	free(v);
}

/* Reconcile a host, unless a scan (which reconciles too) is coming. */
static void note_reconcile(struct daemon *d, const struct rd_hctl *h, const char *why)
{
	struct rd_job_key scan = { .kind = RD_JOB_SCAN, .hctl = { .host = h->host } };
	struct rd_hctl host = { .host = h->host };

	if (rd_sched_pending(&d->sched, &scan)) {
		rd_debug("%s: a scan of host%u is coming anyway", why, h->host);
		return;
	}
	note(d, RD_JOB_RECONCILE, &host, why);
}

/* Join iscsid's netlink group, if not yet and if the kernel has an iSCSI
 * transport (it may be loaded only at the first login). */
static void open_iscsi(struct daemon *d)
{
	char err[256];

	if (d->ifd >= 0 || !d->iscsi_wanted)
		return;
	d->ifd = rd_iscsi_open_netlink(err, sizeof(err));
	if (d->ifd >= 0)
		rd_info("listening to iscsid's iSCSI netlink events (Async Messages)");
	else
		rd_info("%s; Async Messages are not heard until an iSCSI session appears", err);
}

static void read_iscsi(struct daemon *d)
{
	static char buf[RD_ISCSI_MSG_MAX];
	struct rd_iscsi_event ev;
	struct sockaddr_nl snl;
	char err[256], why[512];

	for (int i = 0; i < 256; i++) {
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_name = &snl, .msg_namelen = sizeof(snl), .msg_iov = &iov,
				     .msg_iovlen = 1 };
		struct rd_session s;
		struct rd_hctl h = { 0 };
		ssize_t n = recvmsg(d->ifd, &mh, MSG_TRUNC);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == ENOBUFS) {
				rd_warn("iSCSI netlink events were lost (receive buffer full): "
					"reconciling every iSCSI session");
				scan_all(d, RD_JOB_RECONCILE, "lost iSCSI events");
				continue;
			}
			rd_err("reading iSCSI netlink events: %s; no longer listening", strerror(errno));
			close(d->ifd);
			d->ifd = -1;
			return;
		}
		if ((size_t)n > sizeof(buf) || (mh.msg_flags & MSG_TRUNC) ||
		    mh.msg_namelen < sizeof(snl) || snl.nl_pid != 0)
			continue;	/* a big login or text PDU, or not the kernel's */
		if (rd_iscsi_msg_parse(buf, (size_t)n, &ev, err, sizeof(err))) {
			rd_warn("dropped a malformed iSCSI netlink event (%zd bytes): %s", n, err);
			continue;
		}
		if (ev.kind != RD_ISCSI_ASYNC)
			continue;
		if (!rd_iscsi_luns_changed(&ev)) {
			rd_debug("ignoring an Async Message of session %u (AsyncEvent %u, sense "
				 "%x/%02x/%02x)", ev.sid, ev.async_event, ev.key, ev.asc, ev.ascq);
			continue;
		}
		if (session_host(d, ev.sid, &s) <= 0) {
			rd_debug("an Async Message of session %u, which has no SCSI host", ev.sid);
			continue;
		}
		h.host = s.host;
		snprintf(why, sizeof(why), "Async Message REPORTED LUNS DATA HAS CHANGED from "
			 "session %u (host%u, %s)", s.sid, s.host, s.target);
		note_reconcile(d, &h, why);
	}
}

static void handle_uevent(struct daemon *d, const void *msg, size_t len)
{
	static struct rd_uevent ev;	/* 9 KiB: not on the stack */
	struct rd_session s;
	struct rd_hctl h;
	char err[256], hb[RD_HCTL_LEN], why[512];
	int rc;

	if (rd_uevent_parse(msg, len, &ev, err, sizeof(err))) {
		rd_warn("dropped a malformed uevent (%zu bytes): %s", len, err);
		return;
	}
	switch (rd_uevent_classify(&ev, &h)) {
	case RD_UEVENT_OTHER:
		if (ev.sdev_ua)
			rd_debug("ignoring SDEV_UA=%s on %s", ev.sdev_ua, ev.devpath);
		return;
	case RD_UEVENT_LUNS_CHANGED:
		rc = rd_session_of_host(d->env, h.host, &s, err, sizeof(err));
		if (rc < 0)
			rd_warn("REPORTED LUNS DATA HAS CHANGED from %s: %s", rd_hctl_fmt(&h, hb), err);
		if (rc <= 0) {
			rd_debug("host%u is not an iSCSI host: not scanning it", h.host);
			return;
		}
		snprintf(why, sizeof(why), "REPORTED LUNS DATA HAS CHANGED from %s (session %u, %s)",
			 rd_hctl_fmt(&h, hb), s.sid, s.target);
		note(d, RD_JOB_SCAN, &h, why);
		return;
	case RD_UEVENT_CAPACITY_CHANGED:
		rc = rd_session_of_host(d->env, h.host, &s, err, sizeof(err));
		if (rc <= 0) {
			rd_debug("host%u is not an iSCSI host: not rescanning %s", h.host,
				 rd_hctl_fmt(&h, hb));
			return;
		}
		snprintf(why, sizeof(why), "CAPACITY DATA HAS CHANGED on %s (session %u)",
			 rd_hctl_fmt(&h, hb), s.sid);
		note(d, RD_JOB_RESCAN, &h, why);
		return;
	case RD_UEVENT_SDEV_ADDED:
		if (mgr_busy(d, h.host)) {
			rd_debug("%s added while a link works on host%u: the link's",
				 rd_hctl_fmt(&h, hb), h.host);
			return;
		}
		if (rd_sched_host_busy(&d->sched, h.host)) {
			rd_debug("%s added while a job of ours runs on host%u: ours",
				 rd_hctl_fmt(&h, hb), h.host);
			return;
		}
		rc = rd_session_of_host(d->env, h.host, &s, err, sizeof(err));
		if (rc <= 0) {
			rd_debug("host%u is not an iSCSI host: %s added, nothing to do", h.host,
				 rd_hctl_fmt(&h, hb));
			return;
		}
		snprintf(why, sizeof(why), "%s added by someone else (session %u, %s)",
			 rd_hctl_fmt(&h, hb), s.sid, s.target);
		note_reconcile(d, &h, why);
		return;
	case RD_UEVENT_SESSION_ADDED:
		open_iscsi(d);
		rc = rd_session_of_host(d->env, h.host, &s, err, sizeof(err));
		if (rc <= 0) {
			rd_debug("an iSCSI session on host%u appeared and went", h.host);
			return;
		}
		known_empty(d, h.host);
		/* its targetname is not set yet (sysfs shows "(null)") */
		snprintf(why, sizeof(why), "new iSCSI session %u on host%u", s.sid, h.host);
		note_reconcile(d, &h, why);
		return;
	case RD_UEVENT_SDEV_REMOVED:
		if (!rd_sched_host_busy(&d->sched, h.host) && known_get(d, h.host))
			known_refresh(d, h.host);
		return;
	case RD_UEVENT_HOST_REMOVED:
		if (known_get(d, h.host))
			rd_info("host%u is gone (logout or session end): forgetting its devices", h.host);
		known_forget(d, h.host);
		return;
	}
}

static void read_uevents(struct daemon *d)
{
	static char buf[RD_UEVENT_MAX + 1];
	char err[256];
	size_t len;

	/* at most 256 at a time, so signals and timers get their turn */
	for (int i = 0; i < 256; i++) {
		switch (rd_uevent_recv(d->ufd, d->netlink, buf, sizeof(buf), &len, err, sizeof(err))) {
		case RD_RECV_MSG:
			handle_uevent(d, buf, len);
			break;
		case RD_RECV_DROPPED:
			rd_warn("dropped a uevent: %s", err);
			break;
		case RD_RECV_LOST:
			/* the kernel dropped some: whichever they were, look */
			rd_warn("uevents were lost (receive buffer full): scanning every iSCSI session");
			scan_all(d, RD_JOB_SCAN, "lost uevents");
			break;
		case RD_RECV_ERROR:
			rd_err("reading uevents: %s", err);
			return;
		case RD_RECV_AGAIN:
			return;
		}
	}
}

/* ---- timers, signals, the loop ----------------------------------------------- */

static void arm(int fd, uint64_t ms, uint64_t interval_ms)
{
	struct itimerspec its = {
		.it_value = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 },
		.it_interval = { (time_t)(interval_ms / 1000), (long)(interval_ms % 1000) * 1000000 },
	};

	timerfd_settime(fd, 0, &its, NULL);
}

static void rearm_sched(struct daemon *d)
{
	int64_t next = rd_sched_next(&d->sched, now_ms());

	if (d->stopping || next < 0)
		arm(d->tfd, 0, 0);		/* disarmed */
	else
		arm(d->tfd, next ? (uint64_t)next : 1, 0);
}

static void drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) > 0)
		;
}

static bool handle_signals(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(d);
			break;
		case SIGHUP:
			rd_notice("SIGHUP: the configuration is read at start only; restart to change it");
			break;
		default:
			if (!d->stopping)
				rd_info("%s: stopping", strsignal((int)si.ssi_signo));
			if (!d->stopping && d->mgr_pid > 0)
				kill(d->mgr_pid, SIGTERM);
			d->stopping = true;
			d->stop_deadline = now_ms() + STOP_WAIT_MS;
			break;
		}
	}
	return d->stopping;
}

int rd_daemon_run(const struct rd_config *cfg, struct rd_env *env,
		  const struct rd_daemon_opts *o)
{
	struct daemon d = { .cfg = cfg, .env = env, .opts = o, .ufd = -1, .sfd = -1, .tfd = -1,
			    .pfd = -1, .ifd = -1, .mfd = -1 };
	struct rd_session *sessions = NULL;
	int ready_fd = -1, rc = 1;
	char err[512];
	size_t n;
	sigset_t mask;

	if (!o->foreground && ll_daemonize(&ready_fd)) {
		rd_err("cannot go to the background: %s", strerror(errno));
		return 1;
	}
	if (cfg->pidfile[0] && rd_write_pidfile(cfg->pidfile))
		goto out;
	/* the manager connection's files, before we say we are ready */
	if (cfg->mgr.url[0] && rd_mgr_check(cfg, err, sizeof(err))) {
		rd_err("%s", err);
		goto out;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d.sfd < 0 || d.tfd < 0) {
		rd_err("signalfd/timerfd: %s", strerror(errno));
		goto out;
	}
	if (cfg->periodic_s) {
		d.pfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (d.pfd < 0) {
			rd_err("timerfd: %s", strerror(errno));
			goto out;
		}
		arm(d.pfd, (uint64_t)cfg->periodic_s * 1000, (uint64_t)cfg->periodic_s * 1000);
	}
	/* listen first, then look: a change between the two is not lost */
	d.netlink = !o->uevent_socket;
	d.ufd = d.netlink ? rd_uevent_open_netlink(err, sizeof(err)) :
			    rd_uevent_open_unix(o->uevent_socket, err, sizeof(err));
	if (d.ufd < 0) {
		rd_err("%s", err);
		goto out;
	}
	/* Async Messages: the real kernel's only (a test's fake sysfs has
	 * no such thing) */
	d.iscsi_wanted = d.netlink && cfg->async_messages;
	open_iscsi(&d);
	rd_sched_init(&d.sched, cfg->hold_ms, cfg->hold_max_ms, cfg->max_parallel);
	if (rd_sessions_list(env, &sessions, &n, err, sizeof(err))) {
		rd_err("%s", err);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		known_refresh(&d, sessions[i].host);
	rd_info("ready: watching %s for SCSI unit attentions and devices%s; %zu iSCSI "
		"session%s under %s", d.netlink ? "the kernel's uevents" : o->uevent_socket,
		d.ifd >= 0 ? ", iscsid's netlink group for Async Messages" : "", n,
		n == 1 ? "" : "s", env->sysfs);
	free(sessions);
	if (cfg->mgr.url[0])
		mgr_start(&d);
	ll_daemon_ready(&ready_fd, 0, cfg->log == RD_LOGTO_STDERR);

	for (;;) {
		struct pollfd p[6] = {
			{ .fd = d.ufd, .events = POLLIN }, { .fd = d.sfd, .events = POLLIN },
			{ .fd = d.tfd, .events = POLLIN }, { .fd = d.pfd, .events = POLLIN },
			{ .fd = d.ifd, .events = POLLIN }, { .fd = d.mfd, .events = POLLIN },
		};
		size_t running = d.sched.running + (d.mgr_pid > 0);
		int timeout = -1;

		if (!d.stopping && d.mgr_restart_at) {
			uint64_t now = now_ms();

			if (now >= d.mgr_restart_at) {
				mgr_start(&d);
				continue;
			}
			timeout = (int)(d.mgr_restart_at - now);
		}
		if (d.stopping) {
			uint64_t now = now_ms();

			if (!running)
				break;
			if (now >= d.stop_deadline) {
				rd_warn("leaving %zu worker%s to finish on their own", running,
					running == 1 ? "" : "s");
				break;
			}
			timeout = (int)(d.stop_deadline - now);
		}
		/* a negative fd is skipped by poll */
		if (poll(p, 6, timeout) < 0) {
			if (errno == EINTR)
				continue;
			rd_err("poll: %s", strerror(errno));
			goto out;
		}
		/* the manager connection's "busy" lines before the uevents its
		 * work caused, its "idle" ones after them */
		if (d.mfd >= 0 && p[5].revents)
			mgr_read(&d);
		/* uevents first: those a worker's writes caused are queued before
		 * it exits, so they are seen while its job still counts as ours */
		if (p[0].revents & POLLIN)
			read_uevents(&d);
		mgr_settle(&d);
		if (d.ifd >= 0 && (p[4].revents & POLLIN))
			read_iscsi(&d);
		if (p[1].revents)
			handle_signals(&d);
		if (p[2].revents)
			drain(d.tfd);
		if (d.pfd >= 0 && p[3].revents) {
			drain(d.pfd);
			scan_all(&d, RD_JOB_CHECK, "periodic check");
		}
		start_jobs(&d);
		rearm_sched(&d);
	}
	rc = 0;
	rd_info("stopped");
out:
	ll_daemon_ready(&ready_fd, (char)(rc ? 1 : 0), true);
	if (d.ufd >= 0) {
		close(d.ufd);
		if (o->uevent_socket)
			unlink(o->uevent_socket);
	}
	if (cfg->pidfile[0] && rc == 0)
		unlink(cfg->pidfile);
	if (d.sfd >= 0)
		close(d.sfd);
	if (d.tfd >= 0)
		close(d.tfd);
	if (d.pfd >= 0)
		close(d.pfd);
	if (d.ifd >= 0)
		close(d.ifd);
	if (d.mfd >= 0)
		close(d.mfd);
	if (d.mgr_pid > 0)
		kill(d.mgr_pid, SIGTERM);	/* left running at the deadline */
	for (size_t i = 0; i < d.nknown; i++)
		rd_devtab_free(&d.known[i].t);
	free(d.known);
	rd_sched_free(&d.sched);
	return rc;
}
