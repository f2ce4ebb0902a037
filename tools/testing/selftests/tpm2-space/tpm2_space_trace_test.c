// SPDX-License-Identifier: GPL-2.0-only
/*
 * The resource manager's trace events (include/trace/events/tpm.h) agree
 * with its counters in <debugfs>/tpm0/space_stats: a known workload runs
 * through two /dev/tpmrm0 files with the "tpm" events on, and then
 *  - every ContextLoad, ContextSave and FlushContext the counters saw has
 *    one tpm_space_context event, and no more;
 *  - every client command has one begin and one end event, and the TPM
 *    commands the end events say the RM sent for them add up to the
 *    context events sent during commands (all but those of a close);
 *  - a file's commands carry one space number, another file's another;
 *  - a command that names nothing costs 0 RM commands, a signature with
 *    a key and an HMAC session 4.
 *
 * Needs root, tracefs, a TPM 2.0 with /dev/tpm0 and /dev/tpmrm0, and no
 * other user of the TPM while it runs (the guest of tools/testing/
 * tpm2-qemu).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "../kselftest_harness.h"
#include "tpm2_util.h"

#define TRACEFS		"/sys/kernel/tracing"
#define MAX_EVENTS	256

enum ev_kind { EV_BEGIN, EV_END, EV_LOAD, EV_SAVE, EV_FLUSH, EV_OTHER };

struct event {
	enum ev_kind kind;
	unsigned long space;
	unsigned long cc;
	unsigned long rm_cmds;
	bool at_close;
};

struct trace {
	struct event ev[MAX_EVENTS];
	int nr;
	bool overflow;
};

static int tracefs_write(const char *file, const char *text)
{
	char path[128];
	int fd, ret = 0;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		ret = -errno;
	close(fd);
	return ret;
}

/* tracefs mounted at TRACEFS; false when this kernel has none */
static bool tracefs_ready(void)
{
	struct stat st;

	if (!stat(TRACEFS "/events", &st))
		return true;
	mount("nodev", TRACEFS, "tracefs", 0, NULL);
	return !stat(TRACEFS "/events", &st);
}

/* The value after @key in @line, or @none when the line has no @key */
static unsigned long field(const char *line, const char *key,
			   unsigned long none)
{
	const char *p = strstr(line, key);

	return p ? strtoul(p + strlen(key), NULL, 0) : none;
}

static void parse_line(struct trace *t, const char *line)
{
	struct event *e;
	const char *p = strstr(line, ": tpm_space_");

	if (!p)
		return;
	if (t->nr == MAX_EVENTS) {
		t->overflow = true;
		return;
	}
	e = &t->ev[t->nr++];
	memset(e, 0, sizeof(*e));
	p += strlen(": tpm_space_");
	if (!strncmp(p, "command_begin:", 14))
		e->kind = EV_BEGIN;
	else if (!strncmp(p, "command_end:", 12))
		e->kind = EV_END;
	else if (!strncmp(p, "context:", 8) && strstr(p, " load "))
		e->kind = EV_LOAD;
	else if (!strncmp(p, "context:", 8) && strstr(p, " save "))
		e->kind = EV_SAVE;
	else if (!strncmp(p, "context:", 8) && strstr(p, " flush "))
		e->kind = EV_FLUSH;
	else
		e->kind = EV_OTHER;
	e->space = field(p, "space=", 0);
	e->cc = field(p, "cc=", 0);
	e->rm_cmds = field(p, "rm_cmds=", 0);
	e->at_close = strstr(p, "why=close");
}

