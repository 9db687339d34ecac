// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * agent.c: the node agent's loop (see agent.h), on the daemon's event
 * base, never waiting on the network (the asynchronous client, client.h):
 *
 *   - one long poll always out, GET /v1/nodes/desired?since=REV&wait=30:
 *     the manager answers it as soon as this node's desired state
 *     changes; the agent keeps the new state (in memory and in the state
 *     folder), reconciles at once, and puts the next poll out;
 *   - a persistent timer, every heartbeat_interval: POST
 *     /v1/nodes/report (tgtd, the areas, each volume's result from the
 *     last pass), then reconcile with the desired state kept (the images:
 *     one lunlink-image show each; tgtd: one tgtadm show, nothing more
 *     when it is converged), so that a tgtd restarted empty is found at
 *     the next heartbeat and filled again;
 *   - a reconcile that changed something (tgtd, a volume's state) is
 *     reported at once, not at the next heartbeat, so the manager learns
 *     within milliseconds.  One report is out at a time; one wanted
 *     meanwhile follows it.
 *
 * tgtadm and lunlink-image still run to completion, each bounded by its
 * timeout: they are local.  Because nothing else blocks, the agent can run
 * in the manager's own process (doc/policy.md).
 *
 * A manager that does not answer is said once in the log, then retried
 * with a back-off (the heartbeat, doubling up to a minute), and the agent
 * goes on reconciling with the desired state it last had, from disk after
 * a restart: it never tears anything down because the manager is
 * unreachable.  With no desired state ever received it leaves tgtd alone.
 * A manager that answers a poll at once with nothing new (one that does
 * not park) is polled again at the next heartbeat, not in a loop.
 *
 * The write leases of the volumes whose primary this node serves are
 * renewed on their own timer (agent_lease.c), every third of their ttl
 * whatever the heartbeat and its back-off, and pushed to tgtd.
 */
#include "agent.h"
#include "urls.h"
#include "agent_lease.h"
#include "agent_pr.h"
#include "client.h"
#include "lunlink/image.h"
#include "lunlink/initiator.h"
#include "status_file.h"

#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_MAX_MS	60000
/* with several managers one is down only for a takeover (elect.h: about
 * election_ttl): try again soon, or the node would go offline for long
 * after a takeover that took seconds */
#define BACKOFF_MAX_MANY_MS	2000
#define POLL_WAIT_S	30	/* a long poll's wait (the manager allows up to 60) */
#define POLL_MARGIN_MS	10000	/* its call's timeout beyond the wait */

struct pg_agent {
	struct pg_agent_opts o;
	struct pg_reconcile_opts ro;
	struct event *timer;		/* the heartbeat */
	struct event *poll_retry;	/* the next long poll, after a back-off */
	struct pa_aclient *client;
	struct pg_leases *leases;	/* write leases renewed and pushed (agent_lease.c) */
	struct pa_acall *report_call, *poll_call;	/* under way */
	bool report_again;		/* a report wanted while one was out */
	long poll_started_ms;
	char record_path[4200], desired_path[4200];
	struct pg_desired desired;
	bool have_desired;
	struct pg_vol_result *results;	/* desired.n of them */
	bool manager_down;
	char manager_err[1024];
	char desired_err[1024];		/* the last refusal of a desired state, said once */
	long backoff_ms, next_try_ms;
	long backoff_max_ms;		/* BACKOFF_MAX_MS, or _MANY_MS */
	bool tgtd_down;
	bool initiator_said;
	struct pg_pr *pr;		/* pr=cluster LUNs' socket (agent_pr.c) */
};

#define say(x, ...)	pa_logf((x)->o.log, (x)->o.log_arg, __VA_ARGS__)

static unsigned int heartbeat_ms(const struct pg_agent *a)
{
	return (a->o.heartbeat_interval ? a->o.heartbeat_interval : 2) * 1000u;
}

/* ---- the report --------------------------------------------------- */

/* volumes.NAME.copies: a serving lunlink LUN's legs and remote extents,
 * from the module's status files (none: the field is left out). */
static void add_copies(struct pg_agent *a, const struct pg_actual *actual,
		       const struct pg_volume *vol, json_object *v)
{
	struct pg_copy copies[PG_COPIES_MAX];
	const struct pg_target *t;
	json_object *list;
	char why[1024];
	size_t n;

	if (!vol->has_lun || vol->delete || strcmp(vol->lun.bstype, "lunlink"))
		return;
	t = pg_actual_target(actual, vol->lun.iqn);
	if (!t)
		return;
	/* a file refused is skipped, unsaid: it would be said every round */
	n = pg_status_copies(a->o.status_dir, a->ro.tgt.control_port, t->tid, vol->lun.lun,
			     copies, PG_COPIES_MAX, why, sizeof(why));
	if (!n)
		return;
	list = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_new_object();

		json_object_object_add(c, "url", json_object_new_string(copies[i].url));
		json_object_object_add(c, "state", json_object_new_string(copies[i].state));
		json_object_object_add(c, "left_bytes",
				       json_object_new_int64((int64_t)copies[i].left_bytes));
		json_object_object_add(c, "error", json_object_new_string(copies[i].error));
		json_object_array_add(list, c);
	}
	json_object_object_add(v, "copies", list);
}

