// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * config_file.c: read a libconfig file, or say exactly why not
 * (config_file.h).  Shared by lunlink-rescand and lunlink-policyd.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "lunlink/config_file.h"
#include "lunlink/errmsg.h"

int ll_config_read(config_t *cf, const char *path, bool must_exist, char *err, size_t errlen)
{
	struct stat sb;

	config_init(cf);
	if (stat(path, &sb)) {
		if (errno == ENOENT && !must_exist)
			return 1;
		return ll_fail(err, errlen, "configuration file %s: %s", path, strerror(errno));
	}
	if (!config_read_file(cf, path))
		return ll_fail(err, errlen, "%s:%d: %s",
			       config_error_file(cf) ? config_error_file(cf) : path,
			       config_error_line(cf), config_error_text(cf));
	return 0;
}
