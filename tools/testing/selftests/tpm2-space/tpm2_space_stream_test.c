// SPDX-License-Identifier: GPL-2.0-only
/*
 * A stream of random and mutated TPM commands through many /dev/tpmrm0
 * files at once, with random closes and reopens, O_NONBLOCK writes and
 * poll(), short reads and a timer signal that interrupts blocking writes
 * and reads. After every step (or every -k steps) it checks:
 *  - the zero-slot rule, from the TPM's own counts through /dev/tpm0 (one
 *    GetCapability of TPM_PT_HR_LOADED and TPM_PT_HR_TRANSIENT_AVAIL): no
 *    session loaded and every object slot free; and every -C steps (64),
 *    and once more at the end, from a full census of the TPM's handles
 *    (three GetCapability), the same rule by handle;
 *  - every -c steps (64), that a canary file's primary key still
 *    signs and its HMAC session still answers with a correct response
 *    HMAC: nothing the stream did touched another file's objects or
 *    sessions;
 *  - at the end, with every file closed, that the TPM holds no object and
 *    no session but the abandoned sessions the resource manager keeps by
 *    design (space_max_abandoned per user).
 *
 * The commands are templates of real ones (GetRandom, CreatePrimary,
 * StartAuthSession HMAC and policy, ContextSave, ContextLoad,
 * FlushContext, GetCapability, PolicyGetDigest, Sign and GetRandom with
 * password and session auth areas), mutated or not, plus random bytes,
 * truncated and overlong sizes, and handles of other files. Commands that
 * change the TPM's global state outside the resource manager's remit
 * (Clear, hierarchy and NV control, dictionary-attack settings, Startup,
 * Shutdown, ...) are never sent: they would break the canary for reasons
 * that are not the resource manager's.
 *
 * Usage: tpm2_space_stream_test [-s SEED] [-n OPS] [-t SECONDS] [-f FILES]
 *			       [-c CANARY_EVERY] [-k CHECK_EVERY]
 *			       [-C CENSUS_EVERY] [-v]
 * or the same through TPM2T_STREAM_SEED, _OPS, _TIME, _FILES. OPS 0 runs
 * until the time is up. The defaults, 12 files for 90 s, are the short
 * stream of make check. The seed is printed; the same seed replays the
 * same choices (the TPM's timing and the signals may still vary). A check
 * whose command the driver timed out (ETIME: swtpm starved on a loaded
 * host) is retried and counted, not failed. A step of more than 120 s
 * means the TPM stopped answering: that fails the answers and ends the
 * stream, and the checks that would need the TPM are skipped.
 *
 * Needs root, a TPM 2.0 with /dev/tpm0 and /dev/tpmrm0, and no other user
 * of the TPM while it runs (the QEMU + swtpm guest of tools/testing/
 * tpm2-qemu).
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>

#include "../kselftest.h"
#include "tpm2_util.h"

#define MAX_FILES	16
#define FILE_HANDLES	24	/* handles remembered per file */
#define POOL_BLOBS	32	/* saved contexts, shared by all files */
#define PENDING_MAX_MS	100000	/* the driver drops unread answers later */
/*
 * A step that takes longer than this means the TPM stopped answering (each
 * command then waits out the driver's deadline for it, up to 300 s): the
 * stream stops instead of running on for hours
 */
#define STALL_MS	120000

/* TPM 2.0 Part 2 codes the stream needs beyond tpm2_util.h */
#define TPM2_ST_RSP_COMMAND		0x00C4	/* TPM 1.2 tag, for bad tags */
#define TPM2_OA_NO_DA			0x00000400
/* TPM_PT_HR_LOADED to TPM_PT_HR_TRANSIENT_AVAIL (PT_VAR + 3 to + 7) */
#define TPM2_PT_HR_LOADED		0x00000203
#define TPM2_PT_HR_ACTIVE		0x00000205
#define TPM2_PT_HR_TRANSIENT_AVAIL	0x00000207

struct stream_file {
	int fd;
	bool pending;		/* a command written, its answer not read */
	long pending_since;
	__u32 pending_cc;
	__u32 pending_arg;	/* the command's first word after the header */
	__u32 handles[FILE_HANDLES];
	unsigned int nr_handles;
	bool session_owner;	/* started a session since it was opened */
};

struct stream_stats {
	unsigned long ops, commands, answers, tpm_ok, tpm_err, rm_err;
	unsigned long ebusy, eintr, einval, enomem, other_errno, reopen;
	unsigned long short_reads, poll_empty, canary_checks, censuses;
	unsigned long slot_counts;	/* the cheap checks */
	size_t most_active;	/* sessions, the most any check saw */
	unsigned long timeouts;	/* the driver's, on a host too slow */
};

static struct {
	__u64 seed;
	__u64 rng;
	unsigned long ops;
	long time_s;
	int nr_files;
	unsigned int canary_every;
	unsigned int check_every;
	unsigned int census_every;
	bool verbose;
} cfg = {
	.time_s = 90,
	.nr_files = 12,
	.canary_every = 64,
	.check_every = 1,
	.census_every = 64,
};

static struct stream_file files[MAX_FILES];
static struct tpm2t_context pool[POOL_BLOBS];
static unsigned int pool_len;
static struct stream_stats st;
static int tpm_fd = -1;
/* TPM_PT_HR_TRANSIENT_AVAIL with no object loaded: every slot free */
static __u32 object_slots;

/* The canary: a file with a key and an HMAC session of its own */
static struct {
	int fd;
	__u32 key;
	struct tpm2t_session s;
} canary = { .fd = -1 };

/* The command last written, for the report */
static struct tpm2t_buf last_cmd;
static size_t last_len;
static const char *last_op = "none";