/* volumes.NAME.lease: the write lease the serving LUN's module holds, as
 * its status file says ({"state","epoch"}; none said: left out).  Not
 * its time left: the report would differ at every heartbeat. */
static void add_lease(struct pg_agent *a, const struct pg_actual *actual,
		      const struct pg_volume *vol, json_object *v)
{
	const struct pg_target *t;
	json_object *l;
	uint64_t epoch, gen;
	char word[8], hex[17];

	if (!vol->has_lun || vol->delete || !pg_bsopts_has(vol->lun.bsopts, "lease=on"))
		return;
	t = pg_actual_target(actual, vol->lun.iqn);
	if (!t || pg_status_lease(a->o.status_dir, a->ro.tgt.control_port, t->tid, vol->lun.lun,
				  word, &epoch, &gen) != 1)
		return;
	l = json_object_new_object();
	json_object_object_add(l, "state", json_object_new_string(word));
	json_object_object_add(l, "epoch", json_object_new_int64((int64_t)epoch));
	snprintf(hex, sizeof(hex), "%016" PRIx64, gen);
	json_object_object_add(l, "generation", json_object_new_string(hex));
	json_object_object_add(v, "lease", l);
}

/* A leg's image (its LUN exported raw=on): the generation in its
 * superblock, which the manager compares with the primary's recorded one
 * (equal: the leg holds every acknowledged write, it may be promoted). */
static void add_leg_generation(const struct pg_volume *vol, json_object *v)
{
	struct ll_image im;
	struct stat st;
	uint64_t size = 0;
	char hex[17], err[256];
	int fd;

	if (!vol->has_lun || vol->delete || !pg_bsopts_has(vol->lun.bsopts, "raw=on"))
		return;
	fd = open(vol->lun.path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode))
		size = (uint64_t)st.st_size;
	else if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, &size))
		size = 0;
	if (size && ll_image_read(fd, size, &im, err, sizeof(err)) == 1) {
		snprintf(hex, sizeof(hex), "%016" PRIx64, im.gen_current);
		json_object_object_add(v, "leg_generation", json_object_new_string(hex));
	}
	close(fd);
}

/*
 * A volume whose LUN keeps its reservations with the cluster (pr=cluster)
 * is ready on this node only once the LUN's module holds a valid state:
 * before, it answers NOT READY (04/01) to a host's TEST UNIT READY, and a
 * login (libiscsi's, the kernel's scan) meets it.  So a volume the pass
 * left ready is reported working, saying what it waits for, until then;
 * agent_pr.c reports at once when that comes.  false: ready as it is.
 */
static bool pr_waiting(struct pg_agent *a, const struct pg_actual *actual,
		       const struct pg_volume *vol, char *why, size_t len)
{
	const struct pg_target *t;
	const char *id = NULL;

	if (!vol->has_lun || vol->delete || strcmp(vol->lun.bstype, "lunlink") ||
	    !pg_bsopts_has(vol->lun.bsopts, "pr=cluster"))
		return false;
	for (size_t k = 0; k < vol->nimages; k++)
		if (!vol->images[k].plain && !strcmp(vol->images[k].path, vol->lun.path))
			id = vol->images[k].volume_id;
	t = pg_actual_target(actual, vol->lun.iqn);
	if (!id || !t)		/* no such LUN: the pass did not leave it ready */
		return false;
	return !pg_pr_lun_ready(a->pr, id, (uint32_t)t->tid, vol->lun.lun, why, len);
}

