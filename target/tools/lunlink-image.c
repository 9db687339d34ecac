// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lunlink-image: create and inspect lunlink images, the files (or block
 * devices) whose own superblock says what volume they hold (format in
 * include/lunlink/image.h).  A raw image needs none of this; a copy of a
 * mirrored volume does.
 *
 *   lunlink-image create --size SIZE [--max-size SIZE] [--region-size SIZE]
 *                        [--volume ID] [--force] FILE
 *   lunlink-image show [--json] FILE
 *   lunlink-image check FILE
 *   lunlink-image forget-stale FILE
 *   lunlink-image forget-copy FILE ID
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/fs.h>

#include "lunlink/bsopts.h"
#include "lunlink/image.h"

#ifndef LUNLINK_VERSION
#error "LUNLINK_VERSION must be set (the build takes it from the file VERSION)"
#endif

static const char *prog = "lunlink-image";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s create --size SIZE [--max-size SIZE] [--region-size SIZE] [--volume ID]\n"
		"                     [--force] FILE\n"
		"       %s show [--json] FILE\n"
		"       %s check FILE\n"
		"       %s forget-stale FILE\n"
		"       %s forget-copy FILE ID\n"
		"\n"
		"create  write a lunlink superblock, dirty-region map and activity log in front\n"
		"        of SIZE bytes of data (a new sparse file, or a block device: one that is\n"
		"        not blank, its first 4 KiB not zeros, only with --force); the data can\n"
		"        later grow up to --max-size (default: 4 times SIZE, at least 16G).\n"
		"        The data is left blank (zeros; a device only if it can discard them\n"
		"        with zeros guaranteed): blank copies of one volume, the others made\n"
		"        with --volume ID (the first one's, from 'show'), start a mirror in sync\n"
		"        with nothing copied. A create that fails leaves nothing behind\n"
		"show    print what the superblock says\n"
		"check   exit 0 for a valid lunlink image, 1 for a raw image, 2 for a damaged one\n"
		"forget-stale  empty the image's stale list (regions where a local write failed\n"
		"        while the mirror's legs took it), so that the copy can be served alone\n"
		"        with what it holds there; only for a copy no leg can repair any more\n"
		"        (refused while a tgtd serves it as a mirror's primary)\n"
		"forget-copy  stop recording copy ID (from 'show') with this image: served as\n"
		"        a mirror's primary, it no longer keeps the writes that copy misses;\n"
		"        for a copy gone for good (refused while a tgtd serves the image as a\n"
		"        mirror's primary)\n"
		"\n"
		"SIZE: bytes, or a number with K, M, G, T or P (powers of 1024).\n",
		prog, prog, prog, prog, prog);
}

static int die(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return 2;
}

static uint64_t size_arg(const char *opt, const char *v)
{
	char err[160];
	uint64_t n;

	if (ll_parse_size(v, &n, err, sizeof(err))) {
		fprintf(stderr, "%s: %s: %s\n", prog, opt, err);
		exit(2);
	}
	return n;
}

/* The superblock of the image open as fd: 1 valid, 0 raw, -1 damaged or
 * unreadable (reason printed, path in it). */
static int load_fd(int fd, const char *path, struct ll_image *im)
{
	char err[256];
	struct stat st;
	uint64_t size;
	int ret;

	if (fstat(fd, &st)) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return -1;
	}
	size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, &size))
		size = 0;
	ret = ll_image_read(fd, size, im, err, sizeof(err));
	if (ret < 0)
		fprintf(stderr, "%s: %s: %s\n", prog, path, err);
	return ret;
}

/* 1 valid, 0 raw, -1 damaged or unreadable (reason printed), -2 cannot open */
static int load(const char *path, struct ll_image *im)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return -2;
	}
	ret = load_fd(fd, path, im);
	close(fd);
	return ret;
}

/* Take the lock a mirror's primary holds while it serves the image; 0, or
 * -1 with the reason said. */
static int lock_image(int fd, const char *cmd, const char *path)
{
	if (!flock(fd, LOCK_EX | LOCK_NB))
		return 0;
	fprintf(stderr, "%s: %s: %s is in use (%s): a tgtd serves it as a mirror's primary; "
		"delete that LUN first\n", prog, cmd, path,
		errno == EWOULDBLOCK ? "locked" : strerror(errno));
	return -1;
}