/* ---- Randomness --------------------------------------------------------- */

/* xorshift64*: small, fast and reproducible from the printed seed */
static __u64 rnd(void)
{
	cfg.rng ^= cfg.rng >> 12;
	cfg.rng ^= cfg.rng << 25;
	cfg.rng ^= cfg.rng >> 27;
	return cfg.rng * 0x2545F4914F6CDD1DULL;
}

static unsigned int rnd_below(unsigned int n)
{
	return n ? (unsigned int)(rnd() % n) : 0;
}

static bool one_in(unsigned int n)
{
	return !rnd_below(n);
}

/* ---- Commands ----------------------------------------------------------- */

/* Change the TPM's global state: never sent by the stream */
static bool cc_denied(__u32 cc)
{
	if (cc == TPM2_CC_CREATE_PRIMARY)
		return false;
	/* EvictControl to ClockRateAdjust: hierarchies, NV, clock, PCR setup */
	if (cc >= 0x11F && cc <= 0x132)
		return true;
	/* NV writes to Shutdown: NV, DA, PCR_Event/Reset, SelfTest, Startup */
	if (cc >= 0x134 && cc <= 0x145)
		return true;
	/* ACT_SetTimeout; vendor-specific codes */
	return cc == 0x199 || (cc & 0x20000000);
}

/* A handle of the file, of another file, of the canary, or made up */
static __u32 pick_handle(const struct stream_file *f)
{
	const struct stream_file *o;

	switch (rnd_below(8)) {
	case 0:
	case 1:
	case 2:
		if (f->nr_handles)
			return f->handles[rnd_below(f->nr_handles)];
		break;
	case 3:
		o = &files[rnd_below(cfg.nr_files)];
		if (o->nr_handles)
			return o->handles[rnd_below(o->nr_handles)];
		break;
	case 4:
		return one_in(2) ? canary.s.handle : canary.key;
	case 5:
		return TPM2_HT_TRANSIENT | rnd_below(4);
	case 6:
		return (one_in(2) ? TPM2_HT_HMAC_SESSION :
			TPM2_HT_POLICY_SESSION) | rnd_below(64);
	}
	return (__u32)rnd();
}

static void remember_handle(struct stream_file *f, __u32 handle)
{
	if (f->nr_handles < FILE_HANDLES)
		f->handles[f->nr_handles++] = handle;
	else
		f->handles[rnd_below(FILE_HANDLES)] = handle;
}

static void forget_handle(struct stream_file *f, __u32 handle)
{
	unsigned int i;

	for (i = 0; i < f->nr_handles; i++) {
		if (f->handles[i] == handle) {
			f->handles[i] = f->handles[--f->nr_handles];
			return;
		}
	}
}

/* An authorization area of one session: a password, or a session */
static void put_auth(struct tpm2t_buf *cmd, const struct stream_file *f)
{
	__u32 area = cmd->len;
	__u16 len;

	tpm2t_put_u32(cmd, 0);
	if (one_in(2)) {
		tpm2t_put_session(cmd, TPM2_RS_PW, 0, TPM2_SA_CONTINUE_SESSION);
	} else {
		tpm2t_put_session(cmd, pick_handle(f), TPM2_SHA256_SIZE,
				  one_in(2) ? TPM2_SA_CONTINUE_SESSION : 0);
	}
	len = cmd->len - area - 4;
	cmd->data[area + 2] = len >> 8;
	cmd->data[area + 3] = len;
}

/*
 * CreatePrimary of an ECC P-256 signing key with empty auth and noDA: the
 * stream's authorization failures must not lock the canary's key out.
 */
static void build_create_primary(struct tpm2t_buf *cmd, __u32 hierarchy)
{
	size_t pub_start;
	__u16 len;

	tpm2t_cmd_init(cmd, TPM2_ST_SESSIONS, TPM2_CC_CREATE_PRIMARY);
	tpm2t_put_u32(cmd, hierarchy);
	tpm2t_put_pw_auth(cmd);
	tpm2t_put_u16(cmd, 4);			/* inSensitive */
	tpm2t_put_tpm2b(cmd, NULL, 0);
	tpm2t_put_tpm2b(cmd, NULL, 0);
	tpm2t_put_u16(cmd, 0);			/* inPublic, size below */
	pub_start = cmd->len;
	tpm2t_put_u16(cmd, TPM2_ALG_ECC);
	tpm2t_put_u16(cmd, TPM2_ALG_SHA256);
	/* fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | sign */
	tpm2t_put_u32(cmd, 1u << 1 | 1u << 4 | 1u << 5 | 1u << 6 | 1u << 18 |
			   TPM2_OA_NO_DA);
	tpm2t_put_tpm2b(cmd, NULL, 0);		/* authPolicy */
	tpm2t_put_u16(cmd, TPM2_ALG_NULL);	/* symmetric */
	tpm2t_put_u16(cmd, TPM2_ALG_ECDSA);
	tpm2t_put_u16(cmd, TPM2_ALG_SHA256);
	tpm2t_put_u16(cmd, TPM2_ECC_NIST_P256);
	tpm2t_put_u16(cmd, TPM2_ALG_NULL);	/* kdf */
	tpm2t_put_tpm2b(cmd, NULL, 0);
	tpm2t_put_tpm2b(cmd, NULL, 0);
	len = cmd->len - pub_start;
	cmd->data[pub_start - 2] = len >> 8;
	cmd->data[pub_start - 1] = len;
	tpm2t_put_tpm2b(cmd, NULL, 0);		/* outsideInfo */
	tpm2t_put_u32(cmd, 0);			/* creationPCR */
	tpm2t_cmd_finish(cmd);
}

