/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The vocabulary of the tpm2-space selftests: a minimal TPM 2.0 command
 * builder and response parser, the commands the tests send, the census of
 * the TPM's slots that checks the zero-slot rule, and the resource
 * manager's counters and parameters.
 *
 * Every helper of ours is called tpm2t_ (TPM2T_ for its constants), so
 * that none shares its name with one of the kernel's; the TPM's own
 * constants keep their TCG names, with the kernel's values.
 *
 * Return convention of every tpm2t_*() command wrapper:
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

/* ---- The TPM's constants (TPM 2.0 Library, Part 2) ---------------------- */

#define TPM2_HEADER_SIZE	10
#define TPM2_SHA256_SIZE	32

/* Structure tags */
#define TPM2_ST_NO_SESSIONS	0x8001
#define TPM2_ST_SESSIONS	0x8002
#define TPM2_ST_HASHCHECK	0x8024

/* Command codes */
#define TPM2_CC_CLEAR			0x00000126
#define TPM2_CC_CREATE_PRIMARY		0x00000131
#define TPM2_CC_CERTIFY			0x00000148
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

/* Response codes, without their layer */
#define TPM2_RC_SUCCESS		0x000
#define TPM2_RC_FMT1		0x080
#define TPM2_RC_HANDLE		0x08B	/* format 1: mask with 0xBF */
#define TPM2_RC_CONTEXT_GAP	0x901
#define TPM2_RC_OBJECT_MEMORY	0x902
#define TPM2_RC_SESSION_MEMORY	0x903
#define TPM2_RC_SESSION_HANDLES	0x905
#define TPM2_RC_OBJECT_HANDLES	0x906
#define TPM2_RC_TESTING		0x90A
#define TPM2_RC_REFERENCE_H0	0x910
#define TPM2_RC_REFERENCE_S0	0x918
#define TPM2_RC_RETRY		0x922
#define TPM2_RC_LAYER_MASK	0xFFFF0000u

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

/* Handle types, and the ranges GetCapability(TPM_CAP_HANDLES) lists */
#define TPM2_HT_MASK		0xFF000000u
#define TPM2_HT_HMAC_SESSION	0x02000000u
#define TPM2_HT_POLICY_SESSION	0x03000000u
#define TPM2_HT_TRANSIENT	0x80000000u
#define TPM2_HR_LOADED_SESSION	0x02000000u	/* loaded sessions */
#define TPM2_HR_SAVED_SESSION	0x03000000u	/* saved (active) sessions */
#define TPM2_HR_TRANSIENT	0x80000000u

/* Capabilities and properties */
#define TPM2_CAP_HANDLES		0x00000001
#define TPM2_CAP_TPM_PROPERTIES		0x00000006
#define TPM2_PT_HR_TRANSIENT_MIN	0x0000010E
#define TPM2_PT_HR_LOADED_MIN		0x00000110
#define TPM2_PT_ACTIVE_SESSIONS_MAX	0x00000111
#define TPM2_PT_CONTEXT_GAP_MAX		0x00000114

/* Session types and attributes */
#define TPM2_SE_HMAC		0x00
#define TPM2_SE_POLICY		0x01
#define TPM2_SA_CONTINUE_SESSION	0x01
#define TPM2_SA_AUDIT			0x80

/* ---- Wire building ------------------------------------------------------ */

#define TPM2T_MAX_BUF		4096

/* A whole command or response */
struct tpm2t_buf {
	__u8 data[TPM2T_MAX_BUF];
	size_t len;	/* bytes written (command) or received (response) */
	size_t pos;	/* parse position (response only) */
	bool bad;	/* overflow while building or short while parsing */
};