/*
 * A block device is written only with --force unless its first 4 KiB are
 * zeros (a lunlink image or a file system there says so): 0, or -1 with
 * the reason said.
 */
static int blank_device(int fd, const char *path)
{
	static uint8_t buf[LL_IMAGE_SB_SIZE];
	struct ll_image old;
	char err[256], id[33];

	if (pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf)) {
		fprintf(stderr, "%s: create: %s: cannot read its first 4 KiB: %s\n", prog, path,
			strerror(errno ? errno : EIO));
		return -1;
	}
	for (size_t i = 0; i < sizeof(buf); i++) {
		if (!buf[i])
			continue;
		if (ll_image_decode(&old, buf, sizeof(buf), UINT64_MAX, err, sizeof(err)) == 1) {
			ll_image_id_hex(old.volume_id, id);
			fprintf(stderr, "%s: create: block device %s holds a lunlink image (volume "
				"%s); use --force to overwrite it\n", prog, path, id);
		} else {
			fprintf(stderr, "%s: create: block device %s is not blank (its first 4 KiB "
				"hold data: a file system?); use --force to overwrite it\n", prog,
				path);
		}
		return -1;
	}
	return 0;
}

/* Zeros over the dirty-region map and the activity log (a block device
 * holds old bytes there; a new file holds zeros already). */
static int zero_metadata(int fd, const struct ll_image *im)
{
	static uint8_t zeros[1 << 20];
	uint64_t off = im->dirty_offset, end = im->al_offset + im->al_bytes;

	while (off < end) {
		size_t n = end - off < sizeof(zeros) ? (size_t)(end - off) : sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, (off_t)off);

		if (w <= 0)
			return -1;
		off += (uint64_t)w;
	}
	return fdatasync(fd);
}

