// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pr_scsi.c: persistent reservations on a lunlink LUN, served by the module
 * rather than by tgt's spc.c (doc/reservations.md says why and what).
 *
 * The rules are the engine's (target/lib/pr.c); this file is its glue to
 * tgtd: it names the I_T nexus of a command by its TransportID, answers
 * PERSISTENT RESERVE IN/OUT through per-LU dispatch entries, checks every
 * other command against the reservation by wrapping the LU's dispatch
 * table, queues the engine's unit attentions on the nexuses it names, and
 * keeps the state in a file beside the image while APTPL is on.
 *
 * tgt's own reservation check (spc_access_check) stays inert: it acts only
 * when lu->pr_holder is set, and nothing here sets it.  tgt's SPC-2
 * RESERVE/RELEASE stay tgt's, except that they conflict while persistent
 * reservations are in use (SPC-4 5.12.3: CRH=1).
 *
 * The nexus: tgt's iSCSI I_T nexus id is the session's TSIH, so the
 * session gives the initiator name and ISID; a re-login of the same
 * initiator port is a new TSIH with the same name and ISID, so the same
 * registration.  tgt 1.0.85 has one target port per target (every portal
 * in target portal group 1, no relative target port in VPD 83h), so the
 * relative target port identifier is 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include "lunlink.h"
#include "be_byteshift.h"
#include "iscsi/iscsid.h"
#include "spc.h"

#include "lunlink/image.h"
#include "lunlink/pr.h"
#include "scsi/pr_cluster.h"

/* tgt's relative target port: see above */
#define LL_PR_RTPI	1

/* the nexus names of recent I_T nexuses, so that a command under a
 * reservation costs no session lookup */
#define LL_PR_NEXUS_CACHE	8

struct ll_pr {
	struct ll_pr_state state;
	struct ll_pr_state next;	/* a PR OUT is applied here first */
	struct ll_pr_result res;
	char *file;			/* APTPL's file, NULL if none */
	int (*orig[256])(int, struct scsi_cmd *);
	struct {
		struct it_nexus *itn;
		uint64_t itn_id;
		long ctime;
		struct ll_pr_nexus nexus;
	} cache[LL_PR_NEXUS_CACHE];
	unsigned int cache_next;
	unsigned int cache_last;	/* the entry found last */
	/* a PREEMPT AND ABORT whose status waits until the commands of the
	 * preempted I_T nexuses that were in the store have ended */
	struct scsi_cmd *waiting;
	unsigned int nwait;
	uint64_t wait_itn[LL_PR_MAX_REGS];
	/* pr=cluster: the link to the policy agent (pr_cluster.c), NULL for
	 * pr=local; a STATE's ACK waiting, like a PREEMPT AND ABORT, for the
	 * aborted nexuses' commands in the store */
	struct ll_pr_link *link;
	int ack_waiting;
	uint64_t ack_gen;
};

static int sense(struct scsi_cmd *cmd, uint8_t key, uint16_t asc)
{
	sense_data_build(cmd, key, asc);
	return SAM_STAT_CHECK_CONDITION;
}

/* The nexus of an I_T nexus id: its iSCSI session's initiator name and
 * ISID; for a nexus that is no iSCSI session (or whose name no iSCSI name
 * can be, which tgt's login refuses anyway), a name made of its id, which
 * does not survive a re-login. */
static void nexus_of_itn(uint64_t itn_id, struct ll_pr_nexus *n)
{
	struct iscsi_session *s = itn_id <= UINT16_MAX ? session_lookup_by_tsih((uint16_t)itn_id) :
				  NULL;

	if (s && s->initiator && !ll_pr_nexus_set(n, s->initiator, s->isid, LL_PR_RTPI))
		return;
	snprintf(n->id, sizeof(n->id), "tgt.nexus.%" PRIu64 ",i,0x000000000000", itn_id);
	n->rtpi = LL_PR_RTPI;
}

static int cache_holds(const struct ll_pr *p, unsigned int i, const struct it_nexus *itn)
{
	return p->cache[i].itn == itn && itn && p->cache[i].itn_id == itn->itn_id &&
	       p->cache[i].ctime == itn->ctime;
}

