// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-policy-config.c: libFuzzer target for policy/config.c, the reader
 * of lunlink.conf's policy part: libconfig's parse, then this project's
 * own checks of every value (addresses and ports, sizes, paths, names,
 * the store URI, the iSCSI prefix).  `make fuzz` runs it under libFuzzer;
 * t/fuzz/replay.c replays t/fuzz/corpus/policy-config without clang
 * (t/t0107-fuzz-policy-config-corpus.sh).
 *
 * The input is a configuration text.  Invariants: the reader accepts, or
 * refuses with a message that names the file given; what it accepts is
 * within its bounds (ports 1..65535, counts within the arrays, strings
 * terminated, offline_after above heartbeat_interval); an address it
 * accepted prints back to a text it accepts again as the same; and the
 * address parser alone, over the raw input, does the same.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"

static void check_roundtrip(const struct pcf_hostport *hp)
{
	struct pcf_hostport again;
	char buf[PCF_HOST_MAX + 16];

	check(hp->port >= 1);
	check(memchr(hp->host, '\0', sizeof(hp->host)) != NULL);
	pcf_hostport_str(hp, buf, sizeof(buf));
	check(pcf_hostport_parse(buf, NULL, &again, NULL, 0) == 0);
	check(again.port == hp->port && !strcmp(again.host, hp->host));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pcf_config c;
	struct pcf_hostport hp;
	char *text, err[1024];

	if (size > 64 * 1024)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	pcf_defaults(&c);
	err[0] = '\0';
	if (pcf_load_string(&c, text, "fuzz.conf", err, sizeof(err))) {
		check(!strncmp(err, "fuzz.conf", 9));
	} else {
		check(c.nportals <= PCF_PORTALS_MAX && c.nareas <= PCF_AREAS_MAX);
		check(c.offline_after > c.heartbeat_interval);
		check(c.heartbeat_interval >= 1 && c.tgt_control_port <= 65535);
		check(!strncmp(c.store, "sqlite:/", 8));
		check(c.socket[0] == '/' && c.state_dir[0] == '/');
		check_roundtrip(&c.listen);
		check_roundtrip(&c.join_listen);
		for (size_t i = 0; i < c.nportals; i++)
			check_roundtrip(&c.portals[i]);
		for (size_t i = 0; i < c.nareas; i++)
			check(c.areas[i].path[0] == '/');
		if (c.manager_url[0]) {
			struct pu_list l;

			/* a list taken is at most PU_URLS_MAX managers, each https:// */
			check(!pu_split(c.manager_url, &l, NULL, 0) && l.n <= PU_URLS_MAX);
			for (size_t i = 0; i < l.n; i++)
				check(!strncmp(l.url[i], "https://", 8));
		}
	}
	if (!pcf_hostport_parse(text, "0.0.0.0", &hp, err, sizeof(err)))
		check_roundtrip(&hp);
	free(text);
	return 0;
}
