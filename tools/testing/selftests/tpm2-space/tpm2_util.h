/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Minimal TPM 2.0 command builder and response parser for the tpm2-space
 * selftests.  It speaks raw TPM 2.0 over any file descriptor that accepts a
 * whole command with write() and hands back the response with read():
 * /dev/tpmrm0, /dev/tpm0, or a socket to a TPM simulator.
 *
 * Return convention of every tpm2_*() command wrapper:
 *   < 0  -errno: write()/read() failed, or the response was malformed
 *          (-EPROTO) or did not fit into the caller's buffer (-ENOSPC);
 *     0  TPM_RC_SUCCESS;
 *   > 0  the response code of the TPM or the resource manager.
 */
#ifndef TPM2_UTIL_H
#define TPM2_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define TPM2_MAX_BUF		4096
#define TPM2_HEADER_SIZE	10
#define TPM2_SHA256_SIZE	32

/* Structure tags */
#define TPM2_ST_NO_SESSIONS	0x8001
#define TPM2_ST_SESSIONS	0x8002
#define TPM2_ST_HASHCHECK	0x8024

/* Command codes */
#define TPM2_CC_CLEAR			0x00000126
#define TPM2_CC_CREATE_PRIMARY		0x00000131
#define TPM2_CC_POLICY_SECRET		0x00000151
#define TPM2_CC_SIGN			0x0000015D
#define TPM2_CC_CONTEXT_LOAD		0x00000161
#define TPM2_CC_CONTEXT_SAVE		0x00000162
#define TPM2_CC_FLUSH_CONTEXT		0x00000165
#define TPM2_CC_START_AUTH_SESSION	0x00000176
#define TPM2_CC_GET_CAPABILITY		0x0000017A
#define TPM2_CC_GET_RANDOM		0x0000017B
#define TPM2_CC_POLICY_PCR		0x0000017F
#define TPM2_CC_POLICY_GET_DIGEST	0x00000189

/* Response codes */
#define TPM2_RC_SUCCESS		0x000
#define TPM2_RC_FMT1		0x080
#define TPM2_RC_HANDLE		0x00B	/* format 1 error number */
#define TPM2_RC_OBJECT_MEMORY	0x902
#define TPM2_RC_SESSION_MEMORY	0x903
#define TPM2_RC_REFERENCE_H0	0x910
#define TPM2_RC_TESTING		0x90A
#define TPM2_RC_RETRY		0x922
#define TPM2_RC_LAYER_MASK	0xFFFF0000u
/* The layer of the errors the resource manager makes up itself */
#define TPM2_RM_LAYER		0x000B0000u

/* Algorithms */
#define TPM2_ALG_SHA256		0x000B
#define TPM2_ALG_NULL		0x0010
#define TPM2_ALG_ECDSA		0x0018
#define TPM2_ALG_ECC		0x0023
#define TPM2_ECC_NIST_P256	0x0003

/* Permanent handles */
#define TPM2_RH_OWNER		0x40000001
#define TPM2_RH_NULL		0x40000007
#define TPM2_RS_PW		0x40000009
#define TPM2_RH_LOCKOUT		0x4000000A
#define TPM2_RH_ENDORSEMENT	0x4000000B

/* Handle ranges, as used by GetCapability(TPM_CAP_HANDLES) */
#define TPM2_HT_MASK		0xFF000000u
#define TPM2_HT_HMAC_SESSION	0x02000000u
#define TPM2_HT_POLICY_SESSION	0x03000000u
#define TPM2_HT_TRANSIENT	0x80000000u
#define TPM2_HR_LOADED_SESSION	0x02000000u	/* loaded sessions */
#define TPM2_HR_SAVED_SESSION	0x03000000u	/* saved (active) sessions */
#define TPM2_HR_TRANSIENT	0x80000000u

#define TPM2_CAP_HANDLES	0x00000001

/* Session types and attributes */
#define TPM2_SE_HMAC		0x00
#define TPM2_SE_POLICY		0x01
#define TPM2_SA_CONTINUE_SESSION	0x01
#define TPM2_SA_AUDIT			0x80

/* A whole command or response */
struct tpm2_buf {
	__u8 data[TPM2_MAX_BUF];
	size_t len;	/* bytes written (command) or received (response) */
	size_t pos;	/* parse position (response only) */
	bool bad;	/* overflow while building or short while parsing */
};