static json_object *report_json(struct pg_agent *a)
{
	json_object *r = json_object_new_object(), *tgtd = json_object_new_object();
	json_object *areas = json_object_new_array(), *luns = json_object_new_array();
	struct pg_actual actual;
	char version[64] = "", err[1024], initiator[LL_INITIATOR_MAX + 1], why[160];
	int rc;

	if (a->o.address)
		json_object_object_add(r, "address", json_object_new_string(a->o.address));
	if (a->o.portals) {
		json_object *p = json_object_new_array();

		for (size_t i = 0; a->o.portals[i]; i++)
			json_object_array_add(p, json_object_new_string(a->o.portals[i]));
		json_object_object_add(r, "portals", p);
	}
	/* the name this node's module logs in to its legs and peers with:
	 * the manager puts it in their LUNs' ACLs (a host name the manager
	 * would refuse is left out, and said once) */
	ll_initiator_name(initiator, sizeof(initiator));
	if (ll_iscsi_name_valid(initiator, why, sizeof(why)))
		json_object_object_add(r, "initiator", json_object_new_string(initiator));
	else if (!a->initiator_said) {
		say(a, "agent: the module's initiator name '%.64s' is not an iSCSI name (%s); not "
		    "reported (rename the host): its legs and peers will refuse it", initiator, why);
		a->initiator_said = true;
	}
	if (a->o.lunlink_version)
		json_object_object_add(r, "lunlink_version",
				       json_object_new_string(a->o.lunlink_version));
	rc = pg_tgt_read(&a->ro.tgt, &actual, err, sizeof(err));
	if (rc == 0 && pg_tgt_version(&a->ro.tgt, version, sizeof(version), err, sizeof(err)))
		version[0] = '\0';
	if (rc && !a->tgtd_down)
		say(a, "agent: %s", err);
	else if (!rc && a->tgtd_down)
		say(a, "agent: tgtd answers again");
	a->tgtd_down = rc != 0;
	json_object_object_add(tgtd, "up", json_object_new_boolean(rc == 0));
	if (version[0]) {
		json_object_object_add(tgtd, "version", json_object_new_string(version));
		json_object_object_add(r, "tgt_version", json_object_new_string(version));
	}
	json_object_object_add(r, "tgtd", tgtd);
	for (size_t i = 0; rc == 0 && i < actual.ntargets; i++) {
		const struct pg_target *t = &actual.targets[i];

		for (size_t l = 0; l < t->nluns; l++) {
			json_object *e;

			if (t->luns[l].lun == 0 || !t->luns[l].path[0] ||
			    strlen(t->luns[l].path) > PG_PATH_MAX)
				continue;
			e = json_object_new_object();
			json_object_object_add(e, "tid", json_object_new_int64(t->tid));
			json_object_object_add(e, "lun", json_object_new_int64(t->luns[l].lun));
			json_object_object_add(e, "iqn", json_object_new_string(t->iqn));
			json_object_object_add(e, "path", json_object_new_string(t->luns[l].path));
			/* tgtadm's MB (10^6 bytes, rounded): what tgtd shows */
			json_object_object_add(e, "size",
					       json_object_new_int64((int64_t)t->luns[l].size_mb * 1000000));
			json_object_array_add(luns, e);
		}
	}
	json_object_object_add(r, "luns", luns);
	if (a->pr)
		json_object_object_add(r, "pr", pg_pr_report(a->pr));
	for (size_t i = 0; i < a->o.nareas; i++) {
		uint64_t size, used, free_b;
		json_object *e;

		if (pg_area_usage(&a->o.areas[i], &size, &used, &free_b, err, sizeof(err))) {
			say(a, "agent: %s", err);
			continue;
		}
		e = json_object_new_object();
		json_object_object_add(e, "path", json_object_new_string(a->o.areas[i].path));
		json_object_object_add(e, "size", json_object_new_int64((int64_t)size));
		json_object_object_add(e, "used", json_object_new_int64((int64_t)used));
		json_object_object_add(e, "free", json_object_new_int64((int64_t)free_b));
		json_object_array_add(areas, e);
	}
	json_object_object_add(r, "areas", areas);
	if (a->have_desired) {
		json_object *vols = json_object_new_object();

		for (size_t i = 0; i < a->desired.n; i++) {
			json_object *v = json_object_new_object();
			enum pg_vol_state state = a->results[i].state;
			const char *error = a->results[i].error;
			char why[PG_ERROR_MAX];

			if (state == PG_VOL_READY && rc == 0 &&
			    pr_waiting(a, &actual, &a->desired.volumes[i], why, sizeof(why))) {
				state = PG_VOL_WORKING;
				error = why;
			}
			json_object_object_add(v, "state", json_object_new_string(
				pg_vol_state_name(state)));
			json_object_object_add(v, "error", json_object_new_string(error));
			json_object_object_add(v, "desired_revision",
					       json_object_new_int64(a->desired.revision));
			if (a->results[i].size)
				json_object_object_add(v, "size",
						       json_object_new_int64((int64_t)a->results[i].size));
			if (rc == 0) {
				add_copies(a, &actual, &a->desired.volumes[i], v);
				add_lease(a, &actual, &a->desired.volumes[i], v);
			}
			add_leg_generation(&a->desired.volumes[i], v);
			json_object_object_add(vols, a->desired.volumes[i].name, v);
		}
		json_object_object_add(r, "volumes", vols);
	}
	if (rc == 0)
		pg_actual_free(&actual);
	return r;
}