static int read_trace(struct trace *t)
{
	char line[512];
	FILE *f;

	memset(t, 0, sizeof(*t));
	f = fopen(TRACEFS "/trace", "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		parse_line(t, line);
	fclose(f);
	return 0;
}

static int count(const struct trace *t, enum ev_kind kind)
{
	int i, n = 0;

	for (i = 0; i < t->nr; i++)
		n += t->ev[i].kind == kind;
	return n;
}

/* The end event of the @nth command with code @cc, or NULL */
static const struct event *nth_end(const struct trace *t, unsigned long cc,
				   int nth)
{
	int i;

	for (i = 0; i < t->nr; i++)
		if (t->ev[i].kind == EV_END && t->ev[i].cc == cc && !nth--)
			return &t->ev[i];
	return NULL;
}

FIXTURE(trace) {
	struct tpm2t_rm_stats before, after;
	struct trace t;
};

FIXTURE_SETUP(trace)
{
	struct stat st;

	if (!tpm2t_devices_usable())
		SKIP(return, TPM2T_DEVICES_NEEDED);
	if (stat(TPM2T_RM_STATS_PATH, &st))
		SKIP(return, "no resource manager counters (not our RM)");
	ASSERT_TRUE(tracefs_ready())
		TH_LOG("no tracefs at %s", TRACEFS);
	ASSERT_EQ(0, stat(TRACEFS "/events/tpm", &st))
		TH_LOG("our RM, but no tpm trace events");
	ASSERT_EQ(0, tracefs_write("buffer_size_kb", "1024"));
	ASSERT_EQ(0, tracefs_write("trace", ""));
	ASSERT_EQ(0, tracefs_write("events/tpm/enable", "1"));
	ASSERT_EQ(0, tracefs_write("tracing_on", "1"));
	ASSERT_EQ(0, tpm2t_read_rm_stats(&self->before));
}

FIXTURE_TEARDOWN(trace)
{
	tracefs_write("events/tpm/enable", "0");
}

/* Two files: keys, a session, a signature, a flush, then close */
static void workload(struct __test_metadata *_metadata)
{
	struct tpm2t_session hmac;
	__u32 key[2];
	__u8 name[2][64], buf[8];
	__u16 name_len[2], got;
	int a, b, i;

	a = tpm2t_open(TPM2T_RM_DEV);
	b = tpm2t_open(TPM2T_RM_DEV);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	for (i = 0; i < 2; i++)
		ASSERT_TPM_OK(tpm2t_create_primary_ecc(a, TPM2_RH_OWNER,
						       &key[i], name[i],
						       &name_len[i]));
	ASSERT_TPM_OK(tpm2t_start_auth_session(a, TPM2_SE_HMAC, &hmac));
	ASSERT_TPM_OK(tpm2t_get_random(a, buf, sizeof(buf), &got));
	ASSERT_TPM_OK(tpm2t_sign_hmac(a, key[1], name[1], name_len[1], &hmac,
				      tpm2t_digest));
	ASSERT_TPM_OK(tpm2t_flush_context(a, key[0]));
	ASSERT_TPM_OK(tpm2t_get_random(b, buf, sizeof(buf), &got));
	close(a);
	close(b);
}

TEST_F(trace, events_agree_with_counters)
{
	const struct trace *t = &self->t;
	const struct event *e;
	long loads, saves, flushes, commands;
	unsigned long space_a, space_b, sum = 0, during = 0;
	int i;

	workload(_metadata);
	ASSERT_EQ(0, tpm2t_read_rm_stats(&self->after));
	ASSERT_EQ(0, tracefs_write("events/tpm/enable", "0"));
	ASSERT_EQ(0, read_trace(&self->t));
	ASSERT_FALSE(t->overflow);

	loads = self->after.context_load - self->before.context_load;
	saves = self->after.context_save - self->before.context_save;
	flushes = self->after.flush_context - self->before.flush_context;
	commands = self->after.user_commands - self->before.user_commands +
		   self->after.rm_answers - self->before.rm_answers;
	TH_LOG("%d events; counters: %ld commands, %ld load, %ld save, %ld flush",
	       t->nr, commands, loads, saves, flushes);

	ASSERT_EQ(loads, count(t, EV_LOAD));
	ASSERT_EQ(saves, count(t, EV_SAVE));
	ASSERT_EQ(flushes, count(t, EV_FLUSH));
	ASSERT_EQ(commands, count(t, EV_BEGIN));
	ASSERT_EQ(commands, count(t, EV_END));
	/* 2 CreatePrimary, StartAuthSession, 2 GetRandom, Sign, FlushContext */
	ASSERT_EQ(7, commands);

	for (i = 0; i < t->nr; i++) {
		e = &t->ev[i];
		if (e->kind == EV_END)
			sum += e->rm_cmds;
		else if (e->kind >= EV_LOAD && e->kind <= EV_FLUSH &&
			 !e->at_close)
			during++;
	}
	ASSERT_EQ(during, sum);

	/* GetRandom in a space holding 2 objects and a session: nothing */
	e = nth_end(t, TPM2_CC_GET_RANDOM, 0);
	ASSERT_NE(NULL, e);
	ASSERT_EQ(0, e->rm_cmds);
	space_a = e->space;
	/* load and flush of the key, load and save of the session */
	e = nth_end(t, TPM2_CC_SIGN, 0);
	ASSERT_NE(NULL, e);
	ASSERT_EQ(4, e->rm_cmds);
	ASSERT_EQ(space_a, e->space);
	e = nth_end(t, TPM2_CC_GET_RANDOM, 1);
	ASSERT_NE(NULL, e);
	space_b = e->space;
	ASSERT_NE(space_a, space_b);
	ASSERT_NE(0, space_a);
	ASSERT_NE(0, space_b);
}

TEST_HARNESS_MAIN