/* Empty the buffer, e.g. to collect bytes to hash */
void tpm2t_buf_reset(struct tpm2t_buf *buf);
void tpm2t_cmd_init(struct tpm2t_buf *cmd, __u16 tag, __u32 cc);
void tpm2t_put_u8(struct tpm2t_buf *cmd, __u8 v);
void tpm2t_put_u16(struct tpm2t_buf *cmd, __u16 v);
void tpm2t_put_u32(struct tpm2t_buf *cmd, __u32 v);
void tpm2t_put_u64(struct tpm2t_buf *cmd, __u64 v);
void tpm2t_put_bytes(struct tpm2t_buf *cmd, const void *p, size_t len);
/* A TPM2B: 16-bit size followed by the bytes */
void tpm2t_put_tpm2b(struct tpm2t_buf *cmd, const void *p, __u16 len);
/*
 * One session of an authorization area, without the area's size: @handle,
 * @nonce_len zero bytes of nonce, @attrs, an empty hmac.  With TPM2_RS_PW
 * and no nonce it is the empty password.  A @nonce_len above
 * TPM2_SHA256_SIZE is written as the size alone, for malformed areas.
 */
void tpm2t_put_session(struct tpm2t_buf *cmd, __u32 handle, __u16 nonce_len,
		       __u8 attrs);
/* Authorization area of @nr empty password sessions (TPM_RS_PW) */
void tpm2t_put_pw_auths(struct tpm2t_buf *cmd, unsigned int nr);
/* The same with one session */
void tpm2t_put_pw_auth(struct tpm2t_buf *cmd);
/* Fix up the size field in the header; returns the command length */
size_t tpm2t_cmd_finish(struct tpm2t_buf *cmd);
/* The command code in the header of @cmd */
__u32 tpm2t_cmd_cc(const struct tpm2t_buf *cmd);
/* GetRandom of @count bytes, finished: the test's simplest command */
void tpm2t_build_get_random(struct tpm2t_buf *cmd, __u16 tag, __u16 count);

/* ---- Response parsing --------------------------------------------------- */

__u32 tpm2t_rsp_rc(const struct tpm2t_buf *rsp);
__u8 tpm2t_get_u8(struct tpm2t_buf *rsp);
__u16 tpm2t_get_u16(struct tpm2t_buf *rsp);
__u32 tpm2t_get_u32(struct tpm2t_buf *rsp);
__u64 tpm2t_get_u64(struct tpm2t_buf *rsp);
/* Copy len bytes to out (which may be NULL to skip them) */
void tpm2t_get_bytes(struct tpm2t_buf *rsp, void *out, size_t len);
/*
 * Read a TPM2B.  Its payload is copied to out if out is not NULL and the
 * payload fits into max bytes; a larger payload marks the buffer bad.
 * Returns the payload size.
 */
__u16 tpm2t_get_tpm2b(struct tpm2t_buf *rsp, void *out, size_t max);

/* ---- Device I/O --------------------------------------------------------- */

/* The resource manager under test, and the TPM itself (the observer) */
#define TPM2T_RM_DEV		"/dev/tpmrm0"
#define TPM2T_TPM_DEV		"/dev/tpm0"

/* open(path, O_RDWR); returns an fd or -errno */
int tpm2t_open(const char *path);
/* tpm2t_open(), waiting up to 2 s while another file holds @path open */
int tpm2t_open_wait(const char *path);
/*
 * Send a finished command and receive its whole response, on an O_NONBLOCK
 * file once poll() reports it.  Returns 0 when a well-formed response
 * header was received (check tpm2t_rsp_rc()), or -errno.
 */
int tpm2t_transmit(int fd, struct tpm2t_buf *cmd, struct tpm2t_buf *rsp);
/*
 * Finish @cmd, tpm2t_transmit() it, then the response code (see the
 * convention above).  TPM_RC_RETRY and TPM_RC_TESTING are retried for a
 * while.
 */
int tpm2t_run(int fd, struct tpm2t_buf *cmd, struct tpm2t_buf *rsp);
/*
 * Write the first @len bytes of @cmd as they are, even if malformed, and
 * read one answer: -errno, or its response code.
 */
int tpm2t_send_raw(int fd, const struct tpm2t_buf *cmd, size_t len);

/* ---- Time ---------------------------------------------------------------- */

/* CLOCK_MONOTONIC in milliseconds */
long tpm2t_now_ms(void);
void tpm2t_sleep_ms(long ms);

/* ---- A chip that goes away: vtpm_proxy ----------------------------------- */

