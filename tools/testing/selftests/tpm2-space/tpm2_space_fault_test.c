// SPDX-License-Identifier: GPL-2.0-only
/*
 * The resource manager behind /dev/tpmrmN at its limits and under faults
 * (see Documentation/security/tpm/tpm-space.rst): the per-space quotas of
 * objects and sessions, malformed authorization areas, a context that
 * TPM2_Clear made unloadable, and a chip that goes away (vtpm_proxy)
 * while a file of its resource manager is open.
 *
 * After every step /dev/tpm0 must show no transient object and no loaded
 * session: between commands the resource manager holds no TPM slot.
 *
 * With CONFIG_FAULT_INJECTION (the debug kernel of tools/testing/
 * tpm2-qemu), every allocation the resource manager makes for a command
 * fails in turn, through /proc/thread-self/fail-nth.
 *
 * Needs root, a TPM 2.0 with /dev/tpm0 and /dev/tpmrm0, debugfs, the tpm
 * module parameters in sysfs, /dev/vtpmx (CONFIG_TCG_VTPM_PROXY), and no
 * other user of the TPM while it runs (the QEMU + swtpm guest of
 * tools/testing/tpm2-qemu).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/vtpm_proxy.h>

#include "../kselftest_harness.h"
#include "tpm2_util.h"

/* The quota parameters a test may lower, restored by the teardown */
static const char * const quota_params[] = {
	"space_max_objects", "space_max_sessions",
};

#define NR_QUOTAS ARRAY_SIZE(quota_params)

FIXTURE(fault) {
	int fd[2];
	struct tpm2t_census before;
	long quota[NR_QUOTAS];
	bool quota_known[NR_QUOTAS];
};

FIXTURE_SETUP(fault)
{
	unsigned int i;

	for (i = 0; i < NR_QUOTAS; i++)
		self->quota_known[i] = !tpm2t_read_param(quota_params[i],
							 &self->quota[i]);
	if (!tpm2t_devices_usable())
		SKIP(return, TPM2T_DEVICES_NEEDED);
	ASSERT_TPM_OK(tpm2t_open_files(self->fd, 2));
	ASSERT_ZERO_SLOTS(&self->before);
}

FIXTURE_TEARDOWN(fault)
{
	unsigned int i;

	tpm2t_close_files(self->fd, 2);
	for (i = 0; i < NR_QUOTAS; i++)
		if (self->quota_known[i])
			tpm2t_write_param(quota_params[i], self->quota[i]);
}

/* The quota parameter @name, which must exist */
#define GET_QUOTA(name, value) do {					\
	const char *__name = (name);					\
	long *__value = (value);					\
	int __ret = tpm2t_read_param(__name, __value);			\
									\
	ASSERT_EQ(0, __ret)						\
		TH_LOG("%s/%s: %s: no quota", TPM2T_MODULE_PARAMS,	\
		       __name, strerror(-__ret));			\
	TH_LOG("%s = %ld", __name, *__value);				\
	ASSERT_LT(0, *__value);						\
} while (0)

#define SET_QUOTA(name, value) do {					\
	const char *__name = (name);					\
	long __value = (value);						\
	int __ret = tpm2t_write_param(__name, __value);			\
									\
	ASSERT_EQ(0, __ret)						\
		TH_LOG("%s/%s = %ld: %s", TPM2T_MODULE_PARAMS, __name,	\
		       __value, strerror(-__ret));			\
} while (0)

static bool is_object_memory(int res)
{
	return res == TPM2T_RM_RC(TPM2_RC_OBJECT_MEMORY);
}

static bool is_session_memory(int res)
{
	return res == TPM2T_RM_RC(TPM2_RC_SESSION_MEMORY);
}

/* The number of transient objects the space of @fd lists */
#define ASSERT_SPACE_OBJECTS(fd, expected) do {				\
	size_t __n;							\
									\
	ASSERT_TPM_OK(tpm2t_count_handles(fd, TPM2_HR_TRANSIENT, &__n)); \
	ASSERT_EQ(expected, __n);					\
} while (0)

#define MAX_QUOTA 256