/* An unbound, unsalted authorization session, as the client sees it */
struct tpm2_session {
	__u32 handle;
	__u8 type;
	__u8 nonce_caller[TPM2_SHA256_SIZE];
	__u8 nonce_tpm[TPM2_SHA256_SIZE];
	__u16 nonce_tpm_len;
};

/* An object context, as returned by ContextSave */
struct tpm2_context {
	__u8 data[TPM2_MAX_BUF];	/* marshalled TPMS_CONTEXT */
	size_t len;
};

/* ---- SHA-256 and HMAC-SHA256 ------------------------------------------ */

struct tpm2_sha256 {
	__u32 h[8];
	__u8 block[64];
	__u64 total;
	size_t fill;
};

void tpm2_sha256_init(struct tpm2_sha256 *ctx);
void tpm2_sha256_update(struct tpm2_sha256 *ctx, const void *data, size_t len);
void tpm2_sha256_final(struct tpm2_sha256 *ctx, __u8 out[TPM2_SHA256_SIZE]);
void tpm2_hmac_sha256(const void *key, size_t key_len,
		      const void *msg, size_t msg_len,
		      __u8 out[TPM2_SHA256_SIZE]);

/* ---- Command building --------------------------------------------------- */

/* Empty the buffer, e.g. to collect bytes to hash */
void tpm2_buf_reset(struct tpm2_buf *buf);
void tpm2_cmd_init(struct tpm2_buf *cmd, __u16 tag, __u32 cc);
void tpm2_put_u8(struct tpm2_buf *cmd, __u8 v);
void tpm2_put_u16(struct tpm2_buf *cmd, __u16 v);
void tpm2_put_u32(struct tpm2_buf *cmd, __u32 v);
void tpm2_put_u64(struct tpm2_buf *cmd, __u64 v);
void tpm2_put_bytes(struct tpm2_buf *cmd, const void *p, size_t len);
/* A TPM2B: 16-bit size followed by the bytes */
void tpm2_put_tpm2b(struct tpm2_buf *cmd, const void *p, __u16 len);
/* Authorization area with one empty password session (TPM_RS_PW) */
void tpm2_put_pw_auth(struct tpm2_buf *cmd);
/* Fix up the size field in the header; returns the command length */
size_t tpm2_cmd_finish(struct tpm2_buf *cmd);

/* ---- Response parsing --------------------------------------------------- */

__u32 tpm2_rsp_rc(const struct tpm2_buf *rsp);
__u8 tpm2_get_u8(struct tpm2_buf *rsp);
__u16 tpm2_get_u16(struct tpm2_buf *rsp);
__u32 tpm2_get_u32(struct tpm2_buf *rsp);
__u64 tpm2_get_u64(struct tpm2_buf *rsp);
/* Copy len bytes to out (which may be NULL to skip them) */
void tpm2_get_bytes(struct tpm2_buf *rsp, void *out, size_t len);
/*
 * Read a TPM2B.  Its payload is copied to out if out is not NULL and the
 * payload fits into max bytes; a larger payload marks the buffer bad.
 * Returns the payload size.
 */
__u16 tpm2_get_tpm2b(struct tpm2_buf *rsp, void *out, size_t max);

/* ---- Transport ---------------------------------------------------------- */

/* open(path, O_RDWR); returns an fd or -errno */
int tpm2_open(const char *path);
/*
 * Send a finished command and receive its whole response.  Returns 0 when a
 * well-formed response header was received (check tpm2_rsp_rc()), or -errno.
 */
int tpm2_transmit(int fd, struct tpm2_buf *cmd, struct tpm2_buf *rsp);
/*
 * tpm2_transmit(), then the response code (see the convention above).
 * TPM_RC_RETRY and TPM_RC_TESTING are retried for a while.
 */
int tpm2_run(int fd, struct tpm2_buf *cmd, struct tpm2_buf *rsp);
/* Human-readable text for a result code of the convention above */
const char *tpm2_strerror(int res);
/* An error response the resource manager made up (TPM2_RM_LAYER) */
bool tpm2_rm_refused(int res);

/* ---- Commands ----------------------------------------------------------- */

int tpm2_get_random(int fd, __u8 *out, __u16 count, __u16 *got);
/*
 * CreatePrimary of an unrestricted ECC NIST P-256 ECDSA/SHA-256 signing key
 * with empty auth under @hierarchy (TPM2_RH_OWNER, TPM2_RH_NULL, ...).
 * @name may be NULL; otherwise it receives the object's Name (up to 34
 * bytes) and @name_len its length.
 */
