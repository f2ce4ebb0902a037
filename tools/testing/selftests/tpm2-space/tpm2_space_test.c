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

#define RM_DEV		"/dev/tpmrm0"

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
	if ((rc & TPM2_RC_FMT1) && (rc & 0x3F) == TPM2_RC_HANDLE)
		return true;
	return rc == TPM2_RC_REFERENCE_H0;
}

/* Write raw bytes, read the answer: -errno, or the response code */
static int send_raw(int fd, const void *buf, size_t len)
{
	struct tpm2_buf rsp;
	ssize_t n;

	n = write(fd, buf, len);
	if (n < 0)
		return -errno;
	n = read(fd, rsp.data, sizeof(rsp.data));
	if (n < 0)
		return -errno;
	if (n < TPM2_HEADER_SIZE)
		return -EPROTO;
	return (int)tpm2_rsp_rc(&rsp);
}

/* A malformed command must get an error, and must not break the file */
static bool malformed_refused(int res)
{
	return res == -EINVAL || res == -ENODATA || res > 0;
}

static const __u8 digest[TPM2_SHA256_SIZE] = {
	0x54, 0x50, 0x4d, 0x32, 0x2d, 0x73, 0x70, 0x61,
	0x63, 0x65, 0x20, 0x73, 0x65, 0x6c, 0x66, 0x74,
	0x65, 0x73, 0x74, 0x20, 0x64, 0x69, 0x67, 0x65,
	0x73, 0x74, 0x20, 0x30, 0x31, 0x32, 0x33, 0x34,
};

FIXTURE(space) {
	int fd[2];
	struct tpm2_census before;
};

FIXTURE_SETUP(space)
{
	int i;

	for (i = 0; i < 2; i++)
		self->fd[i] = -1;
	if (access(RM_DEV, R_OK | W_OK) || access(TPM2_TPM_DEV, R_OK | W_OK))
		SKIP(return, "%s and %s are needed", RM_DEV, TPM2_TPM_DEV);

	for (i = 0; i < 2; i++) {
		self->fd[i] = tpm2_open(RM_DEV);
		ASSERT_LE(0, self->fd[i])
			TH_LOG("open %s: %s", RM_DEV,
			       strerror(-self->fd[i]));
	}
	ASSERT_TPM_OK(tpm2_take_census(TPM2_TPM_DEV, &self->before));
}

FIXTURE_TEARDOWN(space)
{
	int i;

	for (i = 0; i < 2; i++)
		if (self->fd[i] >= 0)
			close(self->fd[i]);
}

/* a. GetRandom answers with the number of bytes asked for */
TEST_F(space, get_random)
{
	static const __u16 sizes[] = { 1, 8, 16, 32 };
	__u8 a[32], b[32];
	struct tpm2_census c;
	__u16 got;
	int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		got = 0;
		ASSERT_TPM_OK(tpm2_get_random(self->fd[0], a, sizes[i], &got));
		ASSERT_EQ(sizes[i], got);
	}
	ASSERT_TPM_OK(tpm2_get_random(self->fd[0], b, sizeof(b), &got));
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
	struct tpm2_census c;
	size_t n;

	ASSERT_TPM_OK(tpm2_create_primary_ecc(self->fd[0], TPM2_RH_OWNER,
					      &handle, NULL, NULL));
	ASSERT_EQ(TPM2_HT_TRANSIENT, handle & TPM2_HT_MASK);
	ASSERT_ZERO_SLOTS(&c);

	/* the space lists exactly its own object, by its virtual handle */
	ASSERT_TPM_OK(tpm2_get_handles(self->fd[0], TPM2_HR_TRANSIENT, list,
				       8, &n));
	ASSERT_EQ(1, n);
	ASSERT_EQ(handle, list[0]);

	ASSERT_TPM_OK(tpm2_sign(self->fd[0], handle, digest));
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_TPM_OK(tpm2_sign(self->fd[0], handle, digest));

	/* the other file's space is empty */
	ASSERT_TPM_OK(tpm2_count_handles(self->fd[1], TPM2_HR_TRANSIENT, &n));
	ASSERT_EQ(0, n);

	ASSERT_TPM_OK(tpm2_flush_context(self->fd[0], handle));
	ASSERT_ZERO_SLOTS(&c);
}