/*
 * A space filled to space_max_objects: the next object, created or loaded,
 * gets OBJECT_MEMORY from the RM's layer, and every object of the space
 * still works. The space is filled by ContextLoad of one key's context.
 */
TEST_F_TIMEOUT(fault, quota_objects, 400)
{
	struct tpm2t_census c;
	struct tpm2t_context ctx;
	__u32 key[MAX_QUOTA], extra;
	long max, i;
	int fd = self->fd[0];
	int res;

	GET_QUOTA("space_max_objects", &max);
	ASSERT_GE(MAX_QUOTA, max);

	ASSERT_TPM_OK(tpm2t_create_key(fd, TPM2_RH_NULL, &key[0]));
	ASSERT_TPM_OK(tpm2t_context_save(fd, key[0], &ctx));
	ASSERT_ZERO_SLOTS(&c);
	for (i = 1; i < max; i++) {
		res = tpm2t_context_load(fd, &ctx, &key[i]);
		ASSERT_EQ(0, res)
			TH_LOG("object %ld of %ld: %s", i + 1, max,
			       tpm2t_strerror(res));
		ASSERT_NE(key[i - 1], key[i]);
		ASSERT_ZERO_SLOTS(&c);
	}
	ASSERT_SPACE_OBJECTS(fd, max);

	res = tpm2t_create_key(fd, TPM2_RH_NULL, &extra);
	ASSERT_TRUE(is_object_memory(res))
		TH_LOG("CreatePrimary past the quota: %s",
		       tpm2t_strerror(res));
	ASSERT_ZERO_SLOTS(&c);
	res = tpm2t_context_load(fd, &ctx, &extra);
	ASSERT_TRUE(is_object_memory(res))
		TH_LOG("ContextLoad past the quota: %s", tpm2t_strerror(res));
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_SPACE_OBJECTS(fd, max);

	/* nothing else in the space was touched */
	ASSERT_TPM_OK(tpm2t_sign(fd, key[0], tpm2t_digest));
	ASSERT_TPM_OK(tpm2t_sign(fd, key[max / 2], tpm2t_digest));
	ASSERT_TPM_OK(tpm2t_sign(fd, key[max - 1], tpm2t_digest));
	ASSERT_ZERO_SLOTS(&c);

	/* the quota is per space */
	ASSERT_TPM_OK(tpm2t_context_load(self->fd[1], &ctx, &extra));
	ASSERT_TPM_OK(tpm2t_sign(self->fd[1], extra, tpm2t_digest));

	/* a flush makes room again */
	ASSERT_TPM_OK(tpm2t_flush_context(fd, key[1]));
	ASSERT_TPM_OK(tpm2t_create_key(fd, TPM2_RH_NULL, &key[1]));
	ASSERT_TPM_OK(tpm2t_sign(fd, key[1], tpm2t_digest));
	ASSERT_NO_LEAK(&c, &self->before);
}

/*
 * A space filled to space_max_sessions, HMAC and policy sessions: the next
 * StartAuthSession gets SESSION_MEMORY from the RM's layer, and the
 * sessions of the space keep working.
 */