#define TPM2T_VTPMX_DEV		"/dev/vtpmx"

/*
 * The TPM behind a vtpm_proxy: each command read from @proxy goes to
 * /dev/tpm0 and its answer back, but for the proxy's own locality command.
 * Runs until the proxy is closed; returns 0 then, 2 when a signal ended
 * the read, 3 when /dev/tpm0 failed.
 */
int tpm2t_serve_vtpm(int proxy);
/* Wait up to 10 s for @path to exist (@exist) or to be gone */
bool tpm2t_wait_path(const char *path, bool exist);

/* A vTPM served by a child process (tpm2t_serve_vtpm()) */
struct tpm2t_vtpm {
	int proxy;		/* the proxy's end: closing it unplugs */
	pid_t server;
	char tpm_path[32];	/* its /dev/tpmN */
	char rm_path[32];	/* its /dev/tpmrmN */
};

/*
 * Create a vTPM without a server: @v's proxy and paths are set, and the
 * chip registers once a server answers on the proxy.  0 or -errno.
 */
int tpm2t_vtpm_create(struct tpm2t_vtpm *v);

/*
 * Wait for @v's chip to register: 0 once its /dev/tpmrmN exists,
 * -ECONNREFUSED when the driver gave up on it (the proxy hangs up then),
 * -ETIMEDOUT after TPM2T_VTPM_REGISTER_MS.
 */
#define TPM2T_VTPM_REGISTER_MS	120000
int tpm2t_vtpm_wait_registered(const struct tpm2t_vtpm *v);

/*
 * Create a vTPM, fork its server and wait for its /dev/tpmrmN.  Returns 0
 * or -errno.  Unplug with kill(server), then close(proxy).
 */
int tpm2t_vtpm_plug(struct tpm2t_vtpm *v);

/* ---- Results ------------------------------------------------------------ */

/* The layer of the errors the resource manager makes up itself */
#define TPM2T_RM_LAYER		0x000B0000u
#define TPM2T_RM_RC(rc)		((int)(TPM2T_RM_LAYER | (rc)))

/* Human-readable text for a result code of the convention above */
const char *tpm2t_strerror(int res);
/* An error response the resource manager made up (TPM2T_RM_LAYER) */
bool tpm2t_rm_refused(int res);
/*
 * Turned away by the resource manager before the TPM: EINVAL from write(),
 * or an error of the RM's layer.
 */
bool tpm2t_rm_rejected(int res);
/*
 * A malformed command got an error, from any resource manager: EINVAL or
 * ENODATA (upstream's driver) from write(), or a TPM-format error.
 */
bool tpm2t_malformed_refused(int res);

/*
 * For tests built on kselftest_harness.h: ASSERT_TPM_OK() runs a tpm2t_*()
 * wrapper and asserts TPM_RC_SUCCESS.
 */
#define ASSERT_TPM_OK(expr) do {					\
	int __res = (expr);						\
	ASSERT_EQ(0, __res)						\
		TH_LOG("%s: %s", #expr, tpm2t_strerror(__res));		\
} while (0)

/* ---- Crypto (libcrypto) ------------------------------------------------- */

/* 0, or -EIO when libcrypto fails */
int tpm2t_sha256(const void *data, size_t len, __u8 out[TPM2_SHA256_SIZE]);
int tpm2t_hmac_sha256(const void *key, size_t key_len,
		      const void *msg, size_t msg_len,
		      __u8 out[TPM2_SHA256_SIZE]);

/* ---- Objects ------------------------------------------------------------ */

/* An object context, as returned by ContextSave */
struct tpm2t_context {
	__u8 data[TPM2T_MAX_BUF];	/* marshalled TPMS_CONTEXT */
	size_t len;
};

/*
 * CreatePrimary of an unrestricted ECC NIST P-256 ECDSA/SHA-256 signing key
 * with empty auth under @hierarchy (TPM2_RH_OWNER, TPM2_RH_NULL, ...).
 * @name may be NULL; otherwise it receives the object's Name (up to 34
 * bytes) and @name_len its length.
 */
