// SPDX-License-Identifier: GPL-2.0-only
/*
 * The vocabulary of the tpm2-space selftests; see tpm2_util.h for the
 * conventions.  SHA-256 and HMAC come from libcrypto.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <linux/vtpm_proxy.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tpm2_util.h"

/* ---- Wire building ------------------------------------------------------ */

static void put_u32_at(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static __u32 get_u32_at(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

void tpm2t_put_bytes(struct tpm2t_buf *cmd, const void *p, size_t len)
{
	if (cmd->bad || len > sizeof(cmd->data) - cmd->len) {
		cmd->bad = true;
		return;
	}
	if (len)
		memcpy(cmd->data + cmd->len, p, len);
	cmd->len += len;
}

void tpm2t_put_u8(struct tpm2t_buf *cmd, __u8 v)
{
	tpm2t_put_bytes(cmd, &v, 1);
}

void tpm2t_put_u16(struct tpm2t_buf *cmd, __u16 v)
{
	__u8 b[2] = { v >> 8, v };

	tpm2t_put_bytes(cmd, b, sizeof(b));
}

void tpm2t_put_u32(struct tpm2t_buf *cmd, __u32 v)
{
	__u8 b[4] = { v >> 24, v >> 16, v >> 8, v };

	tpm2t_put_bytes(cmd, b, sizeof(b));
}

void tpm2t_put_u64(struct tpm2t_buf *cmd, __u64 v)
{
	tpm2t_put_u32(cmd, v >> 32);
	tpm2t_put_u32(cmd, v);
}

void tpm2t_put_tpm2b(struct tpm2t_buf *cmd, const void *p, __u16 len)
{
	tpm2t_put_u16(cmd, len);
	tpm2t_put_bytes(cmd, p, len);
}

void tpm2t_buf_reset(struct tpm2t_buf *buf)
{
	buf->len = 0;
	buf->pos = 0;
	buf->bad = false;
}

void tpm2t_cmd_init(struct tpm2t_buf *cmd, __u16 tag, __u32 cc)
{
	tpm2t_buf_reset(cmd);
	tpm2t_put_u16(cmd, tag);
	tpm2t_put_u32(cmd, 0);	/* size, set by tpm2t_cmd_finish() */
	tpm2t_put_u32(cmd, cc);
}

void tpm2t_put_session(struct tpm2t_buf *cmd, __u32 handle, __u16 nonce_len,
		       __u8 attrs)
{
	static const __u8 zero[TPM2_SHA256_SIZE];

	tpm2t_put_u32(cmd, handle);
	if (nonce_len > sizeof(zero)) {
		/* a size that promises more than the area holds */
		tpm2t_put_u16(cmd, nonce_len);
	} else {
		tpm2t_put_tpm2b(cmd, zero, nonce_len);
	}
	tpm2t_put_u8(cmd, attrs);
	tpm2t_put_tpm2b(cmd, NULL, 0);		/* hmac */
}

/* The size of one tpm2t_put_session() without a nonce */
#define PW_SESSION_SIZE	(4 + 2 + 1 + 2)

void tpm2t_put_pw_auths(struct tpm2t_buf *cmd, unsigned int nr)
{
	unsigned int i;

	tpm2t_put_u32(cmd, nr * PW_SESSION_SIZE);	/* authorizationSize */
	for (i = 0; i < nr; i++)
		tpm2t_put_session(cmd, TPM2_RS_PW, 0, 0);
}

void tpm2t_put_pw_auth(struct tpm2t_buf *cmd)
{
	tpm2t_put_pw_auths(cmd, 1);
}

size_t tpm2t_cmd_finish(struct tpm2t_buf *cmd)
{
	if (cmd->len >= TPM2_HEADER_SIZE)
		put_u32_at(cmd->data + 2, cmd->len);
	return cmd->len;
}

__u32 tpm2t_cmd_cc(const struct tpm2t_buf *cmd)
{
	return cmd->len < TPM2_HEADER_SIZE ? 0 : get_u32_at(cmd->data + 6);
}

void tpm2t_build_get_random(struct tpm2t_buf *cmd, __u16 tag, __u16 count)
{
	tpm2t_cmd_init(cmd, tag, TPM2_CC_GET_RANDOM);
	tpm2t_put_u16(cmd, count);
	tpm2t_cmd_finish(cmd);
}

/* ---- Response parsing --------------------------------------------------- */

__u32 tpm2t_rsp_rc(const struct tpm2t_buf *rsp)
{
	return get_u32_at(rsp->data + 6);
}

void tpm2t_get_bytes(struct tpm2t_buf *rsp, void *out, size_t len)
{
	if (rsp->bad || len > rsp->len - rsp->pos) {
		rsp->bad = true;
		if (out && len)
			memset(out, 0, len);
		return;
	}
	if (out && len)
		memcpy(out, rsp->data + rsp->pos, len);
	rsp->pos += len;
}

__u8 tpm2t_get_u8(struct tpm2t_buf *rsp)
{
	__u8 v;

	tpm2t_get_bytes(rsp, &v, 1);
	return v;
}

__u16 tpm2t_get_u16(struct tpm2t_buf *rsp)
{
	__u8 b[2];

	tpm2t_get_bytes(rsp, b, sizeof(b));
	return (__u16)(b[0] << 8 | b[1]);
}

__u32 tpm2t_get_u32(struct tpm2t_buf *rsp)
{
	__u8 b[4];

	tpm2t_get_bytes(rsp, b, sizeof(b));
	return get_u32_at(b);
}

__u64 tpm2t_get_u64(struct tpm2t_buf *rsp)
{
	__u64 hi = tpm2t_get_u32(rsp);

	return hi << 32 | tpm2t_get_u32(rsp);
}

__u16 tpm2t_get_tpm2b(struct tpm2t_buf *rsp, void *out, size_t max)
{
	__u16 len = tpm2t_get_u16(rsp);

	if (out && len > max) {
		rsp->bad = true;
		return len;
	}
	tpm2t_get_bytes(rsp, out, len);
	return len;
}

/* Skip the parameterSize field that ST_SESSIONS responses carry */
static void skip_param_size(struct tpm2t_buf *cmd, struct tpm2t_buf *rsp)
{
	if (get_u32_at(cmd->data) >> 16 == TPM2_ST_SESSIONS)
		tpm2t_get_u32(rsp);
}

/* 0 if the response was parsed completely, else -EPROTO */
static int parsed(struct tpm2t_buf *rsp)
{
	return rsp->bad ? -EPROTO : 0;
}

/* ---- Device I/O --------------------------------------------------------- */

int tpm2t_open(const char *path)
{
	int fd = open(path, O_RDWR);

	return fd < 0 ? -errno : fd;
}

int tpm2t_open_wait(const char *path)
{
	int tries = 0;
	int fd;

	while ((fd = tpm2t_open(path)) == -EBUSY && ++tries < 200)
		usleep(10000);
	return fd;
}

long tpm2t_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tpm2t_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* vtpm_proxy's own command, which the TPM behind it never sees */
#define TPM2T_VTPM_SET_LOCALITY	0x20001000

int tpm2t_serve_vtpm(int proxy)
{
	struct tpm2t_buf cmd, rsp;
	ssize_t n;
	int tpm;

	tpm = tpm2t_open_wait(TPM2T_TPM_DEV);
	if (tpm < 0)
		return 1;
	for (;;) {
		n = read(proxy, cmd.data, sizeof(cmd.data));
		if (n < TPM2_HEADER_SIZE)
			return n < 0 && errno == EINTR ? 2 : 0;
		cmd.len = n;
		cmd.bad = false;
		if (tpm2t_cmd_cc(&cmd) == TPM2T_VTPM_SET_LOCALITY) {
			tpm2t_cmd_init(&rsp, TPM2_ST_NO_SESSIONS, 0);
			tpm2t_cmd_finish(&rsp);
		} else if (tpm2t_transmit(tpm, &cmd, &rsp)) {
			return 3;
		}
		if (write(proxy, rsp.data, rsp.len) != (ssize_t)rsp.len)
			return 0;
	}
}

bool tpm2t_wait_path(const char *path, bool exist)
{
	int i;

	for (i = 0; i < 1000; i++) {
		if (!access(path, F_OK) == exist)
			return true;
		tpm2t_sleep_ms(10);
	}
	return false;
}

int tpm2t_vtpm_create(struct tpm2t_vtpm *v)
{
	struct vtpm_proxy_new_dev dev = { .flags = VTPM_PROXY_FLAG_TPM2 };
	int vtpmx, rc;

	vtpmx = open(TPM2T_VTPMX_DEV, O_RDWR);
	if (vtpmx < 0)
		return -errno;
	rc = ioctl(vtpmx, VTPM_PROXY_IOC_NEW_DEV, &dev) ? -errno : 0;
	close(vtpmx);
	if (rc)
		return rc;
	v->proxy = dev.fd;
	v->server = 0;
	snprintf(v->tpm_path, sizeof(v->tpm_path), "/dev/tpm%u", dev.tpm_num);
	snprintf(v->rm_path, sizeof(v->rm_path), "/dev/tpmrm%u", dev.tpm_num);
	return 0;
}

/*
 * Registration sends the chip a dozen commands, each within the driver's
 * deadline for it; under TCG with the debug kernel on a loaded host they
 * may take a while in all. A chip the driver gave up on is no longer
 * opened on the proxy's side, which poll() reports as a hang-up: that
 * ends the wait at once.
 */
int tpm2t_vtpm_wait_registered(const struct tpm2t_vtpm *v)
{
	struct pollfd p = { .fd = v->proxy };
	long deadline = tpm2t_now_ms() + TPM2T_VTPM_REGISTER_MS;

	while (access(v->rm_path, F_OK)) {
		/* no events asked for: only a hang-up ends the 10 ms early */
		if (poll(&p, 1, 10) < 0 && errno != EINTR)
			return -errno;
		if (p.revents & POLLHUP)
			return -ECONNREFUSED;
		if (tpm2t_now_ms() > deadline)
			return -ETIMEDOUT;
	}
	return 0;
}

int tpm2t_vtpm_plug(struct tpm2t_vtpm *v)
{
	int rc = tpm2t_vtpm_create(v);

	if (rc)
		return rc;
	v->server = fork();
	if (v->server < 0) {
		rc = -errno;
		close(v->proxy);
		return rc;
	}
	if (!v->server)
		_exit(tpm2t_serve_vtpm(v->proxy));
	return tpm2t_vtpm_wait_registered(v);
}

/*
 * An O_NONBLOCK file's write() only queues the command: its response can
 * be read once poll() says so. 0, or -errno (-ETIMEDOUT after 60 s).
 */
static int wait_for_response(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int flags = fcntl(fd, F_GETFL);
	int ret;

	if (flags < 0)
		return -errno;
	if (!(flags & O_NONBLOCK))
		return 0;
	do
		ret = poll(&p, 1, 60000);
	while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	return ret ? 0 : -ETIMEDOUT;
}

int tpm2t_transmit(int fd, struct tpm2t_buf *cmd, struct tpm2t_buf *rsp)
{
	size_t want = TPM2_HEADER_SIZE;
	ssize_t n;

	if (cmd->bad)
		return -ENOSPC;

	n = write(fd, cmd->data, cmd->len);
	if (n < 0)
		return -errno;
	if ((size_t)n != cmd->len)
		return -EIO;
	n = wait_for_response(fd);
	if (n)
		return n;

	/* a character device returns it all at once, a socket may not */
	rsp->len = 0;
	rsp->pos = 0;
	rsp->bad = false;
	while (rsp->len < want) {
		n = read(fd, rsp->data + rsp->len, sizeof(rsp->data) - rsp->len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPROTO;
		rsp->len += n;
		if (rsp->len >= TPM2_HEADER_SIZE) {
			want = get_u32_at(rsp->data + 2);
			if (want < TPM2_HEADER_SIZE || want > sizeof(rsp->data))
				return -EPROTO;
		}
	}
	if (rsp->len != want)
		return -EPROTO;

	rsp->pos = TPM2_HEADER_SIZE;
	return 0;
}

int tpm2t_run(int fd, struct tpm2t_buf *cmd, struct tpm2t_buf *rsp)
{
	int tries = 0;
	int ret;

	tpm2t_cmd_finish(cmd);
	for (;;) {
		ret = tpm2t_transmit(fd, cmd, rsp);
		if (ret)
			return ret;
		ret = (int)tpm2t_rsp_rc(rsp);
		/* the kernel retries these too; a simulator socket does not */
		if ((ret != TPM2_RC_RETRY && ret != TPM2_RC_TESTING) ||
		    ++tries > 50)
			return ret;
		usleep(20000);
	}
}

int tpm2t_send_raw(int fd, const struct tpm2t_buf *cmd, size_t len)
{
	struct tpm2t_buf rsp;
	ssize_t n;

	n = write(fd, cmd->data, len);
	if (n < 0)
		return -errno;
	n = read(fd, rsp.data, sizeof(rsp.data));
	if (n < 0)
		return -errno;
	if (n < TPM2_HEADER_SIZE)
		return -EPROTO;
	return (int)tpm2t_rsp_rc(&rsp);
}

/* ---- Results ------------------------------------------------------------ */

const char *tpm2t_strerror(int res)
{
	static __thread char text[64];

	if (res < 0)
		snprintf(text, sizeof(text), "%s", strerror(-res));
	else if (res == 0)
		snprintf(text, sizeof(text), "TPM_RC_SUCCESS");
	else
		snprintf(text, sizeof(text), "TPM rc 0x%08x", res);
	return text;
}

bool tpm2t_rm_refused(int res)
{
	return res > 0 && ((__u32)res & TPM2_RC_LAYER_MASK) == TPM2T_RM_LAYER;
}

bool tpm2t_rm_rejected(int res)
{
	return res == -EINVAL || tpm2t_rm_refused(res);
}

bool tpm2t_malformed_refused(int res)
{
	return res == -EINVAL || res == -ENODATA || res > 0;
}

/* ---- Crypto (libcrypto) ------------------------------------------------- */

int tpm2t_sha256(const void *data, size_t len, __u8 out[TPM2_SHA256_SIZE])
{
	unsigned int n = 0;

	if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) ||
	    n != TPM2_SHA256_SIZE)
		return -EIO;
	return 0;
}

int tpm2t_hmac_sha256(const void *key, size_t key_len,
		      const void *msg, size_t msg_len,
		      __u8 out[TPM2_SHA256_SIZE])
{
	static const __u8 no_key;
	unsigned int n = 0;

	/* libcrypto wants a key pointer even for an empty key */
	if (!HMAC(EVP_sha256(), key_len ? key : &no_key, (int)key_len, msg,
		  msg_len, out, &n) || n != TPM2_SHA256_SIZE)
		return -EIO;
	return 0;
}

/* ---- Objects ------------------------------------------------------------ */

/* "tpm2-space selftest digest 01234" */
const __u8 tpm2t_digest[TPM2_SHA256_SIZE] = {
	0x74, 0x70, 0x6d, 0x32, 0x2d, 0x73, 0x70, 0x61,
	0x63, 0x65, 0x20, 0x73, 0x65, 0x6c, 0x66, 0x74,
	0x65, 0x73, 0x74, 0x20, 0x64, 0x69, 0x67, 0x65,
	0x73, 0x74, 0x20, 0x30, 0x31, 0x32, 0x33, 0x34,
};

int tpm2t_create_primary_ecc(int fd, __u32 hierarchy, __u32 *handle,
			     __u8 *name, __u16 *name_len)
{
	struct tpm2t_buf cmd, rsp;
	size_t pub_start;
	__u16 len;
	int ret;

	tpm2t_cmd_init(&cmd, TPM2_ST_SESSIONS, TPM2_CC_CREATE_PRIMARY);
	tpm2t_put_u32(&cmd, hierarchy);
	tpm2t_put_pw_auth(&cmd);

	/* inSensitive: empty userAuth and data */
	tpm2t_put_u16(&cmd, 4);
	tpm2t_put_tpm2b(&cmd, NULL, 0);
	tpm2t_put_tpm2b(&cmd, NULL, 0);

	/* inPublic, size patched below */
	tpm2t_put_u16(&cmd, 0);
	pub_start = cmd.len;
	tpm2t_put_u16(&cmd, TPM2_ALG_ECC);
	tpm2t_put_u16(&cmd, TPM2_ALG_SHA256);	/* nameAlg */
	/* fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | sign */
	tpm2t_put_u32(&cmd, 1u << 1 | 1u << 4 | 1u << 5 | 1u << 6 | 1u << 18);
	tpm2t_put_tpm2b(&cmd, NULL, 0);		/* authPolicy */
	tpm2t_put_u16(&cmd, TPM2_ALG_NULL);	/* symmetric */
	tpm2t_put_u16(&cmd, TPM2_ALG_ECDSA);	/* scheme */
	tpm2t_put_u16(&cmd, TPM2_ALG_SHA256);
	tpm2t_put_u16(&cmd, TPM2_ECC_NIST_P256);
	tpm2t_put_u16(&cmd, TPM2_ALG_NULL);	/* kdf */
	tpm2t_put_tpm2b(&cmd, NULL, 0);		/* unique.x */
	tpm2t_put_tpm2b(&cmd, NULL, 0);		/* unique.y */
	len = cmd.len - pub_start;
	cmd.data[pub_start - 2] = len >> 8;
	cmd.data[pub_start - 1] = len;

	tpm2t_put_tpm2b(&cmd, NULL, 0);		/* outsideInfo */
	tpm2t_put_u32(&cmd, 0);			/* creationPCR: none */

	ret = tpm2t_run(fd, &cmd, &rsp);
	if (ret)
		return ret;

	*handle = tpm2t_get_u32(&rsp);
	skip_param_size(&cmd, &rsp);
	tpm2t_get_tpm2b(&rsp, NULL, 0);		/* outPublic */
	tpm2t_get_tpm2b(&rsp, NULL, 0);		/* creationData */
	tpm2t_get_tpm2b(&rsp, NULL, 0);		/* creationHash */
	tpm2t_get_u16(&rsp);			/* creationTicket.tag */
	tpm2t_get_u32(&rsp);			/* creationTicket.hierarchy */
	tpm2t_get_tpm2b(&rsp, NULL, 0);		/* creationTicket.digest */
	len = tpm2t_get_tpm2b(&rsp, name, 2 + TPM2_SHA256_SIZE);
	if (name_len)
		*name_len = len;
	return parsed(&rsp);
}

int tpm2t_create_key(int fd, __u32 hierarchy, __u32 *handle)
{
	return tpm2t_create_primary_ecc(fd, hierarchy, handle, NULL, NULL);
}

void tpm2t_put_sign_params(struct tpm2t_buf *cmd,
			   const __u8 digest[TPM2_SHA256_SIZE])
{
	tpm2t_put_tpm2b(cmd, digest, TPM2_SHA256_SIZE);
	tpm2t_put_u16(cmd, TPM2_ALG_NULL);	/* inScheme: the key's */
	tpm2t_put_u16(cmd, TPM2_ST_HASHCHECK);	/* validation: none */
	tpm2t_put_u32(cmd, TPM2_RH_NULL);
	tpm2t_put_tpm2b(cmd, NULL, 0);
}

/* An ECDSA/SHA-256 TPMT_SIGNATURE */
static void get_signature(struct tpm2t_buf *rsp)
{
	if (tpm2t_get_u16(rsp) != TPM2_ALG_ECDSA ||
	    tpm2t_get_u16(rsp) != TPM2_ALG_SHA256)
		rsp->bad = true;
	tpm2t_get_tpm2b(rsp, NULL, 0);		/* signatureR */
	tpm2t_get_tpm2b(rsp, NULL, 0);		/* signatureS */
}

int tpm2t_sign(int fd, __u32 key, const __u8 digest[TPM2_SHA256_SIZE])
{
	struct tpm2t_buf cmd, rsp;
	int ret;

	tpm2t_cmd_init(&cmd, TPM2_ST_SESSIONS, TPM2_CC_SIGN);
	tpm2t_put_u32(&cmd, key);
	tpm2t_put_pw_auth(&cmd);
	tpm2t_put_sign_params(&cmd, digest);
	ret = tpm2t_run(fd, &cmd, &rsp);
	if (ret)
		return ret;

	skip_param_size(&cmd, &rsp);
	get_signature(&rsp);
	return parsed(&rsp);
}

int tpm2t_certify(int fd, __u32 object, __u32 signer)
{
	struct tpm2t_buf cmd, rsp;
	size_t params, end;
	int ret;

	tpm2t_cmd_init(&cmd, TPM2_ST_SESSIONS, TPM2_CC_CERTIFY);
	tpm2t_put_u32(&cmd, object);
	tpm2t_put_u32(&cmd, signer);
	tpm2t_put_pw_auths(&cmd, 2);		/* one per handle */
	tpm2t_put_tpm2b(&cmd, NULL, 0);		/* qualifyingData */
	tpm2t_put_u16(&cmd, TPM2_ALG_NULL);	/* inScheme: the signer's */
	ret = tpm2t_run(fd, &cmd, &rsp);
	if (ret)
		return ret;

	params = tpm2t_get_u32(&rsp);
	if (rsp.bad || params > rsp.len - rsp.pos)
		return -EPROTO;
	end = rsp.pos + params;
	tpm2t_get_tpm2b(&rsp, NULL, 0);		/* certifyInfo */
	if (tpm2t_get_u16(&rsp) != TPM2_ALG_ECDSA ||
	    tpm2t_get_u16(&rsp) != TPM2_ALG_SHA256)
		return -EPROTO;
	tpm2t_get_tpm2b(&rsp, NULL, 0);		/* signatureR */
	tpm2t_get_tpm2b(&rsp, NULL, 0);		/* signatureS */
	if (rsp.bad || rsp.pos != end)
		return -EPROTO;
	return 0;
}

/* Run the command @cc, without sessions, on the one handle @handle */
static int run_on_handle(int fd, __u32 cc, __u32 handle,
			 struct tpm2t_buf *rsp)
{
	struct tpm2t_buf cmd;

	tpm2t_cmd_init(&cmd, TPM2_ST_NO_SESSIONS, cc);
	tpm2t_put_u32(&cmd, handle);
	return tpm2t_run(fd, &cmd, rsp);
}

int tpm2t_flush_context(int fd, __u32 handle)
{
	struct tpm2t_buf rsp;

	return run_on_handle(fd, TPM2_CC_FLUSH_CONTEXT, handle, &rsp);
}

int tpm2t_context_save(int fd, __u32 handle, struct tpm2t_context *ctx)
{
	struct tpm2t_buf rsp;
	int ret;

	ret = run_on_handle(fd, TPM2_CC_CONTEXT_SAVE, handle, &rsp);
	if (ret)
		return ret;

	/* keep the TPMS_CONTEXT verbatim; check that it parses */
	tpm2t_get_u64(&rsp);			/* sequence */
	tpm2t_get_u32(&rsp);			/* savedHandle */
	tpm2t_get_u32(&rsp);			/* hierarchy */
	tpm2t_get_tpm2b(&rsp, NULL, 0);		/* contextBlob */
	if (rsp.bad)
		return -EPROTO;
	ctx->len = rsp.pos - TPM2_HEADER_SIZE;
	memcpy(ctx->data, rsp.data + TPM2_HEADER_SIZE, ctx->len);
	return 0;
}

int tpm2t_context_load(int fd, const struct tpm2t_context *ctx,
		       __u32 *handle)
{
	struct tpm2t_buf cmd, rsp;
	int ret;

	tpm2t_cmd_init(&cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_CONTEXT_LOAD);
	tpm2t_put_bytes(&cmd, ctx->data, ctx->len);
	ret = tpm2t_run(fd, &cmd, &rsp);
	if (ret)
		return ret;

	*handle = tpm2t_get_u32(&rsp);
	return parsed(&rsp);
}

int tpm2t_get_random(int fd, __u8 *out, __u16 count, __u16 *got)
{
	struct tpm2t_buf cmd, rsp;
	int ret;

	tpm2t_build_get_random(&cmd, TPM2_ST_NO_SESSIONS, count);
	ret = tpm2t_run(fd, &cmd, &rsp);
	if (ret)
		return ret;

	*got = tpm2t_get_tpm2b(&rsp, out, count);
	return parsed(&rsp);
}

/* ---- Capabilities ------------------------------------------------------- */

/* GetCapability of @count items of @cap from @property, up to its list */
static int get_capability(int fd, __u32 cap, __u32 property, __u32 count,
			  struct tpm2t_buf *rsp, __u8 *more, __u32 *n)
{
	struct tpm2t_buf cmd;
	int ret;

	tpm2t_cmd_init(&cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_CAPABILITY);
	tpm2t_put_u32(&cmd, cap);
	tpm2t_put_u32(&cmd, property);
	tpm2t_put_u32(&cmd, count);
	ret = tpm2t_run(fd, &cmd, rsp);
	if (ret)
		return ret;

	*more = tpm2t_get_u8(rsp);
	if (tpm2t_get_u32(rsp) != cap)
		return -EPROTO;
	*n = tpm2t_get_u32(rsp);
	return parsed(rsp);
}

int tpm2t_get_handles_page(int fd, __u32 first, __u32 count, __u32 *out,
			   __u32 *n, __u8 *more)
{
	struct tpm2t_buf rsp;
	__u32 i;
	int ret;

	ret = get_capability(fd, TPM2_CAP_HANDLES, first, count, &rsp, more, n);
	if (ret)
		return ret;
	if (*n > count)
		return -EPROTO;
	for (i = 0; i < *n; i++)
		out[i] = tpm2t_get_u32(&rsp);
	return parsed(&rsp);
}

int tpm2t_get_handles(int fd, __u32 first, __u32 *handles, size_t max,
		      size_t *count)
{
	__u32 page[64], next = first, n, i;
	__u8 more;
	int ret;

	*count = 0;
	do {
		ret = tpm2t_get_handles_page(fd, next, 64, page, &n, &more);
		if (ret)
			return ret;
		for (i = 0; i < n; i++) {
			if (*count < max)
				handles[*count] = page[i];
			(*count)++;
			/*
			 * The list may use another type byte than the query
			 * (swtpm shows saved sessions with 0x02), so continue
			 * within the queried range.
			 */
			next = (first & TPM2_HT_MASK) |
			       ((page[i] + 1) & ~TPM2_HT_MASK);
		}
		/* guard against a TPM that keeps saying "more" */
	} while (more && n && *count < 4096);

	return 0;
}

int tpm2t_count_handles(int fd, __u32 first, size_t *count)
{
	return tpm2t_get_handles(fd, first, NULL, 0, count);
}

bool tpm2t_handle_listed(const __u32 *handles, size_t n, __u32 handle,
			 bool low24)
{
	__u32 mask = low24 ? 0x00FFFFFF : 0xFFFFFFFF;
	size_t i;

	for (i = 0; i < n; i++)
		if ((handles[i] & mask) == (handle & mask))
			return true;
	return false;
}

int tpm2t_get_property(int fd, __u32 property, __u32 *value)
{
	struct tpm2t_buf rsp;
	__u8 more;
	__u32 n;
	int ret;

	ret = get_capability(fd, TPM2_CAP_TPM_PROPERTIES, property, 1, &rsp,
			     &more, &n);
	if (ret)
		return ret;
	/* a TPM lists the next property it has when it lacks this one */
	if (n < 1 || tpm2t_get_u32(&rsp) != property)
		return -ENOENT;
	*value = tpm2t_get_u32(&rsp);
	return parsed(&rsp);
}

/* ---- Sessions ----------------------------------------------------------- */

static int fill_random(void *p, size_t len)
{
	ssize_t n = getrandom(p, len, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int tpm2t_start_auth_session(int fd, __u8 type,
			     struct tpm2t_session *s)
{
	struct tpm2t_buf cmd, rsp;
	int ret;

	memset(s, 0, sizeof(*s));
	s->type = type;
	ret = fill_random(s->nonce_caller, sizeof(s->nonce_caller));
	if (ret)
		return ret;

	tpm2t_cmd_init(&cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_START_AUTH_SESSION);
	tpm2t_put_u32(&cmd, TPM2_RH_NULL);	/* tpmKey: unsalted */
	tpm2t_put_u32(&cmd, TPM2_RH_NULL);	/* bind: unbound */
	tpm2t_put_tpm2b(&cmd, s->nonce_caller, sizeof(s->nonce_caller));
	tpm2t_put_tpm2b(&cmd, NULL, 0);		/* encryptedSalt */
	tpm2t_put_u8(&cmd, type);
	tpm2t_put_u16(&cmd, TPM2_ALG_NULL);	/* symmetric */
	tpm2t_put_u16(&cmd, TPM2_ALG_SHA256);	/* authHash */
	ret = tpm2t_run(fd, &cmd, &rsp);
	if (ret)
		return ret;

	s->handle = tpm2t_get_u32(&rsp);
	s->nonce_tpm_len = tpm2t_get_tpm2b(&rsp, s->nonce_tpm,
					   sizeof(s->nonce_tpm));
	return parsed(&rsp);
}

int tpm2t_policy_pcr(int fd, __u32 session, __u16 bank, __u32 pcr_mask)
{
	struct tpm2t_buf cmd, rsp;

	tpm2t_cmd_init(&cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_POLICY_PCR);
	tpm2t_put_u32(&cmd, session);
	tpm2t_put_tpm2b(&cmd, NULL, 0);		/* pcrDigest: current */
	tpm2t_put_u32(&cmd, 1);			/* one TPMS_PCR_SELECTION */
	tpm2t_put_u16(&cmd, bank);
	tpm2t_put_u8(&cmd, 3);			/* sizeofSelect */
	tpm2t_put_u8(&cmd, pcr_mask);
	tpm2t_put_u8(&cmd, pcr_mask >> 8);
	tpm2t_put_u8(&cmd, pcr_mask >> 16);
	return tpm2t_run(fd, &cmd, &rsp);
}

int tpm2t_policy_get_digest(int fd, __u32 session,
			    __u8 digest[TPM2_SHA256_SIZE])
{
	struct tpm2t_buf rsp;
	int ret;

	ret = run_on_handle(fd, TPM2_CC_POLICY_GET_DIGEST, session, &rsp);
	if (ret)
		return ret;

	if (tpm2t_get_tpm2b(&rsp, digest, TPM2_SHA256_SIZE) != TPM2_SHA256_SIZE)
		return -EPROTO;
	return parsed(&rsp);
}

int tpm2t_policy_secret(int fd, __u32 auth, __u32 session)
{
	struct tpm2t_buf cmd, rsp;
	int ret;

	tpm2t_cmd_init(&cmd, TPM2_ST_SESSIONS, TPM2_CC_POLICY_SECRET);
	tpm2t_put_u32(&cmd, auth);
	tpm2t_put_u32(&cmd, session);
	tpm2t_put_pw_auth(&cmd);
	tpm2t_put_tpm2b(&cmd, NULL, 0);		/* nonceTPM */
	tpm2t_put_tpm2b(&cmd, NULL, 0);		/* cpHashA */
	tpm2t_put_tpm2b(&cmd, NULL, 0);		/* policyRef */
	tpm2t_put_u32(&cmd, 0);			/* expiration */
	ret = tpm2t_run(fd, &cmd, &rsp);
	if (ret)
		return ret;

	skip_param_size(&cmd, &rsp);
	tpm2t_get_tpm2b(&rsp, NULL, 0);		/* timeout */
	tpm2t_get_u16(&rsp);			/* policyTicket.tag */
	tpm2t_get_u32(&rsp);			/* policyTicket.hierarchy */
	tpm2t_get_tpm2b(&rsp, NULL, 0);		/* policyTicket.digest */
	return parsed(&rsp);
}

/*
 * The authorization area of one unbound, unsalted session @s whose entity
 * has an empty authValue, so that the HMAC key (sessionKey || authValue)
 * is empty: a fresh nonceCaller, and HMAC(cpHash || nonceCaller ||
 * nonceTPM || attrs) with cpHash = H(@cc || @names || @params).
 */
static int put_hmac_auth(struct tpm2t_buf *cmd, struct tpm2t_session *s,
			 __u8 attrs, __u32 cc, const void *names,
			 size_t names_len, const struct tpm2t_buf *params)
{
	__u8 cp_hash[TPM2_SHA256_SIZE], hmac[TPM2_SHA256_SIZE];
	struct tpm2t_buf msg;
	int ret;

	ret = fill_random(s->nonce_caller, sizeof(s->nonce_caller));
	if (ret)
		return ret;

	tpm2t_buf_reset(&msg);
	tpm2t_put_u32(&msg, cc);
	tpm2t_put_bytes(&msg, names, names_len);
	tpm2t_put_bytes(&msg, params->data, params->len);
	if (msg.bad || params->bad)
		return -ENOSPC;
	ret = tpm2t_sha256(msg.data, msg.len, cp_hash);
	if (ret)
		return ret;

	tpm2t_buf_reset(&msg);
	tpm2t_put_bytes(&msg, cp_hash, sizeof(cp_hash));
	tpm2t_put_bytes(&msg, s->nonce_caller, sizeof(s->nonce_caller));
	tpm2t_put_bytes(&msg, s->nonce_tpm, s->nonce_tpm_len);
	tpm2t_put_u8(&msg, attrs);
	ret = tpm2t_hmac_sha256(NULL, 0, msg.data, msg.len, hmac);
	if (ret)
		return ret;

	tpm2t_put_u32(cmd, 4 + 2 + sizeof(s->nonce_caller) + 1 + 2 +
		      sizeof(hmac));
	tpm2t_put_u32(cmd, s->handle);
	tpm2t_put_tpm2b(cmd, s->nonce_caller, sizeof(s->nonce_caller));
	tpm2t_put_u8(cmd, attrs);
	tpm2t_put_tpm2b(cmd, hmac, sizeof(hmac));
	return msg.bad ? -ENOSPC : 0;
}

/*
 * Run @cmd, its header and handles written, with the authorization area
 * of put_hmac_auth() and then @params.  On success the response is left
 * at its parameters: those of a command with no response handles.
 */
int tpm2t_run_hmac(int fd, struct tpm2t_buf *cmd, struct tpm2t_session *s,
		   __u8 attrs, const void *names, size_t names_len,
		    const struct tpm2t_buf *params, struct tpm2t_buf *rsp)
{
	int ret;

	ret = put_hmac_auth(cmd, s, attrs, tpm2t_cmd_cc(cmd), names, names_len,
			    params);
	if (ret)
		return ret;
	tpm2t_put_bytes(cmd, params->data, params->len);
	ret = tpm2t_run(fd, cmd, rsp);
	if (ret)
		return ret;
	tpm2t_get_u32(rsp);			/* parameterSize */
	return 0;
}

int tpm2t_check_rsp_hmac(struct tpm2t_buf *rsp, struct tpm2t_session *s,
			 __u32 cc, __u8 attrs)
{
	const size_t start = TPM2_HEADER_SIZE + 4;
	__u8 rp_hash[TPM2_SHA256_SIZE], hmac[TPM2_SHA256_SIZE];
	__u8 rsp_hmac[TPM2_SHA256_SIZE], nonce_tpm[TPM2_SHA256_SIZE];
	__u16 nonce_len, hmac_len;
	struct tpm2t_buf msg;
	__u8 rsp_attrs;

	if (rsp->len < TPM2_HEADER_SIZE ||
	    ((__u16)rsp->data[0] << 8 | rsp->data[1]) != TPM2_ST_SESSIONS)
		return -ENOMSG;		/* no response auth area at all */
	if (rsp->bad || rsp->len < start ||
	    rsp->pos - start != get_u32_at(rsp->data + TPM2_HEADER_SIZE))
		return -EPROTO;

	/* rpHash = H(responseCode || commandCode || parameters) */
	tpm2t_buf_reset(&msg);
	tpm2t_put_u32(&msg, TPM2_RC_SUCCESS);
	tpm2t_put_u32(&msg, cc);
	tpm2t_put_bytes(&msg, rsp->data + start, rsp->pos - start);
	if (tpm2t_sha256(msg.data, msg.len, rp_hash))
		return -EIO;

	nonce_len = tpm2t_get_tpm2b(rsp, nonce_tpm, sizeof(nonce_tpm));
	rsp_attrs = tpm2t_get_u8(rsp);
	hmac_len = tpm2t_get_tpm2b(rsp, rsp_hmac, sizeof(rsp_hmac));
	if (rsp->bad || rsp->pos != rsp->len)
		return -EPROTO;
	/* the TPM echoes continueSession, and rolls its nonce every time */
	if ((rsp_attrs ^ attrs) & TPM2_SA_CONTINUE_SESSION)
		return -EBADE;
	if (nonce_len == s->nonce_tpm_len &&
	    !memcmp(nonce_tpm, s->nonce_tpm, nonce_len))
		return -ESTALE;

	tpm2t_buf_reset(&msg);
	tpm2t_put_bytes(&msg, rp_hash, sizeof(rp_hash));
	tpm2t_put_bytes(&msg, nonce_tpm, nonce_len);
	tpm2t_put_bytes(&msg, s->nonce_caller, sizeof(s->nonce_caller));
	tpm2t_put_u8(&msg, rsp_attrs);
	if (tpm2t_hmac_sha256(NULL, 0, msg.data, msg.len, hmac))
		return -EIO;
	if (hmac_len != sizeof(hmac) || memcmp(hmac, rsp_hmac, sizeof(hmac)))
		return -EBADMSG;

	memcpy(s->nonce_tpm, nonce_tpm, nonce_len);
	s->nonce_tpm_len = nonce_len;
	return 0;
}

int tpm2t_get_random_hmac(int fd, struct tpm2t_session *s, __u8 *out,
			  __u16 count, __u16 *got)
{
	struct tpm2t_buf cmd, rsp, params;
	int ret;

	tpm2t_buf_reset(&params);
	tpm2t_put_u16(&params, count);
	/* GetRandom has no handles, so no names */
	tpm2t_cmd_init(&cmd, TPM2_ST_SESSIONS, TPM2_CC_GET_RANDOM);
	ret = tpm2t_run_hmac(fd, &cmd, s,
			     TPM2_SA_CONTINUE_SESSION | TPM2_SA_AUDIT,
		       NULL, 0, &params, &rsp);
	if (ret)
		return ret;

	*got = tpm2t_get_tpm2b(&rsp, out, count);
	return tpm2t_check_rsp_hmac(&rsp, s, TPM2_CC_GET_RANDOM,
				    TPM2_SA_CONTINUE_SESSION | TPM2_SA_AUDIT);
}

int tpm2t_sign_hmac(int fd, __u32 key, const __u8 *name, __u16 name_len,
		    struct tpm2t_session *s,
		    const __u8 digest[TPM2_SHA256_SIZE])
{
	struct tpm2t_buf cmd, rsp, params;
	int ret;

	tpm2t_buf_reset(&params);
	tpm2t_put_sign_params(&params, digest);
	tpm2t_cmd_init(&cmd, TPM2_ST_SESSIONS, TPM2_CC_SIGN);
	tpm2t_put_u32(&cmd, key);
	ret = tpm2t_run_hmac(fd, &cmd, s, TPM2_SA_CONTINUE_SESSION, name,
			     name_len, &params, &rsp);
	if (ret)
		return ret;

	get_signature(&rsp);
	return tpm2t_check_rsp_hmac(&rsp, s, TPM2_CC_SIGN,
				    TPM2_SA_CONTINUE_SESSION);
}

int tpm2t_use_session(int fd, struct tpm2t_session *s)
{
	__u8 buf[TPM2_SHA256_SIZE];
	__u16 got = 0;
	int res;

	if (s->type == TPM2_SE_POLICY)
		return tpm2t_policy_get_digest(fd, s->handle, buf);
	res = tpm2t_get_random_hmac(fd, s, buf, 8, &got);
	if (!res && got != 8)
		res = -EPROTO;
	return res;
}

/* ---- The census --------------------------------------------------------- */

static int census_fd(int fd, struct tpm2t_census *c)
{
	int ret;

	ret = tpm2t_count_handles(fd, TPM2_HR_TRANSIENT, &c->transient);
	if (!ret)
		ret = tpm2t_count_handles(fd, TPM2_HR_LOADED_SESSION,
					  &c->loaded);
	if (!ret)
		ret = tpm2t_get_handles(fd, TPM2_HR_SAVED_SESSION, c->saved_h,
					TPM2T_CENSUS_MAX, &c->saved);
	if (!ret && c->saved > TPM2T_CENSUS_MAX)
		ret = -ENOSPC;
	return ret;
}

int tpm2t_census(int tpm_fd, struct tpm2t_census *c)
{
	int fd = tpm_fd >= 0 ? tpm_fd : tpm2t_open_wait(TPM2T_TPM_DEV);
	int ret;

	if (fd < 0)
		return fd;
	ret = census_fd(fd, c);
	if (tpm_fd < 0)
		close(fd);
	return ret;
}

bool tpm2t_census_saved(const struct tpm2t_census *c, __u32 handle)
{
	return tpm2t_handle_listed(c->saved_h, c->saved, handle, true);
}

/* ---- Fixtures ----------------------------------------------------------- */

bool tpm2t_devices_usable(void)
{
	return !access(TPM2T_RM_DEV, R_OK | W_OK) &&
	       !access(TPM2T_TPM_DEV, R_OK | W_OK);
}

int tpm2t_open_files(int *fd, int nr)
{
	int i;

	for (i = 0; i < nr; i++)
		fd[i] = -1;
	for (i = 0; i < nr; i++) {
		fd[i] = tpm2t_open(TPM2T_RM_DEV);
		if (fd[i] < 0) {
			int ret = fd[i];

			fd[i] = -1;
			return ret;
		}
	}
	return 0;
}

void tpm2t_close_files(int *fd, int nr)
{
	int i;

	for (i = 0; i < nr; i++) {
		if (fd[i] >= 0)
			close(fd[i]);
		fd[i] = -1;
	}
}

void *tpm2t_shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* ---- The resource manager's counters and parameters --------------------- */

/*
 * Read the counters @names[] of TPM2T_RM_STATS_PATH into *@values[];
 * returns a bit mask of those found, or -errno.
 */
static int read_counters(const char * const *names, long * const *values,
			 unsigned int nr)
{
	unsigned int i;
	int found = 0;
	char key[64];
	long value;
	FILE *f;

	f = fopen(TPM2T_RM_STATS_PATH, "r");
	if (!f)
		return -errno;
	while (fscanf(f, "%63s %ld", key, &value) == 2) {
		for (i = 0; i < nr; i++) {
			if (strcmp(key, names[i]))
				continue;
			*values[i] = value;
			found |= 1 << i;
		}
	}
	fclose(f);
	return found;
}

int tpm2t_read_rm_stats(struct tpm2t_rm_stats *st)
{
	static const char * const names[] = {
		"user_commands", "rm_answers", "context_load", "context_save",
		"flush_context",
	};
	long * const values[] = {
		&st->user_commands, &st->rm_answers, &st->context_load,
		&st->context_save, &st->flush_context,
	};
	int found = read_counters(names, values, 5);

	if (found < 0)
		return found;
	return found == 0x1F ? 0 : -EPROTO;
}

long tpm2t_rm_stats_issued(const struct tpm2t_rm_stats *a,
			   const struct tpm2t_rm_stats *b)
{
	return (b->context_load - a->context_load) +
	       (b->context_save - a->context_save) +
	       (b->flush_context - a->flush_context);
}

int tpm2t_read_rm_counter(const char *name, long *value)
{
	int found = read_counters(&name, &value, 1);

	if (found < 0)
		return found;
	return found ? 0 : -ENOENT;
}

/* fopen() the parameter @name of tpm.ko with @mode */
static FILE *open_param(const char *name, const char *mode)
{
	char path[256];
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", TPM2T_MODULE_PARAMS, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return fopen(path, mode);
}

int tpm2t_read_param(const char *name, long *value)
{
	FILE *f = open_param(name, "r");
	int ret;

	if (!f)
		return -errno;
	ret = fscanf(f, "%ld", value) == 1 ? 0 : -EPROTO;
	fclose(f);
	return ret;
}

int tpm2t_write_param(const char *name, long value)
{
	FILE *f = open_param(name, "w");
	int ret;

	if (!f)
		return -errno;
	ret = fprintf(f, "%ld\n", value) < 0 ? -EIO : 0;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}
