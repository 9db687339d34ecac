// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * background.h: the pid file.  Going to the background is liblunlink's
 * ll_daemonize (include/lunlink/daemon.h).
 */
#ifndef LUNLINK_RESCAND_BACKGROUND_H
#define LUNLINK_RESCAND_BACKGROUND_H

int rd_write_pidfile(const char *path);

#endif