int tpm2t_create_primary_ecc(int fd, __u32 hierarchy, __u32 *handle,
			     __u8 *name, __u16 *name_len);
/* tpm2t_create_primary_ecc() of a key whose Name the caller does not need */
int tpm2t_create_key(int fd, __u32 hierarchy, __u32 *handle);
/* A digest to sign: what it is does not matter */
extern const __u8 tpm2t_digest[TPM2_SHA256_SIZE];
/* Sign a SHA-256 digest with an empty-auth key, using the key's scheme */
int tpm2t_sign(int fd, __u32 key, const __u8 digest[TPM2_SHA256_SIZE]);
/*
 * The parameters of Sign after its authorization area: @digest, the key's
 * own scheme, no ticket.  TPM2T_SIGN_PARAMS_SIZE bytes.
 */
void tpm2t_put_sign_params(struct tpm2t_buf *cmd,
			   const __u8 digest[TPM2_SHA256_SIZE]);
#define TPM2T_SIGN_PARAMS_SIZE	(2 + TPM2_SHA256_SIZE + 2 + 2 + 4 + 2)
/*
 * Certify @object with the empty-auth signing key @signer, both authorized
 * with a password: a command that needs two objects loaded at once.
 */
int tpm2t_certify(int fd, __u32 object, __u32 signer);
/* FlushContext of an object or a session */
int tpm2t_flush_context(int fd, __u32 handle);
int tpm2t_context_save(int fd, __u32 handle, struct tpm2t_context *ctx);
int tpm2t_context_load(int fd, const struct tpm2t_context *ctx,
		       __u32 *handle);
int tpm2t_get_random(int fd, __u8 *out, __u16 count, __u16 *got);

/* ---- Capabilities ------------------------------------------------------- */

/*
 * One GetCapability(TPM_CAP_HANDLES) of at most @count handles from
 * @first: the @n handles listed go to @out (room for @count), *@more is
 * the TPM's moreData.
 */
int tpm2t_get_handles_page(int fd, __u32 first, __u32 count, __u32 *out,
			   __u32 *n, __u8 *more);
/*
 * All handles of the range that starts at @first (TPM2_HR_TRANSIENT,
 * TPM2_HR_LOADED_SESSION, TPM2_HR_SAVED_SESSION, ...), following moreData.
 * Handles are stored as the TPM reports them: swtpm lists saved sessions
 * with a 0x02 type byte, so compare sessions by their low 24 bits.  At
 * most @max handles are stored; *@count receives the total number found.
 */
int tpm2t_get_handles(int fd, __u32 first, __u32 *handles, size_t max,
		      size_t *count);
/* Number of handles of the type of @first, or -errno / TPM rc on error */
int tpm2t_count_handles(int fd, __u32 first, size_t *count);
/* Is @handle in the list?  Compares the low 24 bits only when @low24 */
bool tpm2t_handle_listed(const __u32 *handles, size_t n, __u32 handle,
			 bool low24);
/* GetCapability(TPM_CAP_TPM_PROPERTIES) of one property */
int tpm2t_get_property(int fd, __u32 property, __u32 *value);

/* ---- Sessions ----------------------------------------------------------- */

/* An unbound, unsalted authorization session, as the client sees it */
struct tpm2t_session {
	__u32 handle;
	__u8 type;
	__u8 nonce_caller[TPM2_SHA256_SIZE];
	__u8 nonce_tpm[TPM2_SHA256_SIZE];
	__u16 nonce_tpm_len;
};

/* @type: TPM2_SE_HMAC or TPM2_SE_POLICY; SHA-256, no symmetric algorithm */
int tpm2t_start_auth_session(int fd, __u8 type,
			     struct tpm2t_session *s);
/* PolicyPCR on the current values of the PCRs in @pcr_mask (bit n = PCRn) */
int tpm2t_policy_pcr(int fd, __u32 session, __u16 bank, __u32 pcr_mask);
int tpm2t_policy_get_digest(int fd, __u32 session,
			    __u8 digest[TPM2_SHA256_SIZE]);
/*
 * PolicySecret of @auth (an empty-auth object or hierarchy, authorized
 * with a password) on policy session @session: no nonce, cpHash, policyRef
 * or expiration.
 */
