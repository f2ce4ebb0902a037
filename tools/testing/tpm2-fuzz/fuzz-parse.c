// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for tpm2_rm_parse(), the resource manager's command
 * parser, built unmodified from drivers/char/tpm/tpm2-space-parse.c.
 *
 * Every input is parsed from a heap copy exactly as long as the command's
 * own length field says (or as the input, if shorter), so ASan catches a
 * read of one byte past the command. The result is then checked against a
 * second parser written here in another way (a reader with a sticky error
 * flag and 64-bit offsets, walking TPM 2.0 Part 1's command layout), field
 * by field, and against the invariants the resource manager relies on.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/unaligned.h>
#include "fake-chip.h"
#include "../../../drivers/char/tpm/tpm2-space.h"

#define RM(rc)		(TPM2_RM_LAYER | (rc))
#define CC_LAST_DEFINED	0x019F	/* TPM 2.0 Part 2 r1.83 */
/* TPMS_CONTEXT up to its blob: sequence, savedHandle, hierarchy, size */
#define CONTEXT_FIXED	18

static void fail(const char *what, const struct tpm2_rm_cmd *cmd, int rc)
{
	fprintf(stderr,
		"tpm2-fuzz: parse: %s (rc 0x%x, tag 0x%x, len %u, cc 0x%x, handles %u, auths %u, param_off %u)\n",
		what, rc, cmd->tag, cmd->len, cmd->cc, cmd->nr_handles,
		cmd->nr_auths, cmd->param_off);
	abort();
}

#define CHECK(cond, cmd, rc)					\
	do {							\
		if (!(cond))					\
			fail("failed: " #cond, cmd, rc);	\
	} while (0)

/* Reads big-endian fields; once out of bytes, it stays failed. */
struct reader {
	const u8 *buf;
	u64 pos;
	u64 end;
	bool bad;
};

static u64 read_be(struct reader *r, unsigned int bytes)
{
	u64 v = 0;

	if (r->bad || r->end - r->pos < bytes) {
		r->bad = true;
		return 0;
	}
	while (bytes--)
		v = v << 8 | r->buf[r->pos++];
	return v;
}

static void skip(struct reader *r, u64 bytes)
{
	if (r->bad || r->end - r->pos < bytes)
		r->bad = true;
	else
		r->pos += bytes;
}

struct model {
	int rc;
	u16 tag;
	u32 len;
	u32 cc;
	u32 attrs;
	unsigned int nr_handles;
	u32 handle[TPM2_RM_MAX_HANDLES];
	unsigned int nr_auths;
	u32 auth[TPM2_RM_MAX_AUTHS];
	u8 auth_attrs[TPM2_RM_MAX_AUTHS];
	u64 auth_off[TPM2_RM_MAX_AUTHS];	/* where each entry starts */
	u64 auth_area;				/* where the first one starts */
	u32 param_off;
};

/* One TPMS_AUTH_COMMAND; false if it does not fit. */
static bool model_auth(struct reader *area, struct model *m)
{
	unsigned int i = m->nr_auths;

	m->auth_off[i] = area->pos;
	m->auth[i] = read_be(area, 4);
	skip(area, read_be(area, 2));		/* nonce */
	m->auth_attrs[i] = read_be(area, 1);
	skip(area, read_be(area, 2));		/* hmac */
	return !area->bad;
}

static void model_parse(const u8 *buf, size_t size, struct model *m)
{
	struct reader r = { .buf = buf, .end = size };
	struct reader area;
	unsigned int i;
	u64 auth_size;
	int idx;

	memset(m, 0, sizeof(*m));
	m->tag = read_be(&r, 2);
	m->len = read_be(&r, 4);
	m->cc = read_be(&r, 4);
	if (r.bad || m->len < TPM_HEADER_SIZE || m->len > size) {
		if (r.bad)	/* the parser reads no header it lacks */
			memset(m, 0, sizeof(*m));
		m->rc = RM(TPM2_RC_COMMAND_SIZE);
		return;
	}
	r.end = m->len;
	if (m->tag != TPM2_ST_NO_SESSIONS && m->tag != TPM2_ST_SESSIONS) {
		m->rc = RM(TPM2_RC_BAD_TAG);
		return;
	}
	idx = fake_chip_find(m->cc);
	if (idx < 0) {
		/* a code the spec defines gets the TPM's own answer */
		m->rc = m->cc >= TPM2_CC_FIRST && m->cc <= CC_LAST_DEFINED ?
			TPM2_RC_COMMAND_CODE : RM(TPM2_RC_COMMAND_CODE);
		return;
	}
	m->attrs = fake_chip.cc_attrs_tbl[idx];
	m->nr_handles = (m->attrs >> TPM2_CC_ATTR_CHANDLES) & 7;
	if (m->nr_handles > TPM2_RM_MAX_HANDLES) {
		m->rc = RM(TPM2_RC_COMMAND_CODE);
		return;
	}
	if (r.end - r.pos < 4 * m->nr_handles) {
		m->rc = RM(TPM2_RC_COMMAND_SIZE);
		return;
	}
	for (i = 0; i < m->nr_handles; i++)
		m->handle[i] = read_be(&r, 4);
	m->param_off = r.pos;
	if (m->tag == TPM2_ST_NO_SESSIONS)
		return;

	auth_size = read_be(&r, 4);
	if (r.bad || auth_size < 9 || auth_size > r.end - r.pos) {
		m->rc = RM(TPM2_RC_AUTHSIZE);
		return;
	}
	area = (struct reader){ .buf = buf, .pos = r.pos,
				.end = r.pos + auth_size };
	m->auth_area = area.pos;
	m->param_off = area.end;
	while (area.pos < area.end) {
		if (m->nr_auths == TPM2_RM_MAX_AUTHS || !model_auth(&area, m)) {
			m->rc = RM(TPM2_RC_AUTHSIZE);
			return;
		}
		m->nr_auths++;
	}
}

static bool is_null(const void *p)
{
	return !p;
}

/* What the resource manager relies on after a 0 from the parser. */
static void check_served(const u8 *buf, const struct tpm2_rm_cmd *cmd)
{
	unsigned int i, hs = TPM_HEADER_SIZE + 4 * cmd->nr_handles;

	CHECK(cmd->len >= TPM_HEADER_SIZE, cmd, 0);
	CHECK(cmd->tag == TPM2_ST_NO_SESSIONS || cmd->tag == TPM2_ST_SESSIONS,
	      cmd, 0);
	CHECK(get_unaligned_be16(buf) == cmd->tag, cmd, 0);
	CHECK(get_unaligned_be32(buf + 2) == cmd->len, cmd, 0);
	CHECK(get_unaligned_be32(buf + 6) == cmd->cc, cmd, 0);
	CHECK(fake_chip_find(cmd->cc) >= 0, cmd, 0);
	CHECK(cmd->nr_handles <= TPM2_RM_MAX_HANDLES, cmd, 0);
	CHECK(cmd->nr_auths <= TPM2_RM_MAX_AUTHS, cmd, 0);
	CHECK(hs <= cmd->len, cmd, 0);
	CHECK(cmd->param_off >= hs && cmd->param_off <= cmd->len, cmd, 0);
	for (i = 0; i < cmd->nr_handles; i++)
		CHECK(cmd->handle[i] == get_unaligned_be32(buf + 10 + 4 * i),
		      cmd, 0);
	if (cmd->tag == TPM2_ST_NO_SESSIONS)
		CHECK(cmd->nr_auths == 0 && cmd->param_off == hs, cmd, 0);
	else
		CHECK(cmd->nr_auths >= 1 &&
		      cmd->param_off >= hs + 4 + 9 * cmd->nr_auths, cmd, 0);
	/* the RM fills these in itself, and frees some of them */
	for (i = 0; i < TPM2_RM_NR_REFS; i++)
		CHECK(is_null(cmd->obj[i]) && is_null(cmd->sess[i]), cmd, 0);
	CHECK(!cmd->resend && !cmd->load_blob &&
	      !cmd->bufsiz && !cmd->load_len, cmd, 0);
}

/* The real parser and the model agree, field by field. */
static void check_model(const u8 *buf, const struct tpm2_rm_cmd *cmd,
			const struct model *m, int rc)
{
	unsigned int i;

	CHECK(rc == m->rc, cmd, rc);
	CHECK(cmd->tag == m->tag && cmd->len == m->len && cmd->cc == m->cc,
	      cmd, rc);
	if (rc)
		return;
	CHECK(cmd->attrs == m->attrs, cmd, rc);
	CHECK(cmd->nr_handles == m->nr_handles, cmd, rc);
	CHECK(cmd->nr_auths == m->nr_auths, cmd, rc);
	CHECK(cmd->param_off == m->param_off, cmd, rc);
	for (i = 0; i < m->nr_handles; i++)
		CHECK(cmd->handle[i] == m->handle[i], cmd, rc);
	for (i = 0; i < m->nr_auths; i++) {
		/* each entry lies in the authorization area */
		CHECK(m->auth_off[i] >= m->auth_area &&
		      m->auth_off[i] + 9 <= cmd->param_off, cmd, rc);
		CHECK(cmd->auth[i] == get_unaligned_be32(buf + m->auth_off[i]),
		      cmd, rc);
		CHECK(cmd->auth[i] == m->auth[i], cmd, rc);
		CHECK(cmd->auth_attrs[i] == m->auth_attrs[i], cmd, rc);
	}
}

static void check_rc(const struct tpm2_rm_cmd *cmd, int rc)
{
	switch (rc) {
	case 0:
	case RM(TPM2_RC_COMMAND_SIZE):
	case RM(TPM2_RC_BAD_TAG):
	case RM(TPM2_RC_COMMAND_CODE):
	case RM(TPM2_RC_AUTHSIZE):
		return;
	case TPM2_RC_COMMAND_CODE:
		/* only for a code the spec defines and the TPM lacks */
		CHECK(cmd->cc >= TPM2_CC_FIRST && cmd->cc <= CC_LAST_DEFINED &&
		      fake_chip_find(cmd->cc) < 0, cmd, rc);
		return;
	}
	fail("unexpected response code", cmd, rc);
}

static int parse(const u8 *buf, size_t size, size_t bufsiz,
		 struct tpm2_rm_cmd *cmd)
{
	/* the parser must set every field, the RM does not clear it first */
	memset(cmd, 0xA5, sizeof(*cmd));
	return tpm2_rm_parse(&fake_chip, buf, bufsiz, cmd);
}

/* The other small helpers of tpm2-space-parse.c, on the same bytes. */
static void check_helpers(const u8 *data, size_t size)
{
	u8 answer[TPM_HEADER_SIZE];
	unsigned int i;
	int len;

	for (i = 0; i < TPM2_RM_MAX_LOADED; i++) {
		/* format one: the RM's layer, TPM_RC_HANDLE, N = index + 1 */
		CHECK(tpm2_rm_handle_rc(i) ==
		      (RM(TPM2_RC_HANDLE) | (i + 1) << 8),
		      &(struct tpm2_rm_cmd){}, i);
		CHECK(tpm2_rm_session_rc(i) ==
		      (RM(TPM2_RC_HANDLE) | TPM2_RC_FMT1_S | (i + 1) << 8),
		      &(struct tpm2_rm_cmd){}, i);
	}

	len = tpm2_rm_context_len(data, size);
	if (len < 0) {
		CHECK(len == -EINVAL, &(struct tpm2_rm_cmd){}, len);
		CHECK(size < CONTEXT_FIXED ||
		      CONTEXT_FIXED +
		      get_unaligned_be16(data + CONTEXT_FIXED - 2) >
		      min_t(size_t, size, U16_MAX),
		      &(struct tpm2_rm_cmd){}, len);
	} else {
		CHECK((size_t)len <= size && len <= U16_MAX &&
		      len >= CONTEXT_FIXED &&
		      len == CONTEXT_FIXED +
		      get_unaligned_be16(data + CONTEXT_FIXED - 2),
		      &(struct tpm2_rm_cmd){}, len);
	}
	if (size >= 4) {
		u32 rc = get_unaligned_be32(data);

		CHECK(tpm2_rm_answer(answer, rc) == TPM_HEADER_SIZE &&
		      get_unaligned_be16(answer) == TPM2_ST_NO_SESSIONS &&
		      get_unaligned_be32(answer + 2) == TPM_HEADER_SIZE &&
		      get_unaligned_be32(answer + 6) == rc,
		      &(struct tpm2_rm_cmd){}, rc);
		CHECK(tpm2_rm_is_session(rc) ==
		      (data[0] == 0x02 || data[0] == 0x03),
		      &(struct tpm2_rm_cmd){}, rc);
		CHECK(tpm2_rm_is_transient(rc) == (data[0] == 0x80),
		      &(struct tpm2_rm_cmd){}, rc);
	}
}

static bool model_is_session(u32 handle)
{
	return handle >> 24 == 0x02 || handle >> 24 == 0x03;
}

/* Every handle the command names is classified as the TPM would. */
static void check_handle_types(const struct tpm2_rm_cmd *cmd)
{
	unsigned int i;

	for (i = 0; i < cmd->nr_handles; i++) {
		CHECK(tpm2_rm_is_session(cmd->handle[i]) ==
		      model_is_session(cmd->handle[i]), cmd, 0);
		CHECK(tpm2_rm_is_transient(cmd->handle[i]) ==
		      (cmd->handle[i] >> 24 == 0x80), cmd, 0);
	}
	for (i = 0; i < cmd->nr_auths; i++)
		CHECK(tpm2_rm_is_session(cmd->auth[i]) ==
		      model_is_session(cmd->auth[i]), cmd, 0);
}

/*
 * A context blob longer than a TPM2B can say is refused even when the
 * buffer holds it; commands are too short to get there, so once here.
 */
static void check_context_len_limit(void)
{
	size_t avail = CONTEXT_FIXED + U16_MAX + 1;
	u8 *blob = calloc(1, avail);

	put_unaligned_be16(U16_MAX - CONTEXT_FIXED,
			   blob + CONTEXT_FIXED - 2);
	CHECK(tpm2_rm_context_len(blob, avail) == U16_MAX,
	      &(struct tpm2_rm_cmd){}, 0);
	put_unaligned_be16(U16_MAX - CONTEXT_FIXED + 1,
			   blob + CONTEXT_FIXED - 2);
	CHECK(tpm2_rm_context_len(blob, avail) == -EINVAL,
	      &(struct tpm2_rm_cmd){}, 0);
	free(blob);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fake_chip_init();
	check_context_len_limit();
	return 0;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct tpm2_rm_cmd cmd, again;
	size_t exact = size;
	struct model m;
	u8 *copy;
	int rc, rc2;

	/* exactly the command's own length, so ASan sees any read past it */
	if (size >= TPM_HEADER_SIZE && get_unaligned_be32(data + 2) < size)
		exact = get_unaligned_be32(data + 2);
	copy = malloc(exact ? exact : 1);
	memcpy(copy, data, exact);

	model_parse(data, size, &m);
	rc = parse(data, size, size, &cmd);
	check_rc(&cmd, rc);
	check_model(data, &cmd, &m, rc);
	if (!rc) {
		check_served(data, &cmd);
		check_handle_types(&cmd);
	}

	/*
	 * Bytes past the command's length are not part of it: the parser
	 * answers the same for the command alone, in a buffer of its size.
	 */
	if (exact < size && exact >= TPM_HEADER_SIZE) {
		rc2 = parse(copy, exact, exact, &again);
		CHECK(rc2 == rc, &again, rc2);
		if (!rc)
			CHECK(!memcmp(&cmd, &again, sizeof(cmd)), &again, rc2);
	}
	free(copy);

	check_helpers(data, size);
	return 0;
}
