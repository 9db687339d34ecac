// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bs_lunlink.c: the tgt backing-store template "lunlink": registration, the
 * tgt version check, and a LUN's life cycle (bs_init, bs_open, bs_close,
 * bs_exit).  Commands are in commands.c, runtime keys in lu_config.c; the
 * LUN's stack of layers is built in layers/stack.c over the engine opened
 * here (engine/).
 *
 * tgtd gives a module no version handshake and no headers package: a module
 * built against another tgt's headers misreads struct scsi_lu and corrupts
 * tgtd's memory without a word.  The build pins the headers to the installed
 * tgt; here, at load, we ask the running tgtd for its version and refuse to
 * register on a mismatch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/fs.h>

#include "lunlink.h"
#include "spc.h"

#ifndef LUNLINK_TGT_VERSION
#error "LUNLINK_TGT_VERSION must name the tgt version of the headers (the build sets it)"
#endif
#ifndef LUNLINK_VERSION
#error "LUNLINK_VERSION must be set (the build takes it from the file VERSION)"
#endif

extern char **environ;

/*
 * Run "/proc/self/exe -V" (tgtd prints its version and exits before it
 * touches anything) and compare with the version we were built against.
 */
static int tgt_version_check(char *why, size_t len)
{
	char exe[4096], out[64];
	char *argv[] = { exe, "-V", NULL };
	posix_spawn_file_actions_t fa;
	ssize_t n, got = 0;
	int pipefd[2], status;
	pid_t pid;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0) {
		snprintf(why, len, "cannot find tgtd's executable (/proc/self/exe): %s",
			 strerror(errno));
		return -1;
	}
	exe[n] = '\0';
	if (pipe2(pipefd, O_CLOEXEC)) {
		snprintf(why, len, "pipe: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	if (posix_spawn(&pid, exe, &fa, NULL, argv, environ)) {
		posix_spawn_file_actions_destroy(&fa);
		close(pipefd[0]);
		close(pipefd[1]);
		snprintf(why, len, "cannot run '%.200s -V' to learn its version", exe);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	while (got < (ssize_t)sizeof(out) - 1 &&
	       (n = read(pipefd[0], out + got, sizeof(out) - 1 - (size_t)got)) > 0)
		got += n;
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	out[got] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	if (strcmp(out, LUNLINK_TGT_VERSION)) {
		snprintf(why, len,
			 "bs_lunlink.so was built against tgt %s headers, but this tgtd (%.200s) is "
			 "version '%.60s'; rebuild lunlink against the installed tgt (make setup && make)",
			 LUNLINK_TGT_VERSION, exe, out);
		return -1;
	}
	return 0;
}

static tgtadm_err lunlink_init(struct scsi_lu *lu, char *bsopts)
{
	struct ll_lu *l = ll_lu(lu);
	char err[256];

	memset(l, 0, sizeof(*l));
	l->lu = lu;
	if (ll_bsopts_parse(bsopts, &l->opts, err, sizeof(err))) {
		ll_log(LL_LOG_ERROR, "tid %d lun %" PRIu64 ": refused: %s\n",
			lu->tgt->tid, lu->lun, err);
		return TGTADM_INVALID_REQUEST;
	}
	ll_range_lock_init(&l->ranges);
	INIT_LIST_HEAD(&l->inflight);
	ll_later_init(l);
	/* our own runtime keys (resize=, fault=) besides tgt's */
	lu->dev_type_template.lu_config = ll_lu_config;
	ll_sbc_override(lu);
	/* last: it wraps every dispatch entry, the overrides' too */
	if (ll_pr_setup(lu)) {
		ll_log(LL_LOG_ERROR, "tid %d lun %" PRIu64 ": refused: out of memory\n",
			lu->tgt->tid, lu->lun);
		return TGTADM_NOMEM;
	}
	return TGTADM_SUCCESS;
}

static int open_engine(struct ll_lu *l)
{
	char err[256];
	const struct ll_engine_ops *ops;

	if (l->opts.io != LL_IO_THREADS) {
		ops = &ll_engine_uring;
		l->engine.ops = ops;
		if (!ops->open(&l->engine, l->opts.queue_depth, l->opts.threads, err, sizeof(err)))
			return 0;
		if (l->opts.io == LL_IO_URING) {
			ll_err(l, "refused: io=uring was asked, but io_uring cannot be set up: %s\n",
			       err);
			return -1;
		}
		ll_warn(l, "io_uring cannot be set up (%s); falling back to worker threads\n",
			err);
	}
	ops = &ll_engine_threads;
	l->engine.ops = ops;
	if (ops->open(&l->engine, l->opts.queue_depth, l->opts.threads, err, sizeof(err))) {
		ll_err(l, "refused: cannot start the worker threads: %s\n", err);
		return -1;
	}
	return 0;
}

/* The LUN is served: say how. */
static void say_serving(struct ll_lu *l)
{
	char opts[LL_MAX_LEG_OPTS * (LL_URL_MAX + 8) +
		  LL_MAX_EXTENTS * (LL_EXTENT_PATH_MAX + 48) + 200];

	ll_bsopts_describe(&l->opts, opts, sizeof(opts));
	if (l->engine.ops == &ll_engine_uring)
		ll_info(l, "serving through io_uring in tgtd's event loop (%s)\n", opts);
	else
		ll_info(l, "serving through %u worker threads (%s)\n", l->opts.threads, opts);
}

static int lunlink_open(struct scsi_lu *lu, char *path, int *fd, uint64_t *size)
{
	struct ll_lu *l = ll_lu(lu);
	int flags = O_RDWR | O_LARGEFILE | O_CLOEXEC | lu->bsoflags;
	struct stat st;

	l->path = strdup(path);
	if (!l->path) {
		ll_log(LL_LOG_ERROR, "out of memory\n");
		return -1;
	}
	*fd = open(path, flags);
	if (*fd < 0 && (errno == EACCES || errno == EROFS)) {
		*fd = open(path, (flags & ~O_RDWR) | O_RDONLY);
		if (*fd >= 0) {
			lu->attrs.readonly = 1;
			ll_warn(l, "opened read-only: the image cannot be opened for writing\n");
		}
	}
	if (*fd < 0) {
		ll_err(l, "refused: cannot open the backing store '%s': %s%s\n", path,
		       strerror(errno),
		       errno == ENOENT ? " (create the image first, e.g. truncate -s 10G FILE)" :
		       errno == EINVAL && (lu->bsoflags & O_DIRECT) ?
		       " (its file system does not support bsoflags=direct)" : "");
		goto err;
	}
	if (fstat(*fd, &st)) {
		ll_err(l, "refused: fstat: %s\n", strerror(errno));
		goto err_close;
	}
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(*fd, BLKGETSIZE64, size)) {
			ll_err(l, "refused: cannot read the block device's size: %s\n",
			       strerror(errno));
			goto err_close;
		}
	} else {
		ll_err(l, "refused: '%s' is neither a regular file nor a block device\n", path);
		goto err_close;
	}
	l->engine.fd = *fd;
	if (open_engine(l))
		goto err_close;
	if (ll_stack_open(l, *fd, size))
		goto err_engine;
	if (*size < (1ULL << lu->blk_shift) || *size < 512) {
		ll_err(l, "refused: '%s' is %" PRIu64 " bytes, smaller than one block; "
		       "grow it first (e.g. truncate -s 1G %s)\n", path, *size, path);
		ll_stack_close(l);
		goto err_engine;
	}
	if (ll_pr_open(l, path, S_ISREG(st.st_mode))) {
		ll_stack_close(l);
		goto err_engine;
	}
	say_serving(l);

	if (!lu->attrs.no_auto_lbppbe)
		update_lbppbe(lu, S_ISREG(st.st_mode) ? (uint32_t)st.st_blksize : 512);
	if (l->opts.thin && !lu->attrs.readonly) {
		lu->attrs.thinprovisioning = 1;
		lu->attrs.lu_vpd[PCODE_OFFSET(0xb0)]->vpd_update(lu, NULL);
		lu->attrs.lu_vpd[PCODE_OFFSET(0xb2)]->vpd_update(lu, NULL);
		ll_vpd_refresh(lu);
	}
	/* A new LUN (not yet in its target's list; a path change is not
	 * one): tell the initiators once tgt has added it. */
	if (!lu->device_siblings.next) {
		l->announced = 1;
		ll_notify_luns_changed(lu->tgt->tid, lu->lun);
	}
	return 0;