TEST_F_TIMEOUT(fault, quota_sessions, 300)
{
	__u8 d[TPM2_SHA256_SIZE], d2[TPM2_SHA256_SIZE];
	struct tpm2t_session s[MAX_QUOTA], extra;
	struct tpm2t_census c;
	long max, i;
	int fd = self->fd[0];
	int res;

	GET_QUOTA("space_max_sessions", &max);
	ASSERT_GE(MAX_QUOTA, max);
	/* the TPM must be able to keep them all: swtpm has 64 */
	ASSERT_GE(32, max);
	ASSERT_LE(4, max);

	for (i = 0; i < max; i++) {
		res = tpm2t_start_auth_session(fd, i % 2 ? TPM2_SE_POLICY :
					       TPM2_SE_HMAC, &s[i]);
		ASSERT_EQ(0, res)
			TH_LOG("session %ld of %ld: %s", i + 1, max,
			       tpm2t_strerror(res));
		ASSERT_ZERO_SLOTS(&c);
	}
	ASSERT_EQ(self->before.saved + max, c.saved);

	res = tpm2t_start_auth_session(fd, TPM2_SE_HMAC, &extra);
	ASSERT_TRUE(is_session_memory(res))
		TH_LOG("StartAuthSession past the quota: %s",
		       tpm2t_strerror(res));
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_EQ(self->before.saved + max, c.saved)
		TH_LOG("the refused session was left in the TPM");

	/* the sessions of the space still work */
	ASSERT_HMAC_WORKS(fd, &s[0]);
	ASSERT_HMAC_WORKS(fd, &s[max - 2]);
	ASSERT_TPM_OK(tpm2t_policy_pcr(fd, s[1].handle, TPM2_ALG_SHA256, 1));
	ASSERT_TPM_OK(tpm2t_policy_get_digest(fd, s[1].handle, d));
	ASSERT_TPM_OK(tpm2t_policy_pcr(fd, s[max - 1].handle,
				       TPM2_ALG_SHA256, 1));
	ASSERT_TPM_OK(tpm2t_policy_get_digest(fd, s[max - 1].handle, d2));
	ASSERT_EQ(0, memcmp(d, d2, sizeof(d)));
	ASSERT_ZERO_SLOTS(&c);

	/* the quota is per space */
	ASSERT_TPM_OK(tpm2t_start_auth_session(self->fd[1], TPM2_SE_HMAC,
					       &extra));
	ASSERT_HMAC_WORKS(self->fd[1], &extra);
	ASSERT_TPM_OK(tpm2t_flush_context(self->fd[1], extra.handle));

	/* a flush makes room again */
	ASSERT_TPM_OK(tpm2t_flush_context(fd, s[0].handle));
	ASSERT_TPM_OK(tpm2t_start_auth_session(fd, TPM2_SE_HMAC, &s[0]));
	ASSERT_HMAC_WORKS(fd, &s[0]);
	for (i = 0; i < max; i++)
		ASSERT_TPM_OK(tpm2t_flush_context(fd, s[i].handle));
	ASSERT_NO_LEAK(&c, &self->before);
}

/*
 * The quotas follow their module parameters; past them the RM answers
 * without the TPM: a space over its quota costs no TPM command.
 */
TEST_F(fault, quota_answered_by_rm)
{
	struct tpm2t_session s[2], extra;
	struct tpm2t_context ctx;
	__u32 key[2], h;
	struct tpm2t_census c;
	long v;
	int fd = self->fd[0];

	GET_QUOTA("space_max_objects", &v);
	GET_QUOTA("space_max_sessions", &v);
	SET_QUOTA("space_max_objects", 2);
	SET_QUOTA("space_max_sessions", 2);

	ASSERT_TPM_OK(tpm2t_create_key(fd, TPM2_RH_NULL, &key[0]));
	ASSERT_TPM_OK(tpm2t_context_save(fd, key[0], &ctx));
	ASSERT_TPM_OK(tpm2t_create_key(fd, TPM2_RH_OWNER, &key[1]));
	ASSERT_TPM_OK(tpm2t_start_auth_session(fd, TPM2_SE_HMAC, &s[0]));
	ASSERT_TPM_OK(tpm2t_start_auth_session(fd, TPM2_SE_POLICY, &s[1]));
	ASSERT_ZERO_SLOTS(&c);

	ASSERT_ANSWERED_BY_RM(tpm2t_start_auth_session(fd, TPM2_SE_HMAC,
						       &extra),
			      is_session_memory);
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_ANSWERED_BY_RM(tpm2t_context_load(fd, &ctx, &h),
			      is_object_memory);
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_ANSWERED_BY_RM(tpm2t_create_key(fd, TPM2_RH_NULL, &h),
			      is_object_memory);
	ASSERT_ZERO_SLOTS(&c);

	ASSERT_TPM_OK(tpm2t_sign(fd, key[0], tpm2t_digest));
	ASSERT_TPM_OK(tpm2t_sign(fd, key[1], tpm2t_digest));
	ASSERT_HMAC_WORKS(fd, &s[0]);
	ASSERT_TPM_OK(tpm2t_policy_pcr(fd, s[1].handle, TPM2_ALG_SHA256, 1));
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_EQ(self->before.saved + 2, c.saved);
}