/* v in words: "16 TiB", "about 1.5 GiB" */
static void human(uint64_t v, char *buf, size_t len)
{
	static const char *const unit[] = { "bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned int u = 0;
	double d = (double)v;

	while (d >= 1024 && u < 6) {
		d /= 1024;
		u++;
	}
	if (u && v % (1ULL << (10 * u)) == 0)
		snprintf(buf, len, "%" PRIu64 " %s", v >> (10 * u), unit[u]);
	else
		snprintf(buf, len, "about %.4g %s", d, unit[u]);
}

/* The type of the file system that holds dir (ext4, xfs, ...), from the
 * mount table; "" if it is not found. */
static void fs_type(const char *dir, char *buf, size_t len)
{
	char line[4096], *sep, want[32];
	struct stat st;
	FILE *f;

	buf[0] = '\0';
	if (stat(dir, &st))
		return;
	snprintf(want, sizeof(want), "%u:%u", major(st.st_dev), minor(st.st_dev));
	f = fopen("/proc/self/mountinfo", "r");
	if (!f)
		return;
	/* ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS [TAGS...] - TYPE ... */
	while (fgets(line, sizeof(line), f)) {
		char dev[32] = "";

		if (sscanf(line, "%*s %*s %31s", dev) != 1 || strcmp(dev, want))
			continue;
		sep = strstr(line, " - ");
		if (sep) {
			size_t n = strcspn(sep + 3, " \n");

			snprintf(buf, len, "%.*s", (int)n, sep + 3);
			break;
		}
	}
	fclose(f);
}

/* The largest size fd (a file of ours, empty afterwards) can be given,
 * to 4 KiB, below hi, which it cannot. */
static uint64_t largest_file(int fd, uint64_t hi)
{
	uint64_t lo = 0, mid;

	while (hi - lo > 4096) {
		mid = (lo + (hi - lo) / 2) & ~4095ULL;
		if (mid <= lo)
			break;
		if (ftruncate(fd, (off_t)mid))
			hi = mid;
		else
			lo = mid;
	}
	(void)!ftruncate(fd, 0);
	return lo;
}

/*
 * Say that no file of the image's size can be made at path, what limits it
 * (the file system's largest file, max bytes, 0 if not known; or, with
 * rlimit, this process's file size limit), and what to do.
 */
static void say_too_big(const char *path, const struct ll_image *im, uint64_t max, int rlimit)
{
	char need_h[48], max_h[48], data_h[48], meta_h[48], fs[64], dirbuf[4096];
	uint64_t need = ll_image_file_size(im), size_max;

	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	fs_type(dirname(dirbuf), fs, sizeof(fs));
	human(need, need_h, sizeof(need_h));
	human(im->data_size, data_h, sizeof(data_h));
	human(im->data_offset, meta_h, sizeof(meta_h));
	human(max, max_h, sizeof(max_h));
	fprintf(stderr, "%s: create: %s: the image needs a file of %" PRIu64 " bytes (%s: %s of "
		"data behind %s of metadata), but ", prog, path, need, need_h, data_h, meta_h);
	if (rlimit)
		fprintf(stderr, "this process may write files of at most %" PRIu64 " bytes (%s: "
			"ulimit -f, RLIMIT_FSIZE)", max, max_h);
	else if (max)
		fprintf(stderr, "the largest file this file system%s%s%s takes is %" PRIu64
			" bytes (%s)", fs[0] ? " (" : "", fs, fs[0] ? ")" : "", max, max_h);
	else
		fprintf(stderr, "that is larger than the largest file this file system%s%s%s "
			"takes", fs[0] ? " (" : "", fs, fs[0] ? ")" : "");
	fprintf(stderr, "; nothing was created or changed. ");
	size_max = max > im->data_offset ? (max - im->data_offset) & ~((1ULL << 20) - 1) : 0;
	human(size_max, max_h, sizeof(max_h));
	if (size_max)
		fprintf(stderr, "Give a --size of at most %" PRIu64 " (%s), or ", size_max, max_h);
	else
		fprintf(stderr, "Give a smaller --size, or ");
	if (rlimit)
		fprintf(stderr, "raise the limit (ulimit -f unlimited)\n");
	else
		fprintf(stderr, "put the image on a file system that takes larger files (xfs and "
			"btrfs take up to 8 EiB, ext4 with 4 KiB blocks 16 TiB) or on a block "
			"device\n");
}

/*
 * Can path's file system (and this process) hold a file of the image's
 * size?  Tried on a nameless file in path's folder before anything is
 * created or changed.  0 yes (or cannot tell: the create says, if it
 * fails), -1 no (said).
 */
static int file_fits(const char *path, const struct ll_image *im)
{
	uint64_t need = ll_image_file_size(im), max;
	char dirbuf[4096];
	struct rlimit rl;
	int fd;

	if (!getrlimit(RLIMIT_FSIZE, &rl) && rl.rlim_cur != RLIM_INFINITY && need > rl.rlim_cur) {
		say_too_big(path, im, rl.rlim_cur, 1);
		return -1;
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	fd = open(dirname(dirbuf), O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
	if (fd < 0)
		return 0;
	if (!ftruncate(fd, (off_t)need) || (errno != EFBIG && errno != EINVAL)) {
		close(fd);
		return 0;
	}
	max = largest_file(fd, need);
	close(fd);
	say_too_big(path, im, max, 0);
	return -1;
}

/*
 * Make a block device's data area zeros without writing them all (a
 * discard that guarantees zeros, or the device's write-zeroes command:
 * fallocate's punch, which never falls back to writing), and check a
 * sample of it.  1 blank, 0 not (why says so).
 */
static int blank_device_data(int fd, const struct ll_image *im, char *why, size_t len)
{
	static uint8_t buf[4096];
	uint64_t off, n = im->data_size, at;

	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)im->data_offset,
		      (off_t)n)) {
		snprintf(why, len, "the device cannot discard its data with zeros guaranteed "
			 "(%s)", strerror(errno));
		return 0;
	}
	/* 64 blocks spread over the data, the first and the last among them */
	for (unsigned int i = 0; i < 64; i++) {
		size_t want = n < sizeof(buf) ? (size_t)n : sizeof(buf);

		at = (n - want) / 63 * i & ~511ULL;
		off = im->data_offset + at;
		if (pread(fd, buf, want, (off_t)off) != (ssize_t)want) {
			snprintf(why, len, "reading it back after the discard failed (%s)",
				 strerror(errno ? errno : EIO));
			return 0;
		}
		for (size_t k = 0; k < want; k++)
			if (buf[k]) {
				snprintf(why, len, "it still held data after the discard (at data "
					 "byte %" PRIu64 ")", at + k);
				return 0;
			}
	}
	return 1;
}

