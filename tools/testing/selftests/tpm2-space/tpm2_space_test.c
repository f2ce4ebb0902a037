// SPDX-License-Identifier: GPL-2.0-only
/*
 * Behaviour of the TPM 2.0 resource manager behind /dev/tpmrm0 that every
 * implementation must have: the upstream one (Linux 6.12) as well as its
 * replacement.  /dev/tpm0 is used as the observer: between two commands of
 * /dev/tpmrm0 users, the resource manager must hold no transient object and
 * no loaded session in the TPM (the zero-slot rule).
 *
 * Needs root, a TPM 2.0 with /dev/tpm0 and /dev/tpmrm0, and no other user of
 * /dev/tpm0 or of the TPM while it runs (e.g. the QEMU + swtpm guest of
 * tools/testing/tpm2-qemu).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "tpm2_util.h"

/* The first handle a TPM gives to a transient object */
#define FIRST_PHYSICAL_TRANSIENT	0x80000000u

/*
 * The ways a resource manager may refuse a handle that is not in the
 * caller's space: upstream 6.12 fails the write() with EINVAL; a TPM-format
 * answer (TPM_RC_HANDLE for the first handle, or TPM_RC_REFERENCE_H0, in
 * any layer) is just as good.
 */
static bool refused_handle(int res)
{
	int rc = res & 0xFFFF;

	if (res == -EINVAL)
		return true;
	if (res <= 0)
		return false;
	if ((rc & (TPM2_RC_FMT1 | 0x3F)) == TPM2_RC_HANDLE)
		return true;
	return rc == TPM2_RC_REFERENCE_H0;
}

FIXTURE(space) {
	int fd[2];
	struct tpm2t_census before;
};

FIXTURE_SETUP(space)
{
	if (!tpm2t_devices_usable())
		SKIP(return, TPM2T_DEVICES_NEEDED);
	ASSERT_TPM_OK(tpm2t_open_files(self->fd, 2));
	ASSERT_ZERO_SLOTS(&self->before);
}

FIXTURE_TEARDOWN(space)
{
	tpm2t_close_files(self->fd, 2);
}

/* a. GetRandom answers with the number of bytes asked for */
TEST_F(space, get_random)
{
	static const __u16 sizes[] = { 1, 8, 16, 32 };
	__u8 a[32], b[32];
	struct tpm2t_census c;
	__u16 got;
	int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		got = 0;
		ASSERT_TPM_OK(tpm2t_get_random(self->fd[0], a, sizes[i], &got));
		ASSERT_EQ(sizes[i], got);
	}
	ASSERT_TPM_OK(tpm2t_get_random(self->fd[0], b, sizeof(b), &got));
	ASSERT_EQ(sizeof(b), got);
	ASSERT_NE(0, memcmp(a, b, sizeof(a)));
	ASSERT_ZERO_SLOTS(&c);
}

/*
 * b. Objects get virtual handles and are not left loaded in the TPM.
 * Virtual handles may equal the physical ones the TPM would assign: the
 * upstream SpaceTest walks TPM_CAP_HANDLES one property at a time from
 * 0x80000000, so dense handles from there are what it expects.
 */
TEST_F(space, create_primary_virtual_handle)
{
	__u32 handle, list[8];
	struct tpm2t_census c;
	size_t n;

	ASSERT_TPM_OK(tpm2t_create_key(self->fd[0], TPM2_RH_OWNER, &handle));
	ASSERT_EQ(TPM2_HT_TRANSIENT, handle & TPM2_HT_MASK);
	ASSERT_ZERO_SLOTS(&c);

	/* the space lists exactly its own object, by its virtual handle */
	ASSERT_TPM_OK(tpm2t_get_handles(self->fd[0], TPM2_HR_TRANSIENT, list,
					8, &n));
	ASSERT_EQ(1, n);
	ASSERT_EQ(handle, list[0]);

	ASSERT_TPM_OK(tpm2t_sign(self->fd[0], handle, tpm2t_digest));
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_TPM_OK(tpm2t_sign(self->fd[0], handle, tpm2t_digest));

	/* the other file's space is empty */
	ASSERT_TPM_OK(tpm2t_count_handles(self->fd[1], TPM2_HR_TRANSIENT, &n));
	ASSERT_EQ(0, n);

	ASSERT_TPM_OK(tpm2t_flush_context(self->fd[0], handle));
	ASSERT_ZERO_SLOTS(&c);
}