/* c. A file cannot use or flush another file's objects */
TEST_F(space, foreign_handle_refused)
{
	int a = self->fd[0], b = self->fd[1];
	__u32 a1, a2, b1;
	struct tpm2_census c;
	int res;

	ASSERT_TPM_OK(tpm2_create_primary_ecc(a, TPM2_RH_OWNER, &a1,
					      NULL, NULL));
	ASSERT_TPM_OK(tpm2_create_primary_ecc(a, TPM2_RH_NULL, &a2,
					      NULL, NULL));
	ASSERT_NE(a1, a2);

	/* B has no objects at all */
	res = tpm2_sign(b, a2, digest);
	TH_LOG("sign with foreign 0x%08x: %s", a2, tpm2_strerror(res));
	ASSERT_TRUE(refused_handle(res))
		TH_LOG("sign with foreign 0x%08x: %s", a2, tpm2_strerror(res));
	res = tpm2_flush_context(b, a2);
	ASSERT_TRUE(refused_handle(res))
		TH_LOG("flush foreign 0x%08x: %s", a2, tpm2_strerror(res));
	res = tpm2_sign(b, FIRST_PHYSICAL_TRANSIENT, digest);
	ASSERT_TRUE(refused_handle(res))
		TH_LOG("sign with physical 0x%08x: %s",
		       FIRST_PHYSICAL_TRANSIENT, tpm2_strerror(res));

	/* B has an object of its own, A has two */
	ASSERT_TPM_OK(tpm2_create_primary_ecc(b, TPM2_RH_OWNER, &b1,
					      NULL, NULL));
	if (b1 != a2) {
		res = tpm2_sign(b, a2, digest);
		ASSERT_TRUE(refused_handle(res))
			TH_LOG("sign with foreign 0x%08x: %s", a2,
			       tpm2_strerror(res));
		res = tpm2_flush_context(b, a2);
		ASSERT_TRUE(refused_handle(res))
			TH_LOG("flush foreign 0x%08x: %s", a2,
			       tpm2_strerror(res));
	}
	if (b1 != a1) {
		res = tpm2_sign(b, a1, digest);
		ASSERT_TRUE(refused_handle(res))
			TH_LOG("sign with foreign 0x%08x: %s", a1,
			       tpm2_strerror(res));
	}
	ASSERT_TPM_OK(tpm2_sign(b, b1, digest));

	/* A's objects are intact */
	ASSERT_TPM_OK(tpm2_sign(a, a1, digest));
	ASSERT_TPM_OK(tpm2_sign(a, a2, digest));
	ASSERT_ZERO_SLOTS(&c);

	ASSERT_TPM_OK(tpm2_flush_context(b, b1));
	ASSERT_TPM_OK(tpm2_sign(a, a2, digest));
}

/* d. FlushContext of a virtual handle removes the object from the space */
TEST_F(space, flush_virtual_handle)
{
	__u32 handle, again;
	struct tpm2_census c;
	size_t n;
	int res;

	ASSERT_TPM_OK(tpm2_create_primary_ecc(self->fd[0], TPM2_RH_OWNER,
					      &handle, NULL, NULL));
	ASSERT_TPM_OK(tpm2_flush_context(self->fd[0], handle));
	ASSERT_ZERO_SLOTS(&c);

	ASSERT_TPM_OK(tpm2_count_handles(self->fd[0], TPM2_HR_TRANSIENT, &n));
	ASSERT_EQ(0, n);
	res = tpm2_sign(self->fd[0], handle, digest);
	ASSERT_TRUE(refused_handle(res))
		TH_LOG("sign with flushed 0x%08x: %s", handle,
		       tpm2_strerror(res));
	res = tpm2_flush_context(self->fd[0], handle);
	ASSERT_TRUE(refused_handle(res))
		TH_LOG("second flush of 0x%08x: %s", handle,
		       tpm2_strerror(res));

	/* the slot of the space is free again */
	ASSERT_TPM_OK(tpm2_create_primary_ecc(self->fd[0], TPM2_RH_OWNER,
					      &again, NULL, NULL));
	ASSERT_TPM_OK(tpm2_sign(self->fd[0], again, digest));
	ASSERT_TPM_OK(tpm2_flush_context(self->fd[0], again));
	ASSERT_ZERO_SLOTS(&c);
}

