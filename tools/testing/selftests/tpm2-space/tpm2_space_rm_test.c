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

#define RM_DEV		"/dev/tpmrm0"
#define NR_FILES	3

/* Users with no other business with the TPM */
#define OTHER_UID	4242
#define ABANDON_UID	4243
/* space_max_abandoned's default */
#define MAX_ABANDONED	8

/* The zero-slot rule, checked after every step */
#define ZERO_SLOTS() do {						\
	struct tpm2_census __c;						\
									\
	ASSERT_ZERO_SLOTS(&__c);					\
} while (0)

/*
 * The counters, where there are any. Upstream 6.12 has none: the tests
 * that are about the counters fail there, the others only skip the
 * "the TPM was not asked" part of their checks.
 */
struct probe {
	bool have;
	struct tpm2_rm_stats st;
};

static void probe(struct probe *p)
{
	p->have = !tpm2_read_rm_stats(TPM2_RM_STATS_PATH, &p->st);
}

/* Refused by the resource manager, and nothing reached the TPM */
#define ASSERT_REFUSED_LOCALLY(expr) do {				\
	struct probe __a, __b;						\
	int __res;							\
									\
	probe(&__a);							\
	__res = (expr);							\
	probe(&__b);							\
	ASSERT_TRUE(tpm2_rm_refused(__res))				\
		TH_LOG("%s: %s, not refused by the RM", #expr,		\
		       tpm2_strerror(__res));				\
	if (__a.have && __b.have) {					\
		ASSERT_EQ(__a.st.user_commands, __b.st.user_commands)	\
			TH_LOG("%s reached the TPM", #expr);		\
		ASSERT_EQ(0, tpm2_rm_stats_issued(&__a.st, &__b.st))	\
			TH_LOG("%s made the RM load contexts", #expr);	\
	}								\
} while (0)

static const __u8 digest[TPM2_SHA256_SIZE] = {
	0x54, 0x50, 0x4d, 0x32, 0x2d, 0x73, 0x70, 0x61,
	0x63, 0x65, 0x20, 0x72, 0x6d, 0x20, 0x74, 0x65,
	0x73, 0x74, 0x20, 0x64, 0x69, 0x67, 0x65, 0x73,
	0x74, 0x20, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
};

/* A signing key and its Name */
struct key {
	__u32 handle;
	__u8 name[2 + TPM2_SHA256_SIZE];
	__u16 name_len;
};

/* A policy session after PolicyPCR(sha256, PCR0): its digest is known */
static void policy_session(struct __test_metadata *_metadata, int fd,
			   struct tpm2_session *s, __u8 d[TPM2_SHA256_SIZE])
{
	ASSERT_TPM_OK(tpm2_start_auth_session(fd, TPM2_SE_POLICY, s));
	ASSERT_EQ(TPM2_HT_POLICY_SESSION, s->handle & TPM2_HT_MASK);
	ASSERT_TPM_OK(tpm2_policy_pcr(fd, s->handle, TPM2_ALG_SHA256, 1));
	ASSERT_TPM_OK(tpm2_policy_get_digest(fd, s->handle, d));
}

/* The policy session still has the digest @d */
#define ASSERT_POLICY(fd, handle, d) do {				\
	__u8 __now[TPM2_SHA256_SIZE];					\
	__u32 __h = (handle);						\
									\
	ASSERT_TPM_OK(tpm2_policy_get_digest(fd, __h, __now));		\
	ASSERT_EQ(0, memcmp(__now, d, sizeof(__now)))			\
		TH_LOG("policy session 0x%08x lost its state", __h);	\
} while (0)

