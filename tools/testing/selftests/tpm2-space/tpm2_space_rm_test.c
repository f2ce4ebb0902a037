// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the resource manager behind /dev/tpmrm0 must do beyond upstream
 * Linux 6.12 (see Documentation/security/tpm/tpm-space.rst): spaces of any
 * size, sessions in the handle and the authorization area, isolation of
 * sessions and objects between files, GetCapability filtering, flush on
 * close, the hand-off of client-saved sessions between files of one user,
 * object contexts passed between files, and the cost in TPM commands that
 * the counters in <debugfs>/tpm0/space_stats show.
 *
 * After every step /dev/tpm0 must show no transient object and no loaded
 * session: between commands the resource manager holds no TPM slot.
 *
 * Needs root, a TPM 2.0 with /dev/tpm0 and /dev/tpmrm0, debugfs, and no
 * other user of the TPM while it runs (the QEMU + swtpm guest of
 * tools/testing/tpm2-qemu).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "tpm2_util.h"

#define NR_FILES	3
#define NR_KEYS		20

/* Users with no other business with the TPM */
#define OTHER_UID	4242
#define ABANDON_UID	4243
/* space_max_abandoned's default */
#define MAX_ABANDONED	8

/* A signing key and its Name */
struct key {
	__u32 handle;
	__u8 name[2 + TPM2_SHA256_SIZE];
	__u16 name_len;
};

/* A policy session after PolicyPCR(sha256, PCR0): its digest is known */
static void policy_session(struct __test_metadata *_metadata, int fd,
			   struct tpm2t_session *s, __u8 d[TPM2_SHA256_SIZE])
{
	ASSERT_TPM_OK(tpm2t_start_auth_session(fd, TPM2_SE_POLICY, s));
	ASSERT_EQ(TPM2_HT_POLICY_SESSION, s->handle & TPM2_HT_MASK);
	ASSERT_TPM_OK(tpm2t_policy_pcr(fd, s->handle, TPM2_ALG_SHA256, 1));
	ASSERT_TPM_OK(tpm2t_policy_get_digest(fd, s->handle, d));
}

/* The policy session still has the digest @d */
#define ASSERT_POLICY(fd, handle, d) do {				\
	__u8 __now[TPM2_SHA256_SIZE];					\
	__u32 __h = (handle);						\
									\
	ASSERT_TPM_OK(tpm2t_policy_get_digest(fd, __h, __now));		\
	ASSERT_EQ(0, memcmp(__now, d, sizeof(__now)))			\
		TH_LOG("policy session 0x%08x lost its state", __h);	\
} while (0)

/*
 * The space of @fd lists exactly the @nr handles @expect[] in the range
 * that starts at @first; sessions are compared by their low 24 bits.
 */
static void assert_lists(struct __test_metadata *_metadata, int fd,
			 __u32 first, const __u32 *expect, size_t nr)
{
	bool low24 = first != TPM2_HR_TRANSIENT;
	__u32 list[NR_KEYS + 1];
	size_t n, i;

	ASSERT_TPM_OK(tpm2t_get_handles(fd, first, list, ARRAY_SIZE(list),
					&n));
	ASSERT_EQ(nr, n)
		TH_LOG("0x%08x: %zu handles listed, %zu expected", first, n,
		       nr);
	for (i = 0; i < nr; i++)
		ASSERT_TRUE(tpm2t_handle_listed(list, n, expect[i], low24))
			TH_LOG("0x%08x is not listed", expect[i]);
}

/*
 * Run @fn(@arg) in a child as user @uid; returns its exit status, or -1
 * if it did not exit. The child cannot use the harness: it reports
 * through memory shared with the parent.
 */
