/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config_file.h: opening a libconfig file the one way lunlink's daemons
 * do: a missing file is fine when it may be missing, any other failure is
 * one line naming the file, the line and libconfig's reason.
 */
#ifndef LUNLINK_CONFIG_FILE_H
#define LUNLINK_CONFIG_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include <libconfig.h>

/*
 * Read path into cf (config_init'ed here).  0: read, cf holds it; 1: the
 * file does not exist and !must_exist, cf is empty; -1: why in err.  The
 * caller config_destroy()s cf in every case.
 */
int ll_config_read(config_t *cf, const char *path, bool must_exist, char *err, size_t errlen);

#endif