/* 32 hex digits into a volume id: 0, or -1 */
static int parse_volume(const char *s, uint8_t id[16])
{
	if (strlen(s) != 32 || strspn(s, "0123456789abcdefABCDEF") != 32)
		return -1;
	for (int i = 0; i < 16; i++)
		sscanf(s + 2 * i, "%2hhx", &id[i]);
	return 0;
}

static int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "max-size", required_argument, NULL, 'm' },
		{ "region-size", required_argument, NULL, 'r' },
		{ "volume", required_argument, NULL, 'v' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	uint64_t size = 0, max = 0, region = LL_IMAGE_REGION_DEFAULT, need;
	struct ll_image im;
	char err[256], id[33], why[160] = "";
	uint8_t volume[16];
	int c, force = 0, fd = -1, created = 0, is_dev = 0, exists, blank = 1, ret = 2;
	const char *path, *vol = NULL;
	struct stat st;

	while ((c = getopt_long(argc, argv, "s:m:r:v:fh", opts, NULL)) != -1) {
		switch (c) {
		case 's': size = size_arg("--size", optarg); break;
		case 'm': max = size_arg("--max-size", optarg); break;
		case 'r': region = size_arg("--region-size", optarg); break;
		case 'v': vol = optarg; break;
		case 'f': force = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1)
		return die("create: name one FILE%s%s", "", "");
	path = argv[optind];

	exists = !stat(path, &st);
	is_dev = exists && S_ISBLK(st.st_mode);
	if (exists && !is_dev && !force)
		return die("create: %s exists; use --force to overwrite it%s", path, "");
	if (!size)
		return die("create: --size is required%s%s", "", "");
	if (vol && parse_volume(vol, volume))
		return die("create: --volume %s is not a volume id (32 hex digits, as 'show' "
			   "prints it)%s", vol, "");
	if (!max)
		max = size * 4 > (16ULL << 30) ? size * 4 : (16ULL << 30);
	if (region > UINT32_MAX ||
	    ll_image_layout(&im, size, max, (uint32_t)region, err, sizeof(err)))
		return die("create: %s%s", region > UINT32_MAX ? "region size too large" : err, "");
	if (vol)
		memcpy(im.volume_id, volume, sizeof(volume));
	need = ll_image_file_size(&im);
	/* before anything is created or changed: does a file this big fit? */
	if (!is_dev && file_fits(path, &im))
		return 2;

	if (is_dev) {
		fd = open(path, O_RDWR | O_CLOEXEC | O_EXCL);	/* O_EXCL: not in use */
	} else if (exists) {
		fd = open(path, O_RDWR | O_CLOEXEC);
	} else {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		created = fd >= 0;
	}
	if (fd < 0)
		return die("create: %s: %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		fprintf(stderr, "%s: create: %s: %s\n", prog, path, strerror(errno));
		goto fail;
	}
	if (lock_image(fd, "create", path))
		goto fail;
	if (S_ISBLK(st.st_mode)) {
		uint64_t dev;

		if (ioctl(fd, BLKGETSIZE64, &dev) || dev < need) {
			fprintf(stderr, "%s: create: block device %s is smaller than the image "
				"needs (%" PRIu64 " bytes)\n", prog, path, need);
			goto fail;
		}
		if (!force && blank_device(fd, path))
			goto fail;
		blank = blank_device_data(fd, &im, why, sizeof(why));
		if (zero_metadata(fd, &im)) {
			fprintf(stderr, "%s: create: %s: writing zeros over the map and the activity "
				"log: %s\n", prog, path, strerror(errno));
			goto fail;
		}
	} else {
		/*
		 * A file: its old bytes go only once a file of the new size is
		 * known to fit (growing it first changes none of them), so a
		 * failure here leaves it as it was.
		 */
		if ((uint64_t)st.st_size < need && ftruncate(fd, (off_t)need)) {
			if (errno == EFBIG)
				say_too_big(path, &im, created ? largest_file(fd, need) : 0, 0);
			else
				fprintf(stderr, "%s: create: %s: cannot make it %" PRIu64 " bytes: "
					"%s\n", prog, path, need, strerror(errno));
			goto fail;
		}
		if (ftruncate(fd, 0) || ftruncate(fd, (off_t)need)) {
			fprintf(stderr, "%s: create: %s: %s\n", prog, path, strerror(errno));
			goto fail;
		}
	}
	if (blank)
		im.blank_gen = im.gen_current;
	c = ll_image_store(fd, &im);
	if (c) {
		fprintf(stderr, "%s: create: writing the superblock of %s: %s\n", prog, path,
			strerror(-c));
		goto fail;
	}
	close(fd);
	ll_image_id_hex(im.volume_id, id);
	printf("%s: lunlink image, %" PRIu64 " bytes of data at offset %" PRIu64
	       ", volume %s, %s%s%s\n", path, im.data_size, im.data_offset, id,
	       blank ? "blank" : "not blank: ", why,
	       blank ? "" : "; a mirror's first sync copies all its data to a leg");
	return 0;

fail:
	/* a file made here goes; one that was there is as it was, or (after
	 * its bytes went) says what it is now */
	if (created && unlink(path))
		fprintf(stderr, "%s: create: %s: cannot remove what was made of it: %s\n", prog,
			path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return ret;
}

/*
 * Open an image to change its superblock: with the lock a mirror's primary
 * holds while it serves the image, taken before the superblock is read (no
 * primary starts between).  The fd, or -1 with the reason said (*ret: the
 * exit status).
 */
static int open_locked(const char *cmd, const char *path, struct ll_image *im, int *ret)
{
	int fd, r;

	*ret = 2;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s: %s\n", prog, cmd, path, strerror(errno));
		return -1;
	}
	if (lock_image(fd, cmd, path)) {
		close(fd);
		return -1;
	}
	r = load_fd(fd, path, im);	/* through the locked fd: the file it locked */
	if (r == 0)
		fprintf(stderr, "%s: %s: %s is a raw image (no lunlink superblock)\n", prog, cmd,
			path);
	if (r <= 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int cmd_forget_stale(int argc, char **argv)
{
	struct ll_image im;
	uint64_t n;
	int fd, ret;

	if (argc != 2 || argv[1][0] == '-')
		return die("forget-stale: name one FILE%s%s", "", "");
	fd = open_locked("forget-stale", argv[1], &im, &ret);
	if (fd < 0)
		return ret;
	n = ll_image_stale_regions(&im);
	if (!n) {
		printf("%s: no stale regions\n", argv[1]);
		close(fd);
		return 0;
	}
	im.nstale = 0;
	im.flags &= ~LL_IMAGE_F_STALE_ALL;
	if ((errno = -ll_image_store(fd, &im)) != 0)
		return die("forget-stale: %s: %s", argv[1], strerror(errno));
	close(fd);
	if (n == UINT64_MAX)
		printf("%s: forgot that every region is stale\n", argv[1]);
	else
		printf("%s: forgot %" PRIu64 " stale region(s); what this copy holds there is "
		       "older than the volume's data\n", argv[1], n);
	return 0;
}

static int cmd_forget_copy(int argc, char **argv)
{
	struct ll_image im;
	uint64_t id;
	char hex[17];
	int fd, ret;

	if (argc != 3 || argv[1][0] == '-')
		return die("forget-copy: name one FILE and one copy ID%s%s", "", "");
	if (ll_parse_copy_id(argv[2], &id))
		return die("forget-copy: '%s' is not a copy id (16 hex digits, as 'show' lists "
			   "them)%s", argv[2], "");
	fd = open_locked("forget-copy", argv[1], &im, &ret);
	if (fd < 0)
		return ret;
	snprintf(hex, sizeof(hex), "%016" PRIx64, id);	/* as show prints it */
	if (id == im.copy_id || ll_image_copy_remove(&im, id)) {
		close(fd);
		return die(id == im.copy_id ? "forget-copy: %s is copy %s itself" :
			   "forget-copy: %s records no copy %s", argv[1], hex);
	}
	if ((errno = -ll_image_store(fd, &im)) != 0)
		return die("forget-copy: %s: %s", argv[1], strerror(errno));
	close(fd);
	printf("%s: forgot copy %s; served as a mirror's primary, this copy no longer keeps "
	       "what it misses\n", argv[1], hex);
	return 0;
}

/* ids as 16 hex digits each: space-separated, or JSON strings with commas */
static void hex_list(char *buf, size_t len, const uint64_t *ids, unsigned int n, int json)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned int k = 0; k < n && used < len; k++)
		used += (size_t)snprintf(buf + used, len - used,
					 json ? "%s\"%016" PRIx64 "\"" : "%s%016" PRIx64,
					 k ? (json ? "," : " ") : "", ids[k]);
}

/* s as a JSON string: quotes, backslashes and control bytes escaped */
static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* How an image was last served (its flags), as show names and explains it:
 * open means a primary serves it now, or served it and did not close it
 * (its activity log then counts). */
static const struct {
	const char *name, *text;
} states[] = {
	{ "fresh", "fresh (made by create, never synced: as a leg it gets the primary's "
		   "data, or nothing if both are blank copies of one volume)" },
	{ "open", "open (a tgtd serves it as a mirror's primary, or served it and did not "
		  "close it: the extents in its activity log are resynced)" },
	{ "closed", "closed (last served as a mirror's primary, closed cleanly)" },
	{ "leg", "leg (its superblock was last written by a primary it was a leg of)" },
};

static unsigned int state_of(const struct ll_image *im)
{
	return im->flags & LL_IMAGE_F_FRESH ? 0 : im->flags & LL_IMAGE_F_OPEN ? 1 :
	       im->flags & LL_IMAGE_F_PRIMARY ? 2 : 3;
}

/* The regions of the data that the dirty-region map marks (what a leg may
 * lack, resynced when the legs return), or -1 if the map cannot be read. */
static int64_t dirty_regions(const char *path, const struct ll_image *im)
{
	uint64_t n = 0, r, regions = (im->data_size + im->region_size - 1) / im->region_size;
	uint8_t *map = malloc(im->dirty_bytes ? im->dirty_bytes : 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (!map || fd < 0 ||
	    pread(fd, map, im->dirty_bytes, (off_t)im->dirty_offset) != (ssize_t)im->dirty_bytes) {
		free(map);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	for (r = 0; r < regions && r / 8 < im->dirty_bytes; r++)
		n += map[r / 8] >> (r % 8) & 1;
	free(map);
	return (int64_t)n;
}

static int cmd_show(int argc, char **argv)
{
	struct ll_image im;
	char id[33], stale[32], hist[LL_IMAGE_GEN_HISTORY * 20 + 8];
	char copies[LL_IMAGE_COPIES_MAX * 20 + 8];
	const char *path = NULL;
	unsigned int state;
	int64_t dirty;
	int json = 0, i, r;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-')
			return die("show: unknown option %s%s", argv[i], "");
		else if (path)
			return die("show: name one FILE (%s and %s?)", path, argv[i]);
		else
			path = argv[i];
	}
	if (!path)
		return die("show: name one FILE%s%s", "", "");
	r = load(path, &im);
	if (r == 0) {
		if (json) {
			fputs("{\"path\":", stdout);
			json_string(path);
			puts(",\"format\":\"raw\"}");
		} else {
			printf("%s: raw image (no lunlink superblock): served as it is\n", path);
		}
		return 0;
	}
	if (r < 0)
		return 2;
	ll_image_id_hex(im.volume_id, id);
	if (ll_image_stale_regions(&im) == UINT64_MAX)
		snprintf(stale, sizeof(stale), json ? "\"all\"" : "all");
	else
		snprintf(stale, sizeof(stale), "%" PRIu64, ll_image_stale_regions(&im));
	/* the generations this copy went through, newest first (a copy whose
	 * generation is in another's history is behind that one), and the
	 * copies of the volume it records, itself among them */
	hex_list(hist, sizeof(hist), im.gen_history, LL_IMAGE_GEN_HISTORY, json);
	hex_list(copies, sizeof(copies), im.copies, im.ncopies, json);
	state = state_of(&im);
	dirty = dirty_regions(path, &im);
	if (dirty < 0)
		fprintf(stderr, "%s: %s: cannot read the dirty-region map (shown as -1)\n", prog,
			path);
	if (json) {
		fputs("{\"path\":", stdout);
		json_string(path);
		printf(",\"format\":\"lunlink\",\"version\":%u,\"volume\":\"%s\","
		       "\"state\":\"%s\",\"data_offset\":%" PRIu64 ",\"data_size\":%" PRIu64
		       ",\"max_data_size\":%" PRIu64 ",\"region_size\":%u,"
		       "\"generation\":\"%016" PRIx64 "\",\"bitmap_generation\":\"%016" PRIx64 "\","
		       "\"generation_history\":[%s],\"stale_regions\":%s,\"dirty_regions\":%" PRId64
		       ",\"copy\":\"%016" PRIx64 "\",\"copies\":[%s],\"blank\":%s}\n",
		       im.version, id, states[state].name, im.data_offset, im.data_size,
		       im.max_data_size, im.region_size, im.gen_current, im.gen_bitmap, hist, stale,
		       dirty, im.copy_id, copies, ll_image_is_blank(&im) ? "true" : "false");
		return 0;
	}
	printf("%s: lunlink image, format version %u\n"
	       "  volume            %s\n"
	       "  state             %s\n"
	       "  data              %" PRIu64 " bytes at offset %" PRIu64 " (can grow to %" PRIu64 ")\n"
	       "  region size       %u bytes (dirty map %" PRIu64 " bytes at %" PRIu64 ")\n"
	       "  activity log      %" PRIu64 " bytes at %" PRIu64 "\n"
	       "  generation        %016" PRIx64 "\n"
	       "  bitmap generation %016" PRIx64 "\n"
	       "  history           %s\n"
	       "  copy              %016" PRIx64 "\n"
	       "  copies            %s\n"
	       "  blank             %s\n"
	       "  dirty regions     %" PRId64 "\n"
	       "  stale regions     %s\n",
	       path, im.version, id, states[state].text, im.data_size, im.data_offset,
	       im.max_data_size, im.region_size, im.dirty_bytes, im.dirty_offset,
	       im.al_bytes, im.al_offset, im.gen_current, im.gen_bitmap, hist, im.copy_id,
	       im.ncopies ? copies : "(none recorded)",
	       ll_image_is_blank(&im) ? "yes (zeros, never written since create: a blank leg of "
	       "this volume joins a blank primary in sync, nothing copied)" : "no", dirty, stale);
	for (uint32_t k = 0; k < im.nstale; k++)
		printf("    regions %" PRIu64 "-%" PRIu64 " (bytes %" PRIu64 "-%" PRIu64 ")\n",
		       im.stale[k].start, im.stale[k].start + im.stale[k].count - 1,
		       im.stale[k].start * im.region_size,
		       (im.stale[k].start + im.stale[k].count) * im.region_size - 1);
	return 0;
}

int main(int argc, char **argv)
{
	struct ll_image im;
	int r;

	/* a write past ulimit -f fails with EFBIG, said as such, not by a signal */
	signal(SIGXFSZ, SIG_IGN);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("%s %s\n", prog, LUNLINK_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "create"))
		return cmd_create(argc - 1, argv + 1);
	if (!strcmp(argv[1], "show"))
		return cmd_show(argc - 1, argv + 1);
	if (!strcmp(argv[1], "forget-stale"))
		return cmd_forget_stale(argc - 1, argv + 1);
	if (!strcmp(argv[1], "forget-copy"))
		return cmd_forget_copy(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check")) {
		if (argc != 3)
			return die("check: name one FILE%s%s", "", "");
		r = load(argv[2], &im);
		return r == 1 ? 0 : r == 0 ? 1 : 2;
	}
	fprintf(stderr, "%s: unknown command '%s'\n", prog, argv[1]);
	usage(stderr);
	return 2;
}
