// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * replay.c: run a libFuzzer target over saved inputs without clang, so
 * `make check` replays the corpus.  Linked with one fuzz target:
 *
 *   t/fuzz/fuzz-bsopts-replay t/fuzz/corpus/bsopts [FILE|DIR]...
 *
 * Each file named, and each regular file in a directory named (in name
 * order), is fed to LLVMFuzzerTestOneInput in a child process, so a crash
 * or an abort is reported as "not ok N - FILE" and the rest still run.
 * Output is TAP; the exit status is nonzero if any input failed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned int count, failed;

static void result(int pass, const char *path, const char *why)
{
	count++;
	if (!pass)
		failed++;
	printf("%sok %u - %s\n", pass ? "" : "not ", count, path);
	if (why)
		printf("# %s: %s\n", path, why);
	fflush(stdout);
}

static int read_file(const char *path, uint8_t **data, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return -1;
	do {
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap = cap ? 2 * cap : 4096);

			if (!nb) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return -1;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	if (ferror(f)) {
		free(buf);
		fclose(f);
		errno = EIO;
		return -1;
	}
	fclose(f);
	*data = buf;
	*size = len;
	return 0;
}

static void replay_file(const char *path)
{
	uint8_t *data;
	size_t size;
	char why[128];
	pid_t pid;
	int status;

	if (read_file(path, &data, &size)) {
		snprintf(why, sizeof(why), "cannot read: %s", strerror(errno));
		result(0, path, why);
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		snprintf(why, sizeof(why), "fork: %s", strerror(errno));
		result(0, path, why);
	} else if (pid == 0) {
		LLVMFuzzerTestOneInput(data, size);
		_exit(0);
	} else if (waitpid(pid, &status, 0) < 0) {
		snprintf(why, sizeof(why), "waitpid: %s", strerror(errno));
		result(0, path, why);
	} else if (WIFSIGNALED(status)) {
		snprintf(why, sizeof(why), "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
		result(0, path, why);
	} else if (WEXITSTATUS(status)) {
		snprintf(why, sizeof(why), "exited %d", WEXITSTATUS(status));
		result(0, path, why);
	} else {
		result(1, path, NULL);
	}
	free(data);
}

static int regular_entry(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static void replay_dir(const char *dir)
{
	struct dirent **names;
	struct stat st;
	int n = scandir(dir, &names, regular_entry, alphasort);

	if (n < 0) {
		result(0, dir, strerror(errno));
		return;
	}
	for (int i = 0; i < n; i++) {
		size_t len = strlen(dir) + strlen(names[i]->d_name) + 2;
		char *path = malloc(len);

		if (path) {
			snprintf(path, len, "%s/%s", dir, names[i]->d_name);
			if (!stat(path, &st) && S_ISREG(st.st_mode))
				replay_file(path);
			free(path);
		}
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	struct stat st;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (!stat(argv[i], &st) && S_ISDIR(st.st_mode))
			replay_dir(argv[i]);
		else
			replay_file(argv[i]);
	}
	if (count)
		printf("1..%u\n", count);
	else
		printf("1..0 # SKIP no inputs\n");
	return failed ? 1 : 0;
}
