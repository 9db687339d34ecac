// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * main.c: the command line of lunlink-rescand and lunlink-rescan, one
 * binary.  Called as lunlink-rescan (a link), or as `lunlink-rescand
 * rescan ...`, it rescans once and prints what changed; otherwise it is
 * the daemon.  One binary keeps the two from drifting apart and is one
 * file to copy into an initramfs.
 *
 * Settings: built-in defaults, then the configuration file, then the
 * command line.
 */
#include "config.h"
#include "daemon.h"
#include "discover.h"
#include "log.h"
#include "luns.h"
#include "manager.h"
#include "reconcile.h"
#include "report.h"
#include "sysfs.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* the build sets it from the file VERSION */
#ifndef LUNLINK_VERSION
#error "LUNLINK_VERSION must be set (the build takes it from the file VERSION)"
#endif

/* exit statuses of lunlink-rescan */
enum { EXIT_OK = 0, EXIT_ERRORS = 1, EXIT_USAGE = 2, EXIT_KEPT = 3 };

enum {
	OPT_SYSFS = 256, OPT_DEV, OPT_MOUNTINFO, OPT_ISCSIADM, OPT_LOG, OPT_PIDFILE,
	OPT_DEBOUNCE, OPT_HOLD, OPT_PERIODIC, OPT_UEVENT_SOCKET, OPT_TEST_KERNEL, OPT_TEST_LUNS,
	OPT_JSON, OPT_DISCOVER, OPT_NO_SCAN, OPT_NO_REMOVE, OPT_JOIN,
};

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "foreground", no_argument, NULL, 'f' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "sysfs", required_argument, NULL, OPT_SYSFS },
	{ "dev", required_argument, NULL, OPT_DEV },
	{ "mountinfo", required_argument, NULL, OPT_MOUNTINFO },
	{ "iscsiadm", required_argument, NULL, OPT_ISCSIADM },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "pidfile", required_argument, NULL, OPT_PIDFILE },
	{ "hold", required_argument, NULL, OPT_HOLD },
	{ "debounce", required_argument, NULL, OPT_DEBOUNCE },
	{ "periodic", required_argument, NULL, OPT_PERIODIC },
	{ "uevent-socket", required_argument, NULL, OPT_UEVENT_SOCKET },
	{ "test-kernel", required_argument, NULL, OPT_TEST_KERNEL },
	{ "test-report-luns", required_argument, NULL, OPT_TEST_LUNS },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "discover", required_argument, NULL, OPT_DISCOVER },
	{ "no-scan", no_argument, NULL, OPT_NO_SCAN },
	{ "no-remove", no_argument, NULL, OPT_NO_REMOVE },
	{ "join", required_argument, NULL, OPT_JOIN },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f, bool oneshot)
{
	if (oneshot)
		fputs("usage: lunlink-rescan [OPTION]... [TARGET|PORTAL]...\n"
		      "Rescan iSCSI sessions (all, or those of TARGET or PORTAL), remove the\n"
		      "devices whose LUN is gone or reused, and print what changed.\n\n"
		      "  --discover PORTAL     SendTargets discovery at PORTAL first, and log in\n"
		      "                        to the targets not logged in yet\n"
		      "  --json                one JSON object on stdout instead of text\n"
		      "  -n, --dry-run         write nothing to sysfs; say what would be done\n"
		      "  --no-scan             do not scan for new LUNs, only reconcile\n"
		      "  --no-remove           remove nothing\n", f);
	else
		fputs("usage: lunlink-rescand [OPTION]...\n"
		      "Watch the kernel's SCSI unit attentions and rescan iSCSI sessions:\n"
		      "new LUNs, capacity changes, stale and reused LUNs.\n\n"
		      "  -f, --foreground      stay in the foreground (systemd Type=simple)\n"
		      "  --pidfile FILE        write the daemon's pid to FILE\n"
		      "  --hold MS             after a scan starts, gather later events this long\n"
		      "                        into one follow-up (2000)\n"
		      "  --periodic SECONDS    also ask each target for its LUNs this often (0: off)\n"
		      "  --join TOKEN          first start with a manager: join the cluster as this\n"
		      "                        host (a token from lunlinkctl token create --role host)\n"
		      "  --uevent-socket PATH  tests: read uevents from a Unix datagram socket\n"
		      "  lunlink-rescand rescan [OPTION]... is lunlink-rescan.\n", f);
	fputs("\n"
	      "  -c, --config FILE     configuration file (" RD_CONFIG_FILE ")\n"
	      "  --sysfs DIR           sysfs root (/sys)\n"
	      "  --dev DIR             device nodes (/dev)\n"
	      "  --mountinfo FILE      mount table (/proc/self/mountinfo)\n"
	      "  --iscsiadm PATH       open-iscsi's iscsiadm (iscsiadm)\n"
	      "  --log stderr|syslog   where the log goes\n"
	      "  -v, --verbose         log debug messages\n"
	      "  --test-kernel CMD     tests: run CMD PATH VALUE after each sysfs write\n"
	      "  --test-report-luns DIR  tests: the target's LUNs from DIR/hostN\n"
	      "  -h, --help, -V, --version\n"
	      "See lunlink-rescand(8).\n", f);
}

