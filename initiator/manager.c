// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * manager.c: the connection to the policy manager, in its own process
 * (see manager.h for why), and --join.
 *
 * The state the three threads share is one table of links (the last
 * desired answer, each entry with what became of it), under one mutex:
 *
 *   poller    GET /v1/hosts/desired?since=REV&wait=S; a new answer replaces
 *             the table (an entry whose revision is unchanged keeps its
 *             result) and wakes the executor;
 *   executor  takes the pending entries one after another and carries each
 *             out (link.c) without the lock; its result is kept only if the
 *             entry is still the same revision, then the reporter is woken;
 *   reporter  POST /v1/hosts/report every heartbeat_interval, or at once.
 *
 * Each network thread has its own libcurl handle (pa_client), made before
 * the threads start.  The process ends at SIGTERM (the daemon stops) or
 * when the daemon dies (PR_SET_PDEATHSIG): a link cut short is carried out
 * again by the next one, which finds what is already done.
 */
#include "manager.h"
#include "client.h"
#include "link.h"
#include "log.h"
#include "lunlink/errmsg.h"
#include "mgr_json.h"
#include "urls.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ERR_LEN		768
#define GONE_CHECKS	5	/* heartbeats an unlink the manager dropped is watched */

struct mgr {
	const struct rd_config *cfg;
	const struct rd_env *env;
	struct rd_mgr_ident id;
	struct pa_client *poll_client, *report_client;
	int pipe_fd;

	pthread_mutex_t mu;
	pthread_cond_t work_cv, report_cv;
	struct rd_mgr_link *links;	/* the last desired answer */
	size_t n;
	long long since;		/* its desired_revision */
	struct rd_link_req gone[16];	/* unlinks done that the manager dropped, */
	unsigned int gone_left[16];	/* looked at for this many more heartbeats */
	size_t ngone;
	bool have_desired, registered, report_now;
	char poll_err[ERR_LEN + 64], report_err[ERR_LEN + 64];	/* said once each */
};