static void build_start_auth_session(struct tpm2t_buf *cmd, __u8 type)
{
	__u8 nonce[TPM2_SHA256_SIZE];
	unsigned int i;

	for (i = 0; i < sizeof(nonce); i++)
		nonce[i] = rnd();
	tpm2t_cmd_init(cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_START_AUTH_SESSION);
	tpm2t_put_u32(cmd, TPM2_RH_NULL);	/* tpmKey */
	tpm2t_put_u32(cmd, TPM2_RH_NULL);	/* bind */
	tpm2t_put_tpm2b(cmd, nonce, sizeof(nonce));
	tpm2t_put_tpm2b(cmd, NULL, 0);		/* encryptedSalt */
	tpm2t_put_u8(cmd, type);
	tpm2t_put_u16(cmd, TPM2_ALG_NULL);	/* symmetric */
	tpm2t_put_u16(cmd, TPM2_ALG_SHA256);
	tpm2t_cmd_finish(cmd);
}

static void build_on_handle(struct tpm2t_buf *cmd, __u32 cc, __u32 handle)
{
	tpm2t_cmd_init(cmd, TPM2_ST_NO_SESSIONS, cc);
	tpm2t_put_u32(cmd, handle);
	tpm2t_cmd_finish(cmd);
}

static void build_context_load(struct tpm2t_buf *cmd)
{
	tpm2t_cmd_init(cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_CONTEXT_LOAD);
	if (pool_len) {
		const struct tpm2t_context *ctx = &pool[rnd_below(pool_len)];

		tpm2t_put_bytes(cmd, ctx->data, ctx->len);
	} else {
		tpm2t_put_u64(cmd, rnd());
	}
	tpm2t_cmd_finish(cmd);
}

static void build_get_capability(struct tpm2t_buf *cmd,
				 const struct stream_file *f)
{
	static const __u32 first[] = {
		TPM2_HR_TRANSIENT, TPM2_HR_LOADED_SESSION,
		TPM2_HR_SAVED_SESSION, 0x81000000, 0x01000000,
	};
	bool audited = one_in(4);

	tpm2t_cmd_init(cmd, audited ? TPM2_ST_SESSIONS : TPM2_ST_NO_SESSIONS,
		       TPM2_CC_GET_CAPABILITY);
	if (audited)
		put_auth(cmd, f);
	if (one_in(4)) {
		tpm2t_put_u32(cmd, TPM2_CAP_TPM_PROPERTIES);
		tpm2t_put_u32(cmd, 0x100 + rnd_below(0x120));
	} else {
		tpm2t_put_u32(cmd, TPM2_CAP_HANDLES);
		tpm2t_put_u32(cmd, first[rnd_below(ARRAY_SIZE(first))] +
				   rnd_below(3));
	}
	tpm2t_put_u32(cmd, one_in(3) ? 1 + rnd_below(3) : 64);
	tpm2t_cmd_finish(cmd);
}

static void build_sign(struct tpm2t_buf *cmd, const struct stream_file *f)
{
	tpm2t_cmd_init(cmd, TPM2_ST_SESSIONS, TPM2_CC_SIGN);
	tpm2t_put_u32(cmd, pick_handle(f));
	put_auth(cmd, f);
	tpm2t_put_sign_params(cmd, tpm2t_digest);
	tpm2t_cmd_finish(cmd);
}

static void build_get_random_auth(struct tpm2t_buf *cmd,
				  const struct stream_file *f)
{
	tpm2t_cmd_init(cmd, TPM2_ST_SESSIONS, TPM2_CC_GET_RANDOM);
	put_auth(cmd, f);
	tpm2t_put_u16(cmd, 1 + rnd_below(48));
	tpm2t_cmd_finish(cmd);
}

static void build_random_bytes(struct tpm2t_buf *cmd)
{
	size_t i;

	cmd->len = one_in(8) ? rnd_below(TPM2T_MAX_BUF) : rnd_below(64);
	for (i = 0; i < cmd->len; i++)
		cmd->data[i] = rnd();
	cmd->bad = false;
}

/* One of the templates, well formed */
static void build_template(struct tpm2t_buf *cmd, const struct stream_file *f)
{
	switch (rnd_below(14)) {
	case 0:
		tpm2t_build_get_random(cmd, TPM2_ST_NO_SESSIONS,
				       1 + rnd_below(64));
		break;
	case 1:
		build_create_primary(cmd, one_in(4) ? TPM2_RH_OWNER :
					  TPM2_RH_NULL);
		break;
	case 2:
	case 12:
	case 13:
		/* often enough to run out of session handles */
		build_start_auth_session(cmd, one_in(2) ? TPM2_SE_HMAC :
					      TPM2_SE_POLICY);
		break;
	case 3:
		build_on_handle(cmd, TPM2_CC_CONTEXT_SAVE, pick_handle(f));
		break;
	case 4:
		build_context_load(cmd);
		break;
	case 5:
	case 6:
		build_on_handle(cmd, TPM2_CC_FLUSH_CONTEXT, pick_handle(f));
		break;
	case 7:
		build_get_capability(cmd, f);
		break;
	case 8:
		build_on_handle(cmd, TPM2_CC_POLICY_GET_DIGEST, pick_handle(f));
		break;
	case 9:
		build_sign(cmd, f);
		break;
	case 10:
		build_get_random_auth(cmd, f);
		break;
	default:
		build_random_bytes(cmd);
		break;
	}
}