static int parse_uint(const char *opt, const char *s, unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max) {
		fprintf(stderr, "lunlink-rescand: %s %s: not a whole number from 0 to %u\n", opt, s, max);
		return -1;
	}
	*out = (unsigned int)v;
	return 0;
}

static int copy_path(const char *opt, const char *s, char *dst)
{
	if (strlen(s) >= PATH_MAX) {
		fprintf(stderr, "lunlink-rescand: %s: path too long\n", opt);
		return -1;
	}
	strcpy(dst, s);
	return 0;
}

/* Does session s answer to sel: its target name, "addr:port", or addr? */
static bool selects(const char *sel, const struct rd_session *s)
{
	size_t n = strlen(sel);

	if (!strcmp(sel, s->target) || !strcmp(sel, s->portal))
		return true;
	/* an address alone, or a bracketed v6 address, matches any port */
	return s->portal[0] && !strncmp(s->portal, sel, n) && s->portal[n] == ':' && n;
}

static int rescan_once(const struct rd_config *cfg, struct rd_env *env, bool json,
		       const char *discover, char **sel, int nsel)
{
	struct rd_session *before = NULL, *all = NULL, *chosen = NULL;
	size_t nbefore = 0, nall = 0, nchosen = 0, nlogins = 0, nerrors = 0;
	struct rd_login *logins = NULL;
	struct rd_changes ch = { 0 };
	struct rd_devtab empty = { 0 };
	char err[768], errs[4][768];
	const char *errors[4];
	struct rd_report r = { 0 };
	int rc = EXIT_OK;

	if (discover) {
		if (rd_sessions_list(env, &before, &nbefore, err, sizeof(err))) {
			fprintf(stderr, "lunlink-rescan: %s\n", err);
			return EXIT_ERRORS;
		}
		if (rd_discover_login(cfg->iscsiadm, cfg->iscsiadm_timeout_s, discover, before,
				      nbefore, &logins, &nlogins, err, sizeof(err))) {
			snprintf(errs[nerrors], sizeof(errs[0]), "%s", err);
			nerrors++;
			rc = EXIT_ERRORS;
		}
		for (size_t i = 0; i < nlogins; i++)
			if (logins[i].result == RD_LOGIN_FAILED)
				rc = EXIT_ERRORS;
	}
	if (rd_sessions_list(env, &all, &nall, err, sizeof(err))) {
		fprintf(stderr, "lunlink-rescan: %s\n", err);
		rc = EXIT_ERRORS;
		goto out;
	}
	chosen = calloc(nall ? nall : 1, sizeof(*chosen));
	if (!chosen) {
		fprintf(stderr, "lunlink-rescan: out of memory\n");
		rc = EXIT_ERRORS;
		goto out;
	}
	for (size_t i = 0; i < nall; i++) {
		bool take = !nsel;

		for (int j = 0; j < nsel && !take; j++)
			take = selects(sel[j], &all[i]);
		if (take)
			chosen[nchosen++] = all[i];
	}
	for (int j = 0; j < nsel && nerrors < 4; j++) {
		bool any = false;

		for (size_t i = 0; i < nall && !any; i++)
			any = selects(sel[j], &all[i]);
		if (!any) {
			snprintf(errs[nerrors++], sizeof(errs[0]),
				 "no iSCSI session is logged in to '%.200s' (a target name, "
				 "ADDRESS:PORT or ADDRESS)", sel[j]);
			rc = EXIT_ERRORS;
		}
	}
	for (size_t i = 0; i < nchosen; i++) {
		bool is_new = discover != NULL;

		/* a session this run logged in to: all its devices are new */
		for (size_t j = 0; j < nbefore && is_new; j++)
			is_new = before[j].sid != chosen[i].sid;
		rd_rescan_session(env, &chosen[i], is_new ? &empty : NULL, &ch);
	}
	if (ch.errors)
		rc = EXIT_ERRORS;
	else if (ch.kept && rc == EXIT_OK)
		rc = EXIT_KEPT;
	for (size_t i = 0; i < nerrors; i++)
		errors[i] = errs[i];
	r.sessions = chosen;
	r.nsessions = nchosen;
	r.logins = logins;
	r.nlogins = nlogins;
	r.changes = &ch;
	r.errors = errors;
	r.nerrors = nerrors;
	if (json)
		rd_report_json(stdout, &r);
	else
		rd_report_text(stdout, &r);
	if (fflush(stdout)) {
		fprintf(stderr, "lunlink-rescan: writing the report: %s\n", strerror(errno));
		rc = EXIT_ERRORS;
	}
out:
	rd_changes_free(&ch);
	free(chosen);
	free(all);
	free(before);
	free(logins);
	return rc;
}