bool rd_mgr_built_in(void)
{
	return true;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_s(unsigned int s)
{
	struct timespec ts = { (time_t)s, 0 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void rd_mgr_host_name(const struct rd_config *cfg, char *out, size_t outlen)
{
	char h[256] = "";

	if (cfg->mgr.host_name[0]) {
		snprintf(out, outlen, "%s", cfg->mgr.host_name);
		return;
	}
	if (gethostname(h, sizeof(h) - 1) || !h[0])
		snprintf(h, sizeof(h), "localhost");
	h[strcspn(h, ".")] = '\0';
	snprintf(out, outlen, "%s", h);
}

/* "the manager", or "the managers" before a list of them */
static const char *managers(const struct rd_config *cfg)
{
	return cfg->mgr.url[strcspn(cfg->mgr.url, ", \t\n")] ? "the managers" : "the manager";
}

/* A line said once while it stays the same (a manager that is down is one
 * line, not one per heartbeat); "" when things work again. */
static void say_once(char *last, size_t len, int prio, const char *now)
{
	if (!strcmp(last, now))
		return;
	if (now[0])
		rd_log(prio, "%s", now);
	else if (last[0])
		rd_notice("the manager answers again");
	snprintf(last, len, "%s", now);
}

/* ---- the pipe to the daemon ---------------------------------------------------- */

static void on_busy(void *arg, unsigned int host, bool busy)
{
	struct mgr *m = arg;
	char line[32];
	int n = snprintf(line, sizeof(line), "%s %u\n", busy ? "busy" : "idle", host);

	/* a hint: if the daemon is behind, it reconciles once more, no harm */
	if (write(m->pipe_fd, line, (size_t)n) < 0 && errno != EAGAIN)
		rd_debug("telling the daemon about host%u: %s", host, strerror(errno));
}

/* ---- the reporter ------------------------------------------------------------------ */

static void *reporter(void *arg)
{
	struct mgr *m = arg;
	unsigned int hb = m->cfg->mgr.heartbeat_interval;
	char err[ERR_LEN], line[ERR_LEN + 64];

	pthread_mutex_lock(&m->mu);
	for (;;) {
		json_object *body, *reply = NULL;
		struct timespec until;
		int rc;

		body = rd_mgr_report_json(&m->id, m->links, m->n);
		m->report_now = false;
		pthread_mutex_unlock(&m->mu);

		rc = pa_client_call(m->report_client, "POST", "/v1/hosts/report", body, &reply, NULL,
				    err, sizeof(err));
		json_object_put(body);
		json_object_put(reply);
		if (rc)
			snprintf(line, sizeof(line), "reporting to the manager: %s", err);
		say_once(m->report_err, sizeof(m->report_err), LOG_WARNING, rc ? line : "");

		pthread_mutex_lock(&m->mu);
		if (!rc && !m->registered) {
			rd_info("registered with %s %s as host %s (%s)", managers(m->cfg),
				m->cfg->mgr.url, m->id.hostname, m->id.initiator);
			m->registered = true;
			pthread_cond_broadcast(&m->work_cv);
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += hb;
		while (!m->report_now &&
		       pthread_cond_timedwait(&m->report_cv, &m->mu, &until) != ETIMEDOUT)
			;
	}
	return NULL;
}

static void report_soon(struct mgr *m)
{
	m->report_now = true;
	pthread_cond_signal(&m->report_cv);
}

/* ---- the poller ------------------------------------------------------------------- */

/* Take a new desired answer (called with the lock held). */
static void take(struct mgr *m, struct rd_mgr_desired *d)
{
	for (size_t i = 0; i < d->n; i++) {
		struct rd_mgr_link *nl = &d->v[i];

		for (size_t j = 0; j < m->n; j++) {
			struct rd_mgr_link *ol = &m->links[j];

			if (!strcmp(ol->req.volume, nl->req.volume) &&
			    ol->req.revision == nl->req.revision && !nl->bad[0]) {
				nl->res = ol->res;
				nl->pending = ol->pending;
			}
		}
		if (nl->pending)
			rd_info("the manager asks to %s %s (revision %lld)",
				nl->req.unlink ? "unlink" : "link", nl->req.volume, nl->req.revision);
	}
	/* an unlink done that the manager no longer lists: the target no
	 * longer presents its LUN, one last look for a device that came back */
	for (size_t j = 0; j < m->n; j++) {
		struct rd_mgr_link *ol = &m->links[j];
		bool listed = false;

		for (size_t i = 0; i < d->n && !listed; i++)
			listed = !strcmp(d->v[i].req.volume, ol->req.volume);
		if (!listed && ol->req.unlink && ol->res.state == RD_LINK_UNLINKED &&
		    m->ngone < sizeof(m->gone) / sizeof(m->gone[0])) {
			m->gone_left[m->ngone] = GONE_CHECKS;
			m->gone[m->ngone++] = ol->req;
		}
	}
	if (m->links)
		explicit_bzero(m->links, m->n * sizeof(*m->links));
	free(m->links);
	m->links = d->v;
	m->n = d->n;
	m->since = d->revision;
	m->have_desired = true;
	d->v = NULL;
	d->n = 0;
	pthread_cond_broadcast(&m->work_cv);
	report_soon(m);		/* links the manager dropped leave the report */
}

static void *poller(void *arg)
{
	struct mgr *m = arg;
	unsigned int hb = m->cfg->mgr.heartbeat_interval, wait = m->cfg->mgr.poll_wait_s;
	bool use_wait = true;
	char err[ERR_LEN], line[ERR_LEN + 64], path[128];

	for (;;) {
		struct rd_mgr_desired d;
		json_object *reply = NULL;
		uint64_t t0 = now_ms();
		bool waited;
		long status = 0;
		int rc;

		pthread_mutex_lock(&m->mu);
		while (!m->registered)
			pthread_cond_wait(&m->work_cv, &m->mu);
		waited = m->have_desired && use_wait;
		if (!m->have_desired)
			snprintf(path, sizeof(path), "/v1/hosts/desired");
		else if (use_wait)
			snprintf(path, sizeof(path), "/v1/hosts/desired?since=%lld&wait=%u", m->since,
				 wait);
		else
			snprintf(path, sizeof(path), "/v1/hosts/desired?since=%lld", m->since);
		pthread_mutex_unlock(&m->mu);

		rc = pa_client_call(m->poll_client, "GET", path, NULL, &reply, &status, err,
				    sizeof(err));
		if (rc && waited && status == 400) {
			rd_notice("the manager refuses a long poll (%s): asking for the desired links "
				  "every %u s instead", err, hb);
			use_wait = false;
			json_object_put(reply);
			continue;
		}
		if (!rc && rd_mgr_desired_read(reply, &d, err, sizeof(err)))
			rc = -1;
		json_object_put(reply);
		snprintf(line, sizeof(line), "the desired links from the manager: %s", err);
		say_once(m->poll_err, sizeof(m->poll_err), LOG_WARNING, rc ? line : "");
		if (rc) {
			sleep_s(hb);
			continue;
		}
		pthread_mutex_lock(&m->mu);
		if (d.changed || !m->have_desired)
			take(m, &d);
		else
			m->since = d.revision;
		pthread_mutex_unlock(&m->mu);
		rd_mgr_desired_free(&d);
		/* no long poll, or a manager that answers one at once: pace it;
		 * the first read (no since) goes straight on to a long poll */
		if (!use_wait || (waited && !d.changed && now_ms() - t0 < 500))
			sleep_s(hb);
	}
	return NULL;
}

/* ---- the executor --------------------------------------------------------------------- */

static struct rd_mgr_link *next_pending(struct mgr *m)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->links[i].pending)
			return &m->links[i];
	return NULL;
}

/*
 * A device unlinked can come back: the target presents the LUN until the
 * manager takes it away, after our report, and a scan in between (the
 * daemon's own, for a unit attention of another LUN; an administrator's)
 * probes it again.  So while the manager still lists an unlink done, its
 * WWID is looked for at every heartbeat, and for GONE_CHECKS more once
 * the manager drops it (it drops it while it takes the LUN away from the
 * target: a scan may still find it for a moment); a device that came back
 * is deleted again (unless in use: then it is only said).
 */
static void recheck_unlinked(struct mgr *m, const struct rd_link_ctx *c)
{
	struct rd_link_req reqs[32];
	struct rd_link_result res;
	struct rd_sdev found[4];
	size_t n = 0;
	char err[256];

	for (size_t i = 0; i < m->ngone;) {
		bool again = false;

		/* linked again meanwhile: none of this watch's business */
		for (size_t j = 0; j < m->n && !again; j++)
			again = !strcmp(m->links[j].req.volume, m->gone[i].volume) ||
				rd_wwid_equal(m->links[j].req.wwid, m->gone[i].wwid);
		if (again)
			m->gone_left[i] = 1;
		else
			reqs[n++] = m->gone[i];
		if (--m->gone_left[i]) {
			i++;
			continue;
		}
		m->gone[i] = m->gone[--m->ngone];
		m->gone_left[i] = m->gone_left[m->ngone];
	}
	for (size_t i = 0; i < m->n && n < 32; i++)
		if (m->links[i].req.unlink && !m->links[i].pending &&
		    m->links[i].res.state == RD_LINK_UNLINKED && !m->links[i].req.force)
			reqs[n++] = m->links[i].req;
	if (!n)
		return;
	pthread_mutex_unlock(&m->mu);
	for (size_t i = 0; i < n; i++) {
		if (rd_find_by_wwid(m->env, reqs[i].wwid, found, 4, err, sizeof(err)) <= 0)
			continue;
		rd_notice("unlink %s: %s came back with WWID %s (a scan while the target still "
			  "presents the LUN): deleting it again", reqs[i].volume, found[0].block[0] ?
			  found[0].block : "a device", reqs[i].wwid);
		rd_unlink_do(c, &reqs[i], &res);
		if (res.state != RD_LINK_UNLINKED)
			rd_warn("unlink %s: the device that came back stays: %s", reqs[i].volume,
				res.error);
	}
	explicit_bzero(reqs, sizeof(reqs));
	pthread_mutex_lock(&m->mu);
}

static void *executor(void *arg)
{
	struct mgr *m = arg;
	struct rd_link_ctx c = {
		.env = m->env, .iscsiadm = m->cfg->iscsiadm,
		.iscsiadm_timeout_s = m->cfg->iscsiadm_timeout_s, .poll_ms = 20,
		.busy = on_busy, .busy_arg = m,
		.dmsetup = m->cfg->mgr.dmsetup,
		.replacement_timeout_s = m->cfg->mgr.replacement_timeout,
		.map_queue_s = m->cfg->mgr.map_queue_timeout,
	};
	struct rd_mgr_link job;
	struct rd_link_result res;

	pthread_mutex_lock(&m->mu);
	for (;;) {
		struct rd_mgr_link *l;

		while (!(l = next_pending(m))) {
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += m->cfg->mgr.heartbeat_interval;
			if (pthread_cond_timedwait(&m->work_cv, &m->mu, &until) == ETIMEDOUT)
				recheck_unlinked(m, &c);
		}
		l->pending = false;
		memset(&l->res, 0, sizeof(l->res));
		l->res.state = RD_LINK_WORKING;
		job = *l;
		report_soon(m);
		pthread_mutex_unlock(&m->mu);

		memset(&res, 0, sizeof(res));
		if (job.bad[0]) {
			res.state = RD_LINK_FAILED;
			snprintf(res.error, sizeof(res.error), "%s", job.bad);
			rd_warn("%s %s: %s", job.req.unlink ? "unlink" : "link", job.req.volume, job.bad);
		} else if (job.req.unlink) {
			rd_unlink_do(&c, &job.req, &res);
		} else {
			rd_link_do(&c, &job.req, &res);
		}
		explicit_bzero(&job.req.chap_secret, sizeof(job.req.chap_secret));

		pthread_mutex_lock(&m->mu);
		for (size_t i = 0; i < m->n; i++)
			if (!strcmp(m->links[i].req.volume, job.req.volume) &&
			    m->links[i].req.revision == job.req.revision && !m->links[i].pending)
				m->links[i].res = res;
		report_soon(m);
	}
	return NULL;
}

/* ---- the process ------------------------------------------------------------------------- */

static struct pa_client *client(const struct rd_config *cfg, long timeout_ms, char *err,
				size_t errlen)
{
	struct pa_client_opts o = {
		.url = cfg->mgr.url,
		.files = { .ca_file = cfg->mgr.ca, .cert_file = cfg->mgr.cert,
			   .key_file = cfg->mgr.key },
		.timeout_ms = timeout_ms,
	};

	return pa_client_new(&o, err, errlen);
}

int rd_mgr_check(const struct rd_config *cfg, char *err, size_t errlen)
{
	struct pa_tls_files f = { cfg->mgr.ca, cfg->mgr.cert, cfg->mgr.key };
	char name[256];

	if (access(cfg->mgr.cert, F_OK))
		return ll_fail(err, errlen, "this host has not joined the cluster (no %s): run "
			       "lunlink-rescand --join TOKEN once, with a token from `lunlinkctl token "
			       "create --role host` on the manager", cfg->mgr.cert);
	if (pa_tls_check_files(&f, err, errlen))
		return -1;
	return rd_initiator_name_read(cfg->mgr.initiator_file, name, sizeof(name), err, errlen);
}

void rd_mgr_run(const struct rd_config *cfg, const struct rd_env *env, const char *version,
		int pipe_fd)
{
	static struct mgr m;
	pthread_t t;
	sigset_t stop;
	char err[ERR_LEN];
	int sig, rc;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	/* dmsetup (a volume's map, mpath.h) without udev: libdevmapper makes
	 * /dev/mapper/NAME itself and waits for no udev cookie.  Set before
	 * the threads start: setenv is not for a threaded process. */
	setenv("DM_DISABLE_UDEV", "1", 1);
	m.cfg = cfg;
	m.env = env;
	m.pipe_fd = pipe_fd;
	m.id.version = version;
	rd_mgr_host_name(cfg, m.id.hostname, sizeof(m.id.hostname));
	if (rd_initiator_name_read(cfg->mgr.initiator_file, m.id.initiator, sizeof(m.id.initiator),
				   err, sizeof(err))) {
		rd_err("manager connection: %s", err);
		_exit(1);
	}
	m.report_client = client(cfg, 10000, err, sizeof(err));
	m.poll_client = m.report_client ?
			client(cfg, (long)(cfg->mgr.poll_wait_s + 15) * 1000, err, sizeof(err)) : NULL;
	if (!m.poll_client) {
		rd_err("manager connection: %s", err);
		_exit(1);
	}
	pthread_mutex_init(&m.mu, NULL);
	pthread_cond_init(&m.work_cv, NULL);
	pthread_cond_init(&m.report_cv, NULL);
	/* SIGTERM and SIGINT stay blocked (the daemon's mask): a thread of its
	 * own waits for them and ends the process */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	if ((rc = pthread_create(&t, NULL, reporter, &m)) ||
	    (rc = pthread_create(&t, NULL, poller, &m)) ||
	    (rc = pthread_create(&t, NULL, executor, &m))) {
		rd_err("manager connection: cannot start its threads: %s (raise the process "
		       "or memory limits of lunlink-rescand's service)", strerror(rc));
		_exit(1);
	}
	rd_info("connecting to %s %s as host %s (%s)", managers(cfg), cfg->mgr.url, m.id.hostname,
		m.id.initiator);
	while (sigwait(&stop, &sig))
		;
	rd_debug("manager connection: %s, ending", strsignal(sig));
	rd_log_close();
	_exit(0);
}

/* ---- joining ------------------------------------------------------------------------------- */

static int mkdir_of(const char *file, char *err, size_t errlen)
{
	char *copy = strdup(file), *dir, *p;
	int rc = 0;

	if (!copy)
		return ll_fail(err, errlen, "out of memory");
	dir = dirname(copy);
	for (p = dir + 1; ; p++) {
		char c = *p;

		if (c && c != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST) {
			rc = ll_fail(err, errlen, "cannot make %s for %s: %s", dir, file, strerror(errno));
			break;
		}
		*p = c;
		if (!c)
			break;
	}
	free(copy);
	return rc;
}

int rd_mgr_join(const struct rd_config *cfg, const char *token, char *err, size_t errlen)
{
	char url[RD_MGR_URL_MAX + PU_URLS_MAX * 8], name[256];

	if (!cfg->mgr.url[0])
		return ll_fail(err, errlen, "--join needs the manager's address: manager = { url = "
			       "\"https://HOST:PORT\"; }; in the configuration file");
	if (!access(cfg->mgr.cert, F_OK))
		return ll_fail(err, errlen, "this host has joined already (%s exists); to join anew, "
			       "remove it and %s", cfg->mgr.cert, cfg->mgr.key);
	if (access(cfg->mgr.ca, R_OK))
		return ll_fail(err, errlen, "no cluster CA certificate at %s: copy the manager's "
			       "STATE_DIR/ca/ca.crt there first (%s)", cfg->mgr.ca, strerror(errno));
	if (pu_join_urls(cfg->mgr.url, cfg->mgr.join_port, url, sizeof(url), err, errlen) || mkdir_of(cfg->mgr.key, err, errlen) ||
	    mkdir_of(cfg->mgr.cert, err, errlen))
		return -1;
	rd_mgr_host_name(cfg, name, sizeof(name));
	rd_notice("joining the cluster at %s as host %s", url, name);
	if (pa_client_join(url, cfg->mgr.ca, token, name, NULL, cfg->mgr.key, cfg->mgr.cert, err,
			   errlen))
		return -1;
	rd_notice("joined: key %s, certificate %s", cfg->mgr.key, cfg->mgr.cert);
	return 0;
}
