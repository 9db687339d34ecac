/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.h: lunlink's messages through tgtd's logger (see log.c). */
#ifndef LUNLINK_LOG_H
#define LUNLINK_LOG_H

void ll_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