/* ---- the desired state ---------------------------------------------- */

/* Take j as the desired state (and keep it on disk when save). */
static int take_desired(struct pg_agent *a, json_object *j, bool save, char *err, size_t errlen)
{
	struct pg_desired d;
	struct pg_vol_result *results;

	if (pg_desired_read(j, &d, err, errlen))
		return -1;
	/* nothing new, or what we hold already (its results are kept) */
	if (!d.changed || (a->have_desired && d.revision == a->desired.revision)) {
		pg_desired_free(&d);
		return 0;
	}
	results = calloc(d.n ? d.n : 1, sizeof(*results));
	if (!results) {
		pg_desired_free(&d);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < d.n; i++)
		results[i].state = PG_VOL_WORKING;
	pg_desired_free(&a->desired);
	free(a->results);
	a->desired = d;
	a->results = results;
	a->have_desired = true;
	pg_leases_want(a->leases, &a->desired);
	if (save && pg_write_private(a->desired_path, j, err, errlen))
		say(a, "agent: %s; a restarted agent will wait for the manager", err);
	return 0;
}

/* ---- talking to the manager ---------------------------------------- */

static void manager_ok(struct pg_agent *a)
{
	if (a->manager_down)
		say(a, "agent: the manager at %s answers again", a->o.manager_url);
	a->manager_down = false;
	a->backoff_ms = 0;
	a->next_try_ms = 0;
}

static void manager_failed(struct pg_agent *a, const char *err)
{
	a->backoff_ms = a->backoff_ms ? a->backoff_ms * 2 : heartbeat_ms(a);
	if (a->backoff_ms > a->backoff_max_ms)
		a->backoff_ms = a->backoff_max_ms;
	a->next_try_ms = ll_mono_ms() + a->backoff_ms;
	if (!a->manager_down || strcmp(err, a->manager_err))
		say(a, "agent: the manager at %s: %s; serving what tgtd has%s, trying again with "
		    "a back-off up to %d s", a->o.manager_url, err,
		    a->have_desired ? " and keeping the last desired state" : "",
		    (int)(a->backoff_max_ms / 1000));
	snprintf(a->manager_err, sizeof(a->manager_err), "%s", err);
	a->manager_down = true;
}

static void start_poll(struct pg_agent *a);
static void send_report(struct pg_agent *a);

static void poll_later(struct pg_agent *a, long ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	evtimer_add(a->poll_retry, &tv);
}

static void on_report_done(void *arg, long status, json_object *reply, const char *err)
{
	struct pg_agent *a = arg;

	(void)status;
	(void)reply;
	a->report_call = NULL;
	if (err) {
		manager_failed(a, err);
		a->report_again = false;
		return;
	}
	manager_ok(a);
	/* the manager is there: a poll waiting out a back-off goes now */
	if (!a->poll_call) {
		evtimer_del(a->poll_retry);
		start_poll(a);
	}
	if (a->report_again) {
		a->report_again = false;
		send_report(a);
	}
}

static void send_report(struct pg_agent *a)
{
	json_object *report;
	char err[1024];

	if (a->report_call) {
		a->report_again = true;
		return;
	}
	if (ll_mono_ms() < a->next_try_ms)
		return;		/* backing off */
	report = report_json(a);
	a->report_call = pa_aclient_call(a->client, "POST", "/v1/nodes/report", report, 0,
					 on_report_done, a, err, sizeof(err));
	json_object_put(report);
	if (!a->report_call)
		manager_failed(a, err);
}

static bool reconcile(struct pg_agent *a);