static void put_u32_at(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* Mutate the command in place; returns the length to write */
static size_t mutate(struct tpm2t_buf *cmd, const struct stream_file *f)
{
	size_t len = cmd->len, pos;
	unsigned int n = 1 + rnd_below(4);

	while (n--) {
		pos = len ? rnd_below(len) : 0;
		switch (rnd_below(8)) {
		case 0:		/* a bit */
			if (len)
				cmd->data[pos] ^= 1u << rnd_below(8);
			break;
		case 1:		/* a byte */
			if (len)
				cmd->data[pos] = rnd();
			break;
		case 2:		/* a handle where a word was */
			if (pos + 4 <= len)
				put_u32_at(cmd->data + pos, pick_handle(f));
			break;
		case 3:		/* truncated: the header still says more */
			len = rnd_below(len + 1);
			break;
		case 4:		/* overlong: junk after the command */
			pos = rnd_below(64);
			while (pos-- && len < TPM2T_MAX_BUF)
				cmd->data[len++] = rnd();
			break;
		case 5:		/* the header's size field */
			if (len >= 6)
				put_u32_at(cmd->data + 2, one_in(2) ?
					   rnd_below(16) : len + rnd_below(9) - 4);
			break;
		case 6:		/* the tag */
			if (len >= 2) {
				cmd->data[0] = 0x80;
				cmd->data[1] = rnd_below(4);
			}
			break;
		default:	/* the command code */
			if (len >= 10)
				put_u32_at(cmd->data + 6, 0x11F + rnd_below(0x80));
			break;
		}
	}
	return len;
}

/* Build the next command of @f; returns its length to write */
static size_t next_command(struct tpm2t_buf *cmd, const struct stream_file *f)
{
	size_t len;

	build_template(cmd, f);
	len = one_in(3) ? mutate(cmd, f) : cmd->len;
	/* keep the TPM's global state out of the stream */
	if (len >= 10 && cc_denied(tpm2t_cmd_cc(cmd)))
		put_u32_at(cmd->data + 6, TPM2_CC_GET_RANDOM);
	return len;
}

/* ---- Files -------------------------------------------------------------- */

/* The checks, each a KTAP result; the first failure of each is kept */
enum check {
	CHECK_SLOTS,	/* no TPM slot held between commands */
	CHECK_CANARY,	/* the canary's key and session untouched */
	CHECK_ANSWERS,	/* every answer well formed, every file usable */
	CHECK_CLOSED,	/* nothing left after every file closed */
	NR_CHECKS
};

static const char * const check_name[NR_CHECKS] = {
	"stream_zero_slots_between_commands",
	"stream_canary_untouched",
	"stream_answers_well_formed",
	"stream_nothing_left_after_close",
};

static char failure[NR_CHECKS][512];
static bool failed;
static bool stalled;	/* the TPM stopped answering: no check can run */

static void fail(enum check c, const char *fmt, ...)
{
	va_list ap;

	if (failure[c][0])
		return;
	va_start(ap, fmt);
	vsnprintf(failure[c], sizeof(failure[c]), fmt, ap);
	va_end(ap);
	failed = true;
}

static void print_last_command(void)
{
	size_t i;

	ksft_print_msg("last op %s, %zu bytes written:", last_op, last_len);
	for (i = 0; i < last_len && i < 128; i++)
		printf("%s%02x", i % 32 ? "" : "\n# ", last_cmd.data[i]);
	printf("%s\n", last_len > 128 ? " ..." : "");
}

static int file_open(struct stream_file *f)
{
	memset(f, 0, sizeof(*f));
	f->fd = tpm2t_open(TPM2T_RM_DEV);
	return f->fd < 0 ? f->fd : 0;
}

static void file_close(struct stream_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	f->pending = false;
}

static void count_errno(int err)
{
	switch (err) {
	case EBUSY:
		st.ebusy++;
		break;
	case EINTR:
		st.eintr++;
		break;
	case EINVAL:
	case E2BIG:
	case ENODATA:
		st.einval++;
		break;
	case ENOMEM:
		st.enomem++;
		break;
	default:
		st.other_errno++;
		if (cfg.verbose)
			ksft_print_msg("errno %d (%s)\n", err, strerror(err));
	}
}

/* Learn handles and contexts from a well-formed answer to @cc */
static void learn(struct stream_file *f, __u32 cc, struct tpm2t_buf *rsp)
{
	__u32 handle;
	__u16 size;

	if (tpm2t_rsp_rc(rsp) != TPM2_RC_SUCCESS || rsp->len < 14)
		return;
	rsp->pos = TPM2_HEADER_SIZE;
	switch (cc) {
	case TPM2_CC_CREATE_PRIMARY:
	case TPM2_CC_CONTEXT_LOAD:
	case TPM2_CC_START_AUTH_SESSION:
		handle = tpm2t_get_u32(rsp);
		remember_handle(f, handle);
		if ((handle & TPM2_HT_MASK) != TPM2_HT_TRANSIENT)
			f->session_owner = true;
		break;
	case TPM2_CC_CONTEXT_SAVE:
		/* TPMS_CONTEXT: sequence, savedHandle, hierarchy, blob */
		size = rsp->len - TPM2_HEADER_SIZE;
		if (size > sizeof(pool[0].data))
			break;
		if (pool_len < POOL_BLOBS)
			pool_len++;
		memcpy(pool[pool_len - 1].data, rsp->data + TPM2_HEADER_SIZE,
		       size);
		pool[pool_len - 1].len = size;
		break;
	}
}

/*
 * Check a response and what it says; @n is what read() returned for a
 * buffer of @room bytes.
 */
static void take_answer(struct stream_file *f, struct tpm2t_buf *rsp,
			ssize_t n, size_t room)
{
	__u32 size, rc;
	__u16 tag;

	f->pending = false;
	st.answers++;
	if (room < TPM2_HEADER_SIZE) {
		st.short_reads++;
		return;
	}
	rsp->len = n;
	rsp->pos = 0;
	rsp->bad = false;
	if (n < TPM2_HEADER_SIZE) {
		fail(CHECK_ANSWERS, "a response of %zd bytes to 0x%x", n, f->pending_cc);
		return;
	}
	tag = rsp->data[0] << 8 | rsp->data[1];
	size = (__u32)rsp->data[2] << 24 | rsp->data[3] << 16 |
	       rsp->data[4] << 8 | rsp->data[5];
	rc = tpm2t_rsp_rc(rsp);
	if (size != (__u32)n) {
		fail(CHECK_ANSWERS, "response size field %u, read %zd (cc 0x%x)", size, n,
		     f->pending_cc);
		return;
	}
	if (tag != TPM2_ST_NO_SESSIONS && tag != TPM2_ST_SESSIONS &&
	    tag != TPM2_ST_RSP_COMMAND) {
		fail(CHECK_ANSWERS, "response tag 0x%x (cc 0x%x)", tag, f->pending_cc);
		return;
	}
	if (rc && size != TPM2_HEADER_SIZE) {
		fail(CHECK_ANSWERS, "error 0x%x with a body of %u bytes (cc 0x%x)", rc,
		     size - TPM2_HEADER_SIZE, f->pending_cc);
		return;
	}
	if (!rc)
		st.tpm_ok++;
	else if (tpm2t_rm_refused(rc))
		st.rm_err++;
	else
		st.tpm_err++;
	if (f->pending_cc == TPM2_CC_FLUSH_CONTEXT && !rc)
		forget_handle(f, f->pending_arg);
	learn(f, f->pending_cc, rsp);
}

/* ---- Steps -------------------------------------------------------------- */

static void on_alarm(int sig)
{
	/* only there to interrupt a blocking write() or read() */
}

/* A one-shot timer signal within 2 ms, without SA_RESTART */
static void arm_signal(void)
{
	struct itimerval it = {
		.it_value = { 0, 20 + rnd_below(2000) },
	};

	setitimer(ITIMER_REAL, &it, NULL);
}

static void disarm_signal(void)
{
	struct itimerval it = {};

	setitimer(ITIMER_REAL, &it, NULL);
}

static void set_nonblock(int fd, bool on)
{
	int flags = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
}

/* An error from read(): EINTR leaves the answer, anything else was it */
static void read_failed(struct stream_file *f, int err)
{
	count_errno(err);
	if (err != EINTR && err != EAGAIN)
		f->pending = false;
}

/* Read the answer of @f if poll() says it is there within @timeout_ms */
static void collect(struct stream_file *f, int timeout_ms)
{
	struct pollfd p = { .fd = f->fd, .events = POLLIN };
	struct tpm2t_buf rsp;
	size_t room = sizeof(rsp.data);
	ssize_t n;
	int ret;

	last_op = "poll+read";
	if (one_in(4))
		arm_signal();
	ret = poll(&p, 1, timeout_ms);
	disarm_signal();
	if (ret < 0)
		count_errno(errno);
	if (ret <= 0 || !(p.revents & POLLIN)) {
		st.poll_empty++;
		return;
	}
	/* now and then a short read, which takes the answer all the same */
	if (one_in(32))
		room = 1 + rnd_below(TPM2_HEADER_SIZE - 1);
	n = read(f->fd, rsp.data, room);
	if (n < 0) {
		read_failed(f, errno);
	} else if (n == 0) {
		if (tpm2t_now_ms() - f->pending_since < PENDING_MAX_MS)
			fail(CHECK_ANSWERS, "poll() gave POLLIN, read() 0 (cc 0x%x)",
			     f->pending_cc);
		f->pending = false;
	} else {
		take_answer(f, &rsp, n, room);
	}
}

/* Note what is written, for the answer and for the report */
static size_t note_command(struct stream_file *f)
{
	size_t len = next_command(&last_cmd, f);

	last_len = len;
	f->pending_cc = len >= 10 ? tpm2t_cmd_cc(&last_cmd) : 0;
	f->pending_arg = 0;
	if (len >= 14)
		f->pending_arg = (__u32)last_cmd.data[10] << 24 |
				 last_cmd.data[11] << 16 |
				 last_cmd.data[12] << 8 | last_cmd.data[13];
	st.commands++;
	return len;
}

/* write() of the command: true if the file has it in flight now */
static bool written(struct stream_file *f, ssize_t n, size_t len)
{
	if (n < 0) {
		count_errno(errno);
		if (errno == EBUSY)
			fail(CHECK_ANSWERS, "EBUSY on a file with no command");
		return false;
	}
	if ((size_t)n != len) {
		fail(CHECK_ANSWERS, "write() of %zu bytes returned %zd", len, n);
		return false;
	}
	f->pending = true;
	f->pending_since = tpm2t_now_ms();
	return true;
}

/* write() and read(), blocking, perhaps interrupted by a signal */
static void send_blocking(struct stream_file *f, bool signal)
{
	struct tpm2t_buf rsp;
	size_t len = note_command(f);
	ssize_t n;

	last_op = signal ? "write+read, signalled" : "write+read";
	if (signal)
		arm_signal();
	n = write(f->fd, last_cmd.data, len);
	if (!written(f, n, len)) {
		disarm_signal();
		return;
	}
	n = read(f->fd, rsp.data, sizeof(rsp.data));
	disarm_signal();
	if (n < 0)
		read_failed(f, errno);
	else if (n == 0)
		fail(CHECK_ANSWERS, "read() 0 after a blocking write (cc 0x%x)",
		     f->pending_cc);
	else
		take_answer(f, &rsp, n, sizeof(rsp.data));
}

/* An O_NONBLOCK write(), then poll() for a little while */
static void send_nonblocking(struct stream_file *f)
{
	size_t len = note_command(f);
	ssize_t n;

	last_op = "O_NONBLOCK write";
	set_nonblock(f->fd, true);
	n = write(f->fd, last_cmd.data, len);
	set_nonblock(f->fd, false);
	if (written(f, n, len))
		collect(f, rnd_below(3));
}

/* A second command while one is in flight or unread must get EBUSY */
static void write_busy(struct stream_file *f)
{
	struct tpm2t_buf cmd;
	ssize_t n;

	last_op = "write while busy";
	tpm2t_build_get_random(&cmd, TPM2_ST_NO_SESSIONS, 8);
	set_nonblock(f->fd, one_in(2));
	n = write(f->fd, cmd.data, cmd.len);
	set_nonblock(f->fd, false);
	if (n < 0 && errno == EBUSY) {
		st.ebusy++;
		return;
	}
	if (tpm2t_now_ms() - f->pending_since < PENDING_MAX_MS)
		fail(CHECK_ANSWERS, "write() with 0x%x in flight: %zd (%s)",
		     f->pending_cc, n, n < 0 ? strerror(errno) : "written");
	f->pending = n >= 0;
}

static void file_reopen(struct stream_file *f)
{
	int ret;

	last_op = f->pending ? "close in flight, reopen" : "close, reopen";
	file_close(f);
	ret = file_open(f);
	if (ret)
		fail(CHECK_ANSWERS, "reopen: %s", strerror(-ret));
	st.reopen++;
}

static void step(void)
{
	struct stream_file *f = &files[rnd_below(cfg.nr_files)];
	unsigned int r = rnd_below(100);

	if (r < 1)
		file_reopen(f);
	else if (f->pending && r < 8)
		write_busy(f);
	else if (f->pending)
		collect(f, rnd_below(20));
	else if (r < 55)
		send_blocking(f, false);
	else if (r < 70)
		send_blocking(f, true);
	else
		send_nonblocking(f);
}

/* ---- Checks ------------------------------------------------------------- */

/* What the TPM says of its own slots: one command instead of a census */
struct slot_counts {
	__u32 sessions_loaded;		/* TPM_PT_HR_LOADED */
	__u32 sessions_active;		/* TPM_PT_HR_ACTIVE: loaded + saved */
	__u32 objects_free;		/* TPM_PT_HR_TRANSIENT_AVAIL */
};

static int read_slot_counts(struct slot_counts *sc)
{
	struct tpm2t_buf cmd, rsp;
	unsigned int seen = 0;
	__u32 n, prop, value;
	int ret;

	tpm2t_cmd_init(&cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_CAPABILITY);
	tpm2t_put_u32(&cmd, TPM2_CAP_TPM_PROPERTIES);
	tpm2t_put_u32(&cmd, TPM2_PT_HR_LOADED);
	tpm2t_put_u32(&cmd, TPM2_PT_HR_TRANSIENT_AVAIL - TPM2_PT_HR_LOADED + 1);
	ret = tpm2t_run(tpm_fd, &cmd, &rsp);
	if (ret)
		return ret;
	tpm2t_get_u8(&rsp);	/* moreData */
	if (tpm2t_get_u32(&rsp) != TPM2_CAP_TPM_PROPERTIES)
		return -EPROTO;
	for (n = tpm2t_get_u32(&rsp); n && !rsp.bad; n--) {
		prop = tpm2t_get_u32(&rsp);
		value = tpm2t_get_u32(&rsp);
		if (prop == TPM2_PT_HR_LOADED) {
			sc->sessions_loaded = value;
			seen |= 1;
		} else if (prop == TPM2_PT_HR_ACTIVE) {
			sc->sessions_active = value;
			seen |= 2;
		} else if (prop == TPM2_PT_HR_TRANSIENT_AVAIL) {
			sc->objects_free = value;
			seen |= 4;
		}
	}
	return rsp.bad || seen != 7 ? -EPROTO : 0;
}

/*
 * ETIME: the TPM did not answer within the driver's time (a loaded host
 * starves swtpm), which says nothing about the resource manager: retried.
 */
static int read_slot_counts_retry(struct slot_counts *sc)
{
	int tries = 0, ret;

	while ((ret = read_slot_counts(sc)) == -ETIME && ++tries < 3)
		st.timeouts++;
	return ret;
}

static void seen_active(size_t active)
{
	if (active > st.most_active)
		st.most_active = active;
}

/* The zero-slot rule from the TPM's own counts, after every step */
static void check_slot_counts(void)
{
	struct slot_counts sc;
	int ret;

	ret = read_slot_counts_retry(&sc);
	if (ret) {
		fail(CHECK_SLOTS, "slot counts: %s", tpm2t_strerror(ret));
		return;
	}
	if (sc.sessions_loaded || sc.objects_free != object_slots)
		fail(CHECK_SLOTS, "%u of %u object slots taken, %u sessions loaded after '%s'",
		     object_slots - sc.objects_free, object_slots,
		     sc.sessions_loaded, last_op);
	seen_active(sc.sessions_active - sc.sessions_loaded);
	st.slot_counts++;
}

/* The zero-slot rule by handle: what the counts could miss or get wrong */
static void check_slots(void)
{
	struct tpm2t_census c;
	int tries = 0, ret;

	while ((ret = tpm2t_census(tpm_fd, &c)) == -ETIME && ++tries < 3)
		st.timeouts++;
	if (ret) {
		fail(CHECK_SLOTS, "census: %s", tpm2t_strerror(ret));
		return;
	}
	if (c.transient || c.loaded)
		fail(CHECK_SLOTS, "%zu objects, %zu sessions loaded after '%s'",
		     c.transient, c.loaded, last_op);
	seen_active(c.saved);
	st.censuses++;
}

/*
 * The counts' baseline, once a census has shown that the TPM holds no
 * object: the number of object slots free when all are. Then the counts
 * are shown to see what they are to catch: a key and a session loaded
 * through /dev/tpm0, past the resource manager, and flushed again.
 */
static const char *learn_object_slots(void)
{
	struct tpm2t_session s;
	struct tpm2t_buf cmd, rsp;
	struct slot_counts sc;
	__u32 key;
	bool seen;

	if (read_slot_counts_retry(&sc) || !sc.objects_free)
		return "no TPM_PT_HR_TRANSIENT_AVAIL";
	object_slots = sc.objects_free;

	build_create_primary(&cmd, TPM2_RH_NULL);
	if (tpm2t_run(tpm_fd, &cmd, &rsp))
		return "CreatePrimary on " TPM2T_TPM_DEV " failed";
	key = tpm2t_get_u32(&rsp);
	seen = !read_slot_counts_retry(&sc) &&
	       sc.objects_free == object_slots - 1;
	tpm2t_flush_context(tpm_fd, key);
	if (!seen)
		return "a loaded key does not show in the slot counts";

	if (tpm2t_start_auth_session(tpm_fd, TPM2_SE_HMAC, &s))
		return "StartAuthSession on " TPM2T_TPM_DEV " failed";
	seen = !read_slot_counts_retry(&sc) && sc.sessions_loaded == 1;
	tpm2t_flush_context(tpm_fd, s.handle);
	if (!seen)
		return "a loaded session does not show in the slot counts";
	return NULL;
}

/*
 * The driver timed out a canary command (see check_slots()): the TPM may
 * have run it and rolled its nonce, so the session starts anew.
 */
static void canary_timed_out(void)
{
	int ret;

	st.timeouts++;
	tpm2t_flush_context(canary.fd, canary.s.handle);
	ret = tpm2t_start_auth_session(canary.fd, TPM2_SE_HMAC, &canary.s);
	if (ret)
		fail(CHECK_CANARY, "canary session after a timeout: %s",
		     tpm2t_strerror(ret));
}

static void check_canary(void)
{
	int ret;

	ret = tpm2t_sign(canary.fd, canary.key, tpm2t_digest);
	if (ret == -ETIME) {
		st.timeouts++;
	} else if (ret) {
		fail(CHECK_CANARY, "canary key 0x%x: Sign: %s", canary.key,
		     tpm2t_strerror(ret));
	}
	ret = tpm2t_use_session(canary.fd, &canary.s);
	if (ret == -ETIME)
		canary_timed_out();
	else if (ret)
		fail(CHECK_CANARY, "canary session 0x%x: %s", canary.s.handle,
		     tpm2t_strerror(ret));
	st.canary_checks++;
}

static int canary_open(void)
{
	struct tpm2t_buf cmd, rsp;
	int ret;

	canary.fd = tpm2t_open(TPM2T_RM_DEV);
	if (canary.fd < 0)
		return canary.fd;
	build_create_primary(&cmd, TPM2_RH_NULL);
	ret = tpm2t_run(canary.fd, &cmd, &rsp);
	if (ret)
		return ret;
	canary.key = tpm2t_get_u32(&rsp);
	return tpm2t_start_auth_session(canary.fd, TPM2_SE_HMAC, &canary.s);
}

/* Close every file; then only abandoned sessions may be left */
static void check_closed(const struct tpm2t_census *before)
{
	struct tpm2t_census c;
	long max_abandoned = 8;
	int i, ret;

	for (i = 0; i < cfg.nr_files; i++)
		file_close(&files[i]);
	close(canary.fd);
	canary.fd = -1;
	tpm2t_read_param("space_max_abandoned", &max_abandoned);
	ret = tpm2t_census(tpm_fd, &c);
	if (ret) {
		fail(CHECK_CLOSED, "census: %s", tpm2t_strerror(ret));
		return;
	}
	ksft_print_msg("after close: %zu objects, %zu sessions loaded, ",
		       c.transient, c.loaded);
	printf("%zu active (%zu before)\n", c.saved, before->saved);
	if (c.transient || c.loaded)
		fail(CHECK_CLOSED, "%zu objects, %zu sessions loaded", c.transient,
		     c.loaded);
	else if (c.saved > before->saved + max_abandoned)
		fail(CHECK_CLOSED, "%zu sessions left, more than %ld abandoned",
		     c.saved - before->saved, max_abandoned);
}

/* ---- Main --------------------------------------------------------------- */

static void parse_env(void)
{
	const char *v;

	v = getenv("TPM2T_STREAM_SEED");
	if (v)
		cfg.seed = strtoull(v, NULL, 0);
	v = getenv("TPM2T_STREAM_OPS");
	if (v)
		cfg.ops = strtoul(v, NULL, 0);
	v = getenv("TPM2T_STREAM_TIME");
	if (v)
		cfg.time_s = strtol(v, NULL, 0);
	v = getenv("TPM2T_STREAM_FILES");
	if (v)
		cfg.nr_files = atoi(v);
}

static int parse_args(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "s:n:t:f:c:k:C:v")) != -1) {
		switch (opt) {
		case 's':
			cfg.seed = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			cfg.ops = strtoul(optarg, NULL, 0);
			break;
		case 't':
			cfg.time_s = strtol(optarg, NULL, 0);
			break;
		case 'f':
			cfg.nr_files = atoi(optarg);
			break;
		case 'c':
			cfg.canary_every = strtoul(optarg, NULL, 0);
			break;
		case 'k':
			cfg.check_every = strtoul(optarg, NULL, 0);
			break;
		case 'C':
			cfg.census_every = strtoul(optarg, NULL, 0);
			break;
		case 'v':
			cfg.verbose = true;
			break;
		default:
			return -1;
		}
	}
	if (cfg.nr_files < 1 || cfg.nr_files > MAX_FILES ||
	    !cfg.canary_every || !cfg.check_every || !cfg.census_every)
		return -1;
	return 0;
}