/* The last entry found is tried first: under a reservation every command
 * comes here, most of them from the nexus before (doc/perf.md). */
static const struct ll_pr_nexus *nexus_of(struct ll_pr *p, struct scsi_cmd *cmd)
{
	struct it_nexus *itn = cmd->it_nexus;
	unsigned int i;

	if (cache_holds(p, p->cache_last, itn))
		return &p->cache[p->cache_last].nexus;
	for (i = 0; i < LL_PR_NEXUS_CACHE; i++)
		if (cache_holds(p, i, itn)) {
			p->cache_last = i;
			return &p->cache[i].nexus;
		}
	i = p->cache_next++ % LL_PR_NEXUS_CACHE;
	p->cache_last = i;
	p->cache[i].itn = itn;
	p->cache[i].itn_id = itn ? itn->itn_id : cmd->cmd_itn_id;
	p->cache[i].ctime = itn ? itn->ctime : 0;
	nexus_of_itn(p->cache[i].itn_id, &p->cache[i].nexus);
	return &p->cache[i].nexus;
}

/* Whether tgt's I_T nexus itn is n (a re-login is another itn, the same n) */
static int itn_is(const struct it_nexus *itn, const struct ll_pr_nexus *n)
{
	struct ll_pr_nexus each;

	nexus_of_itn(itn->itn_id, &each);
	return each.rtpi == n->rtpi && !strcmp(each.id, n->id);
}

/* The I_T nexus ids of the LU's target that are n, added to ids (at
 * most max); returns the new count. */
static unsigned int itn_ids_of(struct scsi_lu *lu, const struct ll_pr_nexus *n, uint64_t *ids,
			       unsigned int count, unsigned int max)
{
	struct it_nexus *itn;

	list_for_each_entry(itn, &lu->tgt->it_nexus_list, nexus_siblings)
		if (count < max && itn_is(itn, n))
			ids[count++] = itn->itn_id;
	return count;
}

/* Queue asc on every I_T nexus of the LU's target that is n. */
static void ua_on(struct scsi_lu *lu, const struct ll_pr_nexus *n, uint16_t asc)
{
	struct it_nexus *itn;

	list_for_each_entry(itn, &lu->tgt->it_nexus_list, nexus_siblings)
		if (itn_is(itn, n))
			ua_sense_add_it_nexus(itn->itn_id, lu, asc);
}

/* ---- the APTPL file --------------------------------------------------- */

/*
 * Write st to the APTPL file: a temporary file beside it, written whole,
 * fsynced, renamed over it, the folder fsynced.  In tgtd's event loop:
 * the file is a few hundred bytes and a PR OUT with APTPL is rare (a
 * cluster's set-up, a failover), and applying and persisting in one step
 * keeps PR OUTs in order with nothing in between (doc/reservations.md).
 */