/* ContextSave and ContextLoad of an object by the client */
TEST_F(space, context_save_load_object)
{
	struct tpm2_context ctx;
	__u32 handle, loaded;
	struct tpm2_census c;

	ASSERT_TPM_OK(tpm2_create_primary_ecc(self->fd[0], TPM2_RH_OWNER,
					      &handle, NULL, NULL));
	ASSERT_TPM_OK(tpm2_context_save(self->fd[0], handle, &ctx));
	ASSERT_TPM_OK(tpm2_flush_context(self->fd[0], handle));

	ASSERT_TPM_OK(tpm2_context_load(self->fd[0], &ctx, &loaded));
	ASSERT_EQ(TPM2_HT_TRANSIENT, loaded & TPM2_HT_MASK);
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_TPM_OK(tpm2_sign(self->fd[0], loaded, digest));
	ASSERT_TPM_OK(tpm2_flush_context(self->fd[0], loaded));
	ASSERT_ZERO_SLOTS(&c);
}

/* e. A policy session named in the handle area (PolicyPCR) */
TEST_F(space, policy_session_in_handle_area)
{
	__u8 zero[TPM2_SHA256_SIZE] = { 0 };
	__u8 d1[TPM2_SHA256_SIZE], d2[TPM2_SHA256_SIZE];
	struct tpm2_session s1, s2;
	struct tpm2_census c;

	ASSERT_TPM_OK(tpm2_start_auth_session(self->fd[0], TPM2_SE_POLICY,
					      &s1));
	ASSERT_EQ(TPM2_HT_POLICY_SESSION, s1.handle & TPM2_HT_MASK);
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_TPM_OK(tpm2_start_auth_session(self->fd[0], TPM2_SE_POLICY,
					      &s2));
	ASSERT_NE(s1.handle, s2.handle);
	ASSERT_ZERO_SLOTS(&c);

	ASSERT_TPM_OK(tpm2_policy_get_digest(self->fd[0], s1.handle, d1));
	ASSERT_EQ(0, memcmp(d1, zero, sizeof(zero)));

	ASSERT_TPM_OK(tpm2_policy_pcr(self->fd[0], s1.handle,
				      TPM2_ALG_SHA256, 1u << 0));
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_TPM_OK(tpm2_policy_pcr(self->fd[0], s2.handle,
				      TPM2_ALG_SHA256, 1u << 0));
	ASSERT_ZERO_SLOTS(&c);

	/* both sessions kept their own state across the commands */
	ASSERT_TPM_OK(tpm2_policy_get_digest(self->fd[0], s1.handle, d1));
	ASSERT_TPM_OK(tpm2_policy_get_digest(self->fd[0], s2.handle, d2));
	ASSERT_NE(0, memcmp(d1, zero, sizeof(zero)));
	ASSERT_EQ(0, memcmp(d1, d2, sizeof(d1)));
	ASSERT_ZERO_SLOTS(&c);

	ASSERT_TPM_OK(tpm2_flush_context(self->fd[0], s1.handle));
	ASSERT_TPM_OK(tpm2_flush_context(self->fd[0], s2.handle));
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_FALSE(tpm2_census_saved(&c, s1.handle));
	ASSERT_FALSE(tpm2_census_saved(&c, s2.handle));
}

/* e. An HMAC session in the authorization area (audited GetRandom) */
TEST_F(space, hmac_session_in_auth_area)
{
	struct tpm2_session s;
	struct tpm2_census c;
	__u8 buf[16];
	__u16 got;
	int i;

	ASSERT_TPM_OK(tpm2_start_auth_session(self->fd[0], TPM2_SE_HMAC, &s));
	ASSERT_EQ(TPM2_HT_HMAC_SESSION, s.handle & TPM2_HT_MASK);
	ASSERT_ZERO_SLOTS(&c);

	/* each response HMAC proves the TPM kept the session's nonces */
	for (i = 0; i < 3; i++) {
		got = 0;
		ASSERT_TPM_OK(tpm2_get_random_hmac(self->fd[0], &s, buf,
						   sizeof(buf), &got));
		ASSERT_EQ(sizeof(buf), got);
		ASSERT_ZERO_SLOTS(&c);
	}

	ASSERT_TPM_OK(tpm2_flush_context(self->fd[0], s.handle));
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_FALSE(tpm2_census_saved(&c, s.handle));
}