/* c. A file cannot use or flush another file's objects */
TEST_F(space, foreign_handle_refused)
{
	int a = self->fd[0], b = self->fd[1];
	__u32 a1, a2, b1;
	struct tpm2t_census c;
	int res;

	ASSERT_TPM_OK(tpm2t_create_key(a, TPM2_RH_OWNER, &a1));
	ASSERT_TPM_OK(tpm2t_create_key(a, TPM2_RH_NULL, &a2));
	ASSERT_NE(a1, a2);

	/* B has no objects at all */
	res = tpm2t_sign(b, a2, tpm2t_digest);
	TH_LOG("sign with foreign 0x%08x: %s", a2, tpm2t_strerror(res));
	ASSERT_TRUE(refused_handle(res))
		TH_LOG("sign with foreign 0x%08x: %s", a2, tpm2t_strerror(res));
	res = tpm2t_flush_context(b, a2);
	ASSERT_TRUE(refused_handle(res))
		TH_LOG("flush foreign 0x%08x: %s", a2, tpm2t_strerror(res));
	res = tpm2t_sign(b, FIRST_PHYSICAL_TRANSIENT, tpm2t_digest);
	ASSERT_TRUE(refused_handle(res))
		TH_LOG("sign with physical 0x%08x: %s",
		       FIRST_PHYSICAL_TRANSIENT, tpm2t_strerror(res));

	/* B has an object of its own, A has two */
	ASSERT_TPM_OK(tpm2t_create_key(b, TPM2_RH_OWNER, &b1));
	if (b1 != a2) {
		res = tpm2t_sign(b, a2, tpm2t_digest);
		ASSERT_TRUE(refused_handle(res))
			TH_LOG("sign with foreign 0x%08x: %s", a2,
			       tpm2t_strerror(res));
		res = tpm2t_flush_context(b, a2);
		ASSERT_TRUE(refused_handle(res))
			TH_LOG("flush foreign 0x%08x: %s", a2,
			       tpm2t_strerror(res));
	}
	if (b1 != a1) {
		res = tpm2t_sign(b, a1, tpm2t_digest);
		ASSERT_TRUE(refused_handle(res))
			TH_LOG("sign with foreign 0x%08x: %s", a1,
			       tpm2t_strerror(res));
	}
	ASSERT_TPM_OK(tpm2t_sign(b, b1, tpm2t_digest));

	/* A's objects are intact */
	ASSERT_TPM_OK(tpm2t_sign(a, a1, tpm2t_digest));
	ASSERT_TPM_OK(tpm2t_sign(a, a2, tpm2t_digest));
	ASSERT_ZERO_SLOTS(&c);

	ASSERT_TPM_OK(tpm2t_flush_context(b, b1));
	ASSERT_TPM_OK(tpm2t_sign(a, a2, tpm2t_digest));
}

/* d. FlushContext of a virtual handle removes the object from the space */
TEST_F(space, flush_virtual_handle)
{
	__u32 handle, again;
	struct tpm2t_census c;
	size_t n;
	int res;

	ASSERT_TPM_OK(tpm2t_create_key(self->fd[0], TPM2_RH_OWNER, &handle));
	ASSERT_TPM_OK(tpm2t_flush_context(self->fd[0], handle));
	ASSERT_ZERO_SLOTS(&c);

	ASSERT_TPM_OK(tpm2t_count_handles(self->fd[0], TPM2_HR_TRANSIENT, &n));
	ASSERT_EQ(0, n);
	res = tpm2t_sign(self->fd[0], handle, tpm2t_digest);
	ASSERT_TRUE(refused_handle(res))
		TH_LOG("sign with flushed 0x%08x: %s", handle,
		       tpm2t_strerror(res));
	res = tpm2t_flush_context(self->fd[0], handle);
	ASSERT_TRUE(refused_handle(res))
		TH_LOG("second flush of 0x%08x: %s", handle,
		       tpm2t_strerror(res));

	/* the slot of the space is free again */
	ASSERT_TPM_OK(tpm2t_create_key(self->fd[0], TPM2_RH_OWNER, &again));
	ASSERT_TPM_OK(tpm2t_sign(self->fd[0], again, tpm2t_digest));
	ASSERT_TPM_OK(tpm2t_flush_context(self->fd[0], again));
	ASSERT_ZERO_SLOTS(&c);
}

