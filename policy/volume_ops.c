// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * volume_ops.c: what the operator does to a volume once it is made:
 * grow it (POST /v1/volumes/NAME/resize) and lend it to one borrower
 * (POST /v1/volumes/NAME/lend, /return; seed 001).  Each is one decision,
 * one transaction of the record and the desired state it changes
 * (pm_volume_commit); the agents act on the desired state and the
 * volume's record follows their reports (volume_life.c).
 *
 * A resize grows every copy: the images' size and max_size, and a "size"
 * on each LUN that the agent acts on.  Where one LUN stands on others
 * (a mirror on its legs, a concatenation on its last part) those grow
 * first, and the serving node is told only when their nodes report it
 * done: the mirror refuses to grow past a leg, the concatenation names
 * its last part's length in its options.  Shrinking is refused: nothing
 * below a LUN gives bytes back safely while a file system sits on it.
 *
 * Lending writes the borrower's initiator name as the serving LUN's one
 * ACL and a CHAP account the manager makes for it; the secret is in the
 * record, shown only to admins (pm_volume_redact).
 */
#include "manager_int.h"
#include "lunlink/initiator.h"

#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- shared ---- */

static json_object *volume_get(struct pa_request *r, struct pm_manager *m, const char *name,
			       struct ps_kv *kv)
{
	char key[PS_KEY_MAX + 1];
	json_object *vol = NULL;

	if (pjr_name_valid(name, strlen(name))) {
		pm_key(key, "volumes/%s", name);
		vol = pm_get(m, key, kv);
	}
	if (!vol)
		pa_reply_error(r, 404, "path", "no volume named '%s' ('lunlinkctl volume list' shows "
			       "them)", name);
	return vol;
}

/* A volume must be ready (or degraded) for a change: else 409 and false. */
static bool settled(struct pa_request *r, json_object *vol, const char *doing)
{
	const char *state = pm_str(vol, "state");

	if (!strcmp(state, "ready") || !strcmp(state, "degraded"))
		return true;
	pa_reply_error(r, 409, "path", "volume %s is %s%s%s; %s it when it is ready ('lunlinkctl "
		       "volume show %s' says why)", pm_str(vol, "name"), state,
		       pm_str(vol, "error")[0] ? ": " : "", pm_str(vol, "error"), doing,
		       pm_str(vol, "name"));
	return false;
}

/* The node that serves the volume: its id. */
static const char *serving_node(json_object *vol)
{
	json_object *s, *parts;

	if (json_object_object_get_ex(vol, "serving", &s) && pm_str(s, "node_id")[0])
		return pm_str(s, "node_id");
	if (json_object_object_get_ex(vol, "parts", &parts) && json_object_array_length(parts))
		return pm_str(json_object_array_get_idx(parts, 0), "node");
	return "";
}

static json_object *desired_get(struct pm_manager *m, const char *node, const char *name)
{
	char key[PS_KEY_MAX + 1];

	pm_key(key, "desired/%s/%s", node, name);
	return pm_get(m, key, NULL);
}

/* Set a desired state's first image and its LUN to size bytes.  The
 * image's max_size (what its dirty-region map was made for) only rises
 * to the size, never falls: an image made again keeps its room. */
static void desired_size(json_object *d, int64_t image_size, int64_t lun_size)
{
	json_object *imgs, *img, *l;

	if (json_object_object_get_ex(d, "images", &imgs) && json_object_array_length(imgs)) {
		img = json_object_array_get_idx(imgs, 0);
		json_object_object_add(img, "size", json_object_new_int64(image_size));
		if (pm_int(img, "max_size") < image_size)
			json_object_object_add(img, "max_size", json_object_new_int64(image_size));
	}
	if (json_object_object_get_ex(d, "lun", &l) && l)
		json_object_object_add(l, "size", json_object_new_int64(lun_size));
}

static void reply_commit(struct pa_request *r, struct pm_manager *m, int rc, const char *name,
			 const char *doing)
{
	if (rc < 0)
		pm_reply_store(r, m, doing);
	else
		pa_reply_error(r, 409, "path", "volume %s or its nodes changed meanwhile; ask again",
			       name);
}

/* ---- resize ---- */