static void on_poll_done(void *arg, long status, json_object *reply, const char *err)
{
	struct pg_agent *a = arg;
	int64_t before = a->desired.revision;
	bool had = a->have_desired, news;
	char why[1024];
	int rc;

	(void)status;
	a->poll_call = NULL;
	if (err) {
		manager_failed(a, err);
		poll_later(a, a->backoff_ms);
		return;
	}
	manager_ok(a);
	rc = reply ? take_desired(a, reply, true, why, sizeof(why)) : 0;
	pg_pr_desired(a->pr, reply);	/* newer reservation state to the LUNs */
	/* said once while the manager sends the same */
	if (rc && strcmp(why, a->desired_err))
		say(a, "agent: the manager's desired state is refused, the last one is kept: %s",
		    why);
	snprintf(a->desired_err, sizeof(a->desired_err), "%s", rc ? why : "");
	news = a->have_desired && (!had || a->desired.revision != before);
	if (news && reconcile(a))
		send_report(a);
	/* an answer long before its wait with nothing new: a manager that
	 * does not park; ask again at the heartbeat, not in a loop */
	if (!news && ll_mono_ms() - a->poll_started_ms < POLL_WAIT_S * 1000 / 2)
		poll_later(a, heartbeat_ms(a));
	else
		start_poll(a);
}

static void start_poll(struct pg_agent *a)
{
	char path[96], err[1024];

	if (a->poll_call)
		return;
	if (a->have_desired)
		snprintf(path, sizeof(path), "/v1/nodes/desired?since=%lld&wait=%d",
			 (long long)a->desired.revision, POLL_WAIT_S);
	else
		snprintf(path, sizeof(path), "/v1/nodes/desired?wait=%d", POLL_WAIT_S);
	a->poll_started_ms = ll_mono_ms();
	a->poll_call = pa_aclient_call(a->client, "GET", path, NULL,
				       POLL_WAIT_S * 1000L + POLL_MARGIN_MS, on_poll_done, a, err,
				       sizeof(err));
	if (!a->poll_call) {
		manager_failed(a, err);
		poll_later(a, a->backoff_ms);
	}
}

static void on_poll_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	start_poll(arg);
}

/* ---- one round --------------------------------------------------------- */

/* One pass; whether it changed anything the manager should hear of now:
 * tgtd (a plan ran) or a volume's state, error or size. */
static bool reconcile(struct pg_agent *a)
{
	struct pg_vol_result *before;
	struct pg_plan plan;
	char err[1024];
	bool changed;
	int rc;

	if (!a->have_desired)
		return false;	/* nothing known: tgtd is left as it is */
	before = calloc(a->desired.n ? a->desired.n : 1, sizeof(*before));
	if (!before)
		return false;
	memcpy(before, a->results, a->desired.n * sizeof(*before));
	a->ro.nareas = a->o.nareas;
	rc = pg_reconcile(&a->ro, &a->desired, false, &plan, a->results, err, sizeof(err));
	changed = plan.n > 0;
	if (changed)	/* a LUN made (again) starts with no lease: push it now */
		pg_leases_kick(a->leases);
	for (size_t k = 0; k < plan.n; k++) {
		char what[1536];

		pg_action_describe(&plan.actions[k], what, sizeof(what));
		say(a, "agent: %s", what);
	}
	if (rc < 0 && !a->tgtd_down)
		say(a, "agent: reconciling: %s", err);
	for (size_t i = 0; i < a->desired.n; i++) {
		const struct pg_vol_result *r = &a->results[i];

		if (r->state != before[i].state || strcmp(r->error, before[i].error)) {
			say(a, "agent: volume %s: %s%s%s", a->desired.volumes[i].name,
			    pg_vol_state_name(r->state), r->error[0] ? ": " : "", r->error);
			changed = true;
		}
		changed |= r->size != before[i].size;
	}
	pg_plan_free(&plan);
	free(before);
	return changed;
}

int pg_agent_round(struct pg_agent *a)
{
	send_report(a);
	if (reconcile(a))
		send_report(a);	/* after the one out, if it is */
	return a->manager_down ? -1 : 0;
}

bool pg_agent_manager_answers(const struct pg_agent *a)
{
	return !a->manager_down;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pg_agent_round(arg);
}

/* ---- life ------------------------------------------------------------- */

/* The LUNs' volumes changed (a module said HELLO, or went): the manager
 * hears of it now, not at the next heartbeat. */
static void pr_report_now(void *arg)
{
	send_report(arg);
}