/* ContextSave and ContextLoad of an object by the client */
TEST_F(space, context_save_load_object)
{
	struct tpm2t_context ctx;
	__u32 handle, loaded;
	struct tpm2t_census c;

	ASSERT_TPM_OK(tpm2t_create_key(self->fd[0], TPM2_RH_OWNER, &handle));
	ASSERT_TPM_OK(tpm2t_context_save(self->fd[0], handle, &ctx));
	ASSERT_TPM_OK(tpm2t_flush_context(self->fd[0], handle));

	ASSERT_TPM_OK(tpm2t_context_load(self->fd[0], &ctx, &loaded));
	ASSERT_EQ(TPM2_HT_TRANSIENT, loaded & TPM2_HT_MASK);
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_TPM_OK(tpm2t_sign(self->fd[0], loaded, tpm2t_digest));
	ASSERT_TPM_OK(tpm2t_flush_context(self->fd[0], loaded));
	ASSERT_ZERO_SLOTS(&c);
}

/* e. A policy session named in the handle area (PolicyPCR) */
TEST_F(space, policy_session_in_handle_area)
{
	__u8 zero[TPM2_SHA256_SIZE] = { 0 };
	__u8 d1[TPM2_SHA256_SIZE], d2[TPM2_SHA256_SIZE];
	struct tpm2t_session s1, s2;
	struct tpm2t_census c;

	ASSERT_TPM_OK(tpm2t_start_auth_session(self->fd[0], TPM2_SE_POLICY,
					       &s1));
	ASSERT_EQ(TPM2_HT_POLICY_SESSION, s1.handle & TPM2_HT_MASK);
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_TPM_OK(tpm2t_start_auth_session(self->fd[0], TPM2_SE_POLICY,
					       &s2));
	ASSERT_NE(s1.handle, s2.handle);
	ASSERT_ZERO_SLOTS(&c);

	ASSERT_TPM_OK(tpm2t_policy_get_digest(self->fd[0], s1.handle, d1));
	ASSERT_EQ(0, memcmp(d1, zero, sizeof(zero)));

	ASSERT_TPM_OK(tpm2t_policy_pcr(self->fd[0], s1.handle,
				       TPM2_ALG_SHA256, 1u << 0));
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_TPM_OK(tpm2t_policy_pcr(self->fd[0], s2.handle,
				       TPM2_ALG_SHA256, 1u << 0));
	ASSERT_ZERO_SLOTS(&c);

	/* both sessions kept their own state across the commands */
	ASSERT_TPM_OK(tpm2t_policy_get_digest(self->fd[0], s1.handle, d1));
	ASSERT_TPM_OK(tpm2t_policy_get_digest(self->fd[0], s2.handle, d2));
	ASSERT_NE(0, memcmp(d1, zero, sizeof(zero)));
	ASSERT_EQ(0, memcmp(d1, d2, sizeof(d1)));
	ASSERT_ZERO_SLOTS(&c);

	ASSERT_TPM_OK(tpm2t_flush_context(self->fd[0], s1.handle));
	ASSERT_TPM_OK(tpm2t_flush_context(self->fd[0], s2.handle));
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_FALSE(tpm2t_census_saved(&c, s1.handle));
	ASSERT_FALSE(tpm2t_census_saved(&c, s2.handle));
}

/* e. An HMAC session in the authorization area (audited GetRandom) */
TEST_F(space, hmac_session_in_auth_area)
{
	struct tpm2t_session s;
	struct tpm2t_census c;
	__u8 buf[16];
	__u16 got;
	int i;

	ASSERT_TPM_OK(tpm2t_start_auth_session(self->fd[0], TPM2_SE_HMAC, &s));
	ASSERT_EQ(TPM2_HT_HMAC_SESSION, s.handle & TPM2_HT_MASK);
	ASSERT_ZERO_SLOTS(&c);

	/* each response HMAC proves the TPM kept the session's nonces */
	for (i = 0; i < 3; i++) {
		got = 0;
		ASSERT_TPM_OK(tpm2t_get_random_hmac(self->fd[0], &s, buf,
						    sizeof(buf), &got));
		ASSERT_EQ(sizeof(buf), got);
		ASSERT_ZERO_SLOTS(&c);
	}

	ASSERT_TPM_OK(tpm2t_flush_context(self->fd[0], s.handle));
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_FALSE(tpm2t_census_saved(&c, s.handle));
}