/* ---- Malformed authorization areas ------------------------------------ */

enum malformed {
	AUTH_SIZE_PAST_END,	/* authorizationSize beyond the command */
	AUTH_SIZE_TOO_SMALL,	/* smaller than any session */
	AUTH_SIZE_CUTS_SESSION,	/* ends inside the session */
	FOUR_SESSIONS,		/* more than 3 sessions */
	NONCE_PAST_END,		/* a nonce size running past the area */
	HMAC_TRUNCATED,		/* an hmac shorter than its size says */
	NO_AUTH_AREA,		/* TPM_ST_SESSIONS without an area */
	NO_AUTH_AREA_NO_PARAMS,	/* the same, the command ends at the handle */
};

static const char * const malformed_name[] = {
	"authorizationSize past the end", "authorizationSize 5",
	"authorizationSize inside the session", "four sessions",
	"nonce past the end", "truncated hmac", "ST_SESSIONS, no area",
	"ST_SESSIONS, nothing after the handle",
};

/* Sign with @key and an authorization area broken as @how says */
static int sign_malformed(int fd, __u32 key, enum malformed how)
{
	const __u8 attrs = TPM2_SA_CONTINUE_SESSION;
	struct tpm2t_buf cmd, rsp;
	int i;

	tpm2t_cmd_init(&cmd, TPM2_ST_SESSIONS, TPM2_CC_SIGN);
	tpm2t_put_u32(&cmd, key);
	switch (how) {
	case AUTH_SIZE_PAST_END:
		tpm2t_put_u32(&cmd, 9 + TPM2T_SIGN_PARAMS_SIZE + 1);
		tpm2t_put_session(&cmd, TPM2_RS_PW, 0, attrs);
		break;
	case AUTH_SIZE_TOO_SMALL:
		tpm2t_put_u32(&cmd, 5);
		tpm2t_put_session(&cmd, TPM2_RS_PW, 0, attrs);
		break;
	case AUTH_SIZE_CUTS_SESSION:
		tpm2t_put_u32(&cmd, 20);
		tpm2t_put_session(&cmd, TPM2_RS_PW, TPM2_SHA256_SIZE, attrs);
		break;
	case FOUR_SESSIONS:
		tpm2t_put_u32(&cmd, 4 * 9);
		for (i = 0; i < 4; i++)
			tpm2t_put_session(&cmd, TPM2_RS_PW, 0, attrs);
		break;
	case NONCE_PAST_END:
		tpm2t_put_u32(&cmd, 9);
		tpm2t_put_session(&cmd, TPM2_RS_PW, 0xFFFF, 0);
		break;
	case HMAC_TRUNCATED:
		tpm2t_put_u32(&cmd, 4 + 2 + 1 + 2 + 10);
		tpm2t_put_u32(&cmd, TPM2_RS_PW);
		tpm2t_put_u16(&cmd, 0);
		tpm2t_put_u8(&cmd, 0);
		tpm2t_put_u16(&cmd, TPM2_SHA256_SIZE);
		tpm2t_put_bytes(&cmd, tpm2t_digest, 10);
		break;
	case NO_AUTH_AREA:
		break;
	case NO_AUTH_AREA_NO_PARAMS:
		return tpm2t_run(fd, &cmd, &rsp);
	}
	tpm2t_put_sign_params(&cmd, tpm2t_digest);
	return tpm2t_run(fd, &cmd, &rsp);
}

/*
 * Each malformed authorization area is refused by the RM and never sent
 * to the TPM; the key named in the command is not even loaded.
 */
