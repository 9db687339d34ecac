// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * manager_none.c: manager.h for the static binary, which has no libcurl,
 * OpenSSL or json-c: a `manager` group or --join is refused with the cure.
 */
#include "manager.h"
#include "lunlink/errmsg.h"

#include <stdio.h>
#include <unistd.h>

#define NONE "this lunlink-rescand is the static build, without the manager connection: " \
	     "use the dynamically linked one (make initiator/lunlink-rescand)"

bool rd_mgr_built_in(void)
{
	return false;
}

int rd_mgr_check(const struct rd_config *cfg, char *err, size_t errlen)
{
	return ll_fail(err, errlen, "manager.url is set, but %s", NONE);
}

void rd_mgr_run(const struct rd_config *cfg, const struct rd_env *env, const char *version,
		int pipe_fd)
{
	_exit(1);
}

int rd_mgr_join(const struct rd_config *cfg, const char *token, char *err, size_t errlen)
{
	return ll_fail(err, errlen, "--join: %s", NONE);
}

void rd_mgr_host_name(const struct rd_config *cfg, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s", cfg->mgr.host_name);
}