static int run_as(uid_t uid, int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		if (setgid(uid) || setuid(uid))
			_exit(100);
		_exit(fn(arg));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

FIXTURE(rm) {
	int fd[NR_FILES];
	struct tpm2t_census before, now;
	mode_t rm_mode, tpm_mode;
};

FIXTURE_SETUP(rm)
{
	struct stat st;

	self->rm_mode = 0;
	if (!tpm2t_devices_usable())
		SKIP(return, TPM2T_DEVICES_NEEDED);
	ASSERT_TPM_OK(tpm2t_open_files(self->fd, NR_FILES));
	ASSERT_ZERO_SLOTS(&self->before);
	ASSERT_EQ(0, stat(TPM2T_RM_DEV, &st));
	self->rm_mode = st.st_mode & 07777;
	ASSERT_EQ(0, stat(TPM2T_TPM_DEV, &st));
	self->tpm_mode = st.st_mode & 07777;
}

FIXTURE_TEARDOWN(rm)
{
	tpm2t_close_files(self->fd, NR_FILES);
	if (self->rm_mode) {
		chmod(TPM2T_RM_DEV, self->rm_mode);
		chmod(TPM2T_TPM_DEV, self->tpm_mode);
	}
}

/* 20 keys in one file, each used to sign, each listed once */
TEST_F_TIMEOUT(rm, twenty_keys, 300)
{
	int fd = self->fd[0];
	__u32 key[NR_KEYS];
	int i, res;

	for (i = 0; i < NR_KEYS; i++) {
		res = tpm2t_create_key(fd, i % 2 ? TPM2_RH_NULL : TPM2_RH_OWNER,
				       &key[i]);
		ASSERT_EQ(0, res)
			TH_LOG("key %d: %s", i, tpm2t_strerror(res));
		ASSERT_EQ(TPM2_HT_TRANSIENT, key[i] & TPM2_HT_MASK);
		/* a handle of its own */
		ASSERT_FALSE(tpm2t_handle_listed(key, i, key[i], false));
		ASSERT_ZERO_SLOTS(&self->now);
	}
	for (i = 0; i < NR_KEYS; i++) {
		res = tpm2t_sign(fd, key[i], tpm2t_digest);
		ASSERT_EQ(0, res)
			TH_LOG("sign with key %d (0x%08x): %s", i, key[i],
			       tpm2t_strerror(res));
		ASSERT_ZERO_SLOTS(&self->now);
	}
	/* in reverse: nothing depends on the order of use */
	for (i = NR_KEYS - 1; i >= 0; i--)
		ASSERT_TPM_OK(tpm2t_sign(fd, key[i], tpm2t_digest));
	ASSERT_ZERO_SLOTS(&self->now);

	assert_lists(_metadata, fd, TPM2_HR_TRANSIENT, key, NR_KEYS);

	for (i = 0; i < NR_KEYS; i++)
		ASSERT_TPM_OK(tpm2t_flush_context(fd, key[i]));
	assert_lists(_metadata, fd, TPM2_HR_TRANSIENT, NULL, 0);
	ASSERT_ZERO_SLOTS(&self->now);
}

#define NR_SESSIONS 8

/*
 * 8 sessions in one file, each used: HMAC sessions in the authorization
 * area (audited GetRandom), policy sessions in the handle area (PolicyPCR)
 */
TEST_F_TIMEOUT(rm, eight_sessions, 300)
{
	__u8 zero[TPM2_SHA256_SIZE] = { 0 };
	struct tpm2t_session s[NR_SESSIONS];
	__u8 d[TPM2_SHA256_SIZE];
	int fd = self->fd[0];
	struct tpm2t_census c;
	int i, j, res;

	for (i = 0; i < NR_SESSIONS; i++) {
		res = tpm2t_start_auth_session(fd, i % 2 ? TPM2_SE_POLICY :
					       TPM2_SE_HMAC, &s[i]);
		ASSERT_EQ(0, res)
			TH_LOG("session %d: %s", i, tpm2t_strerror(res));
		for (j = 0; j < i; j++)
			ASSERT_NE(s[j].handle, s[i].handle);
		ASSERT_ZERO_SLOTS(&self->now);
	}
	for (j = 0; j < 2; j++) {
		for (i = 0; i < NR_SESSIONS; i++) {
			if (s[i].type == TPM2_SE_HMAC) {
				ASSERT_HMAC_WORKS(fd, &s[i]);
			} else {
				ASSERT_TPM_OK(tpm2t_policy_pcr(fd, s[i].handle,
							       TPM2_ALG_SHA256,
							       1));
			}
			ASSERT_ZERO_SLOTS(&self->now);
		}
	}
	/* every policy session extended its own digest, twice alike */
	ASSERT_TPM_OK(tpm2t_policy_get_digest(fd, s[1].handle, d));
	ASSERT_NE(0, memcmp(d, zero, sizeof(d)));
	for (i = 3; i < NR_SESSIONS; i += 2)
		ASSERT_POLICY(fd, s[i].handle, d);

	for (i = 0; i < NR_SESSIONS; i++)
		ASSERT_TPM_OK(tpm2t_flush_context(fd, s[i].handle));
	ASSERT_ZERO_SLOTS(&c);
	for (i = 0; i < NR_SESSIONS; i++)
		ASSERT_FALSE(tpm2t_census_saved(&c, s[i].handle));
	ASSERT_EQ(self->before.saved, c.saved);
}

/*
 * Sessions in both places, with objects: a policy session and a key named
 * in the handle area (PolicySecret), an HMAC session authorizing a key in
 * the authorization area (Sign), and an audit session (GetRandom).
 */
TEST_F(rm, sessions_in_handle_and_auth_area)
{
	struct tpm2t_session hmac, audit, policy;
	__u8 d0[TPM2_SHA256_SIZE], d1[TPM2_SHA256_SIZE];
	int fd = self->fd[0];
	struct key k;
	int i;

	ASSERT_TPM_OK(tpm2t_create_primary_ecc(fd, TPM2_RH_OWNER, &k.handle,
					       k.name, &k.name_len));
	ASSERT_EQ(2 + TPM2_SHA256_SIZE, k.name_len);
	ASSERT_TPM_OK(tpm2t_start_auth_session(fd, TPM2_SE_HMAC, &hmac));
	ASSERT_TPM_OK(tpm2t_start_auth_session(fd, TPM2_SE_HMAC, &audit));
	policy_session(_metadata, fd, &policy, d0);
	ASSERT_ZERO_SLOTS(&self->now);

	for (i = 0; i < 3; i++) {
		ASSERT_TPM_OK(tpm2t_sign_hmac(fd, k.handle, k.name, k.name_len,
					      &hmac, tpm2t_digest));
		ASSERT_ZERO_SLOTS(&self->now);
		ASSERT_HMAC_WORKS(fd, &audit);
		ASSERT_ZERO_SLOTS(&self->now);
	}

	/* PolicySecret extends the policy digest: the session was used */
	ASSERT_TPM_OK(tpm2t_policy_secret(fd, k.handle, policy.handle));
	ASSERT_ZERO_SLOTS(&self->now);
	ASSERT_TPM_OK(tpm2t_policy_get_digest(fd, policy.handle, d1));
	ASSERT_NE(0, memcmp(d0, d1, sizeof(d0)));

	ASSERT_TPM_OK(tpm2t_flush_context(fd, hmac.handle));
	ASSERT_TPM_OK(tpm2t_flush_context(fd, audit.handle));
	ASSERT_TPM_OK(tpm2t_flush_context(fd, policy.handle));
	ASSERT_TPM_OK(tpm2t_flush_context(fd, k.handle));
	ASSERT_ZERO_SLOTS(&self->now);
}

/*
 * Isolation: another file's sessions and objects are refused in the handle
 * area, the authorization area, FlushContext and ContextSave, and its
 * client-saved session context cannot be loaded; the victim keeps working.
 */
TEST_F(rm, isolation_attacks)
{
	int a = self->fd[0], b = self->fd[1];
	struct tpm2t_session hmac, policy, spare, stolen;
	__u8 d[TPM2_SHA256_SIZE], ds[TPM2_SHA256_SIZE];
	struct tpm2t_context ctx, ctx2;
	__u32 a1, a2, a3, b1, h;
	__u8 buf[8];
	__u16 got;
	int res;

	ASSERT_TPM_OK(tpm2t_create_key(a, TPM2_RH_OWNER, &a1));
	ASSERT_TPM_OK(tpm2t_create_key(a, TPM2_RH_NULL, &a2));
	ASSERT_TPM_OK(tpm2t_create_key(a, TPM2_RH_OWNER, &a3));
	ASSERT_TPM_OK(tpm2t_start_auth_session(a, TPM2_SE_HMAC, &hmac));
	policy_session(_metadata, a, &policy, d);
	policy_session(_metadata, a, &spare, ds);
	ASSERT_TPM_OK(tpm2t_create_key(b, TPM2_RH_OWNER, &b1));
	ASSERT_ZERO_SLOTS(&self->now);

	/* use A's HMAC session in B's authorization area */
	stolen = hmac;
	ASSERT_ANSWERED_BY_RM(tpm2t_get_random_hmac(b, &stolen, buf,
						    sizeof(buf), &got),
			      tpm2t_rm_refused);
	ASSERT_ZERO_SLOTS(&self->now);
	ASSERT_HMAC_WORKS(a, &hmac);

	/* use A's policy session in B's handle area */
	ASSERT_ANSWERED_BY_RM(tpm2t_policy_pcr(b, policy.handle,
					       TPM2_ALG_SHA256, 1),
			      tpm2t_rm_refused);
	ASSERT_ANSWERED_BY_RM(tpm2t_policy_secret(b, b1, policy.handle),
			      tpm2t_rm_refused);
	ASSERT_ZERO_SLOTS(&self->now);
	ASSERT_POLICY(a, policy.handle, d);

	/* flush A's sessions from B */
	ASSERT_ANSWERED_BY_RM(tpm2t_flush_context(b, hmac.handle),
			      tpm2t_rm_refused);
	ASSERT_ANSWERED_BY_RM(tpm2t_flush_context(b, policy.handle),
			      tpm2t_rm_refused);
	ASSERT_ZERO_SLOTS(&self->now);
	ASSERT_HMAC_WORKS(a, &hmac);
	ASSERT_POLICY(a, policy.handle, d);

	/* ContextSave A's session from B */
	ASSERT_ANSWERED_BY_RM(tpm2t_context_save(b, policy.handle, &ctx),
			      tpm2t_rm_refused);
	ASSERT_ANSWERED_BY_RM(tpm2t_context_save(b, hmac.handle, &ctx),
			      tpm2t_rm_refused);
	ASSERT_ZERO_SLOTS(&self->now);
	ASSERT_POLICY(a, policy.handle, d);
	ASSERT_HMAC_WORKS(a, &hmac);

	/* A's virtual handles B does not have: EINVAL, as Linux always did */
	ASSERT_NE(b1, a3);
	res = tpm2t_sign(b, a3, tpm2t_digest);
	ASSERT_EQ(-EINVAL, res)
		TH_LOG("sign with A's 0x%08x from B: %s", a3,
		       tpm2t_strerror(res));
	res = tpm2t_flush_context(b, a3);
	ASSERT_EQ(-EINVAL, res)
		TH_LOG("flush A's 0x%08x from B: %s", a3, tpm2t_strerror(res));
	res = tpm2t_context_save(b, a3, &ctx);
	ASSERT_EQ(-EINVAL, res)
		TH_LOG("save A's 0x%08x from B: %s", a3, tpm2t_strerror(res));
	ASSERT_ZERO_SLOTS(&self->now);
	ASSERT_TPM_OK(tpm2t_sign(a, a3, tpm2t_digest));
	ASSERT_TPM_OK(tpm2t_sign(a, a1, tpm2t_digest));
	ASSERT_TPM_OK(tpm2t_sign(b, b1, tpm2t_digest));

	/* load A's client-saved session context in B while A is open */
	ASSERT_TPM_OK(tpm2t_context_save(a, spare.handle, &ctx));
	ASSERT_ZERO_SLOTS(&self->now);
	ctx2 = ctx;
	ASSERT_ANSWERED_BY_RM(tpm2t_context_load(b, &ctx2, &h),
			      tpm2t_rm_refused);
	ASSERT_ZERO_SLOTS(&self->now);
	/* nor use or flush it while A's client holds it */
	ASSERT_ANSWERED_BY_RM(tpm2t_policy_pcr(b, spare.handle,
					       TPM2_ALG_SHA256, 1),
			      tpm2t_rm_refused);
	ASSERT_ANSWERED_BY_RM(tpm2t_flush_context(b, spare.handle),
			      tpm2t_rm_refused);
	ASSERT_TPM_OK(tpm2t_context_load(a, &ctx, &h));
	ASSERT_EQ(spare.handle, h);
	ASSERT_POLICY(a, spare.handle, ds);
	ASSERT_ZERO_SLOTS(&self->now);

	ASSERT_TPM_OK(tpm2t_flush_context(a, hmac.handle));
	ASSERT_TPM_OK(tpm2t_flush_context(a, policy.handle));
	ASSERT_TPM_OK(tpm2t_flush_context(a, spare.handle));
	ASSERT_TPM_OK(tpm2t_sign(a, a2, tpm2t_digest));
	ASSERT_ZERO_SLOTS(&self->now);
}

/* GetCapability(TPM_CAP_HANDLES) shows a space only its own handles */
TEST_F(rm, get_capability_filtering)
{
	int a = self->fd[0], b = self->fd[1];
	struct tpm2t_session as1, as2, as3, bs1, bs2;
	__u32 a1, a2, b1, list[16];
	__u8 d[TPM2_SHA256_SIZE], more;
	struct tpm2t_context ctx;
	__u32 n32;

	ASSERT_TPM_OK(tpm2t_create_key(a, TPM2_RH_OWNER, &a1));
	ASSERT_TPM_OK(tpm2t_create_key(a, TPM2_RH_NULL, &a2));
	ASSERT_TPM_OK(tpm2t_start_auth_session(a, TPM2_SE_HMAC, &as1));
	policy_session(_metadata, a, &as2, d);
	policy_session(_metadata, a, &as3, d);
	ASSERT_TPM_OK(tpm2t_context_save(a, as3.handle, &ctx));
	ASSERT_TPM_OK(tpm2t_create_key(b, TPM2_RH_OWNER, &b1));
	ASSERT_TPM_OK(tpm2t_start_auth_session(b, TPM2_SE_HMAC, &bs1));
	policy_session(_metadata, b, &bs2, d);
	ASSERT_ZERO_SLOTS(&self->now);

	/* objects: A sees its two, B its one */
	assert_lists(_metadata, a, TPM2_HR_TRANSIENT, (__u32[]){ a1, a2 }, 2);
	assert_lists(_metadata, b, TPM2_HR_TRANSIENT, &b1, 1);

	/* count and moreData are honoured */
	ASSERT_TPM_OK(tpm2t_get_handles_page(a, TPM2_HR_TRANSIENT, 1, list,
					     &n32, &more));
	ASSERT_EQ(1, n32);
	ASSERT_EQ(1, more);
	ASSERT_EQ(a1 < a2 ? a1 : a2, list[0]);
	ASSERT_TPM_OK(tpm2t_get_handles_page(a, list[0] + 1, 1, list, &n32,
					     &more));
	ASSERT_EQ(1, n32);
	ASSERT_EQ(0, more);
	ASSERT_EQ(a1 < a2 ? a2 : a1, list[0]);

	/* sessions the RM holds for A: as1 and as2, none of B's */
	assert_lists(_metadata, a, TPM2_HR_LOADED_SESSION,
		     (__u32[]){ as1.handle, as2.handle }, 2);
	/* A's client-saved session: as3 only */
	assert_lists(_metadata, a, TPM2_HR_SAVED_SESSION, &as3.handle, 1);

	/* B: its two sessions, held by the RM */
	assert_lists(_metadata, b, TPM2_HR_LOADED_SESSION,
		     (__u32[]){ bs1.handle, bs2.handle }, 2);
	assert_lists(_metadata, b, TPM2_HR_SAVED_SESSION, NULL, 0);

	/* an empty space sees nothing at all */
	assert_lists(_metadata, self->fd[2], TPM2_HR_TRANSIENT, NULL, 0);
	assert_lists(_metadata, self->fd[2], TPM2_HR_LOADED_SESSION, NULL, 0);
	assert_lists(_metadata, self->fd[2], TPM2_HR_SAVED_SESSION, NULL, 0);
	ASSERT_ZERO_SLOTS(&self->now);

	ASSERT_TPM_OK(tpm2t_context_load(a, &ctx, &n32));
	ASSERT_EQ(as3.handle, n32);
	ASSERT_TPM_OK(tpm2t_flush_context(a, as3.handle));
	ASSERT_ZERO_SLOTS(&self->now);
}

/*
 * Closing a file flushes its objects and every session the RM holds for
 * it; another open file is not disturbed.
 */
TEST_F(rm, flush_on_close)
{
	int a = self->fd[0], b = self->fd[1];
	struct tpm2t_session as[4], bs;
	__u8 d[TPM2_SHA256_SIZE];
	__u32 key[5], bk, h;
	struct tpm2t_census c;
	int i;

	for (i = 0; i < 5; i++)
		ASSERT_TPM_OK(tpm2t_create_key(a, TPM2_RH_OWNER, &key[i]));
	for (i = 0; i < 4; i += 2) {
		ASSERT_TPM_OK(tpm2t_start_auth_session(a, TPM2_SE_HMAC,
						       &as[i]));
		ASSERT_HMAC_WORKS(a, &as[i]);
		policy_session(_metadata, a, &as[i + 1], d);
	}
	ASSERT_TPM_OK(tpm2t_create_key(b, TPM2_RH_OWNER, &bk));
	ASSERT_TPM_OK(tpm2t_start_auth_session(b, TPM2_SE_HMAC, &bs));
	ASSERT_ZERO_SLOTS(&c);
	for (i = 0; i < 4; i++)
		ASSERT_TRUE(tpm2t_census_saved(&c, as[i].handle));

	close(a);
	self->fd[0] = -1;
	ASSERT_ZERO_SLOTS(&c);
	for (i = 0; i < 4; i++) {
		h = as[i].handle;
		ASSERT_FALSE(tpm2t_census_saved(&c, h))
			TH_LOG("session 0x%08x survived the close", h);
	}
	ASSERT_EQ(self->before.saved + 1, c.saved);

	/* B is intact */
	ASSERT_HMAC_WORKS(b, &bs);
	ASSERT_TPM_OK(tpm2t_sign(b, bk, tpm2t_digest));
	ASSERT_ZERO_SLOTS(&self->now);

	close(b);
	self->fd[1] = -1;
	ASSERT_TPM_OK(tpm2t_census(-1, &c));
	ASSERT_FALSE(tpm2t_census_saved(&c, bs.handle));
	ASSERT_EQ(self->before.saved, c.saved);
	ASSERT_ZERO_SLOTS(&self->now);
}

/* Objects pass between files by ContextSave and ContextLoad */
TEST_F(rm, objects_between_files)
{
	int a = self->fd[0], b = self->fd[1], c = self->fd[2];
	struct tpm2t_context ctx;
	__u32 ka, kb, kc, kb2;
	size_t n;

	ASSERT_TPM_OK(tpm2t_create_key(a, TPM2_RH_NULL, &ka));
	ASSERT_TPM_OK(tpm2t_context_save(a, ka, &ctx));
	ASSERT_ZERO_SLOTS(&self->now);

	ASSERT_TPM_OK(tpm2t_context_load(b, &ctx, &kb));
	ASSERT_EQ(TPM2_HT_TRANSIENT, kb & TPM2_HT_MASK);
	ASSERT_ZERO_SLOTS(&self->now);
	ASSERT_TPM_OK(tpm2t_sign(b, kb, tpm2t_digest));
	ASSERT_TPM_OK(tpm2t_sign(a, ka, tpm2t_digest));
	ASSERT_ZERO_SLOTS(&self->now);

	/* the owner goes away; the copies live on */
	close(a);
	self->fd[0] = -1;
	ASSERT_TPM_OK(tpm2t_sign(b, kb, tpm2t_digest));
	ASSERT_ZERO_SLOTS(&self->now);

	/* an object context loads again and again */
	ASSERT_TPM_OK(tpm2t_context_load(c, &ctx, &kc));
	ASSERT_TPM_OK(tpm2t_context_load(b, &ctx, &kb2));
	ASSERT_NE(kb, kb2);
	ASSERT_TPM_OK(tpm2t_count_handles(b, TPM2_HR_TRANSIENT, &n));
	ASSERT_EQ(2, n);
	ASSERT_TPM_OK(tpm2t_sign(c, kc, tpm2t_digest));
	ASSERT_TPM_OK(tpm2t_sign(b, kb2, tpm2t_digest));
	ASSERT_ZERO_SLOTS(&self->now);

	/* flushing one copy leaves the others */
	ASSERT_TPM_OK(tpm2t_flush_context(b, kb));
	ASSERT_TPM_OK(tpm2t_sign(b, kb2, tpm2t_digest));
	ASSERT_TPM_OK(tpm2t_sign(c, kc, tpm2t_digest));
	ASSERT_ZERO_SLOTS(&self->now);
}

/* Hand-off to another file of the same user */
TEST_F(rm, handoff_same_user)
{
	struct tpm2t_session s;
	__u8 d[TPM2_SHA256_SIZE], d2[TPM2_SHA256_SIZE];
	struct tpm2t_context ctx;
	struct tpm2t_census c;
	__u32 h;

	policy_session(_metadata, self->fd[0], &s, d);
	ASSERT_TPM_OK(tpm2t_context_save(self->fd[0], s.handle, &ctx));
	tpm2t_close_files(&self->fd[0], 1);
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_TRUE(tpm2t_census_saved(&c, s.handle))
		TH_LOG("the client-saved session was flushed on close");

	ASSERT_TPM_OK(tpm2t_context_load(self->fd[1], &ctx, &h));
	ASSERT_EQ(s.handle, h);
	ASSERT_ZERO_SLOTS(&self->now);
	ASSERT_POLICY(self->fd[1], h, d);
	ASSERT_TPM_OK(tpm2t_policy_pcr(self->fd[1], h, TPM2_ALG_SHA256, 1));
	ASSERT_TPM_OK(tpm2t_policy_get_digest(self->fd[1], h, d2));
	ASSERT_NE(0, memcmp(d, d2, sizeof(d)));
	ASSERT_ZERO_SLOTS(&self->now);

	/* the claimed session is the new file's: the next file is refused */
	ASSERT_TPM_OK(tpm2t_context_save(self->fd[1], h, &ctx));
	ASSERT_ANSWERED_BY_RM(tpm2t_context_load(self->fd[2], &ctx, &h),
			      tpm2t_rm_refused);
	ASSERT_TPM_OK(tpm2t_context_load(self->fd[1], &ctx, &h));
	ASSERT_TPM_OK(tpm2t_flush_context(self->fd[1], h));
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_FALSE(tpm2t_census_saved(&c, s.handle));
	ASSERT_EQ(self->before.saved, c.saved);
}

struct load_as_other {
	struct tpm2t_context ctx;
	int open_res;
	int load_res;
};

static int load_as_other(void *arg)
{
	struct load_as_other *p = arg;
	__u32 h;
	int fd;

	fd = tpm2t_open(TPM2T_RM_DEV);
	p->open_res = fd < 0 ? fd : 0;
	if (fd < 0)
		return 1;
	p->load_res = tpm2t_context_load(fd, &p->ctx, &h);
	close(fd);
	return 0;
}

/* An abandoned session is refused to a file of another user */
TEST_F(rm, handoff_other_user_refused)
{
	struct load_as_other *p = tpm2t_shared_alloc(sizeof(*p));
	__u8 d[TPM2_SHA256_SIZE];
	struct tpm2t_session s;
	struct tpm2t_census c;
	__u32 h;

	ASSERT_NE(NULL, p);
	policy_session(_metadata, self->fd[0], &s, d);
	ASSERT_TPM_OK(tpm2t_context_save(self->fd[0], s.handle, &p->ctx));
	tpm2t_close_files(&self->fd[0], 1);
	ASSERT_ZERO_SLOTS(&self->now);

	ASSERT_EQ(0, chmod(TPM2T_RM_DEV, 0666));
	ASSERT_EQ(0, chmod(TPM2T_TPM_DEV, 0666));
	p->load_res = -1;
	ASSERT_EQ(0, run_as(OTHER_UID, load_as_other, p));
	ASSERT_EQ(0, p->open_res)
		TH_LOG("open as uid %d: %s", OTHER_UID,
		       strerror(-p->open_res));
	ASSERT_TRUE(tpm2t_rm_refused(p->load_res))
		TH_LOG("ContextLoad as uid %d: %s", OTHER_UID,
		       tpm2t_strerror(p->load_res));
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_TRUE(tpm2t_census_saved(&c, s.handle));

	/* the owner still claims it, intact */
	ASSERT_TPM_OK(tpm2t_context_load(self->fd[1], &p->ctx, &h));
	ASSERT_EQ(s.handle, h);
	ASSERT_POLICY(self->fd[1], h, d);
	ASSERT_TPM_OK(tpm2t_flush_context(self->fd[1], h));
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_FALSE(tpm2t_census_saved(&c, s.handle));
	munmap(p, sizeof(*p));
}

#define NR_ABANDON (MAX_ABANDONED + 1)

struct abandon {
	struct tpm2t_context ctx[NR_ABANDON];
	__u32 handle[NR_ABANDON];
	int res[NR_ABANDON];
	__u32 loaded[NR_ABANDON];
};

/* One file per session: start it, save it, close the file */
static int abandon_sessions(void *arg)
{
	struct abandon *p = arg;
	struct tpm2t_session s;
	int i, fd;

	for (i = 0; i < NR_ABANDON; i++) {
		fd = tpm2t_open(TPM2T_RM_DEV);
		if (fd < 0)
			return 10 + i;
		if (tpm2t_start_auth_session(fd, TPM2_SE_HMAC, &s))
			return 30 + i;
		p->handle[i] = s.handle;
		if (tpm2t_context_save(fd, s.handle, &p->ctx[i]))
			return 50 + i;
		close(fd);
		/* the abandoned list is ordered by the close */
		usleep(1000);
	}
	return 0;
}

/* Claim every abandoned session in one file, and flush it */
static int claim_sessions(void *arg)
{
	struct abandon *p = arg;
	int i, fd;

	fd = tpm2t_open(TPM2T_RM_DEV);
	if (fd < 0)
		return 1;
	for (i = 0; i < NR_ABANDON; i++) {
		p->res[i] = tpm2t_context_load(fd, &p->ctx[i], &p->loaded[i]);
		if (!p->res[i])
			tpm2t_flush_context(fd, p->loaded[i]);
	}
	close(fd);
	return 0;
}

/* A user keeps at most 8 abandoned sessions; the oldest goes first */
TEST_F(rm, abandoned_sessions_bounded)
{
	struct abandon *p = tpm2t_shared_alloc(sizeof(*p));
	struct tpm2t_census c;
	__u32 h;
	int i;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, chmod(TPM2T_RM_DEV, 0666));
	ASSERT_EQ(0, run_as(ABANDON_UID, abandon_sessions, p));
	ASSERT_ZERO_SLOTS(&c);
	TH_LOG("saved sessions before: %zu, after %d abandoned: %zu",
	       self->before.saved, NR_ABANDON, c.saved);
	ASSERT_EQ(self->before.saved + MAX_ABANDONED, c.saved);
	ASSERT_FALSE(tpm2t_census_saved(&c, p->handle[0]))
		TH_LOG("the oldest abandoned session 0x%08x is still there",
		       p->handle[0]);
	for (i = 1; i < NR_ABANDON; i++) {
		h = p->handle[i];
		ASSERT_TRUE(tpm2t_census_saved(&c, h))
			TH_LOG("abandoned session %d (0x%08x) is gone", i, h);
	}

	/* the 8 are claimable by their user; the oldest is gone */
	ASSERT_EQ(0, run_as(ABANDON_UID, claim_sessions, p));
	ASSERT_NE(0, p->res[0]);
	for (i = 1; i < NR_ABANDON; i++) {
		ASSERT_EQ(0, p->res[i])
			TH_LOG("claim of session %d: %s", i,
			       tpm2t_strerror(p->res[i]));
		ASSERT_EQ(p->handle[i], p->loaded[i]);
	}
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_EQ(self->before.saved, c.saved);
	munmap(p, sizeof(*p));
}