TEST_F(fault, malformed_auth_area)
{
	struct tpm2t_census c;
	struct tpm2t_buf cmd, rsp;
	__u32 key;
	int fd = self->fd[0];
	int how;

	ASSERT_TPM_OK(tpm2t_create_key(fd, TPM2_RH_NULL, &key));
	/* the same command, well formed, works */
	ASSERT_TPM_OK(tpm2t_sign(fd, key, tpm2t_digest));
	ASSERT_ZERO_SLOTS(&c);

	for (how = 0; how <= NO_AUTH_AREA_NO_PARAMS; how++) {
		TH_LOG("%s", malformed_name[how]);
		ASSERT_ANSWERED_BY_RM(sign_malformed(fd, key, how),
				      tpm2t_rm_rejected);
		ASSERT_ZERO_SLOTS(&c);
		ASSERT_TPM_OK(tpm2t_sign(fd, key, tpm2t_digest));
	}

	/* a command without handles: GetRandom with ST_SESSIONS, no area */
	tpm2t_build_get_random(&cmd, TPM2_ST_SESSIONS, 8);
	ASSERT_ANSWERED_BY_RM(tpm2t_run(fd, &cmd, &rsp), tpm2t_rm_rejected);
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_TPM_OK(tpm2t_sign(fd, key, tpm2t_digest));
	ASSERT_EQ(self->before.saved, c.saved);
}

/* ---- A context that TPM2_Clear made unloadable ------------------------ */

/* TPM2_Clear through /dev/tpm0, with the (empty) lockout authorization */
static int clear_tpm(void)
{
	struct tpm2t_buf cmd, rsp;
	int fd, ret;

	fd = tpm2t_open_wait(TPM2T_TPM_DEV);
	if (fd < 0)
		return fd;
	tpm2t_cmd_init(&cmd, TPM2_ST_SESSIONS, TPM2_CC_CLEAR);
	tpm2t_put_u32(&cmd, TPM2_RH_LOCKOUT);
	tpm2t_put_pw_auth(&cmd);
	ret = tpm2t_run(fd, &cmd, &rsp);
	close(fd);
	return ret;
}

/*
 * TPM2_Clear changes the owner hierarchy's proof: the saved context of an
 * owner key no longer loads. Its handle, and only it, gets the RM's
 * REFERENCE_H0 on each use; a null-hierarchy key and a session of the
 * same space keep working, and the lost key can still be flushed.
 */
TEST_F(fault, context_lost_by_clear)
{
	const int lost = TPM2T_RM_LAYER | TPM2_RC_REFERENCE_H0;
	__u32 owner_key, null_key, fresh;
	struct tpm2t_session s;
	struct tpm2t_census c;
	int fd = self->fd[0];
	int res;

	ASSERT_TPM_OK(tpm2t_create_key(fd, TPM2_RH_OWNER, &owner_key));
	ASSERT_TPM_OK(tpm2t_create_key(fd, TPM2_RH_NULL, &null_key));
	ASSERT_TPM_OK(tpm2t_start_auth_session(fd, TPM2_SE_HMAC, &s));
	ASSERT_TPM_OK(tpm2t_sign(fd, owner_key, tpm2t_digest));
	ASSERT_TPM_OK(tpm2t_sign(fd, null_key, tpm2t_digest));
	ASSERT_HMAC_WORKS(fd, &s);
	ASSERT_ZERO_SLOTS(&c);

	ASSERT_TPM_OK(clear_tpm());
	ASSERT_ZERO_SLOTS(&c);

	res = tpm2t_sign(fd, owner_key, tpm2t_digest);
	ASSERT_EQ(lost, res)
		TH_LOG("owner key after Clear: %s", tpm2t_strerror(res));
	ASSERT_ZERO_SLOTS(&c);
	/* and again: the handle stays invalid, with the same error */
	res = tpm2t_sign(fd, owner_key, tpm2t_digest);
	ASSERT_EQ(lost, res)
		TH_LOG("owner key after Clear, again: %s",
		       tpm2t_strerror(res));

	/* the rest of the space is intact */
	ASSERT_TPM_OK(tpm2t_sign(fd, null_key, tpm2t_digest));
	ASSERT_HMAC_WORKS(fd, &s);
	ASSERT_SPACE_OBJECTS(fd, 2);
	ASSERT_ZERO_SLOTS(&c);

	/* the lost handle can be flushed, and is then unknown */
	ASSERT_TPM_OK(tpm2t_flush_context(fd, owner_key));
	ASSERT_SPACE_OBJECTS(fd, 1);
	res = tpm2t_sign(fd, owner_key, tpm2t_digest);
	ASSERT_EQ(-EINVAL, res)
		TH_LOG("flushed owner key: %s", tpm2t_strerror(res));

	/* the new owner hierarchy works through the space */
	ASSERT_TPM_OK(tpm2t_create_key(fd, TPM2_RH_OWNER, &fresh));
	ASSERT_TPM_OK(tpm2t_sign(fd, fresh, tpm2t_digest));
	ASSERT_TPM_OK(tpm2t_sign(fd, null_key, tpm2t_digest));
	ASSERT_TPM_OK(tpm2t_flush_context(fd, s.handle));
	ASSERT_NO_LEAK(&c, &self->before);
}