int tpm2t_policy_secret(int fd, __u32 auth, __u32 session);
/*
 * Put @s with @attrs (an HMAC over the command's @names and @params, empty
 * key: unbound, unsalted) and @params into @cmd, run it and skip the
 * response's parameterSize.  Returns the TPM result.
 */
int tpm2t_run_hmac(int fd, struct tpm2t_buf *cmd, struct tpm2t_session *s,
		   __u8 attrs, const void *names, size_t names_len,
		   const struct tpm2t_buf *params, struct tpm2t_buf *rsp);
/*
 * With the parameters of a tpm2t_run_hmac() response parsed: the response
 * has an auth area (-ENOMSG), its parameter size is right (-EPROTO), the
 * TPM echoed continueSession of @attrs (-EBADE) and rolled its nonce
 * (-ESTALE), and the response HMAC is right (-EBADMSG).  Rolls the
 * session's nonces.
 */
int tpm2t_check_rsp_hmac(struct tpm2t_buf *rsp, struct tpm2t_session *s,
			 __u32 cc, __u8 attrs);
/*
 * GetRandom with @s in the authorization area as an audit session.  The
 * command HMAC is computed and the response HMAC checked; a bad response
 * HMAC gives -EBADMSG.  The session's nonces are rolled on success.
 */
int tpm2t_get_random_hmac(int fd, struct tpm2t_session *s, __u8 *out,
			  __u16 count, __u16 *got);
/*
 * Sign like tpm2t_sign(), but authorize the key with HMAC session @s
 * (unbound, unsalted; the key's authValue is empty) instead of a password.
 * @name is the key's Name.  The response HMAC is checked (-EBADMSG) and
 * the session's nonces are rolled on success.
 */
int tpm2t_sign_hmac(int fd, __u32 key, const __u8 *name, __u16 name_len,
		    struct tpm2t_session *s,
		    const __u8 digest[TPM2_SHA256_SIZE]);
/*
 * Use a session: an audited GetRandom of 8 bytes for an HMAC session
 * (authorization area: its response HMAC proves the TPM used this very
 * session), a PolicyGetDigest for a policy session (handle area).
 */
int tpm2t_use_session(int fd, struct tpm2t_session *s);

/* HMAC session @s still works: the TPM's response HMAC checks out */
#define ASSERT_HMAC_WORKS(fd, s) ASSERT_TPM_OK(tpm2t_use_session(fd, s))

/* ---- The census: the TPM's view, for the zero-slot rule ----------------- */

#define TPM2T_CENSUS_MAX	256

/* What the TPM holds, seen through /dev/tpm0 */
struct tpm2t_census {
	size_t transient;	/* loaded transient objects */
	size_t loaded;		/* loaded sessions */
	size_t saved;		/* saved (active) sessions */
	__u32 saved_h[TPM2T_CENSUS_MAX];
};

/*
 * Count what the TPM holds, through @tpm_fd: an open /dev/tpm0 of the
 * caller (an outside holder of slots), or -1 to open TPM2T_TPM_DEV for
 * the count.  More than TPM2T_CENSUS_MAX saved sessions give -ENOSPC.
 */
int tpm2t_census(int tpm_fd, struct tpm2t_census *c);
/* Is session @handle among the saved ones?  Compares the low 24 bits. */
bool tpm2t_census_saved(const struct tpm2t_census *c, __u32 handle);

/*
 * The zero-slot rule: between commands the resource manager holds no TPM
 * slot.  ASSERT_ZERO_SLOTS_BESIDE() takes a census into *@c through
 * @tpm_fd (see tpm2t_census()) and asserts that the TPM has no object or
 * session loaded but the @objects and @sessions an outside holder loaded.
 */
#define ASSERT_ZERO_SLOTS_BESIDE(c, tpm_fd, objects, sessions) do {	\
	struct tpm2t_census *__zc = (c);				\
									\
	ASSERT_TPM_OK(tpm2t_census(tpm_fd, __zc));			\
	ASSERT_EQ((size_t)(objects), __zc->transient)			\
		TH_LOG("line %d: transient objects left loaded",	\
		       __LINE__);					\
	ASSERT_EQ((size_t)(sessions), __zc->loaded)			\
		TH_LOG("line %d: sessions left loaded", __LINE__);	\
} while (0)