int pm_resize_serving(struct pm_manager *m, json_object *vol, int64_t vol_mod)
{
	const char *name = pm_str(vol, "name"), *node = serving_node(vol);
	json_object *d = desired_get(m, node, name), *rs, *parts, *l;
	struct pm_desired pd = { .node = node, .desired = d };
	int64_t rev = pm_next_revision(m);
	char *bsopts = NULL;
	int rc = -1;

	if (!d || rev < 0 || !json_object_object_get_ex(vol, "resize", &rs) ||
	    !json_object_object_get_ex(vol, "parts", &parts))
		goto out;
	desired_size(d, pm_int(json_object_array_get_idx(parts, 0), "size"), pm_int(rs, "size"));
	if (!strcmp(pm_str(vol, "way"), "integrated") && json_object_array_length(parts) > 1 &&
	    json_object_object_get_ex(d, "lun", &l) && l) {
		/* the last part's length is in the options: tgtd cannot change
		 * them in place, so the agent makes the LUN again */
		bsopts = pm_integrated_bsopts(vol);
		if (!bsopts)
			goto out;
		json_object_object_add(l, "bsopts", json_object_new_string(bsopts));
	}
	json_object_object_add(rs, "step", json_object_new_string("serving"));
	json_object_object_add(rs, "revision", json_object_new_int64(rev));
	rc = pm_volume_commit(m, name, vol, vol_mod, &pd, 1, NULL);
out:
	free(bsopts);
	json_object_put(d);
	return rc;
}

/*
 * Whether every growing part's lunlink image was made for its new size
 * (its desired image's max_size: the dirty-region map, and so how far a
 * mirror can grow, is sized by it when the image is made); if not, why.
 */
static bool within_max(struct pm_manager *m, const char *name, json_object *parts, char *why,
		       size_t len)
{
	bool ok = true;

	for (size_t i = 0; ok && i < json_object_array_length(parts); i++) {
		json_object *p = json_object_array_get_idx(parts, i), *imgs, *img;
		json_object *d = pm_int(p, "grows") ? desired_get(m, pm_str(p, "node"), name) : NULL;
		char want[32], max[32];

		if (d && json_object_object_get_ex(d, "images", &imgs) &&
		    json_object_array_length(imgs)) {
			img = json_object_array_get_idx(imgs, 0);
			if (strcmp(pm_str(img, "format"), "plain") && pm_int(img, "max_size") &&
			    pm_int(img, "max_size") < pm_int(p, "size")) {
				ok = false;
				pm_human((uint64_t)pm_int(p, "size"), want, sizeof(want));
				pm_human((uint64_t)pm_int(img, "max_size"), max, sizeof(max));
				snprintf(why, len, "the %s's image on node %s was made to grow to at "
					 "most %s (its dirty-region map covers that), and would need "
					 "%s; make a new volume of the size wanted and copy the data",
					 pm_str(p, "role"), pm_str(p, "node_name"), max, want);
			}
		}
		json_object_put(d);
	}
	return ok;
}

/* Whether every growing part's area has delta bytes more; if not, why. */
static bool room(struct pm_manager *m, json_object *parts, uint64_t delta, char *why, size_t len)
{
	json_object *areas = pm_areas_all(m);
	char need[32], have[32];
	bool ok = true;

	for (size_t i = 0; ok && i < json_object_array_length(parts); i++) {
		json_object *p = json_object_array_get_idx(parts, i), *a = NULL;

		if (!pm_int(p, "grows"))
			continue;
		for (size_t j = 0; !a && j < json_object_array_length(areas); j++) {
			json_object *x = json_object_array_get_idx(areas, j);

			if (!strcmp(pm_str(x, "id"), pm_str(p, "area")) &&
			    !strcmp(pm_str(x, "node_id"), pm_str(p, "node")))
				a = x;
		}
		if (a && (uint64_t)pm_int(a, "free") >= delta)
			continue;
		ok = false;
		pm_human(delta, need, sizeof(need));
		pm_human(a ? (uint64_t)pm_int(a, "free") : 0, have, sizeof(have));
		snprintf(why, len, "the %s on node %s needs %s more in its area %s (%s), which has "
			 "%s free; free space there or make a new volume", pm_str(p, "role"),
			 pm_str(p, "node_name"), need, pm_str(p, "area"),
			 a ? pm_str(a, "path") : "gone", have);
	}
	json_object_put(areas);
	return ok;
}