/* f. Closing the file releases every object and session it held */
TEST_F(space, close_releases_everything)
{
	struct tpm2t_session hmac, policy;
	__u32 k1, k2;
	struct tpm2t_census c;
	__u8 buf[8];
	__u16 got;

	ASSERT_TPM_OK(tpm2t_create_key(self->fd[0], TPM2_RH_OWNER, &k1));
	ASSERT_TPM_OK(tpm2t_create_key(self->fd[0], TPM2_RH_NULL, &k2));
	ASSERT_TPM_OK(tpm2t_start_auth_session(self->fd[0], TPM2_SE_HMAC,
					       &hmac));
	ASSERT_TPM_OK(tpm2t_start_auth_session(self->fd[0], TPM2_SE_POLICY,
					       &policy));
	ASSERT_TPM_OK(tpm2t_policy_pcr(self->fd[0], policy.handle,
				       TPM2_ALG_SHA256, 1u << 0));
	ASSERT_TPM_OK(tpm2t_get_random_hmac(self->fd[0], &hmac, buf,
					    sizeof(buf), &got));
	ASSERT_TPM_OK(tpm2t_sign(self->fd[0], k2, tpm2t_digest));
	ASSERT_ZERO_SLOTS(&c);

	tpm2t_close_files(&self->fd[0], 1);

	ASSERT_NO_LEAK(&c, &self->before);
	ASSERT_FALSE(tpm2t_census_saved(&c, hmac.handle))
		TH_LOG("HMAC session 0x%08x still saved", hmac.handle);
	ASSERT_FALSE(tpm2t_census_saved(&c, policy.handle))
		TH_LOG("policy session 0x%08x still saved", policy.handle);
}

/*
 * Send the first @len bytes of @cmd, malformed: the answer is an error,
 * and the file still works.
 */
static void malformed_then_works(struct __test_metadata *_metadata, int fd,
				 const struct tpm2t_buf *cmd, size_t len,
				 const char *what)
{
	struct tpm2t_census c;
	__u8 buf[8];
	__u16 got;
	int res;

	res = tpm2t_send_raw(fd, cmd, len);
	TH_LOG("%s: %s", what, tpm2t_strerror(res));
	ASSERT_TRUE(tpm2t_malformed_refused(res));

	ASSERT_TPM_OK(tpm2t_get_random(fd, buf, sizeof(buf), &got));
	ASSERT_EQ(sizeof(buf), got);
	ASSERT_ZERO_SLOTS(&c);
}

/*
 * g. A command whose header size field is 0.  Upstream 6.12 hands it to
 * the driver, which fails it with ENODATA; EINVAL or a TPM-format error
 * are as good.  Size fields 1 to 9 are not tried: on upstream, 6 to 9
 * reach the chip and freeze a QEMU guest with swtpm.
 */
TEST_F(space, malformed_size_zero)
{
	struct tpm2t_buf cmd;

	tpm2t_build_get_random(&cmd, TPM2_ST_NO_SESSIONS, 8);
	memset(cmd.data + 2, 0, 4);
	malformed_then_works(_metadata, self->fd[0], &cmd, cmd.len,
			     "size field 0");
}

/* g. A header size field larger than what was written */
TEST_F(space, malformed_size_exceeds_write)
{
	struct tpm2t_buf cmd;

	tpm2t_build_get_random(&cmd, TPM2_ST_NO_SESSIONS, 8);
	cmd.data[5] += 64;
	malformed_then_works(_metadata, self->fd[0], &cmd, cmd.len,
			     "size field 64 past the write");
}

/* g. A write shorter than a header */
TEST_F(space, malformed_short_write)
{
	struct tpm2t_buf cmd;

	tpm2t_build_get_random(&cmd, TPM2_ST_NO_SESSIONS, 8);
	malformed_then_works(_metadata, self->fd[0], &cmd, 4, "4-byte write");
}

TEST_HARNESS_MAIN