#define ASSERT_ZERO_SLOTS(c) ASSERT_ZERO_SLOTS_BESIDE(c, -1, 0, 0)

/*
 * The zero-slot rule, and the TPM has as many active sessions as in the
 * census @before: none was left behind.
 */
#define ASSERT_NO_LEAK(c, before) do {					\
	struct tpm2t_census *__lc = (c);				\
									\
	ASSERT_ZERO_SLOTS(__lc);					\
	ASSERT_EQ((before)->saved, __lc->saved)				\
		TH_LOG("line %d: sessions left active in the TPM",	\
		       __LINE__);					\
} while (0)

/* ---- Fixtures ----------------------------------------------------------- */

/*
 * A FIXTURE_SETUP starts with
 *	if (!tpm2t_devices_usable())
 *		SKIP(return, TPM2T_DEVICES_NEEDED);
 */
bool tpm2t_devices_usable(void);
#define TPM2T_DEVICES_NEEDED	TPM2T_RM_DEV " and " TPM2T_TPM_DEV " are needed"
/*
 * Open @nr files of the resource manager into @fd[]; 0, or -errno.  The
 * files not opened are -1, for tpm2t_close_files().
 */
int tpm2t_open_files(int *fd, int nr);
/* Close the files of @fd[] that are open */
void tpm2t_close_files(int *fd, int nr);
/* Anonymous memory shared with forked children, or NULL */
void *tpm2t_shared_alloc(size_t size);

/* ---- The resource manager's counters and parameters --------------------- */

/* The figures of <debugfs>/tpmN/space_stats */
struct tpm2t_rm_stats {
	long user_commands;
	long rm_answers;
	long context_load;
	long context_save;
	long flush_context;
};

#define TPM2T_RM_STATS_PATH	"/sys/kernel/debug/tpm0/space_stats"
#define TPM2T_MODULE_PARAMS	"/sys/module/tpm/parameters"

/* Read TPM2T_RM_STATS_PATH; 0, or -errno (-EPROTO: a counter is missing) */
int tpm2t_read_rm_stats(struct tpm2t_rm_stats *st);
/* TPM commands the resource manager issued itself between @a and @b */
long tpm2t_rm_stats_issued(const struct tpm2t_rm_stats *a,
			   const struct tpm2t_rm_stats *b);
/* One named counter of TPM2T_RM_STATS_PATH; 0, or -errno (-ENOENT) */
int tpm2t_read_rm_counter(const char *name, long *value);

/* A module parameter of tpm.ko; 0, or -errno (-ENOENT: no such one) */
int tpm2t_read_param(const char *name, long *value);
int tpm2t_write_param(const char *name, long value);

/*
 * @expr is answered by the resource manager: its result is accepted by
 * @ok, no user command reaches the TPM and the RM issues no command of its
 * own.  Without the counters this cannot be shown, and the assertion fails.
 */
#define ASSERT_ANSWERED_BY_RM(expr, ok) do {				\
	struct tpm2t_rm_stats __a, __b;					\
	int __res;							\
									\
	ASSERT_EQ(0, tpm2t_read_rm_stats(&__a))				\
		TH_LOG("no counters in %s", TPM2T_RM_STATS_PATH);	\
	__res = (expr);							\
	ASSERT_EQ(0, tpm2t_read_rm_stats(&__b));			\
	ASSERT_TRUE(ok(__res))						\
		TH_LOG("%s: %s", #expr, tpm2t_strerror(__res));		\
	ASSERT_EQ(__a.user_commands, __b.user_commands)			\
		TH_LOG("%s reached the TPM", #expr);			\
	ASSERT_EQ(0, tpm2t_rm_stats_issued(&__a, &__b))			\
		TH_LOG("%s made the RM issue commands", #expr);		\
} while (0)

#endif /* TPM2_UTIL_H */
