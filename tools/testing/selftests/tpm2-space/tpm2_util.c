// SPDX-License-Identifier: GPL-2.0-only
/*
 * Minimal TPM 2.0 command builder and response parser for the tpm2-space
 * selftests.  See tpm2_util.h for the conventions.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>

#include "tpm2_util.h"

/* ---- SHA-256 (FIPS 180-4) ----------------------------------------------- */

static const __u32 sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5,
	0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
	0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
	0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
	0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static __u32 ror32(__u32 v, unsigned int n)
{
	return (v >> n) | (v << (32 - n));
}

static void sha256_block(struct tpm2_sha256 *ctx, const __u8 *p)
{
	__u32 w[64], s[8], t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (__u32)p[4 * i] << 24 | (__u32)p[4 * i + 1] << 16 |
		       (__u32)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 64; i++)
		w[i] = w[i - 16] + w[i - 7] +
		       (ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^
			(w[i - 15] >> 3)) +
		       (ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^
			(w[i - 2] >> 10));

	memcpy(s, ctx->h, sizeof(s));
	for (i = 0; i < 64; i++) {
		t1 = s[7] + (ror32(s[4], 6) ^ ror32(s[4], 11) ^
			     ror32(s[4], 25)) +
		     ((s[4] & s[5]) ^ (~s[4] & s[6])) + sha256_k[i] + w[i];
		t2 = (ror32(s[0], 2) ^ ror32(s[0], 13) ^ ror32(s[0], 22)) +
		     ((s[0] & s[1]) ^ (s[0] & s[2]) ^ (s[1] & s[2]));
		memmove(&s[1], &s[0], 7 * sizeof(s[0]));
		s[4] += t1;
		s[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		ctx->h[i] += s[i];
}

void tpm2_sha256_init(struct tpm2_sha256 *ctx)
{
	static const __u32 iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(ctx->h, iv, sizeof(iv));
	ctx->total = 0;
	ctx->fill = 0;
}

void tpm2_sha256_update(struct tpm2_sha256 *ctx, const void *data, size_t len)
{
	const __u8 *p = data;
	size_t n;

	ctx->total += len;
	while (len) {
		n = sizeof(ctx->block) - ctx->fill;
		if (n > len)
			n = len;
		memcpy(ctx->block + ctx->fill, p, n);
		ctx->fill += n;
		p += n;
		len -= n;
		if (ctx->fill == sizeof(ctx->block)) {
			sha256_block(ctx, ctx->block);
			ctx->fill = 0;
		}
	}
}

void tpm2_sha256_final(struct tpm2_sha256 *ctx, __u8 out[TPM2_SHA256_SIZE])
{
	__u64 bits = ctx->total * 8;
	__u8 pad[72] = { 0x80 };
	size_t padlen;
	int i;

	/* pad to 56 mod 64, then the 64-bit big-endian bit count */
	padlen = (ctx->fill < 56 ? 56 : 120) - ctx->fill;
	for (i = 0; i < 8; i++)
		pad[padlen + i] = bits >> (56 - 8 * i);
	tpm2_sha256_update(ctx, pad, padlen + 8);

	for (i = 0; i < 8; i++) {
		out[4 * i] = ctx->h[i] >> 24;
		out[4 * i + 1] = ctx->h[i] >> 16;
		out[4 * i + 2] = ctx->h[i] >> 8;
		out[4 * i + 3] = ctx->h[i];
	}
}

void tpm2_hmac_sha256(const void *key, size_t key_len,
		      const void *msg, size_t msg_len,
		      __u8 out[TPM2_SHA256_SIZE])
{
	__u8 k[64] = { 0 }, pad[64], inner[TPM2_SHA256_SIZE];
	struct tpm2_sha256 ctx;
	int i;

	if (key_len > sizeof(k)) {
		tpm2_sha256_init(&ctx);
		tpm2_sha256_update(&ctx, key, key_len);
		tpm2_sha256_final(&ctx, k);
	} else if (key_len) {
		memcpy(k, key, key_len);
	}

	for (i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	tpm2_sha256_init(&ctx);
	tpm2_sha256_update(&ctx, pad, sizeof(pad));
	tpm2_sha256_update(&ctx, msg, msg_len);
	tpm2_sha256_final(&ctx, inner);

	for (i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	tpm2_sha256_init(&ctx);
	tpm2_sha256_update(&ctx, pad, sizeof(pad));
	tpm2_sha256_update(&ctx, inner, sizeof(inner));
	tpm2_sha256_final(&ctx, out);
}

/* ---- Command building --------------------------------------------------- */

void tpm2_put_bytes(struct tpm2_buf *cmd, const void *p, size_t len)
{
	if (cmd->bad || len > sizeof(cmd->data) - cmd->len) {
		cmd->bad = true;
		return;
	}
	if (len)
		memcpy(cmd->data + cmd->len, p, len);
	cmd->len += len;
}

void tpm2_put_u8(struct tpm2_buf *cmd, __u8 v)
{
	tpm2_put_bytes(cmd, &v, 1);
}

void tpm2_put_u16(struct tpm2_buf *cmd, __u16 v)
{
	__u8 b[2] = { v >> 8, v };

	tpm2_put_bytes(cmd, b, sizeof(b));
}

void tpm2_put_u32(struct tpm2_buf *cmd, __u32 v)
{
	__u8 b[4] = { v >> 24, v >> 16, v >> 8, v };

	tpm2_put_bytes(cmd, b, sizeof(b));
}

void tpm2_put_u64(struct tpm2_buf *cmd, __u64 v)
{
	tpm2_put_u32(cmd, v >> 32);
	tpm2_put_u32(cmd, v);
}

void tpm2_put_tpm2b(struct tpm2_buf *cmd, const void *p, __u16 len)
{
	tpm2_put_u16(cmd, len);
	tpm2_put_bytes(cmd, p, len);
}

void tpm2_buf_reset(struct tpm2_buf *buf)
{
	buf->len = 0;
	buf->pos = 0;
	buf->bad = false;
}

void tpm2_cmd_init(struct tpm2_buf *cmd, __u16 tag, __u32 cc)
{
	tpm2_buf_reset(cmd);
	tpm2_put_u16(cmd, tag);
	tpm2_put_u32(cmd, 0);	/* size, set by tpm2_cmd_finish() */
	tpm2_put_u32(cmd, cc);
}

void tpm2_put_pw_auth(struct tpm2_buf *cmd)
{
	tpm2_put_u32(cmd, 9);		/* authorizationSize */
	tpm2_put_u32(cmd, TPM2_RS_PW);
	tpm2_put_tpm2b(cmd, NULL, 0);	/* nonce */
	tpm2_put_u8(cmd, 0);		/* sessionAttributes */
	tpm2_put_tpm2b(cmd, NULL, 0);	/* empty password */
}

static void put_u32_at(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

size_t tpm2_cmd_finish(struct tpm2_buf *cmd)
{
	if (cmd->len >= TPM2_HEADER_SIZE)
		put_u32_at(cmd->data + 2, cmd->len);
	return cmd->len;
}

/* ---- Response parsing --------------------------------------------------- */

static __u32 get_u32_at(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

__u32 tpm2_rsp_rc(const struct tpm2_buf *rsp)
{
	return get_u32_at(rsp->data + 6);
}

void tpm2_get_bytes(struct tpm2_buf *rsp, void *out, size_t len)
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

__u8 tpm2_get_u8(struct tpm2_buf *rsp)
{
	__u8 v;

	tpm2_get_bytes(rsp, &v, 1);
	return v;
}

__u16 tpm2_get_u16(struct tpm2_buf *rsp)
{
	__u8 b[2];

	tpm2_get_bytes(rsp, b, sizeof(b));
	return (__u16)(b[0] << 8 | b[1]);
}

__u32 tpm2_get_u32(struct tpm2_buf *rsp)
{
	__u8 b[4];

	tpm2_get_bytes(rsp, b, sizeof(b));
	return get_u32_at(b);
}

__u64 tpm2_get_u64(struct tpm2_buf *rsp)
{
	__u64 hi = tpm2_get_u32(rsp);

	return hi << 32 | tpm2_get_u32(rsp);
}

__u16 tpm2_get_tpm2b(struct tpm2_buf *rsp, void *out, size_t max)
{
	__u16 len = tpm2_get_u16(rsp);

	if (out && len > max) {
		rsp->bad = true;
		return len;
	}
	tpm2_get_bytes(rsp, out, len);
	return len;
}

/* ---- Transport ---------------------------------------------------------- */

int tpm2_open(const char *path)
{
	int fd = open(path, O_RDWR);

	return fd < 0 ? -errno : fd;
}

int tpm2_transmit(int fd, struct tpm2_buf *cmd, struct tpm2_buf *rsp)
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

int tpm2_run(int fd, struct tpm2_buf *cmd, struct tpm2_buf *rsp)
{
	int tries = 0;
	int ret;

	tpm2_cmd_finish(cmd);
	for (;;) {
		ret = tpm2_transmit(fd, cmd, rsp);
		if (ret)
			return ret;
		ret = (int)tpm2_rsp_rc(rsp);
		/* the kernel retries these too; a simulator socket does not */
		if ((ret != TPM2_RC_RETRY && ret != TPM2_RC_TESTING) ||
		    ++tries > 50)
			return ret;
		usleep(20000);
	}
}

const char *tpm2_strerror(int res)
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

bool tpm2_rm_refused(int res)
{
	return res > 0 && ((__u32)res & TPM2_RC_LAYER_MASK) == TPM2_RM_LAYER;
}

/* Skip the parameterSize field that ST_SESSIONS responses carry */
static void skip_param_size(struct tpm2_buf *cmd, struct tpm2_buf *rsp)
{
	if (get_u32_at(cmd->data) >> 16 == TPM2_ST_SESSIONS)
		tpm2_get_u32(rsp);
}

/* 0 if the response was parsed completely, else -EPROTO */
static int parsed(struct tpm2_buf *rsp)
{
	return rsp->bad ? -EPROTO : 0;
}

/* ---- Commands ----------------------------------------------------------- */

int tpm2_get_random(int fd, __u8 *out, __u16 count, __u16 *got)
{
	struct tpm2_buf cmd, rsp;
	int ret;

	tpm2_cmd_init(&cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_RANDOM);
	tpm2_put_u16(&cmd, count);
	ret = tpm2_run(fd, &cmd, &rsp);
	if (ret)
		return ret;

	*got = tpm2_get_tpm2b(&rsp, out, count);
	return parsed(&rsp);
}

int tpm2_create_primary_ecc(int fd, __u32 hierarchy, __u32 *handle,
			    __u8 *name, __u16 *name_len)
{
	struct tpm2_buf cmd, rsp;
	size_t pub_start;
	__u16 len;
	int ret;

	tpm2_cmd_init(&cmd, TPM2_ST_SESSIONS, TPM2_CC_CREATE_PRIMARY);
	tpm2_put_u32(&cmd, hierarchy);
	tpm2_put_pw_auth(&cmd);

	/* inSensitive: empty userAuth and data */
	tpm2_put_u16(&cmd, 4);
	tpm2_put_tpm2b(&cmd, NULL, 0);
	tpm2_put_tpm2b(&cmd, NULL, 0);

	/* inPublic, size patched below */
	tpm2_put_u16(&cmd, 0);
	pub_start = cmd.len;
	tpm2_put_u16(&cmd, TPM2_ALG_ECC);
	tpm2_put_u16(&cmd, TPM2_ALG_SHA256);	/* nameAlg */
	/* fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | sign */
	tpm2_put_u32(&cmd, 1u << 1 | 1u << 4 | 1u << 5 | 1u << 6 | 1u << 18);
	tpm2_put_tpm2b(&cmd, NULL, 0);		/* authPolicy */
	tpm2_put_u16(&cmd, TPM2_ALG_NULL);	/* symmetric */
	tpm2_put_u16(&cmd, TPM2_ALG_ECDSA);	/* scheme */
	tpm2_put_u16(&cmd, TPM2_ALG_SHA256);
	tpm2_put_u16(&cmd, TPM2_ECC_NIST_P256);
	tpm2_put_u16(&cmd, TPM2_ALG_NULL);	/* kdf */
	tpm2_put_tpm2b(&cmd, NULL, 0);		/* unique.x */
	tpm2_put_tpm2b(&cmd, NULL, 0);		/* unique.y */
	len = cmd.len - pub_start;
	cmd.data[pub_start - 2] = len >> 8;
	cmd.data[pub_start - 1] = len;

	tpm2_put_tpm2b(&cmd, NULL, 0);		/* outsideInfo */
	tpm2_put_u32(&cmd, 0);			/* creationPCR: none */

	ret = tpm2_run(fd, &cmd, &rsp);
	if (ret)
		return ret;

	*handle = tpm2_get_u32(&rsp);
	skip_param_size(&cmd, &rsp);
	tpm2_get_tpm2b(&rsp, NULL, 0);		/* outPublic */
	tpm2_get_tpm2b(&rsp, NULL, 0);		/* creationData */
	tpm2_get_tpm2b(&rsp, NULL, 0);		/* creationHash */
	tpm2_get_u16(&rsp);			/* creationTicket.tag */
	tpm2_get_u32(&rsp);			/* creationTicket.hierarchy */
	tpm2_get_tpm2b(&rsp, NULL, 0);		/* creationTicket.digest */
	len = tpm2_get_tpm2b(&rsp, name, 2 + TPM2_SHA256_SIZE);
	if (name_len)
		*name_len = len;
	return parsed(&rsp);
}

void tpm2_put_sign_params(struct tpm2_buf *cmd,
			  const __u8 digest[TPM2_SHA256_SIZE])
{
	tpm2_put_tpm2b(cmd, digest, TPM2_SHA256_SIZE);
	tpm2_put_u16(cmd, TPM2_ALG_NULL);	/* inScheme: the key's */
	tpm2_put_u16(cmd, TPM2_ST_HASHCHECK);	/* validation: none */
	tpm2_put_u32(cmd, TPM2_RH_NULL);
	tpm2_put_tpm2b(cmd, NULL, 0);
}

/* An ECDSA/SHA-256 TPMT_SIGNATURE */
static void get_signature(struct tpm2_buf *rsp)
{
	if (tpm2_get_u16(rsp) != TPM2_ALG_ECDSA ||
	    tpm2_get_u16(rsp) != TPM2_ALG_SHA256)
		rsp->bad = true;
	tpm2_get_tpm2b(rsp, NULL, 0);		/* signatureR */
	tpm2_get_tpm2b(rsp, NULL, 0);		/* signatureS */
}

int tpm2_sign(int fd, __u32 key, const __u8 digest[TPM2_SHA256_SIZE])
{
	struct tpm2_buf cmd, rsp;
	int ret;

	tpm2_cmd_init(&cmd, TPM2_ST_SESSIONS, TPM2_CC_SIGN);
	tpm2_put_u32(&cmd, key);
	tpm2_put_pw_auth(&cmd);
	tpm2_put_sign_params(&cmd, digest);
	ret = tpm2_run(fd, &cmd, &rsp);
	if (ret)
		return ret;

	skip_param_size(&cmd, &rsp);
	get_signature(&rsp);
	return parsed(&rsp);
}

int tpm2_flush_context(int fd, __u32 handle)
{
	struct tpm2_buf cmd, rsp;

	tpm2_cmd_init(&cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_FLUSH_CONTEXT);
	tpm2_put_u32(&cmd, handle);
	return tpm2_run(fd, &cmd, &rsp);
}

int tpm2_context_save(int fd, __u32 handle, struct tpm2_context *ctx)
{
	struct tpm2_buf cmd, rsp;
	int ret;

	tpm2_cmd_init(&cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_CONTEXT_SAVE);
	tpm2_put_u32(&cmd, handle);
	ret = tpm2_run(fd, &cmd, &rsp);
	if (ret)
		return ret;

	/* keep the TPMS_CONTEXT verbatim; check that it parses */
	tpm2_get_u64(&rsp);			/* sequence */
	tpm2_get_u32(&rsp);			/* savedHandle */
	tpm2_get_u32(&rsp);			/* hierarchy */
	tpm2_get_tpm2b(&rsp, NULL, 0);		/* contextBlob */
	if (rsp.bad)
		return -EPROTO;
	ctx->len = rsp.pos - TPM2_HEADER_SIZE;
	memcpy(ctx->data, rsp.data + TPM2_HEADER_SIZE, ctx->len);
	return 0;
}

int tpm2_context_load(int fd, const struct tpm2_context *ctx, __u32 *handle)
{
	struct tpm2_buf cmd, rsp;
	int ret;

	tpm2_cmd_init(&cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_CONTEXT_LOAD);
	tpm2_put_bytes(&cmd, ctx->data, ctx->len);
	ret = tpm2_run(fd, &cmd, &rsp);
	if (ret)
		return ret;

	*handle = tpm2_get_u32(&rsp);
	return parsed(&rsp);
}

static int fill_random(void *p, size_t len)
{
	ssize_t n = getrandom(p, len, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int tpm2_start_auth_session(int fd, __u8 type, struct tpm2_session *s)
{
	struct tpm2_buf cmd, rsp;
	int ret;

	memset(s, 0, sizeof(*s));
	s->type = type;
	ret = fill_random(s->nonce_caller, sizeof(s->nonce_caller));
	if (ret)
		return ret;

	tpm2_cmd_init(&cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_START_AUTH_SESSION);
	tpm2_put_u32(&cmd, TPM2_RH_NULL);	/* tpmKey: unsalted */
	tpm2_put_u32(&cmd, TPM2_RH_NULL);	/* bind: unbound */
	tpm2_put_tpm2b(&cmd, s->nonce_caller, sizeof(s->nonce_caller));
	tpm2_put_tpm2b(&cmd, NULL, 0);		/* encryptedSalt */
	tpm2_put_u8(&cmd, type);
	tpm2_put_u16(&cmd, TPM2_ALG_NULL);	/* symmetric */
	tpm2_put_u16(&cmd, TPM2_ALG_SHA256);	/* authHash */
	ret = tpm2_run(fd, &cmd, &rsp);
	if (ret)
		return ret;

	s->handle = tpm2_get_u32(&rsp);
	s->nonce_tpm_len = tpm2_get_tpm2b(&rsp, s->nonce_tpm,
					  sizeof(s->nonce_tpm));
	return parsed(&rsp);
}

int tpm2_policy_pcr(int fd, __u32 session, __u16 bank, __u32 pcr_mask)
{
	struct tpm2_buf cmd, rsp;

	tpm2_cmd_init(&cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_POLICY_PCR);
	tpm2_put_u32(&cmd, session);
	tpm2_put_tpm2b(&cmd, NULL, 0);		/* pcrDigest: current */
	tpm2_put_u32(&cmd, 1);			/* one TPMS_PCR_SELECTION */
	tpm2_put_u16(&cmd, bank);
	tpm2_put_u8(&cmd, 3);			/* sizeofSelect */
	tpm2_put_u8(&cmd, pcr_mask);
	tpm2_put_u8(&cmd, pcr_mask >> 8);
	tpm2_put_u8(&cmd, pcr_mask >> 16);
	return tpm2_run(fd, &cmd, &rsp);
}

int tpm2_policy_get_digest(int fd, __u32 session,
			   __u8 digest[TPM2_SHA256_SIZE])
{
	struct tpm2_buf cmd, rsp;
	int ret;

	tpm2_cmd_init(&cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_POLICY_GET_DIGEST);
	tpm2_put_u32(&cmd, session);
	ret = tpm2_run(fd, &cmd, &rsp);
	if (ret)
		return ret;

	if (tpm2_get_tpm2b(&rsp, digest, TPM2_SHA256_SIZE) != TPM2_SHA256_SIZE)
		return -EPROTO;
	return parsed(&rsp);
}

static void sha256(const void *data, size_t len, __u8 out[TPM2_SHA256_SIZE])
{
	struct tpm2_sha256 ctx;

	tpm2_sha256_init(&ctx);
	tpm2_sha256_update(&ctx, data, len);
	tpm2_sha256_final(&ctx, out);
}

/*
 * The authorization area of one unbound, unsalted session @s whose entity
 * has an empty authValue, so that the HMAC key (sessionKey || authValue)
 * is empty: a fresh nonceCaller, and HMAC(cpHash || nonceCaller ||
 * nonceTPM || attrs) with cpHash = H(@cc || @names || @params).
 */
static int put_hmac_auth(struct tpm2_buf *cmd, struct tpm2_session *s,
			 __u8 attrs, __u32 cc, const void *names,
			 size_t names_len, const struct tpm2_buf *params)
{
	__u8 cp_hash[TPM2_SHA256_SIZE], hmac[TPM2_SHA256_SIZE];
	struct tpm2_buf msg;
	int ret;

	ret = fill_random(s->nonce_caller, sizeof(s->nonce_caller));
	if (ret)
		return ret;

	tpm2_buf_reset(&msg);
	tpm2_put_u32(&msg, cc);
	tpm2_put_bytes(&msg, names, names_len);
	tpm2_put_bytes(&msg, params->data, params->len);
	sha256(msg.data, msg.len, cp_hash);

	tpm2_buf_reset(&msg);
	tpm2_put_bytes(&msg, cp_hash, sizeof(cp_hash));
	tpm2_put_bytes(&msg, s->nonce_caller, sizeof(s->nonce_caller));
	tpm2_put_bytes(&msg, s->nonce_tpm, s->nonce_tpm_len);
	tpm2_put_u8(&msg, attrs);
	tpm2_hmac_sha256(NULL, 0, msg.data, msg.len, hmac);

	tpm2_put_u32(cmd, 4 + 2 + sizeof(s->nonce_caller) + 1 + 2 +
		     sizeof(hmac));
	tpm2_put_u32(cmd, s->handle);
	tpm2_put_tpm2b(cmd, s->nonce_caller, sizeof(s->nonce_caller));
	tpm2_put_u8(cmd, attrs);
	tpm2_put_tpm2b(cmd, hmac, sizeof(hmac));
	return msg.bad || params->bad ? -ENOSPC : 0;
}

/*
 * Run @cmd, its header and handles written, with the authorization area
 * of put_hmac_auth() and then @params.  On success the response is left
 * at its parameters: those of a command with no response handles.
 */
static int run_hmac(int fd, struct tpm2_buf *cmd, struct tpm2_session *s,
		    __u8 attrs, const void *names, size_t names_len,
		    const struct tpm2_buf *params, struct tpm2_buf *rsp)
{
	int ret;

	ret = put_hmac_auth(cmd, s, attrs, get_u32_at(cmd->data + 6), names,
			    names_len, params);
	if (ret)
		return ret;
	tpm2_put_bytes(cmd, params->data, params->len);
	ret = tpm2_run(fd, cmd, rsp);
	if (ret)
		return ret;
	tpm2_get_u32(rsp);			/* parameterSize */
	return 0;
}

/*
 * With the parameters of a run_hmac() response parsed, check the
 * response HMAC and roll the session's nonces.
 */
static int check_rsp_hmac(struct tpm2_buf *rsp, struct tpm2_session *s,
			  __u32 cc)
{
	const size_t start = TPM2_HEADER_SIZE + 4;
	__u8 rp_hash[TPM2_SHA256_SIZE], hmac[TPM2_SHA256_SIZE];
	__u8 rsp_hmac[TPM2_SHA256_SIZE], nonce_tpm[TPM2_SHA256_SIZE];
	__u16 nonce_len, hmac_len;
	struct tpm2_buf msg;
	__u8 rsp_attrs;

	if (rsp->bad || rsp->len < start ||
	    rsp->pos - start != get_u32_at(rsp->data + TPM2_HEADER_SIZE))
		return -EPROTO;

	/* rpHash = H(responseCode || commandCode || parameters) */
	tpm2_buf_reset(&msg);
	tpm2_put_u32(&msg, TPM2_RC_SUCCESS);
	tpm2_put_u32(&msg, cc);
	tpm2_put_bytes(&msg, rsp->data + start, rsp->pos - start);
	sha256(msg.data, msg.len, rp_hash);

	nonce_len = tpm2_get_tpm2b(rsp, nonce_tpm, sizeof(nonce_tpm));
	rsp_attrs = tpm2_get_u8(rsp);
	hmac_len = tpm2_get_tpm2b(rsp, rsp_hmac, sizeof(rsp_hmac));
	if (rsp->bad || rsp->pos != rsp->len)
		return -EPROTO;

	tpm2_buf_reset(&msg);
	tpm2_put_bytes(&msg, rp_hash, sizeof(rp_hash));
	tpm2_put_bytes(&msg, nonce_tpm, nonce_len);
	tpm2_put_bytes(&msg, s->nonce_caller, sizeof(s->nonce_caller));
	tpm2_put_u8(&msg, rsp_attrs);
	tpm2_hmac_sha256(NULL, 0, msg.data, msg.len, hmac);
	if (hmac_len != sizeof(hmac) || memcmp(hmac, rsp_hmac, sizeof(hmac)))
		return -EBADMSG;

	memcpy(s->nonce_tpm, nonce_tpm, nonce_len);
	s->nonce_tpm_len = nonce_len;
	return 0;
}

int tpm2_get_random_hmac(int fd, struct tpm2_session *s, __u8 *out,
			 __u16 count, __u16 *got)
{
	struct tpm2_buf cmd, rsp, params;
	int ret;

	tpm2_buf_reset(&params);
	tpm2_put_u16(&params, count);
	/* GetRandom has no handles, so no names */
	tpm2_cmd_init(&cmd, TPM2_ST_SESSIONS, TPM2_CC_GET_RANDOM);
	ret = run_hmac(fd, &cmd, s, TPM2_SA_CONTINUE_SESSION | TPM2_SA_AUDIT,
		       NULL, 0, &params, &rsp);
	if (ret)
		return ret;

	*got = tpm2_get_tpm2b(&rsp, out, count);
	return check_rsp_hmac(&rsp, s, TPM2_CC_GET_RANDOM);
}

int tpm2_sign_hmac(int fd, __u32 key, const __u8 *name, __u16 name_len,
		   struct tpm2_session *s, const __u8 digest[TPM2_SHA256_SIZE])
{
	struct tpm2_buf cmd, rsp, params;
	int ret;

	tpm2_buf_reset(&params);
	tpm2_put_sign_params(&params, digest);
	tpm2_cmd_init(&cmd, TPM2_ST_SESSIONS, TPM2_CC_SIGN);
	tpm2_put_u32(&cmd, key);
	ret = run_hmac(fd, &cmd, s, TPM2_SA_CONTINUE_SESSION, name, name_len,
		       &params, &rsp);
	if (ret)
		return ret;

	get_signature(&rsp);
	return check_rsp_hmac(&rsp, s, TPM2_CC_SIGN);
}

int tpm2_policy_secret(int fd, __u32 auth, __u32 session)
{
	struct tpm2_buf cmd, rsp;
	int ret;

	tpm2_cmd_init(&cmd, TPM2_ST_SESSIONS, TPM2_CC_POLICY_SECRET);
	tpm2_put_u32(&cmd, auth);
	tpm2_put_u32(&cmd, session);
	tpm2_put_pw_auth(&cmd);
	tpm2_put_tpm2b(&cmd, NULL, 0);		/* nonceTPM */
	tpm2_put_tpm2b(&cmd, NULL, 0);		/* cpHashA */
	tpm2_put_tpm2b(&cmd, NULL, 0);		/* policyRef */
	tpm2_put_u32(&cmd, 0);			/* expiration */
	ret = tpm2_run(fd, &cmd, &rsp);
	if (ret)
		return ret;

	skip_param_size(&cmd, &rsp);
	tpm2_get_tpm2b(&rsp, NULL, 0);		/* timeout */
	tpm2_get_u16(&rsp);			/* policyTicket.tag */
	tpm2_get_u32(&rsp);			/* policyTicket.hierarchy */
	tpm2_get_tpm2b(&rsp, NULL, 0);		/* policyTicket.digest */
	return parsed(&rsp);
}

int tpm2_get_handles(int fd, __u32 first, __u32 *handles, size_t max,
		     size_t *count)
{
	struct tpm2_buf cmd, rsp;
	__u32 next = first, h, n, i;
	__u8 more;
	int ret;

	*count = 0;
	do {
		tpm2_cmd_init(&cmd, TPM2_ST_NO_SESSIONS,
			      TPM2_CC_GET_CAPABILITY);
		tpm2_put_u32(&cmd, TPM2_CAP_HANDLES);
		tpm2_put_u32(&cmd, next);
		tpm2_put_u32(&cmd, 64);
		ret = tpm2_run(fd, &cmd, &rsp);
		if (ret)
			return ret;

		more = tpm2_get_u8(&rsp);
		if (tpm2_get_u32(&rsp) != TPM2_CAP_HANDLES)
			return -EPROTO;
		n = tpm2_get_u32(&rsp);
		if (rsp.bad || n > (rsp.len - rsp.pos) / 4)
			return -EPROTO;
		for (i = 0; i < n; i++) {
			h = tpm2_get_u32(&rsp);
			if (*count < max)
				handles[*count] = h;
			(*count)++;
			/*
			 * The list may use another type byte than the query
			 * (swtpm shows saved sessions with 0x02), so continue
			 * within the queried range.
			 */
			next = (first & TPM2_HT_MASK) | ((h + 1) & ~TPM2_HT_MASK);
		}
		/* guard against a TPM that keeps saying "more" */
	} while (more && n && *count < 4096);

	return parsed(&rsp);
}

int tpm2_count_handles(int fd, __u32 first, size_t *count)
{
	return tpm2_get_handles(fd, first, NULL, 0, count);
}

bool tpm2_handle_listed(const __u32 *handles, size_t n, __u32 handle,
			bool low24)
{
	__u32 mask = low24 ? 0x00FFFFFF : 0xFFFFFFFF;
	size_t i;

	for (i = 0; i < n; i++)
		if ((handles[i] & mask) == (handle & mask))
			return true;
	return false;
}

int tpm2_open_wait(const char *path)
{
	int tries = 0;
	int fd;

	while ((fd = tpm2_open(path)) == -EBUSY && ++tries < 200)
		usleep(10000);
	return fd;
}

int tpm2_take_census(const char *path, struct tpm2_census *c)
{
	int fd = tpm2_open_wait(path);
	int ret;

	if (fd < 0)
		return fd;
	ret = tpm2_count_handles(fd, TPM2_HR_TRANSIENT, &c->transient);
	if (!ret)
		ret = tpm2_count_handles(fd, TPM2_HR_LOADED_SESSION,
					 &c->loaded);
	if (!ret)
		ret = tpm2_get_handles(fd, TPM2_HR_SAVED_SESSION, c->saved_h,
				       TPM2_CENSUS_MAX, &c->saved);
	close(fd);
	if (!ret && c->saved > TPM2_CENSUS_MAX)
		ret = -ENOSPC;
	return ret;
}

bool tpm2_census_saved(const struct tpm2_census *c, __u32 handle)
{
	return tpm2_handle_listed(c->saved_h, c->saved, handle, true);
}

int tpm2_read_rm_stats(const char *path, struct tpm2_rm_stats *st)
{
	static const char * const names[] = {
		"user_commands", "rm_answers", "context_load", "context_save",
		"flush_context",
	};
	long *fields[] = {
		&st->user_commands, &st->rm_answers, &st->context_load,
		&st->context_save, &st->flush_context,
	};
	unsigned int found = 0, i;
	char key[64];
	long value;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fscanf(f, "%63s %ld", key, &value) == 2) {
		for (i = 0; i < 5; i++) {
			if (strcmp(key, names[i]))
				continue;
			*fields[i] = value;
			found |= 1u << i;
		}
	}
	fclose(f);
	return found == 0x1F ? 0 : -EPROTO;
}

long tpm2_rm_stats_issued(const struct tpm2_rm_stats *a,
			  const struct tpm2_rm_stats *b)
{
	return (b->context_load - a->context_load) +
	       (b->context_save - a->context_save) +
	       (b->flush_context - a->flush_context);
}

/* ---- Exhaustion tests: properties, Certify, parameters, counters ------ */

int tpm2_get_property(int fd, __u32 property, __u32 *value)
{
	struct tpm2_buf cmd, rsp;
	__u32 n;
	int ret;

	tpm2_cmd_init(&cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_CAPABILITY);
	tpm2_put_u32(&cmd, TPM2_CAP_TPM_PROPERTIES);
	tpm2_put_u32(&cmd, property);
	tpm2_put_u32(&cmd, 1);
	ret = tpm2_run(fd, &cmd, &rsp);
	if (ret)
		return ret;

	tpm2_get_u8(&rsp);			/* moreData */
	if (tpm2_get_u32(&rsp) != TPM2_CAP_TPM_PROPERTIES)
		return -EPROTO;
	n = tpm2_get_u32(&rsp);
	/* a TPM lists the next property it has when it lacks this one */
	if (n < 1 || tpm2_get_u32(&rsp) != property)
		return -ENOENT;
	*value = tpm2_get_u32(&rsp);
	return parsed(&rsp);
}

int tpm2_certify(int fd, __u32 object, __u32 signer)
{
	struct tpm2_buf cmd, rsp;
	size_t params, end;
	int ret;

	tpm2_cmd_init(&cmd, TPM2_ST_SESSIONS, TPM2_CC_CERTIFY);
	tpm2_put_u32(&cmd, object);
	tpm2_put_u32(&cmd, signer);
	/* two empty password sessions, one per handle */
	tpm2_put_u32(&cmd, 2 * 9);
	tpm2_put_u32(&cmd, TPM2_RS_PW);
	tpm2_put_tpm2b(&cmd, NULL, 0);
	tpm2_put_u8(&cmd, 0);
	tpm2_put_tpm2b(&cmd, NULL, 0);
	tpm2_put_u32(&cmd, TPM2_RS_PW);
	tpm2_put_tpm2b(&cmd, NULL, 0);
	tpm2_put_u8(&cmd, 0);
	tpm2_put_tpm2b(&cmd, NULL, 0);
	tpm2_put_tpm2b(&cmd, NULL, 0);		/* qualifyingData */
	tpm2_put_u16(&cmd, TPM2_ALG_NULL);	/* inScheme: the signer's */
	ret = tpm2_run(fd, &cmd, &rsp);
	if (ret)
		return ret;

	params = tpm2_get_u32(&rsp);
	if (rsp.bad || params > rsp.len - rsp.pos)
		return -EPROTO;
	end = rsp.pos + params;
	tpm2_get_tpm2b(&rsp, NULL, 0);		/* certifyInfo */
	if (tpm2_get_u16(&rsp) != TPM2_ALG_ECDSA ||
	    tpm2_get_u16(&rsp) != TPM2_ALG_SHA256)
		return -EPROTO;
	tpm2_get_tpm2b(&rsp, NULL, 0);		/* signatureR */
	tpm2_get_tpm2b(&rsp, NULL, 0);		/* signatureS */
	if (rsp.bad || rsp.pos != end)
		return -EPROTO;
	return 0;
}

static int param_path(char *path, size_t size, const char *name)
{
	int n = snprintf(path, size, "%s/%s", TPM2_MODULE_PARAMS, name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int tpm2_read_param(const char *name, long *value)
{
	char path[256];
	int ret;
	FILE *f;

	ret = param_path(path, sizeof(path), name);
	if (ret)
		return ret;
	f = fopen(path, "r");
	if (!f)
		return -errno;
	ret = fscanf(f, "%ld", value) == 1 ? 0 : -EPROTO;
	fclose(f);
	return ret;
}

int tpm2_write_param(const char *name, long value)
{
	char path[256];
	int ret;
	FILE *f;

	ret = param_path(path, sizeof(path), name);
	if (ret)
		return ret;
	f = fopen(path, "w");
	if (!f)
		return -errno;
	ret = fprintf(f, "%ld\n", value) < 0 ? -EIO : 0;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

int tpm2_read_rm_counter(const char *path, const char *name, long *value)
{
	int ret = -ENOENT;
	char key[64];
	long v;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fscanf(f, "%63s %ld", key, &v) == 2) {
		if (!strcmp(key, name)) {
			*value = v;
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}