/* Run @expr, which must succeed, between the counters @a and @b */
#define MEASURE(a, b, expr) do {					\
	struct tpm2t_rm_stats *__a = &(a), *__b = &(b);			\
									\
	ASSERT_EQ(0, tpm2t_read_rm_stats(__a));				\
	ASSERT_TPM_OK(expr);						\
	ASSERT_EQ(0, tpm2t_read_rm_stats(__b));				\
	TH_LOG("%s: %ld user commands, %ld load, %ld save, %ld flush",	\
	       #expr, __b->user_commands - __a->user_commands,		\
	       __b->context_load - __a->context_load,			\
	       __b->context_save - __a->context_save,			\
	       __b->flush_context - __a->flush_context);		\
} while (0)

/*
 * The cost of a command in TPM commands the RM issues itself: nothing for
 * one that names nothing, however much the space holds; load and flush of
 * an object (whose saved context stays valid), load and save of a session.
 */
TEST_F(rm, counters)
{
	struct tpm2t_rm_stats s0, s1;
	struct tpm2t_session hmac, p1, p2;
	__u8 d[TPM2_SHA256_SIZE], d2[TPM2_SHA256_SIZE], buf[8];
	int fd = self->fd[0], res;
	struct key k[3];
	__u16 got;
	int i;

	res = tpm2t_read_rm_stats(&s0);
	ASSERT_EQ(0, res)
		TH_LOG("%s: %s", TPM2T_RM_STATS_PATH, strerror(-res));

	for (i = 0; i < 3; i++)
		ASSERT_TPM_OK(tpm2t_create_primary_ecc(fd, TPM2_RH_OWNER,
						       &k[i].handle, k[i].name,
						       &k[i].name_len));
	ASSERT_TPM_OK(tpm2t_start_auth_session(fd, TPM2_SE_HMAC, &hmac));
	policy_session(_metadata, fd, &p1, d);
	policy_session(_metadata, fd, &p2, d);
	ASSERT_ZERO_SLOTS(&self->now);

	/* GetRandom from a space holding 3 objects and 3 sessions */
	MEASURE(s0, s1, tpm2t_get_random(fd, buf, sizeof(buf), &got));
	ASSERT_EQ(1, s1.user_commands - s0.user_commands);
	ASSERT_EQ(0, tpm2t_rm_stats_issued(&s0, &s1));
	ASSERT_ZERO_SLOTS(&self->now);

	/* Sign: one object in the handle area, its HMAC session */
	MEASURE(s0, s1, tpm2t_sign_hmac(fd, k[1].handle, k[1].name,
					k[1].name_len, &hmac, tpm2t_digest));
	ASSERT_EQ(1, s1.user_commands - s0.user_commands);
	ASSERT_EQ(2, s1.context_load - s0.context_load);
	ASSERT_EQ(1, s1.context_save - s0.context_save);
	ASSERT_EQ(1, s1.flush_context - s0.flush_context);
	ASSERT_EQ(4, tpm2t_rm_stats_issued(&s0, &s1));
	ASSERT_ZERO_SLOTS(&self->now);

	/* PolicySecret: one object and one policy session, both handles */
	MEASURE(s0, s1, tpm2t_policy_secret(fd, k[2].handle, p2.handle));
	ASSERT_EQ(4, tpm2t_rm_stats_issued(&s0, &s1));
	ASSERT_TPM_OK(tpm2t_policy_get_digest(fd, p2.handle, d2));
	ASSERT_NE(0, memcmp(d, d2, sizeof(d)));
	ASSERT_ZERO_SLOTS(&self->now);

	/* FlushContext of an object is answered by the RM alone */
	MEASURE(s0, s1, tpm2t_flush_context(fd, k[0].handle));
	ASSERT_EQ(0, s1.user_commands - s0.user_commands);
	ASSERT_EQ(0, tpm2t_rm_stats_issued(&s0, &s1));
	ASSERT_ZERO_SLOTS(&self->now);
}

TEST_HARNESS_MAIN