static int pr_save(struct ll_lu *l, const struct ll_pr_state *st)
{
	struct ll_pr *p = l->pr;
	char text[LL_PR_TEXT_MAX], *tmp = NULL, *dir = NULL;
	long n = ll_pr_format(st, text, sizeof(text));
	ssize_t w;
	size_t done = 0;
	int fd = -1, dfd = -1;

	if (n < 0) {
		ll_err(l, "persistent reservations: the state does not fit %zu bytes\n",
		       sizeof(text));
		return -1;
	}
	if (asprintf(&tmp, "%s.tmp", p->file) < 0) {
		tmp = NULL;
		goto err;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto err;
	while (done < (size_t)n) {
		w = write(fd, text + done, (size_t)n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto err;
		done += (size_t)w;
	}
	if (fsync(fd) || close(fd)) {
		fd = -1;
		goto err;
	}
	fd = -1;
	if (rename(tmp, p->file))
		goto err;
	dir = strdup(p->file);
	if (!dir)
		goto err;
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd))
		goto err;
	close(dfd);
	free(dir);
	free(tmp);
	return 0;
err:
	ll_err(l, "persistent reservations: cannot write %s: %s; the PERSISTENT RESERVE OUT "
	       "is refused (HARDWARE ERROR) and the reservations stay as they were\n",
	       p->file, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (tmp)
		unlink(tmp);
	free(dir);
	free(tmp);
	return -1;
}

/* Read the APTPL file back, if there is one and it says APTPL is on. */
static int pr_load(struct ll_lu *l)
{
	struct ll_pr *p = l->pr;
	char text[LL_PR_TEXT_MAX + 1], why[256];
	struct ll_pr_state st = p->state;
	ssize_t n;
	size_t got = 0;
	int fd = open(p->file, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		ll_err(l, "refused: cannot read the reservation file %s: %s\n", p->file,
		       strerror(errno));
		return -1;
	}
	while ((n = read(fd, text + got, sizeof(text) - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (n < 0 || got == sizeof(text)) {
		ll_err(l, "refused: the reservation file %s is %s; move it away to start "
		       "without persistent reservations\n", p->file,
		       n < 0 ? strerror(errno) : "too long");
		return -1;
	}
	if (ll_pr_parse(&st, text, got, why, sizeof(why))) {
		ll_err(l, "refused: the reservation file %s is damaged (%s); move it away to "
		       "start without persistent reservations\n", p->file, why);
		return -1;
	}
	if (!st.aptpl)
		return 0;	/* APTPL was turned off: a restart forgets */
	p->state = st;
	ll_info(l, "persistent reservations restored from %s (APTPL): %u registrations, %s\n",
		p->file, st.nregs, st.reserved ? ll_pr_type_name(st.type) : "no reservation");
	return 0;
}

/* ---- the commands ----------------------------------------------------- */

static int pr_in(int host_no, struct scsi_cmd *cmd)
{
	struct ll_pr *p = ll_lu(cmd->dev)->pr;
	uint32_t alloc = get_unaligned_be16(&cmd->scb[7]), room = scsi_get_in_length(cmd);
	long n;

	(void)host_no;
	if (device_reserved(cmd))
		return SAM_STAT_RESERVATION_CONFLICT;
	if (p->link && !ll_pr_link_valid(p->link))
		return sense(cmd, LL_PRC_NOT_VALID_KEY, LL_PRC_NOT_VALID_ASC);
	if (room > alloc)
		room = alloc;
	n = ll_pr_in(&p->state, nexus_of(p, cmd), cmd->scb, (size_t)cmd->scb_len,
		     scsi_get_in_buffer(cmd), room);
	if (n < 0)
		return sense(cmd, ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	scsi_set_in_resid_by_actual(cmd, (uint32_t)n < room ? (uint32_t)n : room);
	return SAM_STAT_GOOD;
}

/*
 * PREEMPT AND ABORT: tgt gives a module no way to abort a command (its
 * task set abort is static, and a command handed to io_uring or a worker
 * cannot be recalled), so the preempted nexuses' commands already in the
 * store run to their end, and the PR OUT's status waits until they have:
 * once it returns GOOD, nothing of theirs is still being written.  Their
 * later commands meet the new reservation at dispatch.
 */
static int preempt_and_abort(struct ll_lu *l, struct scsi_cmd *cmd, const struct ll_pr_nexus *me,
			     const struct ll_pr_result *r)
{
	struct ll_pr *p = l->pr;
	unsigned int i, n = 0;
	int busy;

	for (i = 0; i < r->nabort; i++)
		n = itn_ids_of(l->lu, &r->abort[i], p->wait_itn, n, LL_PR_MAX_REGS);
	busy = n ? ll_cmd_inflight_from(l, p->wait_itn, n) : 0;
	ll_info(l, "PREEMPT AND ABORT from %s: %u nexuses preempted, %d of their commands "
		"still in the store%s\n", me->id, r->nabort, busy,
		busy ? ": the status waits for them" : "");
	if (!busy)
		return SAM_STAT_GOOD;
	p->nwait = n;
	p->waiting = cmd;
	l->pr_waiting = 1;
	set_cmd_async(cmd);
	return SAM_STAT_GOOD;
}

/* A command of the store ended: the waiting PREEMPT AND ABORT may go. */
void ll_pr_io_done(struct ll_lu *l)
{
	struct ll_pr *p = l->pr;
	struct scsi_cmd *cmd = p->waiting;

	if (p->ack_waiting && !ll_cmd_inflight_from(l, p->wait_itn, p->nwait)) {
		p->ack_waiting = 0;
		l->pr_waiting = 0;
		ll_info(l, "persistent reservations: the aborted nexuses' commands have ended; "
			"generation %" PRIu64 " is applied\n", p->ack_gen);
		ll_pr_link_ack(p->link, p->ack_gen);
		return;
	}
	if (!cmd || ll_cmd_inflight_from(l, p->wait_itn, p->nwait))
		return;
	p->waiting = NULL;
	l->pr_waiting = 0;
	ll_info(l, "PREEMPT AND ABORT: the preempted nexuses' commands have ended\n");
	target_cmd_io_done(cmd, SAM_STAT_GOOD);
}

static int pr_out(int host_no, struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->dev;
	struct ll_lu *l = ll_lu(lu);
	struct ll_pr *p = l->pr;
	struct ll_pr_result *r = &p->res;
	const struct ll_pr_nexus *me;
	unsigned int i;

	(void)host_no;
	if (device_reserved(cmd))
		return SAM_STAT_RESERVATION_CONFLICT;
	if (p->link)		/* the cluster applies it: pr_cluster.c */
		return ll_pr_link_out(p->link, cmd, nexus_of(p, cmd));
	if (p->waiting)
		return SAM_STAT_BUSY;	/* one PREEMPT AND ABORT at a time */
	me = nexus_of(p, cmd);
	p->next = p->state;
	ll_pr_out(&p->next, me, cmd->scb, (size_t)cmd->scb_len, scsi_get_out_buffer(cmd),
		  scsi_get_out_length(cmd), r);
	if (r->status == LL_PR_CONFLICT)
		return SAM_STAT_RESERVATION_CONFLICT;
	if (r->status != LL_PR_GOOD)
		return sense(cmd, r->sense_key, r->asc);
	if (!r->changed)
		return SAM_STAT_GOOD;
	if (r->persist && (!p->file || pr_save(l, &p->next)))
		return sense(cmd, HARDWARE_ERROR, ASC_INTERNAL_TGT_FAILURE);
	p->state = p->next;
	for (i = 0; i < r->nua; i++)
		ua_on(lu, &r->ua[i].nexus, r->ua[i].asc);
	if (r->nabort)
		return preempt_and_abort(l, cmd, me, r);
	return SAM_STAT_GOOD;
}

/*
 * RESERVE/RELEASE (6) and (10): tgt's, unless persistent reservations are
 * in use: then they conflict, but the persistent reservation holder's
 * complete GOOD without effect (SPC-4 5.12.3).
 */
static int spc2_gate(int host_no, struct scsi_cmd *cmd)
{
	struct ll_pr *p = ll_lu(cmd->dev)->pr;

	/* tgt keeps SPC-2 reservations per node: not the volume's */
	if (p->link)
		return sense(cmd, ILLEGAL_REQUEST, ASC_INVALID_OP_CODE);
	switch (ll_pr_spc2_conflicts(&p->state, nexus_of(p, cmd))) {
	case 1:
		return SAM_STAT_RESERVATION_CONFLICT;
	case 2:
		return SAM_STAT_GOOD;
	}
	return p->orig[cmd->scb[0]](host_no, cmd);
}

/*
 * Every other command: refused if it conflicts with the reservation.  A
 * pr=cluster LUN without a valid state cannot tell: the commands a
 * reservation could refuse end NOT READY, and TEST UNIT READY too, so that
 * a path checker (dm-multipath's tur) takes the path out meanwhile.
 */
__attribute__((noinline)) static int pr_gate_check(int host_no, struct scsi_cmd *cmd,
						   struct ll_pr *p)
{
	if (p->link && !ll_pr_link_valid(p->link) &&
	    (cmd->scb[0] == TEST_UNIT_READY || ll_pr_checked(cmd->scb, (size_t)cmd->scb_len)))
		return sense(cmd, LL_PRC_NOT_VALID_KEY, LL_PRC_NOT_VALID_ASC);

	if (p->state.reserved &&
	    ll_pr_conflicts(&p->state, nexus_of(p, cmd), cmd->scb, (size_t)cmd->scb_len))
		return SAM_STAT_RESERVATION_CONFLICT;
	return p->orig[cmd->scb[0]](host_no, cmd);
}

/* Every READ and WRITE passes here: a pr=local LUN with no reservation
 * goes straight on, with no stack frame of its own (two loads and a tail
 * call; doc/perf.md counts it), anything else to pr_gate_check. */
static int pr_gate(int host_no, struct scsi_cmd *cmd)
{
	struct ll_pr *p = ll_lu(cmd->dev)->pr;

	if (__builtin_expect(p->link || p->state.reserved, 0))
		return pr_gate_check(host_no, cmd, p);
	return p->orig[cmd->scb[0]](host_no, cmd);
}

/* What REPORT SUPPORTED OPERATION CODES lists for 5Eh and 5Fh (tgt reads
 * these tables only for that: dispatch goes to pr_in and pr_out) */
static struct service_action pr_in_actions[] = {
	{ PR_IN_READ_KEYS, pr_in }, { PR_IN_READ_RESERVATION, pr_in },
	{ PR_IN_REPORT_CAPABILITIES, pr_in }, { PR_IN_READ_FULL_STATUS, pr_in },
	{ 0, NULL },
};
static struct service_action pr_out_actions[] = {
	{ PR_OUT_REGISTER, pr_out }, { PR_OUT_RESERVE, pr_out }, { PR_OUT_RELEASE, pr_out },
	{ PR_OUT_CLEAR, pr_out }, { PR_OUT_PREEMPT, pr_out }, { PR_OUT_PREEMPT_AND_ABORT, pr_out },
	{ PR_OUT_REGISTER_AND_IGNORE_EXISTING_KEY, pr_out }, { PR_OUT_REGISTER_AND_MOVE, pr_out },
	{ 0, NULL },
};

int ll_pr_setup(struct scsi_lu *lu)
{
	struct ll_lu *l = ll_lu(lu);
	struct ll_pr *p = calloc(1, sizeof(*p));
	uint16_t port = LL_PR_RTPI;
	unsigned int op;

	if (!p)
		return -1;
	ll_pr_init(&p->state, &port, 1, 0);
	for (op = 0; op < 256; op++) {
		struct device_type_operations *o = &lu->dev_type_template.ops[op];

		/* an opcode tgt refuses stays tgt's: REPORT SUPPORTED
		 * OPERATION CODES leaves out exactly those */
		if (!o->cmd_perform || o->cmd_perform == spc_illegal_op)
			continue;
		p->orig[op] = o->cmd_perform;
		switch (op) {
		case PERSISTENT_RESERVE_IN:
			o->cmd_perform = pr_in;
			o->service_actions = pr_in_actions;
			break;
		case PERSISTENT_RESERVE_OUT:
			o->cmd_perform = pr_out;
			o->service_actions = pr_out_actions;
			break;
		case RESERVE:
		case RELEASE:
		case RESERVE_10:
		case RELEASE_10:
			o->cmd_perform = spc2_gate;
			break;
		default:
			o->cmd_perform = pr_gate;
		}
		/* tgt's own check: inert, lu->pr_holder stays NULL */
		o->pr_conflict_bits = 0;
	}
	l->pr = p;
	return 0;
}

/* ---- pr=cluster ---------------------------------------------------------- */

int ll_pr_cluster_apply(struct ll_lu *l, const struct ll_pr_wire_msg *m)
{
	struct ll_pr *p = l->pr;
	struct ll_pr_nexus n;
	unsigned int i, nitn = 0;
	int busy;

	/* pr_wire.c parsed the state; a state's text names no target port
	 * and no stable storage: the LU's (ll_pr_init's fields) stay */
	p->next = m->state;
	p->next.nports = p->state.nports;
	memcpy(p->next.ports, p->state.ports, sizeof(p->next.ports));
	p->next.ptpl_capable = p->state.ptpl_capable;
	p->state = p->next;
	/* the wire names a nexus by its TransportID: tgt has one target port */
	for (i = 0; i < m->nua; i++) {
		n = m->ua[i].nexus;
		n.rtpi = LL_PR_RTPI;
		ua_on(l->lu, &n, m->ua[i].asc);
	}
	if (p->ack_waiting)
		nitn = p->nwait;	/* an earlier generation's aborts still run */
	for (i = 0; i < m->nabort; i++) {
		n = m->abort[i];
		n.rtpi = LL_PR_RTPI;
		nitn = itn_ids_of(l->lu, &n, p->wait_itn, nitn, LL_PR_MAX_REGS);
	}
	busy = nitn ? ll_cmd_inflight_from(l, p->wait_itn, nitn) : 0;
	ll_info(l, "persistent reservations: generation %" PRIu64 " from the cluster: %u "
		"registrations, %s; %u unit attentions, %u nexuses aborted%s\n", m->gen,
		p->state.nregs, p->state.reserved ? ll_pr_type_name(p->state.type) :
		"no reservation", m->nua, m->nabort,
		busy ? ", their commands in the store still running: ACK once they end" : "");
	if (!busy && !p->ack_waiting)
		return 1;
	p->nwait = nitn;
	p->ack_gen = m->gen;
	p->ack_waiting = 1;
	l->pr_waiting = 1;
	return 0;
}

/* The volume id of the image at path: the name of its reservations in
 * the cluster. */
static int volume_of(struct ll_lu *l, const char *path, char hex[33])
{
	struct ll_image *im = calloc(1, sizeof(*im));
	char err[256];
	uint64_t size = 0;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -1;

	if (!im || fd < 0 || fstat(fd, &st)) {
		ll_err(l, "refused: pr=cluster: cannot read the image's volume id: %s\n",
		       strerror(errno));
		goto out;
	}
	if (S_ISBLK(st.st_mode) ? ioctl(fd, BLKGETSIZE64, &size) : (size = (uint64_t)st.st_size, 0)) {
		ll_err(l, "refused: pr=cluster: cannot read the image's size: %s\n", strerror(errno));
		goto out;
	}
	switch (ll_image_read(fd, size, im, err, sizeof(err))) {
	case 1:
		ll_image_id_hex(im->volume_id, hex);
		ret = 0;
		break;
	case 0:
		ll_err(l, "refused: pr=cluster needs a lunlink image: its volume id names the "
		       "reservations in the cluster; prepare it with 'lunlink-image create --size "
		       "SIZE --volume ID %s' (which erases it)\n", path);
		break;
	default:
		ll_err(l, "refused: pr=cluster: the image's superblock: %s\n", err);
	}
out:
	if (fd >= 0)
		close(fd);
	free(im);
	return ret;
}

/* pr=cluster at bs_open: no APTPL file (the manager's store keeps the
 * state, so REPORT CAPABILITIES says PTPL_C 1), the link to the agent. */
static int pr_cluster_open(struct ll_lu *l, const char *path)
{
	struct ll_pr *p = l->pr;
	char volume[33];

	if (volume_of(l, path, volume))
		return -1;
	ll_pr_link_close(p->link);
	p->link = ll_pr_link_open(l, volume);
	if (!p->link)
		return -1;
	p->state.ptpl_capable = 1;
	return 0;
}

/*
 * At bs_open: where the APTPL file is (bsopts pr_file=, or IMAGE.pr beside
 * a regular file's image), and what it holds.  A block device without
 * pr_file= has no APTPL: REPORT CAPABILITIES says so (PTPL_C 0) and
 * APTPL=1 is refused.
 */
int ll_pr_open(struct ll_lu *l, const char *path, int regular_file)
{
	struct ll_pr *p = l->pr;

	if (l->opts.pr_cluster)
		return pr_cluster_open(l, path);
	free(p->file);
	p->file = NULL;
	if (l->opts.pr_file[0])
		p->file = strdup(l->opts.pr_file);
	else if (regular_file && asprintf(&p->file, "%s.pr", path) < 0)
		p->file = NULL;
	if ((l->opts.pr_file[0] || regular_file) && !p->file) {
		ll_err(l, "refused: out of memory\n");
		return -1;
	}
	p->state.ptpl_capable = p->file != NULL;
	return p->file ? pr_load(l) : 0;
}

void ll_pr_free(struct ll_lu *l)
{
	if (!l->pr)
		return;
	ll_pr_link_close(l->pr->link);
	free(l->pr->file);
	free(l->pr);
	l->pr = NULL;
}