err_engine:
	l->engine.ops->close(&l->engine);
	l->engine.ops = NULL;
err_close:
	close(*fd);
err:
	free(l->path);
	l->path = NULL;
	*fd = -1;
	return -1;
}

static void lunlink_close(struct scsi_lu *lu)
{
	struct ll_lu *l = ll_lu(lu);

	/* tgt only closes a LUN with no command in flight */
	ll_stack_close(l);
	if (l->engine.ops)
		l->engine.ops->close(&l->engine);
	l->engine.ops = NULL;
	ll_later_cancel(l);
	close(lu->fd);
	free(l->path);
	l->path = NULL;
}

static void lunlink_exit(struct scsi_lu *lu)
{
	struct ll_lu *l = ll_lu(lu);

	ll_later_cancel(l);
	ll_cmd_cache_free(l);
	ll_pr_free(l);
	/* the LUN is going (tgt queues 3F/0E on the others itself) */
	if (l->announced)
		ll_notify_luns_changed(lu->tgt->tid, lu->lun);
}

static struct backingstore_template lunlink_bst = {
	.bs_name		= "lunlink",
	.bs_datasize		= sizeof(struct ll_lu),
	.bs_open		= lunlink_open,
	.bs_close		= lunlink_close,
	.bs_init		= lunlink_init,
	.bs_exit		= lunlink_exit,
	.bs_cmd_submit		= ll_cmd_submit,
	.bs_oflags_supported	= O_SYNC | O_DIRECT,
};