int tpm2_create_primary_ecc(int fd, __u32 hierarchy, __u32 *handle,
			    __u8 *name, __u16 *name_len);
/* Sign a SHA-256 digest with an empty-auth key, using the key's scheme */
int tpm2_sign(int fd, __u32 key, const __u8 digest[TPM2_SHA256_SIZE]);
/*
 * The parameters of Sign after its authorization area: @digest, the key's
 * own scheme, no ticket.  TPM2_SIGN_PARAMS_SIZE bytes.
 */
void tpm2_put_sign_params(struct tpm2_buf *cmd,
			  const __u8 digest[TPM2_SHA256_SIZE]);
#define TPM2_SIGN_PARAMS_SIZE	(2 + TPM2_SHA256_SIZE + 2 + 2 + 4 + 2)
int tpm2_flush_context(int fd, __u32 handle);
int tpm2_context_save(int fd, __u32 handle, struct tpm2_context *ctx);
int tpm2_context_load(int fd, const struct tpm2_context *ctx, __u32 *handle);
/* @type: TPM2_SE_HMAC or TPM2_SE_POLICY; SHA-256, no symmetric algorithm */
int tpm2_start_auth_session(int fd, __u8 type, struct tpm2_session *s);
/* PolicyPCR on the current values of the PCRs in @pcr_mask (bit n = PCRn) */
int tpm2_policy_pcr(int fd, __u32 session, __u16 bank, __u32 pcr_mask);
int tpm2_policy_get_digest(int fd, __u32 session,
			   __u8 digest[TPM2_SHA256_SIZE]);
/*
 * GetRandom with @s in the authorization area as an audit session.  The
 * command HMAC is computed and the response HMAC checked; a bad response
 * HMAC gives -EBADMSG.  The session's nonces are rolled on success.
 */
int tpm2_get_random_hmac(int fd, struct tpm2_session *s, __u8 *out,
			 __u16 count, __u16 *got);
/*
 * GetCapability(TPM_CAP_HANDLES) for the handle range that starts at @first
 * (TPM2_HR_TRANSIENT, TPM2_HR_LOADED_SESSION, TPM2_HR_SAVED_SESSION, ...).
 * Follows moreData.  Handles are stored as the TPM reports them: swtpm
 * lists saved sessions with a 0x02 type byte, so compare sessions by their
 * low 24 bits.  At most @max handles are stored; *@count receives the total
 * number found.
 */
int tpm2_get_handles(int fd, __u32 first, __u32 *handles, size_t max,
		     size_t *count);
/*
 * Sign like tpm2_sign(), but authorize the key with HMAC session @s
 * (unbound, unsalted; the key's authValue is empty) instead of a password.
 * @name is the key's Name.  The response HMAC is checked (-EBADMSG) and
 * the session's nonces are rolled on success.
 */
int tpm2_sign_hmac(int fd, __u32 key, const __u8 *name, __u16 name_len,
		   struct tpm2_session *s, const __u8 digest[TPM2_SHA256_SIZE]);
/*
 * PolicySecret of @auth (an empty-auth object or hierarchy, authorized
 * with a password) on policy session @session: no nonce, cpHash, policyRef
 * or expiration.
 */
int tpm2_policy_secret(int fd, __u32 auth, __u32 session);
/* Number of handles of the type of @first, or -errno / TPM rc on error */
int tpm2_count_handles(int fd, __u32 first, size_t *count);
/* Is @handle in the list?  Compares the low 24 bits only when @low24 */
bool tpm2_handle_listed(const __u32 *handles, size_t n, __u32 handle,
			bool low24);

/* ---- The TPM's view, for the zero-slot rule --------------------------- */

#define TPM2_TPM_DEV		"/dev/tpm0"
#define TPM2_CENSUS_MAX		128

/* What the TPM holds, seen through /dev/tpm0 */
struct tpm2_census {
	size_t transient;	/* loaded transient objects */
	size_t loaded;		/* loaded sessions */
	size_t saved;		/* saved (active) sessions */
	__u32 saved_h[TPM2_CENSUS_MAX];
};

/* tpm2_open(), waiting up to 2 s while another file holds @path open */
int tpm2_open_wait(const char *path);
/*
 * Count what the TPM behind @path (an exclusive /dev/tpmN) holds.  More
 * than TPM2_CENSUS_MAX saved sessions give -ENOSPC.
 */