/* GetCapability(TPM_CAP_HANDLES) with a given count, one page only */
static int get_handles_page(int fd, __u32 first, __u32 count, __u32 *out,
			    __u32 *n, __u8 *more)
{
	struct tpm2_buf cmd, rsp;
	__u32 i;
	int ret;

	tpm2_cmd_init(&cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_CAPABILITY);
	tpm2_put_u32(&cmd, TPM2_CAP_HANDLES);
	tpm2_put_u32(&cmd, first);
	tpm2_put_u32(&cmd, count);
	ret = tpm2_run(fd, &cmd, &rsp);
	if (ret)
		return ret;
	*more = tpm2_get_u8(&rsp);
	if (tpm2_get_u32(&rsp) != TPM2_CAP_HANDLES)
		return -EPROTO;
	*n = tpm2_get_u32(&rsp);
	if (rsp.bad || *n > count)
		return -EPROTO;
	for (i = 0; i < *n; i++)
		out[i] = tpm2_get_u32(&rsp);
	return rsp.bad ? -EPROTO : 0;
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

static void *shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

FIXTURE(rm) {
	int fd[NR_FILES];
	struct tpm2_census before;
	mode_t rm_mode, tpm_mode;
};

FIXTURE_SETUP(rm)
{
	struct stat st;
	int i;

	for (i = 0; i < NR_FILES; i++)
		self->fd[i] = -1;
	self->rm_mode = 0;
	if (access(RM_DEV, R_OK | W_OK) || access(TPM2_TPM_DEV, R_OK | W_OK))
		SKIP(return, "%s and %s are needed", RM_DEV, TPM2_TPM_DEV);
	ASSERT_EQ(0, stat(RM_DEV, &st));
	self->rm_mode = st.st_mode & 07777;
	ASSERT_EQ(0, stat(TPM2_TPM_DEV, &st));
	self->tpm_mode = st.st_mode & 07777;

	for (i = 0; i < NR_FILES; i++) {
		self->fd[i] = tpm2_open(RM_DEV);
		ASSERT_LE(0, self->fd[i])
			TH_LOG("open %s: %s", RM_DEV,
			       strerror(-self->fd[i]));
	}
	ASSERT_TPM_OK(tpm2_take_census(TPM2_TPM_DEV, &self->before));
	ASSERT_EQ(0, self->before.transient);
	ASSERT_EQ(0, self->before.loaded);
}

FIXTURE_TEARDOWN(rm)
{
	int i;

	for (i = 0; i < NR_FILES; i++)
		if (self->fd[i] >= 0)
			close(self->fd[i]);
	if (self->rm_mode) {
		chmod(RM_DEV, self->rm_mode);
		chmod(TPM2_TPM_DEV, self->tpm_mode);
	}
}

#define NR_KEYS 20

/* 20 keys in one file, each used to sign, each listed once */
TEST_F_TIMEOUT(rm, twenty_keys, 300)
{
	__u32 key[NR_KEYS], list[NR_KEYS + 1];
	int fd = self->fd[0];
	size_t n;
	int i, j, res;

	for (i = 0; i < NR_KEYS; i++) {
		res = tpm2_create_primary_ecc(fd, i % 2 ? TPM2_RH_NULL :
					      TPM2_RH_OWNER, &key[i], NULL,
					      NULL);
		ASSERT_EQ(0, res)
			TH_LOG("key %d: %s", i, tpm2_strerror(res));
		ASSERT_EQ(TPM2_HT_TRANSIENT, key[i] & TPM2_HT_MASK);
		for (j = 0; j < i; j++)
			ASSERT_NE(key[j], key[i]);
		ZERO_SLOTS();
	}
	for (i = 0; i < NR_KEYS; i++) {
		res = tpm2_sign(fd, key[i], digest);
		ASSERT_EQ(0, res)
			TH_LOG("sign with key %d (0x%08x): %s", i, key[i],
			       tpm2_strerror(res));
		ZERO_SLOTS();
	}
	/* in reverse: nothing depends on the order of use */
	for (i = NR_KEYS - 1; i >= 0; i--)
		ASSERT_TPM_OK(tpm2_sign(fd, key[i], digest));
	ZERO_SLOTS();

	ASSERT_TPM_OK(tpm2_get_handles(fd, TPM2_HR_TRANSIENT, list,
				       NR_KEYS + 1, &n));
	ASSERT_EQ(NR_KEYS, n);
	for (i = 0; i < NR_KEYS; i++)
		ASSERT_TRUE(tpm2_handle_listed(list, n, key[i], false));

	for (i = 0; i < NR_KEYS; i++)
		ASSERT_TPM_OK(tpm2_flush_context(fd, key[i]));
	ASSERT_TPM_OK(tpm2_count_handles(fd, TPM2_HR_TRANSIENT, &n));
	ASSERT_EQ(0, n);
	ZERO_SLOTS();
}

#define NR_SESSIONS 8

/*
 * 8 sessions in one file, each used: HMAC sessions in the authorization
 * area (audited GetRandom), policy sessions in the handle area (PolicyPCR)
 */
TEST_F_TIMEOUT(rm, eight_sessions, 300)
{
	__u8 zero[TPM2_SHA256_SIZE] = { 0 };
	struct tpm2_session s[NR_SESSIONS];
	__u8 d[TPM2_SHA256_SIZE];
	int fd = self->fd[0];
	struct tpm2_census c;
	int i, j, res;

	for (i = 0; i < NR_SESSIONS; i++) {
		res = tpm2_start_auth_session(fd, i % 2 ? TPM2_SE_POLICY :
					      TPM2_SE_HMAC, &s[i]);
		ASSERT_EQ(0, res)
			TH_LOG("session %d: %s", i, tpm2_strerror(res));
		for (j = 0; j < i; j++)
			ASSERT_NE(s[j].handle, s[i].handle);
		ZERO_SLOTS();
	}
	for (j = 0; j < 2; j++) {
		for (i = 0; i < NR_SESSIONS; i++) {
			if (s[i].type == TPM2_SE_HMAC) {
				ASSERT_HMAC_WORKS(fd, &s[i]);
			} else {
				ASSERT_TPM_OK(tpm2_policy_pcr(fd, s[i].handle,
							      TPM2_ALG_SHA256,
							      1));
			}
			ZERO_SLOTS();
		}
	}
	/* every policy session extended its own digest, twice alike */
	ASSERT_TPM_OK(tpm2_policy_get_digest(fd, s[1].handle, d));
	ASSERT_NE(0, memcmp(d, zero, sizeof(d)));
	for (i = 3; i < NR_SESSIONS; i += 2)
		ASSERT_POLICY(fd, s[i].handle, d);

	for (i = 0; i < NR_SESSIONS; i++)
		ASSERT_TPM_OK(tpm2_flush_context(fd, s[i].handle));
	ZERO_SLOTS();
	ASSERT_TPM_OK(tpm2_take_census(TPM2_TPM_DEV, &c));
	for (i = 0; i < NR_SESSIONS; i++)
		ASSERT_FALSE(tpm2_census_saved(&c, s[i].handle));
	ASSERT_EQ(self->before.saved, c.saved);
}

/*
 * Sessions in both places, with objects: a policy session and a key named
 * in the handle area (PolicySecret), an HMAC session authorizing a key in
 * the authorization area (Sign), and an audit session (GetRandom).
 */
TEST_F(rm, sessions_in_handle_and_auth_area)
{
	struct tpm2_session hmac, audit, policy;
	__u8 d0[TPM2_SHA256_SIZE], d1[TPM2_SHA256_SIZE];
	int fd = self->fd[0];
	struct key k;
	int i;

	ASSERT_TPM_OK(tpm2_create_primary_ecc(fd, TPM2_RH_OWNER, &k.handle,
					      k.name, &k.name_len));
	ASSERT_EQ(2 + TPM2_SHA256_SIZE, k.name_len);
	ASSERT_TPM_OK(tpm2_start_auth_session(fd, TPM2_SE_HMAC, &hmac));
	ASSERT_TPM_OK(tpm2_start_auth_session(fd, TPM2_SE_HMAC, &audit));
	policy_session(_metadata, fd, &policy, d0);
	ZERO_SLOTS();

	for (i = 0; i < 3; i++) {
		ASSERT_TPM_OK(tpm2_sign_hmac(fd, k.handle, k.name, k.name_len,
					     &hmac, digest));
		ZERO_SLOTS();
		ASSERT_HMAC_WORKS(fd, &audit);
		ZERO_SLOTS();
	}

	/* PolicySecret extends the policy digest: the session was used */
	ASSERT_TPM_OK(tpm2_policy_secret(fd, k.handle, policy.handle));
	ZERO_SLOTS();
	ASSERT_TPM_OK(tpm2_policy_get_digest(fd, policy.handle, d1));
	ASSERT_NE(0, memcmp(d0, d1, sizeof(d0)));

	ASSERT_TPM_OK(tpm2_flush_context(fd, hmac.handle));
	ASSERT_TPM_OK(tpm2_flush_context(fd, audit.handle));
	ASSERT_TPM_OK(tpm2_flush_context(fd, policy.handle));
	ASSERT_TPM_OK(tpm2_flush_context(fd, k.handle));
	ZERO_SLOTS();
}

/*
 * Isolation: another file's sessions and objects are refused in the handle
 * area, the authorization area, FlushContext and ContextSave, and its
 * client-saved session context cannot be loaded; the victim keeps working.
 */
TEST_F(rm, isolation_attacks)
{
	int a = self->fd[0], b = self->fd[1];
	struct tpm2_session hmac, policy, spare, stolen;
	__u8 d[TPM2_SHA256_SIZE], ds[TPM2_SHA256_SIZE];
	struct tpm2_context ctx, ctx2;
	__u32 a1, a2, a3, b1, h;
	__u8 buf[8];
	__u16 got;
	int res;

	ASSERT_TPM_OK(tpm2_create_primary_ecc(a, TPM2_RH_OWNER, &a1,
					      NULL, NULL));
	ASSERT_TPM_OK(tpm2_create_primary_ecc(a, TPM2_RH_NULL, &a2,
					      NULL, NULL));
	ASSERT_TPM_OK(tpm2_create_primary_ecc(a, TPM2_RH_OWNER, &a3,
					      NULL, NULL));
	ASSERT_TPM_OK(tpm2_start_auth_session(a, TPM2_SE_HMAC, &hmac));
	policy_session(_metadata, a, &policy, d);
	policy_session(_metadata, a, &spare, ds);
	ASSERT_TPM_OK(tpm2_create_primary_ecc(b, TPM2_RH_OWNER, &b1,
					      NULL, NULL));
	ZERO_SLOTS();

	/* use A's HMAC session in B's authorization area */
	stolen = hmac;
	ASSERT_REFUSED_LOCALLY(tpm2_get_random_hmac(b, &stolen, buf,
						    sizeof(buf), &got));
	ZERO_SLOTS();
	ASSERT_HMAC_WORKS(a, &hmac);

	/* use A's policy session in B's handle area */
	ASSERT_REFUSED_LOCALLY(tpm2_policy_pcr(b, policy.handle,
					       TPM2_ALG_SHA256, 1));
	ASSERT_REFUSED_LOCALLY(tpm2_policy_secret(b, b1, policy.handle));
	ZERO_SLOTS();
	ASSERT_POLICY(a, policy.handle, d);

	/* flush A's sessions from B */
	ASSERT_REFUSED_LOCALLY(tpm2_flush_context(b, hmac.handle));
	ASSERT_REFUSED_LOCALLY(tpm2_flush_context(b, policy.handle));
	ZERO_SLOTS();
	ASSERT_HMAC_WORKS(a, &hmac);
	ASSERT_POLICY(a, policy.handle, d);

	/* ContextSave A's session from B */
	ASSERT_REFUSED_LOCALLY(tpm2_context_save(b, policy.handle, &ctx));
	ASSERT_REFUSED_LOCALLY(tpm2_context_save(b, hmac.handle, &ctx));
	ZERO_SLOTS();
	ASSERT_POLICY(a, policy.handle, d);
	ASSERT_HMAC_WORKS(a, &hmac);

	/* A's virtual handles B does not have: EINVAL, as Linux always did */
	ASSERT_NE(b1, a3);
	res = tpm2_sign(b, a3, digest);
	ASSERT_EQ(-EINVAL, res)
		TH_LOG("sign with A's 0x%08x from B: %s", a3,
		       tpm2_strerror(res));
	res = tpm2_flush_context(b, a3);
	ASSERT_EQ(-EINVAL, res)
		TH_LOG("flush A's 0x%08x from B: %s", a3, tpm2_strerror(res));
	res = tpm2_context_save(b, a3, &ctx);
	ASSERT_EQ(-EINVAL, res)
		TH_LOG("save A's 0x%08x from B: %s", a3, tpm2_strerror(res));
	ZERO_SLOTS();
	ASSERT_TPM_OK(tpm2_sign(a, a3, digest));
	ASSERT_TPM_OK(tpm2_sign(a, a1, digest));
	ASSERT_TPM_OK(tpm2_sign(b, b1, digest));

	/* load A's client-saved session context in B while A is open */
	ASSERT_TPM_OK(tpm2_context_save(a, spare.handle, &ctx));
	ZERO_SLOTS();
	ctx2 = ctx;
	ASSERT_REFUSED_LOCALLY(tpm2_context_load(b, &ctx2, &h));
	ZERO_SLOTS();
	/* nor use or flush it while A's client holds it */
	ASSERT_REFUSED_LOCALLY(tpm2_policy_pcr(b, spare.handle,
					       TPM2_ALG_SHA256, 1));
	ASSERT_REFUSED_LOCALLY(tpm2_flush_context(b, spare.handle));
	ASSERT_TPM_OK(tpm2_context_load(a, &ctx, &h));
	ASSERT_EQ(spare.handle, h);
	ASSERT_POLICY(a, spare.handle, ds);
	ZERO_SLOTS();

	ASSERT_TPM_OK(tpm2_flush_context(a, hmac.handle));
	ASSERT_TPM_OK(tpm2_flush_context(a, policy.handle));
	ASSERT_TPM_OK(tpm2_flush_context(a, spare.handle));
	ASSERT_TPM_OK(tpm2_sign(a, a2, digest));
	ZERO_SLOTS();
}

/* GetCapability(TPM_CAP_HANDLES) shows a space only its own handles */
TEST_F(rm, get_capability_filtering)
{
	int a = self->fd[0], b = self->fd[1];
	struct tpm2_session as1, as2, as3, bs1, bs2;
	__u32 a1, a2, b1, list[16];
	__u8 d[TPM2_SHA256_SIZE], more;
	struct tpm2_context ctx;
	__u32 n32;
	size_t n;

	ASSERT_TPM_OK(tpm2_create_primary_ecc(a, TPM2_RH_OWNER, &a1,
					      NULL, NULL));
	ASSERT_TPM_OK(tpm2_create_primary_ecc(a, TPM2_RH_NULL, &a2,
					      NULL, NULL));
	ASSERT_TPM_OK(tpm2_start_auth_session(a, TPM2_SE_HMAC, &as1));
	policy_session(_metadata, a, &as2, d);
	policy_session(_metadata, a, &as3, d);
	ASSERT_TPM_OK(tpm2_context_save(a, as3.handle, &ctx));
	ASSERT_TPM_OK(tpm2_create_primary_ecc(b, TPM2_RH_OWNER, &b1,
					      NULL, NULL));
	ASSERT_TPM_OK(tpm2_start_auth_session(b, TPM2_SE_HMAC, &bs1));
	policy_session(_metadata, b, &bs2, d);
	ZERO_SLOTS();

	/* objects: A sees its two, B its one */
	ASSERT_TPM_OK(tpm2_get_handles(a, TPM2_HR_TRANSIENT, list, 16, &n));
	ASSERT_EQ(2, n);
	ASSERT_TRUE(tpm2_handle_listed(list, n, a1, false));
	ASSERT_TRUE(tpm2_handle_listed(list, n, a2, false));
	ASSERT_TPM_OK(tpm2_get_handles(b, TPM2_HR_TRANSIENT, list, 16, &n));
	ASSERT_EQ(1, n);
	ASSERT_EQ(b1, list[0]);

	/* count and moreData are honoured */
	ASSERT_TPM_OK(get_handles_page(a, TPM2_HR_TRANSIENT, 1, list, &n32,
				       &more));
	ASSERT_EQ(1, n32);
	ASSERT_EQ(1, more);
	ASSERT_EQ(a1 < a2 ? a1 : a2, list[0]);
	ASSERT_TPM_OK(get_handles_page(a, list[0] + 1, 1, list, &n32,
				       &more));
	ASSERT_EQ(1, n32);
	ASSERT_EQ(0, more);
	ASSERT_EQ(a1 < a2 ? a2 : a1, list[0]);

	/* sessions the RM holds for A: as1 and as2, none of B's */
	ASSERT_TPM_OK(tpm2_get_handles(a, TPM2_HR_LOADED_SESSION, list, 16,
				       &n));
	ASSERT_EQ(2, n);
	ASSERT_TRUE(tpm2_handle_listed(list, n, as1.handle, true));
	ASSERT_TRUE(tpm2_handle_listed(list, n, as2.handle, true));
	/* A's client-saved session: as3 only */
	ASSERT_TPM_OK(tpm2_get_handles(a, TPM2_HR_SAVED_SESSION, list, 16,
				       &n));
	ASSERT_EQ(1, n);
	ASSERT_TRUE(tpm2_handle_listed(list, n, as3.handle, true));

	/* B: its two sessions, held by the RM */
	ASSERT_TPM_OK(tpm2_get_handles(b, TPM2_HR_LOADED_SESSION, list, 16,
				       &n));
	ASSERT_EQ(2, n);
	ASSERT_TRUE(tpm2_handle_listed(list, n, bs1.handle, true));
	ASSERT_TRUE(tpm2_handle_listed(list, n, bs2.handle, true));
	ASSERT_TPM_OK(tpm2_get_handles(b, TPM2_HR_SAVED_SESSION, list, 16,
				       &n));
	ASSERT_EQ(0, n);

	/* an empty space sees nothing at all */
	ASSERT_TPM_OK(tpm2_count_handles(self->fd[2], TPM2_HR_TRANSIENT, &n));
	ASSERT_EQ(0, n);
	ASSERT_TPM_OK(tpm2_count_handles(self->fd[2], TPM2_HR_LOADED_SESSION,
					 &n));
	ASSERT_EQ(0, n);
	ASSERT_TPM_OK(tpm2_count_handles(self->fd[2], TPM2_HR_SAVED_SESSION,
					 &n));
	ASSERT_EQ(0, n);
	ZERO_SLOTS();

	ASSERT_TPM_OK(tpm2_context_load(a, &ctx, &n32));
	ASSERT_EQ(as3.handle, n32);
	ASSERT_TPM_OK(tpm2_flush_context(a, as3.handle));
	ZERO_SLOTS();
}

/*
 * Closing a file flushes its objects and every session the RM holds for
 * it; another open file is not disturbed.
 */
TEST_F(rm, flush_on_close)
{
	int a = self->fd[0], b = self->fd[1];
	struct tpm2_session as[4], bs;
	__u8 d[TPM2_SHA256_SIZE];
	__u32 key[5], bk, h;
	struct tpm2_census c;
	int i;

	for (i = 0; i < 5; i++)
		ASSERT_TPM_OK(tpm2_create_primary_ecc(a, TPM2_RH_OWNER,
						      &key[i], NULL, NULL));
	for (i = 0; i < 4; i += 2) {
		ASSERT_TPM_OK(tpm2_start_auth_session(a, TPM2_SE_HMAC,
						      &as[i]));
		ASSERT_HMAC_WORKS(a, &as[i]);
		policy_session(_metadata, a, &as[i + 1], d);
	}
	ASSERT_TPM_OK(tpm2_create_primary_ecc(b, TPM2_RH_OWNER, &bk,
					      NULL, NULL));
	ASSERT_TPM_OK(tpm2_start_auth_session(b, TPM2_SE_HMAC, &bs));
	ZERO_SLOTS();
	ASSERT_TPM_OK(tpm2_take_census(TPM2_TPM_DEV, &c));
	for (i = 0; i < 4; i++)
		ASSERT_TRUE(tpm2_census_saved(&c, as[i].handle));

	close(a);
	self->fd[0] = -1;
	ZERO_SLOTS();
	ASSERT_TPM_OK(tpm2_take_census(TPM2_TPM_DEV, &c));
	for (i = 0; i < 4; i++) {
		h = as[i].handle;
		ASSERT_FALSE(tpm2_census_saved(&c, h))
			TH_LOG("session 0x%08x survived the close", h);
	}
	ASSERT_EQ(self->before.saved + 1, c.saved);

	/* B is intact */
	ASSERT_HMAC_WORKS(b, &bs);
	ASSERT_TPM_OK(tpm2_sign(b, bk, digest));
	ZERO_SLOTS();

	close(b);
	self->fd[1] = -1;
	ASSERT_TPM_OK(tpm2_take_census(TPM2_TPM_DEV, &c));
	ASSERT_FALSE(tpm2_census_saved(&c, bs.handle));
	ASSERT_EQ(self->before.saved, c.saved);
	ZERO_SLOTS();
}

/* Objects pass between files by ContextSave and ContextLoad */
TEST_F(rm, objects_between_files)
{
	int a = self->fd[0], b = self->fd[1], c = self->fd[2];
	struct tpm2_context ctx;
	__u32 ka, kb, kc, kb2;
	size_t n;

	ASSERT_TPM_OK(tpm2_create_primary_ecc(a, TPM2_RH_NULL, &ka,
					      NULL, NULL));
	ASSERT_TPM_OK(tpm2_context_save(a, ka, &ctx));
	ZERO_SLOTS();

	ASSERT_TPM_OK(tpm2_context_load(b, &ctx, &kb));
	ASSERT_EQ(TPM2_HT_TRANSIENT, kb & TPM2_HT_MASK);
	ZERO_SLOTS();
	ASSERT_TPM_OK(tpm2_sign(b, kb, digest));
	ASSERT_TPM_OK(tpm2_sign(a, ka, digest));
	ZERO_SLOTS();

	/* the owner goes away; the copies live on */
	close(a);
	self->fd[0] = -1;
	ASSERT_TPM_OK(tpm2_sign(b, kb, digest));
	ZERO_SLOTS();

	/* an object context loads again and again */
	ASSERT_TPM_OK(tpm2_context_load(c, &ctx, &kc));
	ASSERT_TPM_OK(tpm2_context_load(b, &ctx, &kb2));
	ASSERT_NE(kb, kb2);
	ASSERT_TPM_OK(tpm2_count_handles(b, TPM2_HR_TRANSIENT, &n));
	ASSERT_EQ(2, n);
	ASSERT_TPM_OK(tpm2_sign(c, kc, digest));
	ASSERT_TPM_OK(tpm2_sign(b, kb2, digest));
	ZERO_SLOTS();

	/* flushing one copy leaves the others */
	ASSERT_TPM_OK(tpm2_flush_context(b, kb));
	ASSERT_TPM_OK(tpm2_sign(b, kb2, digest));
	ASSERT_TPM_OK(tpm2_sign(c, kc, digest));
	ZERO_SLOTS();
}

/* Hand-off to another file of the same user */
TEST_F(rm, handoff_same_user)
{
	struct tpm2_session s;
	__u8 d[TPM2_SHA256_SIZE], d2[TPM2_SHA256_SIZE];
	struct tpm2_context ctx;
	struct tpm2_census c;
	__u32 h;

	policy_session(_metadata, self->fd[0], &s, d);
	ASSERT_TPM_OK(tpm2_context_save(self->fd[0], s.handle, &ctx));
	close(self->fd[0]);
	self->fd[0] = -1;
	ZERO_SLOTS();
	ASSERT_TPM_OK(tpm2_take_census(TPM2_TPM_DEV, &c));
	ASSERT_TRUE(tpm2_census_saved(&c, s.handle))
		TH_LOG("the client-saved session was flushed on close");

	ASSERT_TPM_OK(tpm2_context_load(self->fd[1], &ctx, &h));
	ASSERT_EQ(s.handle, h);
	ZERO_SLOTS();
	ASSERT_POLICY(self->fd[1], h, d);
	ASSERT_TPM_OK(tpm2_policy_pcr(self->fd[1], h, TPM2_ALG_SHA256, 1));
	ASSERT_TPM_OK(tpm2_policy_get_digest(self->fd[1], h, d2));
	ASSERT_NE(0, memcmp(d, d2, sizeof(d)));
	ZERO_SLOTS();

	/* the claimed session is the new file's: the next file is refused */
	ASSERT_TPM_OK(tpm2_context_save(self->fd[1], h, &ctx));
	ASSERT_REFUSED_LOCALLY(tpm2_context_load(self->fd[2], &ctx, &h));
	ASSERT_TPM_OK(tpm2_context_load(self->fd[1], &ctx, &h));
	ASSERT_TPM_OK(tpm2_flush_context(self->fd[1], h));
	ZERO_SLOTS();
	ASSERT_TPM_OK(tpm2_take_census(TPM2_TPM_DEV, &c));
	ASSERT_FALSE(tpm2_census_saved(&c, s.handle));
	ASSERT_EQ(self->before.saved, c.saved);
}

struct load_as_other {
	struct tpm2_context ctx;
	int open_res;
	int load_res;
};

static int load_as_other(void *arg)
{
	struct load_as_other *p = arg;
	__u32 h;
	int fd;

	fd = tpm2_open(RM_DEV);
	p->open_res = fd < 0 ? fd : 0;
	if (fd < 0)
		return 1;
	p->load_res = tpm2_context_load(fd, &p->ctx, &h);
	close(fd);
	return 0;
}

/* An abandoned session is refused to a file of another user */
TEST_F(rm, handoff_other_user_refused)
{
	struct load_as_other *p = shared_alloc(sizeof(*p));
	__u8 d[TPM2_SHA256_SIZE];
	struct tpm2_session s;
	struct tpm2_census c;
	__u32 h;

	ASSERT_NE(NULL, p);
	policy_session(_metadata, self->fd[0], &s, d);
	ASSERT_TPM_OK(tpm2_context_save(self->fd[0], s.handle, &p->ctx));
	close(self->fd[0]);
	self->fd[0] = -1;
	ZERO_SLOTS();

	ASSERT_EQ(0, chmod(RM_DEV, 0666));
	ASSERT_EQ(0, chmod(TPM2_TPM_DEV, 0666));
	p->load_res = -1;
	ASSERT_EQ(0, run_as(OTHER_UID, load_as_other, p));
	ASSERT_EQ(0, p->open_res)
		TH_LOG("open as uid %d: %s", OTHER_UID,
		       strerror(-p->open_res));
	ASSERT_TRUE(tpm2_rm_refused(p->load_res))
		TH_LOG("ContextLoad as uid %d: %s", OTHER_UID,
		       tpm2_strerror(p->load_res));
	ZERO_SLOTS();
	ASSERT_TPM_OK(tpm2_take_census(TPM2_TPM_DEV, &c));
	ASSERT_TRUE(tpm2_census_saved(&c, s.handle));

	/* the owner still claims it, intact */
	ASSERT_TPM_OK(tpm2_context_load(self->fd[1], &p->ctx, &h));
	ASSERT_EQ(s.handle, h);
	ASSERT_POLICY(self->fd[1], h, d);
	ASSERT_TPM_OK(tpm2_flush_context(self->fd[1], h));
	ZERO_SLOTS();
	ASSERT_TPM_OK(tpm2_take_census(TPM2_TPM_DEV, &c));
	ASSERT_FALSE(tpm2_census_saved(&c, s.handle));
	munmap(p, sizeof(*p));
}

#define NR_ABANDON (MAX_ABANDONED + 1)

struct abandon {
	struct tpm2_context ctx[NR_ABANDON];
	__u32 handle[NR_ABANDON];
	int res[NR_ABANDON];
	__u32 loaded[NR_ABANDON];
};

/* One file per session: start it, save it, close the file */
static int abandon_sessions(void *arg)
{
	struct abandon *p = arg;
	struct tpm2_session s;
	int i, fd;

	for (i = 0; i < NR_ABANDON; i++) {
		fd = tpm2_open(RM_DEV);
		if (fd < 0)
			return 10 + i;
		if (tpm2_start_auth_session(fd, TPM2_SE_HMAC, &s))
			return 30 + i;
		p->handle[i] = s.handle;
		if (tpm2_context_save(fd, s.handle, &p->ctx[i]))
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

	fd = tpm2_open(RM_DEV);
	if (fd < 0)
		return 1;
	for (i = 0; i < NR_ABANDON; i++) {
		p->res[i] = tpm2_context_load(fd, &p->ctx[i], &p->loaded[i]);
		if (!p->res[i])
			tpm2_flush_context(fd, p->loaded[i]);
	}
	close(fd);
	return 0;
}

/* A user keeps at most 8 abandoned sessions; the oldest goes first */
TEST_F(rm, abandoned_sessions_bounded)
{
	struct abandon *p = shared_alloc(sizeof(*p));
	struct tpm2_census c;
	__u32 h;
	int i;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, chmod(RM_DEV, 0666));
	ASSERT_EQ(0, run_as(ABANDON_UID, abandon_sessions, p));
	ZERO_SLOTS();
	ASSERT_TPM_OK(tpm2_take_census(TPM2_TPM_DEV, &c));
	TH_LOG("saved sessions before: %zu, after %d abandoned: %zu",
	       self->before.saved, NR_ABANDON, c.saved);
	ASSERT_EQ(self->before.saved + MAX_ABANDONED, c.saved);
	ASSERT_FALSE(tpm2_census_saved(&c, p->handle[0]))
		TH_LOG("the oldest abandoned session 0x%08x is still there",
		       p->handle[0]);
	for (i = 1; i < NR_ABANDON; i++) {
		h = p->handle[i];
		ASSERT_TRUE(tpm2_census_saved(&c, h))
			TH_LOG("abandoned session %d (0x%08x) is gone", i, h);
	}

	/* the 8 are claimable by their user; the oldest is gone */
	ASSERT_EQ(0, run_as(ABANDON_UID, claim_sessions, p));
	ASSERT_NE(0, p->res[0]);
	for (i = 1; i < NR_ABANDON; i++) {
		ASSERT_EQ(0, p->res[i])
			TH_LOG("claim of session %d: %s", i,
			       tpm2_strerror(p->res[i]));
		ASSERT_EQ(p->handle[i], p->loaded[i]);
	}
	ZERO_SLOTS();
	ASSERT_TPM_OK(tpm2_take_census(TPM2_TPM_DEV, &c));
	ASSERT_EQ(self->before.saved, c.saved);
	munmap(p, sizeof(*p));
}

/*
 * The cost of a command in TPM commands the RM issues itself: nothing for
 * one that names nothing, however much the space holds; load and flush of
 * an object (whose saved context stays valid), load and save of a session.
 */
TEST_F(rm, counters)
{
	struct tpm2_rm_stats s0, s1;
	struct tpm2_session hmac, p1, p2;
	__u8 d[TPM2_SHA256_SIZE], d2[TPM2_SHA256_SIZE], buf[8];
	int fd = self->fd[0], res;
	struct key k[3];
	__u16 got;
	int i;

	res = tpm2_read_rm_stats(TPM2_RM_STATS_PATH, &s0);
	ASSERT_EQ(0, res)
		TH_LOG("%s: %s", TPM2_RM_STATS_PATH, strerror(-res));

	for (i = 0; i < 3; i++)
		ASSERT_TPM_OK(tpm2_create_primary_ecc(fd, TPM2_RH_OWNER,
						      &k[i].handle, k[i].name,
						      &k[i].name_len));
	ASSERT_TPM_OK(tpm2_start_auth_session(fd, TPM2_SE_HMAC, &hmac));
	policy_session(_metadata, fd, &p1, d);
	policy_session(_metadata, fd, &p2, d);
	ZERO_SLOTS();

	/* GetRandom from a space holding 3 objects and 3 sessions */
	ASSERT_EQ(0, tpm2_read_rm_stats(TPM2_RM_STATS_PATH, &s0));
	ASSERT_TPM_OK(tpm2_get_random(fd, buf, sizeof(buf), &got));
	ASSERT_EQ(0, tpm2_read_rm_stats(TPM2_RM_STATS_PATH, &s1));
	TH_LOG("GetRandom: %ld user commands, %ld load, %ld save, %ld flush",
	       s1.user_commands - s0.user_commands,
	       s1.context_load - s0.context_load,
	       s1.context_save - s0.context_save,
	       s1.flush_context - s0.flush_context);
	ASSERT_EQ(1, s1.user_commands - s0.user_commands);
	ASSERT_EQ(0, tpm2_rm_stats_issued(&s0, &s1));
	ZERO_SLOTS();

	/* Sign: one object in the handle area, its HMAC session */
	ASSERT_EQ(0, tpm2_read_rm_stats(TPM2_RM_STATS_PATH, &s0));
	ASSERT_TPM_OK(tpm2_sign_hmac(fd, k[1].handle, k[1].name,
				     k[1].name_len, &hmac, digest));
	ASSERT_EQ(0, tpm2_read_rm_stats(TPM2_RM_STATS_PATH, &s1));
	TH_LOG("Sign: %ld user commands, %ld load, %ld save, %ld flush",
	       s1.user_commands - s0.user_commands,
	       s1.context_load - s0.context_load,
	       s1.context_save - s0.context_save,
	       s1.flush_context - s0.flush_context);
	ASSERT_EQ(1, s1.user_commands - s0.user_commands);
	ASSERT_EQ(2, s1.context_load - s0.context_load);
	ASSERT_EQ(1, s1.context_save - s0.context_save);
	ASSERT_EQ(1, s1.flush_context - s0.flush_context);
	ASSERT_EQ(4, tpm2_rm_stats_issued(&s0, &s1));
	ZERO_SLOTS();

	/* PolicySecret: one object and one policy session, both handles */
	ASSERT_EQ(0, tpm2_read_rm_stats(TPM2_RM_STATS_PATH, &s0));
	ASSERT_TPM_OK(tpm2_policy_secret(fd, k[2].handle, p2.handle));
	ASSERT_EQ(0, tpm2_read_rm_stats(TPM2_RM_STATS_PATH, &s1));
	TH_LOG("PolicySecret: %ld load, %ld save, %ld flush",
	       s1.context_load - s0.context_load,
	       s1.context_save - s0.context_save,
	       s1.flush_context - s0.flush_context);
	ASSERT_EQ(4, tpm2_rm_stats_issued(&s0, &s1));
	ASSERT_TPM_OK(tpm2_policy_get_digest(fd, p2.handle, d2));
	ASSERT_NE(0, memcmp(d, d2, sizeof(d)));
	ZERO_SLOTS();

	/* FlushContext of an object is answered by the RM alone */
	ASSERT_EQ(0, tpm2_read_rm_stats(TPM2_RM_STATS_PATH, &s0));
	ASSERT_TPM_OK(tpm2_flush_context(fd, k[0].handle));
	ASSERT_EQ(0, tpm2_read_rm_stats(TPM2_RM_STATS_PATH, &s1));
	ASSERT_EQ(0, s1.user_commands - s0.user_commands);
	ASSERT_EQ(0, tpm2_rm_stats_issued(&s0, &s1));
	ZERO_SLOTS();
}

TEST_HARNESS_MAIN