static void run_stream(void)
{
	long start = tpm2t_now_ms(), elapsed;
	unsigned long i;

	for (i = 0; !cfg.ops || i < cfg.ops; i++) {
		long step_start = tpm2t_now_ms(), took;

		elapsed = step_start - start;
		if (elapsed >= cfg.time_s * 1000)
			break;
		step();
		st.ops++;
		if (!(i % cfg.census_every))
			check_slots();
		else if (!(i % cfg.check_every))
			check_slot_counts();
		if (!(i % cfg.canary_every))
			check_canary();
		took = tpm2t_now_ms() - step_start;
		if (took > STALL_MS) {
			stalled = true;
			fail(CHECK_ANSWERS, "the TPM stopped answering: step %lu took %ld s",
			     i, took / 1000);
		}
		if (failed)
			break;
		if (!((i + 1) % 100000))
			ksft_print_msg("%lu ops, %ld s\n", i + 1, elapsed / 1000);
	}
	elapsed = tpm2t_now_ms() - start;
	ksft_print_msg("%lu ops in %.1f s: %.0f ops/s\n", st.ops,
		       elapsed / 1000.0, st.ops * 1000.0 / (elapsed ? elapsed : 1));
	ksft_print_msg("commands %lu, answers %lu: TPM ok %lu, TPM errors %lu, ",
		       st.commands, st.answers, st.tpm_ok, st.tpm_err);
	printf("RM errors %lu, short reads %lu\n", st.rm_err, st.short_reads);
	ksft_print_msg("errno: EBUSY %lu, EINTR %lu, EINVAL %lu, ENOMEM %lu, ",
		       st.ebusy, st.eintr, st.einval, st.enomem);
	printf("other %lu; reopens %lu, empty polls %lu\n", st.other_errno,
	       st.reopen, st.poll_empty);
	ksft_print_msg("slot counts %lu, censuses %lu (at most %zu active sessions), ",
		       st.slot_counts, st.censuses, st.most_active);
	printf("canary checks %lu\n", st.canary_checks);
	if (st.timeouts)
		ksft_print_msg("%lu checks timed out in the driver: the host is slow\n",
			       st.timeouts);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct tpm2t_census before;
	const char *why;
	int i, ret;

	cfg.seed = (__u64)time(NULL) << 20 ^ getpid();
	parse_env();
	if (parse_args(argc, argv)) {
		fprintf(stderr, "usage: %s [-s SEED] [-n OPS] [-t SECONDS] ",
			argv[0]);
		fprintf(stderr, "[-f FILES 1-%d] [-c CANARY_EVERY] [-k CHECK_EVERY] ",
			MAX_FILES);
		fprintf(stderr, "[-C CENSUS_EVERY] [-v]\n");
		return KSFT_FAIL;
	}
	cfg.rng = cfg.seed ? cfg.seed : 1;

	ksft_print_header();
	ksft_set_plan(NR_CHECKS);
	if (!tpm2t_devices_usable())
		ksft_exit_skip(TPM2T_DEVICES_NEEDED "\n");
	ksft_print_msg("seed %llu (replay: -s %llu or TPM2T_STREAM_SEED), ",
		       (unsigned long long)cfg.seed,
		       (unsigned long long)cfg.seed);
	printf("%d files, %lu ops (0: no limit), %ld s\n", cfg.nr_files,
	       cfg.ops, cfg.time_s);

	sigaction(SIGALRM, &sa, NULL);
	tpm_fd = tpm2t_open_wait(TPM2T_TPM_DEV);
	if (tpm_fd < 0)
		ksft_exit_fail_msg("%s: %s\n", TPM2T_TPM_DEV, strerror(-tpm_fd));
	ret = tpm2t_census(tpm_fd, &before);
	if (ret)
		ksft_exit_fail_msg("census: %s\n", tpm2t_strerror(ret));
	if (before.transient || before.loaded)
		ksft_exit_fail_msg("the TPM holds %zu objects, %zu sessions before the stream\n",
				   before.transient, before.loaded);
	why = learn_object_slots();
	if (why)
		ksft_exit_fail_msg("slot counts: %s\n", why);
	ksft_print_msg("%u object slots; census every %u steps, slot counts between\n",
		       object_slots, cfg.census_every);
	ret = canary_open();
	if (ret)
		ksft_exit_fail_msg("canary: %s\n", tpm2t_strerror(ret));
	for (i = 0; i < cfg.nr_files; i++) {
		ret = file_open(&files[i]);
		if (ret)
			ksft_exit_fail_msg("%s: %s\n", TPM2T_RM_DEV,
					   strerror(-ret));
	}

	run_stream();
	if (!failed)
		check_slots();
	if (failed)
		print_last_command();
	else
		check_canary();
	if (!stalled)
		check_closed(&before);

	for (i = 0; i < NR_CHECKS; i++) {
		if (failure[i][0])
			ksft_print_msg("%s: %s (seed %llu)\n", check_name[i],
				       failure[i], (unsigned long long)cfg.seed);
		if (stalled && !failure[i][0])
			ksft_test_result_skip("%s: the TPM stopped answering\n",
					      check_name[i]);
		else
			ksft_test_result(!failure[i][0], "%s\n", check_name[i]);
	}
	ksft_finished();
}
