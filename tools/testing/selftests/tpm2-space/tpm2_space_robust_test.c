// SPDX-License-Identifier: GPL-2.0-only
/*
 * GetCapability(TPM_CAP_HANDLES) through /dev/tpmrmN, in the two cases the
 * resource manager once got wrong (see Documentation/security/tpm/
 * tpm-space.rst):
 *  - with a session in the authorization area, the reply must be the
 *    TPM's: a parameter size, a response auth area whose HMAC checks out,
 *    rolled nonces, and a session sent without continueSession gone
 *    afterwards;
 *  - paging through the space's sessions one handle at a time must list
 *    HMAC (0x02) and policy (0x03) sessions alike, as one large page does.
 *
 * Needs root, a TPM 2.0 with /dev/tpm0 and /dev/tpmrm0, and no other user
 * of the TPM while it runs (the QEMU + swtpm guest of tools/testing/
 * tpm2-qemu).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>

#include "../kselftest_harness.h"
#include "tpm2_util.h"

#define MAX_HANDLES	32

/*
 * GetCapability(TPM_CAP_HANDLES, @property, 64) with @s in the auth area
 * as an audit session (GetCapability authorizes nothing), @attrs adding
 * continueSession or not. The HMAC key is empty: unbound, unsalted.
 * Returns the TPM result, then that of tpm2t_check_rsp_hmac(): the reply
 * is the TPM's, with its auth area. *@count holds the list's length.
 */
static int get_cap_audited(int fd, struct tpm2t_session *s, __u8 attrs,
			   __u32 property, struct tpm2t_buf *rsp, __u32 *count)
{
	struct tpm2t_buf cmd, params;
	__u32 i;
	int ret;

	tpm2t_buf_reset(&params);
	tpm2t_put_u32(&params, TPM2_CAP_HANDLES);
	tpm2t_put_u32(&params, property);
	tpm2t_put_u32(&params, 64);
	tpm2t_cmd_init(&cmd, TPM2_ST_SESSIONS, TPM2_CC_GET_CAPABILITY);
	/* no handles, so no names */
	ret = tpm2t_run_hmac(fd, &cmd, s, attrs, NULL, 0, &params, rsp);
	if (ret)
		return ret;

	tpm2t_get_u8(rsp);			/* moreData */
	tpm2t_get_u32(rsp);			/* capability */
	*count = tpm2t_get_u32(rsp);
	for (i = 0; i < *count; i++)
		tpm2t_get_u32(rsp);
	if (rsp->bad)
		return -EPROTO;
	return tpm2t_check_rsp_hmac(rsp, s, TPM2_CC_GET_CAPABILITY, attrs);
}

/* Does the TPM still have session @handle? Between commands it is saved. */
static bool tpm_has_session(__u32 handle)
{
	struct tpm2t_census c;

	if (tpm2t_census(-1, &c))
		return true;
	return tpm2t_census_saved(&c, handle) || c.loaded;
}

FIXTURE(rm) {
	int fd;
	struct tpm2t_census census;
};

FIXTURE_SETUP(rm)
{
	self->fd = tpm2t_open(TPM2T_RM_DEV);
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s", TPM2T_RM_DEV, strerror(-self->fd));
}

FIXTURE_TEARDOWN(rm)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* continueSession set: the TPM's reply, and the session lives on */
TEST_F(rm, get_capability_audit_session_continued)
{
	const __u8 attrs = TPM2_SA_CONTINUE_SESSION | TPM2_SA_AUDIT;
	__u32 ranges[] = { TPM2_HR_TRANSIENT, TPM2_HR_LOADED_SESSION,
			   TPM2_HR_SAVED_SESSION };
	struct tpm2t_session s;
	struct tpm2t_buf rsp;
	__u32 count, i;

	ASSERT_TPM_OK(tpm2t_start_auth_session(self->fd, TPM2_SE_HMAC, &s));
	for (i = 0; i < ARRAY_SIZE(ranges); i++) {
		ASSERT_TPM_OK(get_cap_audited(self->fd, &s, attrs, ranges[i],
					      &rsp, &count));
	}
	ASSERT_HMAC_WORKS(self->fd, &s);
	ASSERT_ZERO_SLOTS(&self->census);
	ASSERT_TPM_OK(tpm2t_flush_context(self->fd, s.handle));
}