static void volume_resize(struct pa_request *r, struct pm_manager *m, const char *name)
{
	static const char *const fields[] = { "size", NULL };
	json_object *body = NULL, *vol = NULL, *parts, *rs, *desired[PM_PARTS_MAX] = { 0 };
	struct pm_desired d[PM_PARTS_MAX];
	struct ps_kv vkv = { 0 };
	struct pjr_err e = { 0 };
	char why[512], a[32], b[32];
	uint64_t size = 0, old;
	size_t n, nd = 0, last;
	bool integrated, others = false;
	int64_t rev, done = 0;
	int rc;

	if (pa_request_json(r, &body))
		goto out;
	if (pjr_only(body, fields, &e) || pjr_size(body, "size", true, 1ULL << 20, 1ULL << 50,
						     &size, &e)) {
		pa_reply_pjr(r, &e);
		goto out;
	}
	vol = volume_get(r, m, name, &vkv);
	if (!vol || !settled(r, vol, "resize"))
		goto out;
	if (json_object_object_get_ex(vol, "resize", &rs) && rs) {
		pa_reply_error(r, 409, "size", "volume %s is being grown to %" PRId64 " bytes "
			       "already (step: %s); ask again when it is done", name,
			       pm_int(rs, "size"), pm_str(rs, "step"));
		goto out;
	}
	old = (uint64_t)pm_int(vol, "size");
	pm_human(old, a, sizeof(a));
	pm_human(size, b, sizeof(b));
	if (size < old) {
		pa_reply_error(r, 400, "size", "volume %s is %s; %s is smaller, and volumes only grow "
			       "(copy the data to a smaller volume instead)", name, a, b);
		goto out;
	}
	if (size % 512) {
		pa_reply_error(r, 400, "size", "field 'size' must be a multiple of 512 bytes, not %"
			       PRIu64, size);
		goto out;
	}
	if (size == old) {
		pa_reply_json(r, 200, json_object_get(vol));
		goto out;
	}
	json_object_object_get_ex(vol, "parts", &parts);
	n = parts ? json_object_array_length(parts) : 0;
	if (!n || n > PM_PARTS_MAX) {
		pa_reply_error(r, 409, "path", "volume %s has no parts to grow", name);
		goto out;
	}
	/* which parts grow: integrated, its last; the others, every copy */
	integrated = !strcmp(pm_str(vol, "way"), "integrated");
	last = n - 1;
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(parts, i);

		if (integrated && i != last)
			continue;
		json_object_object_add(p, "grows", json_object_new_int(1));
		json_object_object_add(p, "size", json_object_new_int64(pm_int(p, "size") +
									  (int64_t)(size - old)));
	}
	if (!within_max(m, name, parts, why, sizeof(why)) ||
	    !room(m, parts, size - old, why, sizeof(why))) {
		pa_reply_error(r, 409, "size", "volume %s cannot grow to %s: %s", name, b, why);
		goto out;
	}
	rev = pm_next_revision(m);
	if (rev < 0) {
		pm_reply_store(r, m, "reading its revision");
		goto out;
	}
	for (size_t i = 1; i < n; i++) {	/* the parts under the serving LUN first */
		json_object *p = json_object_array_get_idx(parts, i);

		if (!pm_int(p, "grows"))
			continue;
		others = true;
		desired[nd] = desired_get(m, pm_str(p, "node"), name);
		if (!desired[nd])
			continue;
		desired_size(desired[nd], pm_int(p, "size"), integrated ? pm_int(p, "size") :
			     (int64_t)size);
		d[nd] = (struct pm_desired){ .node = pm_str(p, "node"), .desired = desired[nd] };
		nd++;
	}
	rs = json_object_new_object();
	json_object_object_add(rs, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(rs, "from", json_object_new_int64((int64_t)old));
	json_object_object_add(rs, "step", json_object_new_string(others ? "parts" : "serving"));
	json_object_object_add(rs, "revision", json_object_new_int64(rev));
	json_object_object_add(vol, "resize", rs);
	rc = others ? pm_volume_commit(m, name, vol, vkv.mod_revision, d, nd, &done) :
		      pm_resize_serving(m, vol, vkv.mod_revision);
	if (rc) {
		reply_commit(r, m, rc, name, "growing the volume");
		goto out;
	}
	pm_log(m, "%s is growing volume %s from %s to %s", r->caller->desc, name, a, b);
	pm_volume_redact(vol);
	pa_reply_json(r, 200, json_object_get(vol));
out:
	for (size_t i = 0; i < PM_PARTS_MAX; i++)
		json_object_put(desired[i]);
	ps_kv_free(&vkv);
	json_object_put(vol);
	json_object_put(body);
}