/* ---- A chip that goes away: vtpm_proxy ---------------------------------- */

/* The kernel log since @kmsg was opened has no oops, BUG or WARNING */
static bool kmsg_clean(struct __test_metadata *_metadata, int kmsg)
{
	static const char * const bad[] = {
		"BUG:", "WARNING:", "Oops", "KASAN", "UBSAN",
		"general protection", "refcount_t:", "list_del corruption",
	};
	char rec[2048];
	bool clean = true;
	unsigned int i;
	ssize_t n;

	for (;;) {
		n = read(kmsg, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* records were overwritten */
		if (n <= 0)
			break;
		rec[n] = '\0';
		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			if (!strstr(rec, bad[i]))
				continue;
			TH_LOG("kernel: %s", rec);
			clean = false;
		}
	}
	return clean;
}

/*
 * A vTPM whose proxy is closed while a file of its resource manager holds
 * an object, a session and a client-saved session: the file's later
 * write, read and close fail cleanly, with nothing in the kernel log.
 * (CVE-2022-49287 was a use after free on that close.)
 */
TEST_F_TIMEOUT(fault, vtpm_unplug, 120)
{
	struct tpm2t_session s, s2;
	struct tpm2t_context ctx;
	struct tpm2t_census c;
	struct tpm2t_buf cmd;
	struct tpm2t_vtpm v;
	int kmsg, rm, rm2, status, i, res;
	__u32 key, h;
	__u8 buf[8];
	__u16 got;
	ssize_t n;

	if (access(TPM2T_VTPMX_DEV, R_OK | W_OK))
		SKIP(return, "%s is needed (CONFIG_TCG_VTPM_PROXY)",
		     TPM2T_VTPMX_DEV);
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, kmsg);
	ASSERT_LE(0, lseek(kmsg, 0, SEEK_END));

	/* the vTPM's server holds /dev/tpm0 while it lives */
	res = tpm2t_vtpm_plug(&v);
	ASSERT_EQ(0, res)
		TH_LOG("vTPM: %s", strerror(-res));
	TH_LOG("vTPM %s", v.rm_path);
	rm = tpm2t_open(v.rm_path);
	ASSERT_LE(0, rm);
	rm2 = tpm2t_open(v.rm_path);
	ASSERT_LE(0, rm2);

	ASSERT_TPM_OK(tpm2t_create_key(rm, TPM2_RH_NULL, &key));
	ASSERT_TPM_OK(tpm2t_sign(rm, key, tpm2t_digest));
	ASSERT_TPM_OK(tpm2t_start_auth_session(rm, TPM2_SE_HMAC, &s));
	ASSERT_HMAC_WORKS(rm, &s);
	ASSERT_TPM_OK(tpm2t_start_auth_session(rm, TPM2_SE_POLICY, &s2));
	ASSERT_TPM_OK(tpm2t_context_save(rm, s2.handle, &ctx));
	ASSERT_TPM_OK(tpm2t_get_random(rm2, buf, sizeof(buf), &got));

	/* unplug: the server goes, then the last reference to the proxy */
	ASSERT_EQ(0, kill(v.server, SIGKILL));
	ASSERT_EQ(v.server, waitpid(v.server, &status, 0));
	close(v.proxy);
	ASSERT_TRUE(tpm2t_wait_path(v.rm_path, false))
		TH_LOG("%s is still there", v.rm_path);

	/* the open files fail cleanly, again and again */
	for (i = 0; i < 2; i++) {
		res = tpm2t_get_random(rm, buf, sizeof(buf), &got);
		TH_LOG("GetRandom on the unplugged vTPM: %s",
		       tpm2t_strerror(res));
		ASSERT_GT(0, res);
		res = tpm2t_sign(rm, key, tpm2t_digest);
		ASSERT_GT(0, res);
		n = read(rm, buf, sizeof(buf));
		ASSERT_GE(0, n);
	}
	tpm2t_build_get_random(&cmd, TPM2_ST_NO_SESSIONS, 8);
	n = write(rm2, cmd.data, cmd.len);
	ASSERT_GT(0, n);
	ASSERT_EQ(0, close(rm));
	ASSERT_EQ(0, close(rm2));
	ASSERT_EQ(-ENOENT, tpm2t_open(v.rm_path));
	ASSERT_TRUE(kmsg_clean(_metadata, kmsg));
	close(kmsg);

	/* the real TPM: nothing loaded; drop the sessions the vTPM left */
	ASSERT_ZERO_SLOTS(&c);
	if (c.saved > self->before.saved) {
		int fd = tpm2t_open_wait(TPM2T_TPM_DEV);

		ASSERT_LE(0, fd);
		for (i = 0; i < c.saved; i++) {
			h = c.saved_h[i];
			if (tpm2t_census_saved(&self->before, h))
				continue;
			/* swtpm lists them all as 0x02: try both types */
			if (tpm2t_flush_context(fd, h))
				tpm2t_flush_context(fd, (h & ~TPM2_HT_MASK) |
						    TPM2_HT_POLICY_SESSION);
		}
		close(fd);
		TH_LOG("%zu sessions of the vTPM flushed",
		       c.saved - self->before.saved);
	}

	/* /dev/tpmrm0 is unaffected */
	ASSERT_TPM_OK(tpm2t_get_random(self->fd[0], buf, sizeof(buf), &got));
	ASSERT_NO_LEAK(&c, &self->before);
}