int tpm2_take_census(const char *path, struct tpm2_census *c);
/* Is session @handle among the saved ones?  Compares the low 24 bits. */
bool tpm2_census_saved(const struct tpm2_census *c, __u32 handle);

/*
 * For tests built on kselftest_harness.h.  ASSERT_TPM_OK() runs a tpm2_*()
 * wrapper and asserts TPM_RC_SUCCESS.  ASSERT_ZERO_SLOTS() takes a census
 * into *@c and asserts the zero-slot rule: no transient object and no
 * session loaded in the TPM.
 */
#define ASSERT_TPM_OK(expr) do {					\
	int __res = (expr);						\
	ASSERT_EQ(0, __res)						\
		TH_LOG("%s: %s", #expr, tpm2_strerror(__res));		\
} while (0)

/* HMAC session @s still works: the TPM's response HMAC checks out */
#define ASSERT_HMAC_WORKS(fd, s) do {					\
	__u8 __buf[8];							\
	__u16 __got = 0;						\
									\
	ASSERT_TPM_OK(tpm2_get_random_hmac(fd, s, __buf,		\
					   sizeof(__buf), &__got));	\
	ASSERT_EQ(sizeof(__buf), __got);				\
} while (0)

#define ASSERT_ZERO_SLOTS(c) do {					\
	struct tpm2_census *__zc = (c);					\
									\
	ASSERT_TPM_OK(tpm2_take_census(TPM2_TPM_DEV, __zc));		\
	ASSERT_EQ(0, __zc->transient)					\
		TH_LOG("line %d: transient objects left loaded",	\
		       __LINE__);					\
	ASSERT_EQ(0, __zc->loaded)					\
		TH_LOG("line %d: sessions left loaded", __LINE__);	\
} while (0)

/* ---- Resource manager counters -------------------------------------- */

/* The figures of <debugfs>/tpmN/space_stats */
struct tpm2_rm_stats {
	long user_commands;
	long rm_answers;
	long context_load;
	long context_save;
	long flush_context;
};

#define TPM2_RM_STATS_PATH	"/sys/kernel/debug/tpm0/space_stats"

/* Read @path; 0, or -errno (-EPROTO when a counter is missing) */
int tpm2_read_rm_stats(const char *path, struct tpm2_rm_stats *st);
/* TPM commands the resource manager issued itself between @a and @b */
long tpm2_rm_stats_issued(const struct tpm2_rm_stats *a,
			  const struct tpm2_rm_stats *b);

/* ---- Exhaustion tests: properties, Certify, parameters, counters ------ */

#define TPM2_CC_CERTIFY			0x00000148
#define TPM2_CAP_TPM_PROPERTIES		0x00000006
#define TPM2_PT_HR_TRANSIENT_MIN	0x0000010E
#define TPM2_PT_HR_LOADED_MIN		0x00000110
#define TPM2_PT_ACTIVE_SESSIONS_MAX	0x00000111
#define TPM2_PT_CONTEXT_GAP_MAX		0x00000114

#define TPM2_RC_CONTEXT_GAP		0x901
#define TPM2_RC_OBJECT_MEMORY		0x902
#define TPM2_RC_SESSION_MEMORY		0x903
#define TPM2_RC_SESSION_HANDLES		0x905
#define TPM2_RC_OBJECT_HANDLES		0x906
#define TPM2_RC_REFERENCE_S0		0x918

/* GetCapability(TPM_CAP_TPM_PROPERTIES) of one property */
int tpm2_get_property(int fd, __u32 property, __u32 *value);
/*
 * Certify @object with the empty-auth signing key @signer, both authorized
 * with a password: a command that needs two objects loaded at once.
 */
int tpm2_certify(int fd, __u32 object, __u32 signer);

#define TPM2_MODULE_PARAMS	"/sys/module/tpm/parameters"

/* A module parameter of tpm.ko; 0, or -errno (-ENOENT: no such one) */
int tpm2_read_param(const char *name, long *value);
int tpm2_write_param(const char *name, long value);
/*
 * One named counter of <debugfs>/tpmN/space_stats; 0, or -errno (-ENOENT
 * when the file has no such line)
 */
int tpm2_read_rm_counter(const char *path, const char *name, long *value);

#endif /* TPM2_UTIL_H */