int main(int argc, char **argv)
{
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	bool oneshot = !strcmp(prog, "lunlink-rescan");
	const char *config = NULL, *discover = NULL, *log_opt = NULL, *join = NULL;
	const char *test_kernel = NULL, *test_luns = NULL;
	struct rd_daemon_opts dopts = { 0 };
	bool verbose = false, dry_run = false, json = false, no_scan = false, no_remove = false;
	struct rd_config cfg, cli;
	unsigned int hold = 0, periodic = 0;
	bool set_hold = false, set_periodic = false;
	char err[768];
	struct rd_env env;
	enum rd_log_sink sink;
	int opt;

	if (!oneshot && argc > 1 && !strcmp(argv[1], "rescan")) {
		oneshot = true;
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	rd_config_defaults(&cfg);
	memset(&cli, 0, sizeof(cli));
	while ((opt = getopt_long(argc, argv, "c:fvnhV", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'f':
			dopts.foreground = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'n':
			dry_run = true;
			break;
		case 'h':
			usage(stdout, oneshot);
			return EXIT_OK;
		case 'V':
			printf("%s %s\n", prog, LUNLINK_VERSION);
			return EXIT_OK;
		case OPT_SYSFS:
			if (copy_path("--sysfs", optarg, cli.sysfs))
				return EXIT_USAGE;
			break;
		case OPT_DEV:
			if (copy_path("--dev", optarg, cli.dev))
				return EXIT_USAGE;
			break;
		case OPT_MOUNTINFO:
			if (copy_path("--mountinfo", optarg, cli.mountinfo))
				return EXIT_USAGE;
			break;
		case OPT_ISCSIADM:
			if (copy_path("--iscsiadm", optarg, cli.iscsiadm))
				return EXIT_USAGE;
			break;
		case OPT_PIDFILE:
			if (copy_path("--pidfile", optarg, cli.pidfile))
				return EXIT_USAGE;
			break;
		case OPT_LOG:
			if (strcmp(optarg, "stderr") && strcmp(optarg, "syslog")) {
				fprintf(stderr, "%s: --log %s: use stderr or syslog\n", prog, optarg);
				return EXIT_USAGE;
			}
			log_opt = optarg;
			break;
		case OPT_HOLD:
			if (parse_uint("--hold", optarg, 600000, &hold))
				return EXIT_USAGE;
			set_hold = true;
			break;
		case OPT_DEBOUNCE:
			/* not an alias: it delayed the first scan, which now runs at once */
			fprintf(stderr, "%s: --debounce is gone: the first event of a burst is acted "
				"on at once; use --hold MS for how long later events are gathered\n",
				prog);
			return EXIT_USAGE;
		case OPT_PERIODIC:
			if (parse_uint("--periodic", optarg, 86400, &periodic))
				return EXIT_USAGE;
			set_periodic = true;
			break;
		case OPT_UEVENT_SOCKET:
			dopts.uevent_socket = optarg;
			break;
		case OPT_TEST_KERNEL:
			test_kernel = optarg;
			break;
		case OPT_TEST_LUNS:
			test_luns = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_DISCOVER:
			discover = optarg;
			break;
		case OPT_NO_SCAN:
			no_scan = true;
			break;
		case OPT_NO_REMOVE:
			no_remove = true;
			break;
		case OPT_JOIN:
			join = optarg;
			break;
		default:
			usage(stderr, oneshot);
			return EXIT_USAGE;
		}
	}
	if (!oneshot && optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s' (did you mean lunlink-rescan?)\n", prog,
			argv[optind]);
		return EXIT_USAGE;
	}
	if (oneshot && (dopts.foreground || dopts.uevent_socket || cli.pidfile[0] || join)) {
		fprintf(stderr, "%s: -f, --pidfile, --join and --uevent-socket are for the daemon\n",
			prog);
		return EXIT_USAGE;
	}
	if (!oneshot && (json || discover || dry_run)) {
		fprintf(stderr, "%s: --json, --discover and --dry-run are for lunlink-rescan\n", prog);
		return EXIT_USAGE;
	}

	if (rd_config_load(&cfg, config ? config : RD_CONFIG_FILE, config != NULL, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return EXIT_USAGE;
	}
	if (cli.sysfs[0])
		strcpy(cfg.sysfs, cli.sysfs);
	if (cli.dev[0])
		strcpy(cfg.dev, cli.dev);
	if (cli.mountinfo[0])
		strcpy(cfg.mountinfo, cli.mountinfo);
	if (cli.iscsiadm[0])
		strcpy(cfg.iscsiadm, cli.iscsiadm);
	if (cli.pidfile[0])
		strcpy(cfg.pidfile, cli.pidfile);
	if (set_hold) {
		cfg.hold_ms = hold;
		if (cfg.hold_max_ms < hold)
			cfg.hold_max_ms = hold;
	}
	if (set_periodic)
		cfg.periodic_s = periodic;
	if (log_opt)
		cfg.log = strcmp(log_opt, "syslog") ? RD_LOGTO_STDERR : RD_LOGTO_SYSLOG;
	if (verbose)
		cfg.log_level = LOG_DEBUG;
	else if (oneshot && cfg.log_level > LOG_WARNING)
		cfg.log_level = LOG_WARNING;	/* the report says the rest */

	{
		struct stat st;

		errno = 0;
		if (stat(cfg.sysfs, &st) || !S_ISDIR(st.st_mode)) {
			fprintf(stderr, "%s: the sysfs root %s (%s) is not a folder: %s\n", prog,
				cfg.sysfs, cli.sysfs[0] ? "--sysfs" : "setting sysfs",
				errno ? strerror(errno) : "not a directory");
			return EXIT_USAGE;
		}
	}
	sink = cfg.log == RD_LOGTO_SYSLOG ||
	       (cfg.log == RD_LOGTO_AUTO && !oneshot && !dopts.foreground) ?
	       RD_LOG_SYSLOG : RD_LOG_STDERR;
	rd_log_open(oneshot ? "lunlink-rescan" : "lunlink-rescand", sink, cfg.log_level);

	rd_env_default(&env);
	strcpy(env.sysfs, cfg.sysfs);
	strcpy(env.dev, cfg.dev);
	strcpy(env.mountinfo, cfg.mountinfo);
	env.dry_run = dry_run;
	env.host_scan = cfg.host_scan && !no_scan;
	env.rescan_existing = cfg.rescan_existing && !no_scan;
	env.remove_stale = cfg.remove_stale && !no_remove;
	env.remove_wwid_changed = cfg.remove_wwid_changed && !no_remove;
	if (test_luns) {
		env.report_luns = rd_report_luns_fake;
		env.fake_luns_dir = test_luns;
	}
	if (test_kernel) {
		env.kernel_hook = rd_kernel_hook_cmd;
		env.test_kernel_cmd = test_kernel;
	}

	if (oneshot)
		return rescan_once(&cfg, &env, json, discover, argv + optind, argc - optind);
	if (join && rd_mgr_join(&cfg, join, err, sizeof(err))) {
		rd_err("%s", err);
		return EXIT_ERRORS;
	}
	dopts.version = LUNLINK_VERSION;
	return rd_daemon_run(&cfg, &env, &dopts);
}