LUNLINK_EXPORT void register_bs_module(void);

void register_bs_module(void)
{
	static unsigned char opcodes[] = {
		ALLOW_MEDIUM_REMOVAL, COMPARE_AND_WRITE, FORMAT_UNIT, INQUIRY,
		MAINT_PROTOCOL_IN, MODE_SELECT, MODE_SELECT_10, MODE_SENSE,
		MODE_SENSE_10, ORWRITE_16, PERSISTENT_RESERVE_IN,
		PERSISTENT_RESERVE_OUT, PRE_FETCH_10, PRE_FETCH_16, READ_10,
		READ_12, READ_16, READ_6, READ_CAPACITY, RELEASE, REPORT_LUNS,
		REQUEST_SENSE, RESERVE, SEND_DIAGNOSTIC, SERVICE_ACTION_IN,
		START_STOP, SYNCHRONIZE_CACHE, SYNCHRONIZE_CACHE_16,
		TEST_UNIT_READY, UNMAP, VERIFY_10, VERIFY_12, VERIFY_16,
		WRITE_10, WRITE_12, WRITE_16, WRITE_6, WRITE_SAME,
		WRITE_SAME_16, WRITE_VERIFY, WRITE_VERIFY_12, WRITE_VERIFY_16,
	};
	char why[512];

	if (tgt_version_check(why, sizeof(why))) {
		ll_log(LL_LOG_ERROR, "not registering backing store 'lunlink': %s\n", why);
		return;
	}
	bs_create_opcode_map(&lunlink_bst, opcodes, ARRAY_SIZE(opcodes));
	register_backingstore_template(&lunlink_bst);
	ll_log(LL_LOG_INFO, "backing store 'lunlink' %s registered (built against tgt %s)\n",
		LUNLINK_VERSION, LUNLINK_TGT_VERSION);
}