/* f. Closing the file releases every object and session it held */
TEST_F(space, close_releases_everything)
{
	struct tpm2_session hmac, policy;
	__u32 k1, k2;
	struct tpm2_census c;
	__u8 buf[8];
	__u16 got;

	ASSERT_TPM_OK(tpm2_create_primary_ecc(self->fd[0], TPM2_RH_OWNER, &k1,
					      NULL, NULL));
	ASSERT_TPM_OK(tpm2_create_primary_ecc(self->fd[0], TPM2_RH_NULL, &k2,
					      NULL, NULL));
	ASSERT_TPM_OK(tpm2_start_auth_session(self->fd[0], TPM2_SE_HMAC,
					      &hmac));
	ASSERT_TPM_OK(tpm2_start_auth_session(self->fd[0], TPM2_SE_POLICY,
					      &policy));
	ASSERT_TPM_OK(tpm2_policy_pcr(self->fd[0], policy.handle,
				      TPM2_ALG_SHA256, 1u << 0));
	ASSERT_TPM_OK(tpm2_get_random_hmac(self->fd[0], &hmac, buf,
					   sizeof(buf), &got));
	ASSERT_TPM_OK(tpm2_sign(self->fd[0], k2, digest));
	ASSERT_ZERO_SLOTS(&c);

	close(self->fd[0]);
	self->fd[0] = -1;

	ASSERT_ZERO_SLOTS(&c);
	ASSERT_FALSE(tpm2_census_saved(&c, hmac.handle))
		TH_LOG("HMAC session 0x%08x still saved", hmac.handle);
	ASSERT_FALSE(tpm2_census_saved(&c, policy.handle))
		TH_LOG("policy session 0x%08x still saved", policy.handle);
	ASSERT_EQ(self->before.saved, c.saved);
}

/*
 * g. A command whose header size field is 0.  Upstream 6.12 hands it to
 * the driver, which fails it with ENODATA; EINVAL or a TPM-format error
 * are as good.  Size fields 1 to 9 are not tried: on upstream, 6 to 9
 * reach the chip and freeze a QEMU guest with swtpm.
 */
TEST_F(space, malformed_size_zero)
{
	struct tpm2_buf cmd;
	struct tpm2_census c;
	__u8 buf[8];
	__u16 got;
	int res;

	tpm2_cmd_init(&cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_RANDOM);
	tpm2_put_u16(&cmd, sizeof(buf));
	/* leave the size field at 0: no tpm2_cmd_finish() */
	res = send_raw(self->fd[0], cmd.data, cmd.len);
	TH_LOG("size field 0: %s", tpm2_strerror(res));
	ASSERT_TRUE(malformed_refused(res));

	ASSERT_TPM_OK(tpm2_get_random(self->fd[0], buf, sizeof(buf), &got));
	ASSERT_EQ(sizeof(buf), got);
	ASSERT_ZERO_SLOTS(&c);
}

/* g. A header size field larger than what was written */
TEST_F(space, malformed_size_exceeds_write)
{
	struct tpm2_buf cmd;
	struct tpm2_census c;
	__u8 buf[8];
	__u16 got;
	int res;

	tpm2_cmd_init(&cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_RANDOM);
	tpm2_put_u16(&cmd, sizeof(buf));
	tpm2_cmd_finish(&cmd);
	cmd.data[5] += 64;
	res = send_raw(self->fd[0], cmd.data, cmd.len);
	TH_LOG("size field %zu for %zu bytes: %s", cmd.len + 64, cmd.len,
	       tpm2_strerror(res));
	ASSERT_TRUE(malformed_refused(res));

	ASSERT_TPM_OK(tpm2_get_random(self->fd[0], buf, sizeof(buf), &got));
	ASSERT_EQ(sizeof(buf), got);
	ASSERT_ZERO_SLOTS(&c);
}

/* g. A write shorter than a header */
TEST_F(space, malformed_short_write)
{
	struct tpm2_buf cmd;
	struct tpm2_census c;
	__u8 buf[8];
	__u16 got;
	int res;

	tpm2_cmd_init(&cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_RANDOM);
	tpm2_put_u16(&cmd, sizeof(buf));
	tpm2_cmd_finish(&cmd);
	res = send_raw(self->fd[0], cmd.data, 4);
	TH_LOG("4-byte write: %s", tpm2_strerror(res));
	ASSERT_TRUE(malformed_refused(res));

	ASSERT_TPM_OK(tpm2_get_random(self->fd[0], buf, sizeof(buf), &got));
	ASSERT_EQ(sizeof(buf), got);
	ASSERT_ZERO_SLOTS(&c);
}

TEST_HARNESS_MAIN