struct pg_agent *pg_agent_new(struct event_base *base, const struct pg_agent_opts *o,
			      char *err, size_t errlen)
{
	struct pa_client_opts co = { 0 };
	struct pg_leases_opts lo = { 0 };
	struct pg_agent *a;
	struct pu_list urls;
	struct timeval tv;
	json_object *saved;

	if (!o->manager_url || !o->manager_url[0] || !o->iqn_prefix || !o->iqn_prefix[0] ||
	    !o->state_dir || !o->state_dir[0]) {
		snprintf(err, errlen, "the node agent needs policy.manager_url, policy.iqn_prefix "
			 "and a state folder");
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->o = *o;
	a->ro.tgt.tgtadm = o->tgtadm;
	a->ro.tgt.control_port = o->tgt_control_port ? (int)o->tgt_control_port : -1;
	a->ro.tgt.ipc_socket = o->tgt_ipc_socket;
	a->ro.img.lunlink_image = o->lunlink_image;
	a->ro.areas = o->areas;
	a->ro.nareas = o->nareas;
	a->ro.iqn_prefix = o->iqn_prefix;
	snprintf(a->record_path, sizeof(a->record_path), "%s/agent-record.json", o->state_dir);
	snprintf(a->desired_path, sizeof(a->desired_path), "%s/agent-desired.json", o->state_dir);
	a->ro.record_path = a->record_path;
	a->ro.pr_socket = o->pr_socket ? o->pr_socket : PG_PR_SOCKET;
	co.url = o->manager_url;
	co.files = o->files;
	co.timeout_ms = o->call_timeout_ms ? o->call_timeout_ms : 5000;
	co.connect_timeout_ms = co.timeout_ms < 5000 ? co.timeout_ms : 5000;
	a->backoff_max_ms = BACKOFF_MAX_MS;
	if (!pu_split(o->manager_url, &urls, err, errlen) && urls.n > 1) {
		/* a manager cut off costs this much before the next is tried */
		co.connect_timeout_ms = co.connect_timeout_ms < 1500 ? co.connect_timeout_ms : 1500;
		a->backoff_max_ms = BACKOFF_MAX_MANY_MS;
	}
	a->client = pa_aclient_new(base, &co, err, errlen);
	if (!a->client)
		goto err;
	lo.client = a->client;
	lo.tgt = &a->ro.tgt;
	lo.status_dir = a->o.status_dir;
	lo.log = o->log;
	lo.log_arg = o->log_arg;
	a->leases = pg_leases_new(base, &lo, err, errlen);
	if (!a->leases)
		goto err;
	{
		struct pg_pr_opts po = { .socket_path = o->pr_socket, .client = a->client,
					 .report_now = pr_report_now, .report_arg = a,
					 .log = o->log, .log_arg = o->log_arg };
		char why[512];

		/* without it the node serves no pr=cluster LUN, but all else */
		a->pr = pg_pr_new(base, &po, why, sizeof(why));
		if (!a->pr)
			say(a, "agent: %s; LUNs with pr=cluster on this node get no reservation "
			    "state and refuse the commands a reservation could affect", why);
	}
	/* the desired state it had before a restart: kept serving while the
	 * manager is away */
	if (!access(a->desired_path, F_OK) && (saved = json_object_from_file(a->desired_path))) {
		char why[512];

		if (take_desired(a, saved, false, why, sizeof(why)))
			say(a, "agent: %s: %s; waiting for the manager's", a->desired_path, why);
		json_object_put(saved);
	}
	a->timer = event_new(base, -1, EV_PERSIST, on_timer, a);
	a->poll_retry = evtimer_new(base, on_poll_retry, a);
	if (!a->timer || !a->poll_retry) {
		snprintf(err, errlen, "cannot make the agent's timer");
		goto err;
	}
	tv.tv_sec = heartbeat_ms(a) / 1000;
	tv.tv_usec = 0;
	if (event_add(a->timer, &tv)) {
		snprintf(err, errlen, "cannot start the agent's timer");
		goto err;
	}
	event_active(a->timer, EV_TIMEOUT, 0);	/* the first round at once */
	start_poll(a);
	return a;
err:
	pg_agent_free(a);
	return NULL;
}

void pg_agent_free(struct pg_agent *a)
{
	if (!a)
		return;
	if (a->timer)
		event_free(a->timer);
	if (a->poll_retry)
		event_free(a->poll_retry);
	pg_leases_free(a->leases);	/* its call, before the client goes */
	pg_pr_free(a->pr);		/* its calls first: they are the client's */
	pa_aclient_free(a->client);	/* the calls under way cancelled */
	pg_desired_free(&a->desired);
	free(a->results);
	free(a);
}