/* ---- lending ---- */

/* len random characters of set into out (NUL-terminated); -1 if the
 * system has no randomness to give. */
static int random_text(char *out, size_t len, const char *set)
{
	size_t k = strlen(set), limit = 256 - 256 % k, i = 0;
	unsigned char buf[64];

	while (i < len) {
		if (RAND_bytes(buf, sizeof(buf)) != 1)
			return -1;
		for (size_t j = 0; j < sizeof(buf) && i < len; j++)
			if (buf[j] < limit)	/* no bias toward the set's first letters */
				out[i++] = set[buf[j] % k];
	}
	out[len] = '\0';
	return 0;
}

int pm_chap_make(char user[PM_CHAP_USER_LEN + 1], char secret[PM_CHAP_SECRET_LEN + 1])
{
	static const char lower[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	static const char mixed[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

	memcpy(user, "ll-", 3);
	return random_text(user + 3, PM_CHAP_USER_LEN - 3, lower) ||
	       random_text(secret, PM_CHAP_SECRET_LEN, mixed) ? -1 : 0;
}

static void volume_lend(struct pa_request *r, struct pm_manager *m, const char *name)
{
	static const char *const fields[] = { "initiator", NULL };
	json_object *body = NULL, *vol = NULL, *d = NULL, *b, *l, *acl, *chap, *out;
	struct ps_kv vkv = { 0 };
	struct pjr_err e = { 0 };
	struct pm_desired pd;
	const char *iqn;
	char why[256], user[PM_CHAP_USER_LEN + 1], secret[PM_CHAP_SECRET_LEN + 1];
	int64_t rev, done = 0;
	int rc;

	if (pa_request_json(r, &body))
		goto out;
	if (pjr_only(body, fields, &e) ||
	    pjr_string(body, "initiator", true, LL_ISCSI_NAME_MAX + 1, PJR_TEXT, &iqn, &e)) {
		pa_reply_pjr(r, &e);
		goto out;
	}
	if (!ll_iscsi_name_valid(iqn, why, sizeof(why))) {
		pa_reply_error(r, 400, "initiator", "field 'initiator' is not an iSCSI initiator "
			       "name: %s", why);
		goto out;
	}
	vol = volume_get(r, m, name, &vkv);
	if (!vol)
		goto out;
	if (json_object_object_get_ex(vol, "borrower", &b) && b) {
		pa_reply_error(r, 409, "path", "volume %s is lent to %s; it has one borrower at a "
			       "time: return it first ('lunlinkctl return %s')", name,
			       pm_str(b, "initiator"), name);
		goto out;
	}
	if (!settled(r, vol, "lend"))
		goto out;
	pd.node = serving_node(vol);
	d = desired_get(m, pd.node, name);
	if (!d || !json_object_object_get_ex(d, "lun", &l) || !l) {
		pa_reply_error(r, 409, "path", "volume %s has no serving LUN in its node's desired "
			       "state; delete it and make it again", name);
		goto out;
	}
	rev = pm_next_revision(m);
	if (rev < 0 || pm_chap_make(user, secret)) {
		pm_reply_store(r, m, "making the CHAP account (no randomness, or no revision)");
		goto out;
	}
	acl = json_object_new_array();
	json_object_array_add(acl, json_object_new_string(iqn));
	json_object_object_add(l, "acl", acl);
	chap = json_object_new_object();
	json_object_object_add(chap, "user", json_object_new_string(user));
	json_object_object_add(chap, "secret", json_object_new_string(secret));
	json_object_object_add(l, "chap", chap);
	b = json_object_new_object();
	json_object_object_add(b, "initiator", json_object_new_string(iqn));
	json_object_object_add(b, "chap_user", json_object_new_string(user));
	json_object_object_add(b, "chap_secret", json_object_new_string(secret));
	json_object_object_add(b, "since_revision", json_object_new_int64(rev));
	json_object_object_add(vol, "borrower", b);
	pd.desired = d;
	rc = pm_volume_commit(m, name, vol, vkv.mod_revision, &pd, 1, &done);
	if (rc) {
		reply_commit(r, m, rc, name, "lending the volume");
		goto out;
	}
	pm_log(m, "%s lent volume %s to %s (CHAP user %s)", r->caller->desc, name, iqn, user);
	out = json_object_get(vol);
	json_object_object_add(out, "revision", json_object_new_int64(done));
	pa_reply_json(r, 200, out);
out:
	json_object_put(d);
	ps_kv_free(&vkv);
	json_object_put(vol);
	json_object_put(body);
}

static void volume_return(struct pa_request *r, struct pm_manager *m, const char *name)
{
	json_object *vol = NULL, *d = NULL, *b, *l, *out;
	struct ps_kv vkv = { 0 };
	struct pm_desired pd;
	int64_t done = 0;
	char who[LL_ISCSI_NAME_MAX + 1];
	int rc;

	vol = volume_get(r, m, name, &vkv);
	if (!vol)
		goto out;
	if (!json_object_object_get_ex(vol, "borrower", &b) || !b) {
		pa_reply_error(r, 409, "path", "volume %s is not lent ('lunlinkctl lend %s "
			       "--to IQN' lends it)", name, name);
		goto out;
	}
	snprintf(who, sizeof(who), "%s", pm_str(b, "initiator"));
	pd.node = serving_node(vol);
	d = desired_get(m, pd.node, name);
	if (d && json_object_object_get_ex(d, "lun", &l) && l) {
		json_object_object_add(l, "acl", json_object_new_array());
		json_object_object_del(l, "chap");
	}
	json_object_object_add(vol, "borrower", NULL);
	pd.desired = d;
	/* a serving node without a desired state (gone) has nothing to undo */
	rc = pm_volume_commit(m, name, vol, vkv.mod_revision, &pd, d ? 1 : 0, &done);
	if (rc) {
		reply_commit(r, m, rc, name, "returning the volume");
		goto out;
	}
	pm_log(m, "%s: volume %s returned by %s", r->caller->desc, name, who);
	out = json_object_get(vol);
	json_object_object_add(out, "returned_by", json_object_new_string(who));
	json_object_object_add(out, "revision", json_object_new_int64(done));
	pa_reply_json(r, 200, out);
out:
	json_object_put(d);
	ps_kv_free(&vkv);
	json_object_put(vol);
}

void pm_volume_action(struct pa_request *r, struct pm_manager *m)
{
	char name[PJR_NAME_MAX + 2];
	const char *slash = strchr(r->rest + 1, '/'), *action;
	size_t len = slash ? (size_t)(slash - r->rest - 1) : 0;

	if (!slash || len > PJR_NAME_MAX) {
		pa_reply_error(r, 404, "path", "POST %s: a volume's actions are "
			       "/v1/volumes/NAME/resize, /lend, /return, /link, /unlink and /switchover",
			       r->path);
		return;
	}
	memcpy(name, r->rest + 1, len);
	name[len] = '\0';
	action = slash + 1;
	if (!strcmp(action, "resize"))
		volume_resize(r, m, name);
	else if (!strcmp(action, "lend"))
		volume_lend(r, m, name);
	else if (!strcmp(action, "return"))
		volume_return(r, m, name);
	else if (!strcmp(action, "link"))
		pm_volume_link(r, m, name);
	else if (!strcmp(action, "unlink"))
		pm_volume_unlink(r, m, name);
	else if (!strcmp(action, "switchover"))
		pm_volume_switchover(r, m, name);
	else
		pa_reply_error(r, 404, "path", "POST %s: no action '%s' (resize, lend, return, link, "
			       "unlink or switchover)", r->path, action);
}