/* What the resource manager answers when it has no memory for a command */
#define TPM2_RC_MEMORY		0x904

#define FAIL_NTH_PATH		"/proc/thread-self/fail-nth"

/*
 * Make the @nth fault site this thread passes fail (0: none). Without
 * FAILSLAB or FAIL_PAGE_ALLOC, the resource manager's allocations are
 * the only sites. 0, or -errno (-ENOENT: no CONFIG_FAULT_INJECTION).
 */
static int fail_nth_arm(unsigned int nth)
{
	char text[16];
	int fd, len, ret = 0;

	fd = open(FAIL_NTH_PATH, O_WRONLY);
	if (fd < 0)
		return -errno;
	len = snprintf(text, sizeof(text), "%u", nth);
	if (write(fd, text, len) != len)
		ret = -errno;
	close(fd);
	return ret;
}

/* The armed failure happened; reading the count also disarms it */
static bool fail_nth_hit(void)
{
	char text[16] = "";
	ssize_t len;
	int fd;

	fd = open(FAIL_NTH_PATH, O_RDONLY);
	if (fd < 0)
		return false;
	len = read(fd, text, sizeof(text) - 1);
	close(fd);
	fail_nth_arm(0);
	return len > 0 && text[0] == '0';
}

enum alloc_cmd { ALLOC_CREATE, ALLOC_START, ALLOC_USE, ALLOC_SIGN, NR_ALLOC_CMDS };

static const char * const alloc_cmd_name[NR_ALLOC_CMDS] = {
	"CreatePrimary", "StartAuthSession", "use a session", "Sign",
};

/*
 * One command of kind @c; what it created is flushed again when it
 * worked. Returns its result.
 */
static int alloc_cmd_run(int fd, enum alloc_cmd c, struct tpm2t_session *s,
			 __u32 key)
{
	struct tpm2t_session fresh;
	__u32 handle;
	int res;

	switch (c) {
	case ALLOC_CREATE:
		res = tpm2t_create_key(fd, TPM2_RH_OWNER, &handle);
		break;
	case ALLOC_START:
		res = tpm2t_start_auth_session(fd, TPM2_SE_HMAC, &fresh);
		handle = fresh.handle;
		break;
	case ALLOC_USE:
		return tpm2t_use_session(fd, s);
	default:
		return tpm2t_sign(fd, key, tpm2t_digest);
	}
	if (!res && tpm2t_flush_context(fd, handle))
		return -EUCLEAN;
	return res;
}