/* continueSession clear: the TPM ends the session, and the RM knows it */
TEST_F(rm, get_capability_audit_session_ended)
{
	const __u8 attrs = TPM2_SA_AUDIT;
	struct tpm2t_session s;
	struct tpm2t_buf rsp;
	__u8 buf[8];
	__u16 got;
	__u32 count;
	int res;

	ASSERT_TPM_OK(tpm2t_start_auth_session(self->fd, TPM2_SE_HMAC, &s));
	ASSERT_TPM_OK(get_cap_audited(self->fd, &s, attrs, TPM2_HR_TRANSIENT,
				      &rsp, &count));

	ASSERT_FALSE(tpm_has_session(s.handle))
		TH_LOG("session 0x%08x still in the TPM", s.handle);
	res = tpm2t_get_random_hmac(self->fd, &s, buf, sizeof(buf), &got);
	ASSERT_NE(0, res) TH_LOG("the ended session still works");
	ASSERT_ZERO_SLOTS(&self->census);
}

/* GetCapability(TPM_CAP_HANDLES) from @first, @page handles at a time */
static int list_handles(int fd, __u32 first, __u32 page, __u32 *out,
			size_t max, size_t *n)
{
	__u32 got[64], next = first, count, i;
	__u8 more;
	int ret;

	if (page > ARRAY_SIZE(got))
		return -EINVAL;
	*n = 0;
	do {
		ret = tpm2t_get_handles_page(fd, next, page, got, &count,
					     &more);
		if (ret)
			return ret;
		for (i = 0; i < count; i++) {
			if (*n < max)
				out[(*n)++] = got[i];
			/* the next page of the same range keeps its type */
			next = (first & 0xFF000000u) |
			       ((got[i] + 1) & 0x00FFFFFFu);
		}
	} while (more && count && *n < max);
	return 0;
}

/* Paging by one finds every session of mixed types, as one page does */
TEST_F(rm, get_capability_paging_mixed_sessions)
{
	__u32 all[MAX_HANDLES], paged[MAX_HANDLES], key;
	struct tpm2t_session s[6];
	size_t n_all, n_paged, i;

	for (i = 0; i < 6; i++)
		ASSERT_TPM_OK(tpm2t_start_auth_session(self->fd, i % 2 ?
						      TPM2_SE_POLICY :
						      TPM2_SE_HMAC, &s[i]));
	ASSERT_TPM_OK(tpm2t_create_primary_ecc(self->fd, TPM2_RH_NULL, &key,
					       NULL, NULL));

	ASSERT_TPM_OK(list_handles(self->fd, TPM2_HR_LOADED_SESSION, 64, all,
				   MAX_HANDLES, &n_all));
	ASSERT_EQ(6, n_all);
	ASSERT_TPM_OK(list_handles(self->fd, TPM2_HR_LOADED_SESSION, 1,
				   paged, MAX_HANDLES, &n_paged));
	ASSERT_EQ(n_all, n_paged) TH_LOG("paging by one skipped handles");
	for (i = 0; i < n_all; i++)
		ASSERT_EQ(all[i], paged[i]);

	ASSERT_TPM_OK(list_handles(self->fd, TPM2_HR_TRANSIENT, 1, paged,
				   MAX_HANDLES, &n_paged));
	ASSERT_EQ(1, n_paged);
	ASSERT_EQ(key, paged[0]);
	for (i = 0; i < 6; i++)
		ASSERT_TPM_OK(tpm2t_flush_context(self->fd, s[i].handle));
	ASSERT_ZERO_SLOTS(&self->census);
}

TEST_HARNESS_MAIN