#define MAX_ALLOCS_PER_CMD 32

/*
 * Each allocation the resource manager makes for a command fails in turn,
 * for each kind of command. The client gets -ENOMEM or the RM's
 * TPM_RC_MEMORY, or its command works; either way its key and its HMAC
 * session work on (the response HMAC checks out: no nonce was lost), the
 * TPM holds no slot and no extra session, and the next command works.
 * Leaks show in the kmemleak scan at the end of the debug kernel's boot.
 */
TEST_F_TIMEOUT(fault, failing_allocations, 600)
{
	const int no_memory = TPM2T_RM_RC(TPM2_RC_MEMORY);
	int fd = self->fd[0], canary_fd = self->fd[1];
	struct tpm2t_session s, canary_s;
	unsigned int nth, failed = 0;
	__u32 key, canary_key;
	struct tpm2t_census c;
	enum alloc_cmd cmd;
	bool hit;
	int res;

	res = fail_nth_arm(0);
	if (res)
		SKIP(return, "%s: %s (needs CONFIG_FAULT_INJECTION)",
		     FAIL_NTH_PATH, strerror(-res));
	ASSERT_TPM_OK(tpm2t_create_key(canary_fd, TPM2_RH_OWNER, &canary_key));
	ASSERT_TPM_OK(tpm2t_start_auth_session(canary_fd, TPM2_SE_HMAC,
					       &canary_s));
	ASSERT_TPM_OK(tpm2t_create_key(fd, TPM2_RH_OWNER, &key));
	ASSERT_TPM_OK(tpm2t_start_auth_session(fd, TPM2_SE_HMAC, &s));

	for (cmd = 0; cmd < NR_ALLOC_CMDS; cmd++) {
		for (nth = 1; nth <= MAX_ALLOCS_PER_CMD; nth++) {
			ASSERT_EQ(0, fail_nth_arm(nth));
			res = alloc_cmd_run(fd, cmd, &s, key);
			hit = fail_nth_hit();
			if (hit && res) {
				failed++;
				TH_LOG("%s, allocation %u failed: %s",
				       alloc_cmd_name[cmd], nth,
				       tpm2t_strerror(res));
			}
			if (res)
				ASSERT_TRUE(res == -ENOMEM || res == no_memory)
					TH_LOG("%s, allocation %u: %s",
					       alloc_cmd_name[cmd], nth,
					       tpm2t_strerror(res));
			ASSERT_TRUE(hit || !res)
				TH_LOG("%s failed with no allocation failing",
				       alloc_cmd_name[cmd]);

			ASSERT_HMAC_WORKS(fd, &s);
			ASSERT_TPM_OK(tpm2t_sign(fd, key, tpm2t_digest));
			ASSERT_ZERO_SLOTS(&c);
			/* this file's session and the canary's, no other */
			ASSERT_EQ(self->before.saved + 2, c.saved)
				TH_LOG("%s, allocation %u: sessions left in the TPM",
				       alloc_cmd_name[cmd], nth);
			if (!hit)
				break;
		}
		ASSERT_GE(MAX_ALLOCS_PER_CMD, nth)
			TH_LOG("%s makes more than %d allocations?",
			       alloc_cmd_name[cmd], MAX_ALLOCS_PER_CMD);
	}
	TH_LOG("%u failed allocations, each answered and survived", failed);

	/* The canary, in a file of its own, saw nothing of it */
	ASSERT_HMAC_WORKS(canary_fd, &canary_s);
	ASSERT_TPM_OK(tpm2t_sign(canary_fd, canary_key, tpm2t_digest));
	ASSERT_TPM_OK(tpm2t_flush_context(fd, key));
	ASSERT_TPM_OK(tpm2t_flush_context(fd, s.handle));
	ASSERT_TPM_OK(tpm2t_flush_context(canary_fd, canary_key));
	ASSERT_TPM_OK(tpm2t_flush_context(canary_fd, canary_s.handle));
	ASSERT_NO_LEAK(&c, &self->before);
}

TEST_HARNESS_MAIN
