// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for the TPM 2.0 resource manager (spaces), run against the
 * model in tpm2-fake.c.
 *
 * The resource manager is only driven through its public hooks, in the
 * same order as /dev/tpmrm0 does: tpm2_init_space() when the device is
 * opened, tpm2_prepare_space(), tpm_transmit() and tpm2_commit_space() (or
 * tpm2_flush_space()) for each command, and tpm2_del_space() on close.
 * The tests check what a resource manager has to achieve, whatever its
 * implementation: handles are virtualised, nothing stays loaded in the TPM
 * between commands, and closing a space leaves nothing behind.
 */

#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <kunit/test-bug.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/unaligned.h>
#include "tpm.h"
#include "tpm2-fake.h"
#include "tpm2-space.h"

struct tpm2_space_test {
	struct tpm2_fake *fake;
	struct tpm_chip *chip;
	u8 *buf;		/* like file_priv->data_buffer */
	unsigned long clock_lag;	/* see test_clock_now() */
	unsigned long clock_now;	/* see test_clock_ticking() */
	unsigned long clock_tick;
};

struct tpm2_test_space {
	struct tpm_space space;
	struct tpm_chip *chip;
	bool live;
};

/* ------------------------------------------------------------------ */
/* Fixture                                                             */
/* ------------------------------------------------------------------ */

static int tpm2_space_test_init(struct kunit *test)
{
	struct tpm2_space_test *ctx;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->buf = kunit_kzalloc(test, TPM_BUFSIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->buf);
	ctx->fake = tpm2_fake_create(test);
	ctx->chip = tpm2_fake_chip(ctx->fake);
	test->priv = ctx;
	return 0;
}

static void space_release(void *data)
{
	struct tpm2_test_space *ts = data;

	if (ts->live)
		tpm2_del_space(ts->chip, &ts->space);
	ts->live = false;
}

/* Open a space, as tpmrm_open() does; it is closed when the test ends. */
static struct tpm_space *space_open(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm2_test_space *ts;

	ts = kunit_kzalloc(test, sizeof(*ts), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ts);
	KUNIT_ASSERT_EQ(test, tpm2_init_space(&ts->space,
					      TPM2_SPACE_BUFFER_SIZE), 0);
	ts->chip = ctx->chip;
	ts->live = true;
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, space_release,
							ts), 0);
	return &ts->space;
}

/* Close a space, as tpmrm_release() does. */
static void space_close(struct tpm_space *space)
{
	space_release(container_of(space, struct tpm2_test_space, space));
}

/*
 * What the resource manager promises between commands: it holds no TPM
 * slot, neither a loaded transient object nor a loaded session.
 */
static void expect_no_slot_held(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	unsigned int objects = tpm2_fake_loaded_objects(ctx->fake);
	unsigned int sessions = tpm2_fake_loaded_sessions(ctx->fake);

	KUNIT_EXPECT_EQ_MSG(test, objects + sessions, 0,
			    "%u objects and %u sessions left loaded",
			    objects, sessions);
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */
/* ------------------------------------------------------------------ */

static void cmd_init(struct kunit *test, struct tpm_buf *b, u16 tag, u32 cc)
{
	KUNIT_ASSERT_EQ(test, tpm_buf_init(b, tag, cc), 0);
}

static void append_session(struct tpm_buf *b, u32 handle, u8 attrs)
{
	tpm_buf_append_u32(b, 4 + 2 + 1 + 2);	/* authorizationSize */
	tpm_buf_append_u32(b, handle);
	tpm_buf_append_u16(b, 0);		/* nonceCaller */
	tpm_buf_append_u8(b, attrs);
	tpm_buf_append_u16(b, 0);		/* hmac */
}

static void build_create_primary(struct kunit *test, struct tpm_buf *b)
{
	cmd_init(test, b, TPM2_ST_SESSIONS, TPM2_CC_CREATE_PRIMARY);
	tpm_buf_append_u32(b, TPM2_RH_NULL);
	append_session(b, TPM2_RS_PW, 0);
	tpm_buf_append_u16(b, 4);		/* inSensitive */
	tpm_buf_append_u16(b, 0);		/* userAuth */
	tpm_buf_append_u16(b, 0);		/* data */
	tpm_buf_append_u16(b, 14);		/* inPublic */
	tpm_buf_append_u16(b, TPM_ALG_KEYEDHASH);
	tpm_buf_append_u16(b, TPM_ALG_SHA256);
	tpm_buf_append_u32(b, TPM2_OA_FIXED_TPM | TPM2_OA_FIXED_PARENT |
			   TPM2_OA_SENSITIVE_DATA_ORIGIN |
			   TPM2_OA_USER_WITH_AUTH | TPM2_OA_SIGN);
	tpm_buf_append_u16(b, 0);		/* authPolicy */
	tpm_buf_append_u16(b, TPM_ALG_NULL);	/* scheme */
	tpm_buf_append_u16(b, 0);		/* unique */
	tpm_buf_append_u16(b, 0);		/* outsideInfo */
	tpm_buf_append_u32(b, 0);		/* creationPCR */
}

static void build_start_auth_session(struct kunit *test, struct tpm_buf *b,
				     u8 type)
{
	int i;

	cmd_init(test, b, TPM2_ST_NO_SESSIONS, TPM2_CC_START_AUTH_SESS);
	tpm_buf_append_u32(b, TPM2_RH_NULL);	/* tpmKey */
	tpm_buf_append_u32(b, TPM2_RH_NULL);	/* bind */
	tpm_buf_append_u16(b, 16);		/* nonceCaller */
	for (i = 0; i < 16; i++)
		tpm_buf_append_u8(b, i);
	tpm_buf_append_u16(b, 0);		/* encryptedSalt */
	tpm_buf_append_u8(b, type);
	tpm_buf_append_u16(b, TPM_ALG_NULL);	/* symmetric */
	tpm_buf_append_u16(b, TPM_ALG_SHA256);	/* authHash */
}

static void build_one_handle(struct kunit *test, struct tpm_buf *b, u32 cc,
			     u32 handle)
{
	cmd_init(test, b, TPM2_ST_NO_SESSIONS, cc);
	tpm_buf_append_u32(b, handle);
}

static void build_get_capability(struct kunit *test, struct tpm_buf *b,
				 u32 cap, u32 property, u32 count)
{
	cmd_init(test, b, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_CAPABILITY);
	tpm_buf_append_u32(b, cap);
	tpm_buf_append_u32(b, property);
	tpm_buf_append_u32(b, count);
}

static void build_get_random(struct kunit *test, struct tpm_buf *b,
			     u32 session, u8 attrs)
{
	cmd_init(test, b, TPM2_ST_SESSIONS, TPM2_CC_GET_RANDOM);
	append_session(b, session, attrs);
	tpm_buf_append_u16(b, 8);
}

/*
 * Send a command through a space as a write() to /dev/tpmrm0 would; the
 * response is left in ctx->buf. Consumes @b.
 */
static ssize_t space_send(struct kunit *test, struct tpm_space *space,
			  struct tpm_buf *b)
{
	struct tpm2_space_test *ctx = test->priv;
	u32 len = tpm_buf_length(b);

	KUNIT_ASSERT_LE(test, len, TPM_BUFSIZE);
	memset(ctx->buf, 0, TPM_BUFSIZE);
	memcpy(ctx->buf, b->data, len);
	tpm_buf_destroy(b);

	return tpm2_fake_dev_transmit(ctx->chip, space, ctx->buf, TPM_BUFSIZE);
}

static u32 rsp_code(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;

	return get_unaligned_be32(ctx->buf + 6);
}

/* The first word after the response header: the handle, if any. */
static u32 rsp_u32(struct kunit *test, unsigned int offset)
{
	struct tpm2_space_test *ctx = test->priv;

	return get_unaligned_be32(ctx->buf + offset);
}

/* Send a command that must succeed, returning the response length. */
static ssize_t space_send_ok(struct kunit *test, struct tpm_space *space,
			     struct tpm_buf *b)
{
	ssize_t len = space_send(test, space, b);

	KUNIT_ASSERT_GE(test, len, (ssize_t)TPM_HEADER_SIZE);
	KUNIT_ASSERT_EQ(test, rsp_code(test), TPM2_RC_SUCCESS);
	return len;
}

static u32 space_create_primary(struct kunit *test, struct tpm_space *space)
{
	struct tpm_buf b;

	build_create_primary(test, &b);
	space_send_ok(test, space, &b);
	return rsp_u32(test, TPM_HEADER_SIZE);
}

static u32 space_start_session(struct kunit *test, struct tpm_space *space,
			       u8 type)
{
	struct tpm_buf b;

	build_start_auth_session(test, &b, type);
	space_send_ok(test, space, &b);
	return rsp_u32(test, TPM_HEADER_SIZE);
}

/* ReadPublic through a space; returns the fake object id it reports. */
static u32 space_read_public(struct kunit *test, struct tpm_space *space,
			     u32 handle)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_buf b;

	build_one_handle(test, &b, TPM2_CC_READ_PUBLIC, handle);
	space_send_ok(test, space, &b);
	/* outPublic is the fake's: a TPM2B holding the object number */
	KUNIT_ASSERT_EQ(test, get_unaligned_be16(ctx->buf + TPM_HEADER_SIZE),
			4);
	return rsp_u32(test, TPM_HEADER_SIZE + 2);
}

/* The key behind @vhandle still works, and nothing stays loaded for it. */
static void expect_key_works(struct kunit *test, struct tpm_space *space,
			     u32 vhandle, u32 id)
{
	KUNIT_EXPECT_EQ(test, space_read_public(test, space, vhandle), id);
	expect_no_slot_held(test);
}

/*
 * Sends a command to the fake directly, without a space, and consumes @b.
 * Returns the response code, or -errno; the handle the response starts
 * with goes to @handle if that is not NULL. With @blob, the response's
 * parameters (a ContextSave's context) go there and their length is
 * returned in @len.
 */
static ssize_t raw_xfer(struct kunit *test, struct tpm_buf *b, u32 *handle,
			u8 *blob, u32 *len)
{
	struct tpm2_space_test *ctx = test->priv;
	ssize_t rc;

	KUNIT_ASSERT_EQ(test, tpm_try_get_ops(ctx->chip), 0);
	rc = tpm_transmit_cmd(ctx->chip, b, 0, NULL);
	tpm_put_ops(ctx->chip);
	if (!rc && handle)
		*handle = get_unaligned_be32(b->data + TPM_HEADER_SIZE);
	if (!rc && blob) {
		*len = tpm_buf_length(b) - TPM_HEADER_SIZE;
		KUNIT_ASSERT_LE(test, *len, 64);
		memcpy(blob, b->data + TPM_HEADER_SIZE, *len);
	}
	tpm_buf_destroy(b);
	return rc;
}

static ssize_t raw_send(struct kunit *test, struct tpm_buf *b, u32 *handle)
{
	return raw_xfer(test, b, handle, NULL, NULL);
}

static void raw_flush(struct kunit *test, u32 handle)
{
	struct tpm2_space_test *ctx = test->priv;

	KUNIT_ASSERT_EQ(test, tpm_try_get_ops(ctx->chip), 0);
	tpm2_flush_context(ctx->chip, handle);
	tpm_put_ops(ctx->chip);
}

/* ContextSave without a space; the context, of up to 64 bytes, in @blob. */
static ssize_t raw_context_save(struct kunit *test, u32 handle, u8 *blob,
				u32 *len)
{
	struct tpm_buf b;

	build_one_handle(test, &b, TPM2_CC_CONTEXT_SAVE, handle);
	return raw_xfer(test, &b, NULL, blob, len);
}

static ssize_t raw_context_load(struct kunit *test, const u8 *blob, u32 len,
				u32 *handle)
{
	struct tpm_buf b;

	cmd_init(test, &b, TPM2_ST_NO_SESSIONS, TPM2_CC_CONTEXT_LOAD);
	tpm_buf_append(&b, blob, len);
	return raw_send(test, &b, handle);
}

static bool is_transient(u32 handle)
{
	return (handle & TPM2_FAKE_HT_MASK) == TPM2_FAKE_HT_TRANSIENT;
}

/* ------------------------------------------------------------------ */
/* Resource manager behaviour                                          */
/* ------------------------------------------------------------------ */

/*
 * A key created through a space is known to the caller by a virtual
 * handle, and is not left occupying a TPM slot once the command is done.
 */
static void tpm2_space_create_primary_virtual_handle(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	const struct tpm2_fake_cmd *rec;
	struct tpm_space *space = space_open(test);
	u32 vhandle;

	vhandle = space_create_primary(test, space);

	rec = tpm2_fake_last_cmd(ctx->fake, TPM2_CC_CREATE_PRIMARY);
	KUNIT_ASSERT_NOT_NULL(test, rec);
	KUNIT_ASSERT_EQ(test, rec->rc, TPM2_RC_SUCCESS);
	/* virtual handles may equal physical ones: both start at 0x80000000 */
	KUNIT_EXPECT_TRUE(test, is_transient(vhandle));

	/* the rest of the response is passed through: the object's number */
	KUNIT_EXPECT_EQ(test, rsp_u32(test, TPM_HEADER_SIZE + 4 + 4 + 2), 1);

	expect_no_slot_held(test);
}

/*
 * A virtual handle used in a later command reaches the TPM as the
 * physical handle of the right object, and again nothing stays loaded.
 */
static void tpm2_space_vhandle_reaches_tpm_as_phandle(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *space = space_open(test);
	const struct tpm2_fake_cmd *rec;
	u32 vhandle, id;

	vhandle = space_create_primary(test, space);
	tpm2_fake_reset_counters(ctx->fake);

	id = space_read_public(test, space, vhandle);
	KUNIT_EXPECT_EQ(test, id, 1);

	rec = tpm2_fake_last_cmd(ctx->fake, TPM2_CC_READ_PUBLIC);
	KUNIT_ASSERT_NOT_NULL(test, rec);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake,
						  TPM2_CC_READ_PUBLIC), 1);
	KUNIT_EXPECT_EQ(test, rec->rc, TPM2_RC_SUCCESS);
	KUNIT_EXPECT_TRUE(test, is_transient(rec->arg[0]));
	KUNIT_EXPECT_NE(test, rec->arg[0], vhandle);

	/* the handle the TPM saw is the one the object was loaded under */
	rec = tpm2_fake_last_cmd(ctx->fake, TPM2_CC_CONTEXT_LOAD);
	KUNIT_ASSERT_NOT_NULL(test, rec);
	KUNIT_EXPECT_EQ(test, tpm2_fake_last_cmd(ctx->fake,
						 TPM2_CC_READ_PUBLIC)->arg[0],
			rec->out_handle);

	expect_no_slot_held(test);

	/* and it keeps working */
	expect_key_works(test, space, vhandle, 1);
}

/* Closing a space leaves neither objects nor sessions in the TPM. */
static void tpm2_space_del_space_flushes(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *space = space_open(test);
	u32 hmac, policy;

	space_create_primary(test, space);
	hmac = space_start_session(test, space, TPM2_SE_HMAC);
	policy = space_start_session(test, space, TPM2_SE_POLICY);

	KUNIT_EXPECT_EQ(test, hmac & TPM2_FAKE_HT_MASK,
			TPM2_FAKE_HT_HMAC_SESSION);
	KUNIT_EXPECT_EQ(test, policy & TPM2_FAKE_HT_MASK,
			TPM2_FAKE_HT_POLICY_SESSION);
	/* between commands the sessions exist only as saved contexts */
	expect_no_slot_held(test);
	KUNIT_EXPECT_EQ(test, tpm2_fake_saved_sessions(ctx->fake), 2);

	space_close(space);

	expect_no_slot_held(test);
	KUNIT_EXPECT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 0);
	KUNIT_EXPECT_EQ(test, tpm2_fake_session_state(ctx->fake, hmac),
			TPM2_FAKE_SESSION_NONE);
	KUNIT_EXPECT_EQ(test, tpm2_fake_session_state(ctx->fake, policy),
			TPM2_FAKE_SESSION_NONE);
}

/* A session named in an authorization area is loaded for the command. */
static void tpm2_space_session_loaded_for_command(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *space = space_open(test);
	const struct tpm2_fake_cmd *rec;
	struct tpm_buf b;
	u32 session;

	session = space_start_session(test, space, TPM2_SE_HMAC);

	build_get_random(test, &b, session, TPM2_SA_CONTINUE_SESSION);
	space_send_ok(test, space, &b);
	rec = tpm2_fake_last_cmd(ctx->fake, TPM2_CC_GET_RANDOM);
	KUNIT_ASSERT_NOT_NULL(test, rec);
	KUNIT_EXPECT_EQ(test, rec->rc, TPM2_RC_SUCCESS);
	expect_no_slot_held(test);
	KUNIT_EXPECT_EQ(test, tpm2_fake_session_state(ctx->fake, session),
			TPM2_FAKE_SESSION_SAVED);

	/* a session that ends with the command is gone for good */
	build_get_random(test, &b, session, 0);
	space_send_ok(test, space, &b);
	KUNIT_EXPECT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 0);

	space_close(space);
	KUNIT_EXPECT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 0);
}

/* Flushing a virtual handle removes the object from the space. */
static void tpm2_space_flush_vhandle(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *space = space_open(test);
	struct tpm_buf b;
	ssize_t len;
	u32 vhandle;

	vhandle = space_create_primary(test, space);
	tpm2_fake_reset_counters(ctx->fake);

	/* the object is not in the TPM: the RM answers by itself */
	build_one_handle(test, &b, TPM2_CC_FLUSH_CONTEXT, vhandle);
	space_send_ok(test, space, &b);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake,
						  TPM2_FAKE_ANY_CC), 0);
	expect_no_slot_held(test);

	/* the handle is no longer valid in the space */
	build_one_handle(test, &b, TPM2_CC_READ_PUBLIC, vhandle);
	len = space_send(test, space, &b);
	KUNIT_EXPECT_TRUE(test, len < 0 || rsp_code(test) != TPM2_RC_SUCCESS);
	expect_no_slot_held(test);
}

/*
 * Spaces are isolated: the same virtual handle may name different objects
 * in different spaces, and a space only sees its own objects.
 */
static void tpm2_space_isolation(struct kunit *test)
{
	struct tpm_space *a = space_open(test);
	struct tpm_space *b = space_open(test);
	u32 va, vb, count;
	struct tpm_buf cmd;

	va = space_create_primary(test, a);
	vb = space_create_primary(test, b);

	KUNIT_EXPECT_EQ(test, space_read_public(test, a, va), 1);
	KUNIT_EXPECT_EQ(test, space_read_public(test, b, vb), 2);

	build_get_capability(test, &cmd, TPM2_CAP_HANDLES,
			     TPM2_FAKE_HT_TRANSIENT, 16);
	space_send_ok(test, a, &cmd);
	/* moreData, capability, count, handles */
	KUNIT_EXPECT_EQ(test, rsp_u32(test, TPM_HEADER_SIZE + 1),
			TPM2_CAP_HANDLES);
	count = rsp_u32(test, TPM_HEADER_SIZE + 5);
	KUNIT_EXPECT_EQ(test, count, 1);
	if (count == 1)
		KUNIT_EXPECT_EQ(test, rsp_u32(test, TPM_HEADER_SIZE + 9), va);

	expect_no_slot_held(test);
}

/* Spaces together may hold more objects than the TPM has slots. */
static void tpm2_space_more_objects_than_slots(struct kunit *test)
{
	struct tpm_space *space[TPM2_FAKE_MAX_OBJECTS + 2];
	u32 vhandle[ARRAY_SIZE(space)];
	int i;

	for (i = 0; i < ARRAY_SIZE(space); i++) {
		space[i] = space_open(test);
		vhandle[i] = space_create_primary(test, space[i]);
	}

	for (i = 0; i < ARRAY_SIZE(space); i++)
		KUNIT_EXPECT_EQ(test, space_read_public(test, space[i],
							vhandle[i]), i + 1);

	expect_no_slot_held(test);
}

/*
 * When the TPM cannot be reached, the command fails, whatever the space
 * loaded is flushed again, and the space keeps its objects.
 */
static void tpm2_space_transmit_error(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *space = space_open(test);
	u32 vhandle = space_create_primary(test, space);
	struct tpm_buf b;

	KUNIT_ASSERT_EQ(test, tpm2_fake_inject_send_error(ctx->fake,
							  TPM2_CC_READ_PUBLIC,
							  1, -EIO), 0);
	build_one_handle(test, &b, TPM2_CC_READ_PUBLIC, vhandle);
	KUNIT_EXPECT_LT(test, space_send(test, space, &b), 0);
	KUNIT_EXPECT_EQ(test, tpm2_fake_injections_pending(ctx->fake), 0);
	expect_no_slot_held(test);

	expect_key_works(test, space, vhandle, 1);
}

/*
 * A TPM 2.0 command code the TPM does not implement is answered as the TPM
 * would answer it, and a code that is no TPM 2.0 command at all with the
 * resource manager's layer; neither reaches the TPM.
 */
static void tpm2_space_unknown_command(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *space = space_open(test);
	struct tpm_buf b;
	ssize_t len;

	cmd_init(test, &b, TPM2_ST_NO_SESSIONS, TPM2_CC_PCR_READ);
	tpm_buf_append_u32(&b, 0);
	len = space_send(test, space, &b);
	KUNIT_EXPECT_EQ(test, len, (ssize_t)TPM_HEADER_SIZE);
	KUNIT_EXPECT_EQ(test, rsp_code(test), TPM2_RC_COMMAND_CODE);

	cmd_init(test, &b, TPM2_ST_NO_SESSIONS, TPM2_CC_FIRST - 1);
	len = space_send(test, space, &b);
	KUNIT_EXPECT_EQ(test, len, (ssize_t)TPM_HEADER_SIZE);
	KUNIT_EXPECT_EQ(test, rsp_code(test),
			TPM2_RC_COMMAND_CODE | TSS2_RESMGR_TPM_RC_LAYER);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake,
						  TPM2_FAKE_ANY_CC), 0);
}

/* ------------------------------------------------------------------ */
/* Parsing, loading, quotas, context commands, errors                  */
/* ------------------------------------------------------------------ */

#define RM_LAYER	TSS2_RESMGR_TPM_RC_LAYER
#define RM_REFUSED_P1	(RM_LAYER | 0x1CB)

/* Send raw bytes, as a write() of @len bytes would. */
static ssize_t space_send_raw(struct kunit *test, struct tpm_space *space,
			      const u8 *raw, size_t len)
{
	struct tpm2_space_test *ctx = test->priv;

	memset(ctx->buf, 0, TPM_BUFSIZE);
	memcpy(ctx->buf, raw, len);
	return tpm2_fake_dev_transmit(ctx->chip, space, ctx->buf, TPM_BUFSIZE);
}

struct malformed_case {
	const char *name;
	u8 raw[64];
	size_t len;
	u32 rc;
};

static const struct malformed_case malformed_cases[] = {
	{ "size below header", { 0x80, 0x01, 0, 0, 0, 8, 0, 0, 1, 0x7b },
	  10, RM_LAYER | 0x142 },
	{ "size beyond buffer", { 0x80, 0x01, 0, 0, 0x20, 0, 0, 0, 1, 0x7b },
	  10, RM_LAYER | 0x142 },
	{ "bad tag", { 0x80, 0x03, 0, 0, 0, 12, 0, 0, 1, 0x7b, 0, 8 },
	  12, RM_LAYER | 0x01E },
	{ "handle area cut", { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 1, 0x73, 0x80, 0 },
	  12, RM_LAYER | 0x142 },
	{ "no auth size", { 0x80, 0x02, 0, 0, 0, 12, 0, 0, 1, 0x7b, 0, 8 },
	  12, RM_LAYER | 0x144 },
	{ "auth size too big", { 0x80, 0x02, 0, 0, 0, 25, 0, 0, 1, 0x7b,
	  0, 0, 0, 0x40, 0x40, 0, 0, 9, 0, 0, 1, 0, 0, 0, 8 },
	  25, RM_LAYER | 0x144 },
	{ "auth entry cut", { 0x80, 0x02, 0, 0, 0, 25, 0, 0, 1, 0x7b,
	  0, 0, 0, 9, 0x40, 0, 0, 9, 0, 5, 1, 0, 0, 0, 8 },
	  25, RM_LAYER | 0x144 },
	{ "four sessions", { 0x80, 0x02, 0, 0, 0, 50, 0, 0, 1, 0x7b,
	  0, 0, 0, 36,
	  0x40, 0, 0, 9, 0, 0, 1, 0, 0,  0x40, 0, 0, 9, 0, 0, 1, 0, 0,
	  0x40, 0, 0, 9, 0, 0, 1, 0, 0,  0x40, 0, 0, 9, 0, 0, 1, 0, 0 },
	  50, RM_LAYER | 0x144 },
};

static void malformed_desc(const struct malformed_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(malformed, malformed_cases, malformed_desc);

/* Malformed commands get a TPM-format error and never reach the TPM. */
static void tpm2_space_malformed(struct kunit *test)
{
	const struct malformed_case *c = test->param_value;
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *space = space_open(test);
	u8 raw[64] = {};

	memcpy(raw, c->raw, sizeof(c->raw));
	KUNIT_EXPECT_EQ(test, space_send_raw(test, space, raw, c->len),
			(ssize_t)TPM_HEADER_SIZE);
	KUNIT_EXPECT_EQ(test, rsp_code(test), c->rc);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake,
						  TPM2_FAKE_ANY_CC), 0);
}

static void build_read_public_auth(struct kunit *test, struct tpm_buf *b,
				   u32 handle, u32 session)
{
	cmd_init(test, b, TPM2_ST_SESSIONS, TPM2_CC_READ_PUBLIC);
	tpm_buf_append_u32(b, handle);
	append_session(b, session, TPM2_SA_CONTINUE_SESSION);
}

static unsigned int rm_cmds(struct tpm2_space_test *ctx)
{
	return tpm2_fake_cmd_count(ctx->fake, TPM2_CC_CONTEXT_LOAD) +
	       tpm2_fake_cmd_count(ctx->fake, TPM2_CC_CONTEXT_SAVE) +
	       tpm2_fake_cmd_count(ctx->fake, TPM2_CC_FLUSH_CONTEXT);
}

/* Checks the context commands the fake got since its counters were reset. */
static void expect_context_cmds(struct kunit *test, unsigned int loads,
				unsigned int saves, unsigned int flushes)
{
	struct tpm2_space_test *ctx = test->priv;

	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake,
						  TPM2_CC_CONTEXT_LOAD), loads);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake,
						  TPM2_CC_CONTEXT_SAVE), saves);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake,
						  TPM2_CC_FLUSH_CONTEXT),
			flushes);
}

/* Only what a command names is loaded, and only once. */
static void tpm2_space_loads_only_named(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *space = space_open(test);
	u32 obj[3], sess[3];
	struct tpm_buf b;
	int i;

	for (i = 0; i < 3; i++) {
		obj[i] = space_create_primary(test, space);
		sess[i] = space_start_session(test, space, TPM2_SE_HMAC);
	}
	tpm2_fake_reset_counters(ctx->fake);

	cmd_init(test, &b, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_RANDOM);
	tpm_buf_append_u16(&b, 8);
	space_send_ok(test, space, &b);
	KUNIT_EXPECT_EQ(test, rm_cmds(ctx), 0);

	/* one object and one session: load+flush and load+save */
	build_read_public_auth(test, &b, obj[1], sess[2]);
	space_send_ok(test, space, &b);
	expect_context_cmds(test, 2, 1, 1);
	KUNIT_EXPECT_EQ(test, rsp_u32(test, TPM_HEADER_SIZE + 6), 2);
	expect_no_slot_held(test);
	KUNIT_EXPECT_EQ(test, tpm2_fake_saved_sessions(ctx->fake), 3);
}

/* Over a quota, the new object or session is flushed, nothing else. */
static void tpm2_space_quotas(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	unsigned int old_obj = tpm2_space_max_objects;
	unsigned int old_sess = tpm2_space_max_sessions;
	struct tpm_space *space = space_open(test);
	unsigned int before;
	long answers;
	struct tpm_buf b;
	u32 obj, sess, len;

	tpm2_space_max_objects = 1;
	tpm2_space_max_sessions = 1;
	obj = space_create_primary(test, space);
	sess = space_start_session(test, space, TPM2_SE_HMAC);

	/* refused before anything reaches the TPM */
	before = tpm2_fake_cmd_count(ctx->fake, TPM2_FAKE_ANY_CC);
	answers = atomic_long_read(&ctx->chip->rm->stats.rm_answers);
	build_create_primary(test, &b);
	space_send(test, space, &b);
	KUNIT_EXPECT_EQ(test, rsp_code(test), RM_LAYER | 0x902);
	build_start_auth_session(test, &b, TPM2_SE_POLICY);
	space_send(test, space, &b);
	KUNIT_EXPECT_EQ(test, rsp_code(test), RM_LAYER | 0x903);
	build_one_handle(test, &b, TPM2_CC_CONTEXT_SAVE, obj);
	len = space_send_ok(test, space, &b) - TPM_HEADER_SIZE;
	cmd_init(test, &b, TPM2_ST_NO_SESSIONS, TPM2_CC_CONTEXT_LOAD);
	tpm_buf_append(&b, ctx->buf + TPM_HEADER_SIZE, len);
	space_send(test, space, &b);
	KUNIT_EXPECT_EQ(test, rsp_code(test), RM_LAYER | 0x902);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake, TPM2_FAKE_ANY_CC),
			before);
	KUNIT_EXPECT_EQ(test,
			atomic_long_read(&ctx->chip->rm->stats.rm_answers),
			answers + 4);
	tpm2_space_max_objects = old_obj;
	tpm2_space_max_sessions = old_sess;

	expect_no_slot_held(test);
	KUNIT_EXPECT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 1);
	build_read_public_auth(test, &b, obj, sess);
	space_send_ok(test, space, &b);
	KUNIT_EXPECT_EQ(test, rsp_u32(test, TPM_HEADER_SIZE + 6), 1);
}

/* Returns the blob of a ContextSave through @space, in @blob. */
static u32 space_context_save(struct kunit *test, struct tpm_space *space,
			      u32 handle, u8 *blob)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_buf b;
	ssize_t len;

	build_one_handle(test, &b, TPM2_CC_CONTEXT_SAVE, handle);
	len = space_send_ok(test, space, &b);
	memcpy(blob, ctx->buf + TPM_HEADER_SIZE, len - TPM_HEADER_SIZE);
	return len - TPM_HEADER_SIZE;
}

static ssize_t space_context_load(struct kunit *test, struct tpm_space *space,
				  const u8 *blob, u32 len)
{
	struct tpm_buf b;

	cmd_init(test, &b, TPM2_ST_NO_SESSIONS, TPM2_CC_CONTEXT_LOAD);
	tpm_buf_append(&b, blob, len);
	return space_send(test, space, &b);
}

/* Object contexts go to any space; session contexts only to their own. */
static void tpm2_space_context_rules(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *a = space_open(test);
	struct tpm_space *b = space_open(test);
	u32 obj, sess, len, loads;
	u8 blob[64];

	obj = space_create_primary(test, a);
	len = space_context_save(test, a, obj, blob);
	KUNIT_ASSERT_LE(test, len, sizeof(blob));
	space_context_load(test, b, blob, len);
	KUNIT_ASSERT_EQ(test, rsp_code(test), TPM2_RC_SUCCESS);
	obj = rsp_u32(test, TPM_HEADER_SIZE);
	KUNIT_EXPECT_EQ(test, space_read_public(test, b, obj), 1);

	sess = space_start_session(test, a, TPM2_SE_POLICY);
	len = space_context_save(test, a, sess, blob);
	KUNIT_EXPECT_EQ(test, tpm2_fake_session_state(ctx->fake, sess),
			TPM2_FAKE_SESSION_SAVED);

	loads = tpm2_fake_cmd_count(ctx->fake, TPM2_CC_CONTEXT_LOAD);
	space_context_load(test, b, blob, len);
	KUNIT_EXPECT_EQ(test, rsp_code(test), RM_REFUSED_P1);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake,
						  TPM2_CC_CONTEXT_LOAD), loads);

	space_context_load(test, a, blob, len);
	KUNIT_EXPECT_EQ(test, rsp_code(test), TPM2_RC_SUCCESS);
	KUNIT_EXPECT_EQ(test, rsp_u32(test, TPM_HEADER_SIZE), sess);
	expect_no_slot_held(test);
}

/*
 * ContextSave of an object is answered from the context the space holds,
 * without a TPM command, and that context loads in another space. A
 * ContextLoad keeps the client's context, so the new object is not saved.
 */
static void tpm2_space_object_context_save_load(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm2_rm_stats *stats = &ctx->chip->rm->stats;
	struct tpm_space *a = space_open(test);
	struct tpm_space *b = space_open(test);
	struct tpm2_rm_object *kept;
	u32 obj, copy, len;
	struct tpm_buf cmd;
	long answers;
	u8 blob[64];

	obj = space_create_primary(test, a);
	tpm2_fake_reset_counters(ctx->fake);
	answers = atomic_long_read(&stats->rm_answers);
	len = space_context_save(test, a, obj, blob);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake, TPM2_FAKE_ANY_CC),
			0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&stats->rm_answers),
			answers + 1);
	KUNIT_ASSERT_LE(test, len, sizeof(blob));
	KUNIT_EXPECT_EQ(test, rsp_u32(test, 2), TPM_HEADER_SIZE + len);
	KUNIT_EXPECT_EQ(test, tpm2_context_saved_handle(blob),
			TPM2_FAKE_HT_TRANSIENT);

	/* one load, one flush, and no save of what the client sent */
	space_context_load(test, b, blob, len);
	KUNIT_ASSERT_EQ(test, rsp_code(test), TPM2_RC_SUCCESS);
	copy = rsp_u32(test, TPM_HEADER_SIZE);
	expect_context_cmds(test, 1, 0, 1);
	kept = tpm2_rm_object_find(b, copy);
	KUNIT_ASSERT_NOT_NULL(test, kept);
	KUNIT_ASSERT_EQ(test, kept->len, len);
	KUNIT_EXPECT_MEMEQ(test, kept->blob, blob, len);
	/* and the kept context is the one loaded for the next command */
	KUNIT_EXPECT_EQ(test, space_read_public(test, b, copy), 1);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake,
						  TPM2_CC_CONTEXT_SAVE), 0);
	expect_no_slot_held(test);

	/* the space's copy is unchanged by the client's use of it */
	tpm2_fake_reset_counters(ctx->fake);
	KUNIT_EXPECT_EQ(test, space_context_save(test, b, copy, blob), len);
	KUNIT_EXPECT_MEMEQ(test, blob, kept->blob, len);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake, TPM2_FAKE_ANY_CC),
			0);

	/* a stale object gets its usual error, still without a TPM command */
	tpm2_fake_inject(ctx->fake, TPM2_CC_CONTEXT_LOAD, 1,
			 TPM2_FAKE_RC_INTEGRITY_P1);
	build_one_handle(test, &cmd, TPM2_CC_READ_PUBLIC, obj);
	space_send(test, a, &cmd);
	KUNIT_EXPECT_EQ(test, rsp_code(test), RM_LAYER | 0x910);
	tpm2_fake_reset_counters(ctx->fake);
	build_one_handle(test, &cmd, TPM2_CC_CONTEXT_SAVE, obj);
	space_send(test, a, &cmd);
	KUNIT_EXPECT_EQ(test, rsp_code(test), RM_LAYER | 0x910);
	/* an unknown virtual handle fails the write, as Linux always did */
	build_one_handle(test, &cmd, TPM2_CC_CONTEXT_SAVE, copy + 1);
	KUNIT_EXPECT_EQ(test, space_send(test, b, &cmd), (ssize_t)-EINVAL);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake, TPM2_FAKE_ANY_CC),
			0);
}

/*
 * What an idle, empty space costs: a struct tpm_space, which tpmrm_open()
 * allocates together with tpm-dev-common's file_priv, and nothing more.
 * tpm2_init_space() allocates nothing; all a space allocates later (a
 * record per object or session, each with its saved context) hangs off
 * its two lists and is freed when the object or session goes, so a space
 * whose lists are empty holds no other memory. The limit is 1 KiB; a
 * field pointing to memory added to struct tpm_space must be counted here.
 */
static void tpm2_space_idle_cost(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *space = space_open(test);
	size_t init_allocs = 0;
	struct tpm_buf b;
	u32 obj, sess;

	KUNIT_EXPECT_LE(test, sizeof(struct tpm_space) + init_allocs, 1024);
	KUNIT_EXPECT_TRUE(test, list_empty(&space->objects));
	KUNIT_EXPECT_TRUE(test, list_empty(&space->sessions));
	KUNIT_EXPECT_EQ(test, space->nr_objects, 0);
	KUNIT_EXPECT_EQ(test, space->nr_sessions, 0);

	/* memory grows with what is held, and shrinks back */
	obj = space_create_primary(test, space);
	sess = space_start_session(test, space, TPM2_SE_HMAC);
	KUNIT_EXPECT_EQ(test, list_count_nodes(&space->objects), 1);
	KUNIT_EXPECT_EQ(test, list_count_nodes(&space->sessions), 1);
	build_one_handle(test, &b, TPM2_CC_FLUSH_CONTEXT, obj);
	space_send_ok(test, space, &b);
	build_one_handle(test, &b, TPM2_CC_FLUSH_CONTEXT, sess);
	space_send_ok(test, space, &b);
	KUNIT_EXPECT_TRUE(test, list_empty(&space->objects));
	KUNIT_EXPECT_TRUE(test, list_empty(&space->sessions));
	KUNIT_EXPECT_EQ(test, space->nr_objects, 0);
	KUNIT_EXPECT_EQ(test, space->nr_sessions, 0);
	KUNIT_EXPECT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 0);
}

/* A foreign session is refused in every place, and its owner unharmed. */
static void tpm2_space_foreign_session(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *a = space_open(test);
	struct tpm_space *b = space_open(test);
	unsigned int before;
	struct tpm_buf cmd;
	u32 sess, obj;

	sess = space_start_session(test, a, TPM2_SE_HMAC);
	obj = space_create_primary(test, b);
	before = tpm2_fake_cmd_count(ctx->fake, TPM2_FAKE_ANY_CC);

	build_get_random(test, &cmd, sess, TPM2_SA_CONTINUE_SESSION);
	space_send(test, b, &cmd);
	KUNIT_EXPECT_EQ(test, rsp_code(test), RM_LAYER | 0x98B);
	/* refused before B's own object is loaded for it */
	build_read_public_auth(test, &cmd, obj, sess);
	space_send(test, b, &cmd);
	KUNIT_EXPECT_EQ(test, rsp_code(test), RM_LAYER | 0x98B);
	build_one_handle(test, &cmd, TPM2_CC_FLUSH_CONTEXT, sess);
	space_send(test, b, &cmd);
	KUNIT_EXPECT_EQ(test, rsp_code(test), RM_REFUSED_P1);
	build_one_handle(test, &cmd, TPM2_CC_CONTEXT_SAVE, sess);
	space_send(test, b, &cmd);
	KUNIT_EXPECT_EQ(test, rsp_code(test), RM_LAYER | 0x18B);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake, TPM2_FAKE_ANY_CC),
			before);

	build_get_random(test, &cmd, sess, TPM2_SA_CONTINUE_SESSION);
	space_send_ok(test, a, &cmd);
}

/* Client-saved sessions of a closed file go to the same user only. */
static void tpm2_space_abandoned_session(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *a = space_open(test);
	struct tpm_space *b, *c;
	struct tpm_buf cmd;
	u32 sess, len;
	u8 blob[64];

	sess = space_start_session(test, a, TPM2_SE_POLICY);
	len = space_context_save(test, a, sess, blob);
	space_close(a);
	KUNIT_EXPECT_EQ(test, tpm2_fake_session_state(ctx->fake, sess),
			TPM2_FAKE_SESSION_SAVED);

	c = space_open(test);
	c->euid = KUIDT_INIT(4242);
	space_context_load(test, c, blob, len);
	KUNIT_EXPECT_EQ(test, rsp_code(test), RM_REFUSED_P1);

	b = space_open(test);
	space_context_load(test, b, blob, len);
	KUNIT_EXPECT_EQ(test, rsp_code(test), TPM2_RC_SUCCESS);
	build_get_random(test, &cmd, sess, 0);
	space_send_ok(test, b, &cmd);
	KUNIT_EXPECT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 0);
}

/*
 * A context the TPM no longer accepts costs only that handle; a resource
 * shortage on load costs nothing.
 */
static void tpm2_space_load_errors_stay_local(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *space = space_open(test);
	unsigned int before;
	struct tpm_buf b;
	u32 o1, o2, s1, s2;

	o1 = space_create_primary(test, space);
	o2 = space_create_primary(test, space);
	s1 = space_start_session(test, space, TPM2_SE_HMAC);
	s2 = space_start_session(test, space, TPM2_SE_HMAC);

	tpm2_fake_inject(ctx->fake, TPM2_CC_CONTEXT_LOAD, 1,
			 TPM2_FAKE_RC_OBJECT_MEMORY);
	build_one_handle(test, &b, TPM2_CC_READ_PUBLIC, o1);
	space_send(test, space, &b);
	KUNIT_EXPECT_EQ(test, rsp_code(test), RM_LAYER | 0x902);
	KUNIT_EXPECT_EQ(test, space_read_public(test, space, o1), 1);

	tpm2_fake_inject(ctx->fake, TPM2_CC_CONTEXT_LOAD, 1,
			 TPM2_FAKE_RC_INTEGRITY_P1);
	build_one_handle(test, &b, TPM2_CC_READ_PUBLIC, o1);
	space_send(test, space, &b);
	KUNIT_EXPECT_EQ(test, rsp_code(test), RM_LAYER | 0x910);
	before = tpm2_fake_cmd_count(ctx->fake, TPM2_FAKE_ANY_CC);
	build_one_handle(test, &b, TPM2_CC_READ_PUBLIC, o1);
	space_send(test, space, &b);
	KUNIT_EXPECT_EQ(test, rsp_code(test), RM_LAYER | 0x910);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake, TPM2_FAKE_ANY_CC),
			before);
	KUNIT_EXPECT_EQ(test, space_read_public(test, space, o2), 2);

	/* a session whose save fails is lost alone */
	tpm2_fake_inject(ctx->fake, TPM2_CC_CONTEXT_SAVE, 1,
			 TPM2_FAKE_RC_MEMORY);
	build_get_random(test, &b, s1, TPM2_SA_CONTINUE_SESSION);
	space_send_ok(test, space, &b);
	build_get_random(test, &b, s1, TPM2_SA_CONTINUE_SESSION);
	space_send(test, space, &b);
	KUNIT_EXPECT_EQ(test, rsp_code(test), RM_LAYER | 0x918);
	build_get_random(test, &b, s2, TPM2_SA_CONTINUE_SESSION);
	space_send_ok(test, space, &b);
	expect_no_slot_held(test);
	KUNIT_EXPECT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 1);
}

/*
 * The resource manager asks the TPM for its session limits once, at the
 * first command it does not refuse itself, and goes by what the TPM says.
 */
static void tpm2_space_reads_limits_once(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *space = space_open(test);
	const struct tpm2_fake_cmd *rec;
	struct tpm_buf b;

	tpm2_fake_set_context_gap(ctx->fake, 40);
	space_send_raw(test, space, malformed_cases[0].raw,
		       malformed_cases[0].len);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake, TPM2_FAKE_ANY_CC),
			0);

	build_get_random(test, &b, TPM2_RS_PW, 0);
	space_send_ok(test, space, &b);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake,
						  TPM2_CC_GET_CAPABILITY), 2);
	rec = tpm2_fake_last_cmd(ctx->fake, TPM2_CC_GET_CAPABILITY);
	KUNIT_ASSERT_NOT_NULL(test, rec);
	KUNIT_EXPECT_EQ(test, rec->arg[0], TPM2_CAP_TPM_PROPERTIES);
	KUNIT_EXPECT_EQ(test, ctx->chip->rm->gap_max, 40);
	KUNIT_EXPECT_EQ(test, ctx->chip->rm->active_max,
			TPM2_FAKE_MAX_ACTIVE_SESSIONS);

	build_get_random(test, &b, TPM2_RS_PW, 0);
	space_send_ok(test, space, &b);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake,
						  TPM2_CC_GET_CAPABILITY), 2);
	expect_no_slot_held(test);
}

/* ------------------------------------------------------------------ */
/* The model itself                                                    */
/* ------------------------------------------------------------------ */

static void tpm2_fake_model_objects(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	u32 handle[TPM2_FAKE_MAX_OBJECTS], copy, blob_len;
	struct tpm_buf b;
	u8 blob[64];
	int i;

	for (i = 0; i < TPM2_FAKE_MAX_OBJECTS; i++) {
		build_create_primary(test, &b);
		KUNIT_ASSERT_EQ(test, raw_send(test, &b, &handle[i]), 0);
		KUNIT_EXPECT_TRUE(test, is_transient(handle[i]));
		KUNIT_EXPECT_EQ(test, tpm2_fake_object_id(ctx->fake, handle[i]),
				i + 1);
	}
	KUNIT_EXPECT_EQ(test, tpm2_fake_loaded_objects(ctx->fake),
			TPM2_FAKE_MAX_OBJECTS);

	build_create_primary(test, &b);
	KUNIT_EXPECT_EQ(test, raw_send(test, &b, NULL),
			TPM2_FAKE_RC_OBJECT_MEMORY);

	/* ContextSave leaves an object loaded */
	KUNIT_ASSERT_EQ(test, raw_context_save(test, handle[0], blob,
					       &blob_len), 0);
	KUNIT_EXPECT_EQ(test, tpm2_fake_loaded_objects(ctx->fake),
			TPM2_FAKE_MAX_OBJECTS);
	KUNIT_EXPECT_EQ(test, tpm2_fake_context_sequence(ctx->fake), 1);

	/* no slot to load it into */
	KUNIT_EXPECT_EQ(test, raw_context_load(test, blob, blob_len, NULL),
			TPM2_FAKE_RC_OBJECT_MEMORY);

	raw_flush(test, handle[0]);
	raw_flush(test, handle[1]);
	KUNIT_EXPECT_EQ(test, tpm2_fake_loaded_objects(ctx->fake), 1);
	KUNIT_EXPECT_EQ(test, tpm2_fake_object_id(ctx->fake, handle[0]), 0);

	/* an object context may be loaded more than once */
	for (i = 0; i < 2; i++) {
		KUNIT_ASSERT_EQ(test, raw_context_load(test, blob, blob_len,
						       &copy), 0);
		KUNIT_EXPECT_EQ(test, tpm2_fake_object_id(ctx->fake, copy), 1);
	}

	/* a damaged context fails the integrity check */
	raw_flush(test, handle[2]);
	blob[blob_len - 1] ^= 1;
	KUNIT_EXPECT_EQ(test, tpm2_rc_value(raw_context_load(test, blob,
							     blob_len, NULL)),
			TPM2_RC_INTEGRITY);
}

static void tpm2_fake_model_sessions(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	u32 session[TPM2_FAKE_MAX_LOADED_SESSIONS], back;
	struct tpm_buf b;
	u32 blob_len;
	u8 blob[64];
	int i;

	for (i = 0; i < TPM2_FAKE_MAX_LOADED_SESSIONS; i++) {
		build_start_auth_session(test, &b, i ? TPM2_SE_POLICY :
						   TPM2_SE_HMAC);
		KUNIT_ASSERT_EQ(test, raw_send(test, &b, &session[i]), 0);
	}
	KUNIT_EXPECT_EQ(test, session[0], TPM2_FAKE_HT_HMAC_SESSION);
	KUNIT_EXPECT_EQ(test, session[1], TPM2_FAKE_HT_POLICY_SESSION | 1);

	build_start_auth_session(test, &b, TPM2_SE_HMAC);
	KUNIT_EXPECT_EQ(test, raw_send(test, &b, NULL),
			TPM2_FAKE_RC_SESSION_MEMORY);

	/* ContextSave unloads a session */
	KUNIT_ASSERT_EQ(test, raw_context_save(test, session[0], blob,
					       &blob_len), 0);
	KUNIT_EXPECT_EQ(test, tpm2_fake_loaded_sessions(ctx->fake), 2);
	KUNIT_EXPECT_EQ(test, tpm2_fake_saved_sessions(ctx->fake), 1);
	KUNIT_EXPECT_EQ(test, tpm2_fake_session_state(ctx->fake, session[0]),
			TPM2_FAKE_SESSION_SAVED);

	/* a saved session cannot be saved again */
	KUNIT_EXPECT_EQ(test, raw_context_save(test, session[0], blob,
					       &blob_len), TPM2_RC_REFERENCE_H0);

	/* loading it gives the same handle back and consumes the blob */
	KUNIT_ASSERT_EQ(test, raw_context_load(test, blob, blob_len, &back), 0);
	KUNIT_EXPECT_EQ(test, back, session[0]);
	KUNIT_EXPECT_EQ(test, tpm2_fake_loaded_sessions(ctx->fake), 3);
	KUNIT_EXPECT_EQ(test, tpm2_rc_value(raw_context_load(test, blob,
							     blob_len, NULL)),
			TPM2_RC_HANDLE);

	/* flushing a saved session ends it */
	KUNIT_ASSERT_EQ(test, raw_context_save(test, session[2], blob,
					       &blob_len), 0);
	raw_flush(test, session[2]);
	KUNIT_EXPECT_EQ(test, tpm2_fake_session_state(ctx->fake, session[2]),
			TPM2_FAKE_SESSION_NONE);
	KUNIT_EXPECT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 2);
}

static void tpm2_fake_model_active_sessions(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_buf b;
	u32 session, len;
	u8 blob[64];
	int i;

	for (i = 0; i < TPM2_FAKE_MAX_ACTIVE_SESSIONS; i++) {
		build_start_auth_session(test, &b, TPM2_SE_HMAC);
		KUNIT_ASSERT_EQ(test, raw_send(test, &b, &session), 0);
		KUNIT_ASSERT_EQ(test, raw_context_save(test, session, blob,
						       &len), 0);
	}
	KUNIT_EXPECT_EQ(test, tpm2_fake_active_sessions(ctx->fake),
			TPM2_FAKE_MAX_ACTIVE_SESSIONS);
	KUNIT_EXPECT_EQ(test, tpm2_fake_loaded_sessions(ctx->fake), 0);

	build_start_auth_session(test, &b, TPM2_SE_HMAC);
	KUNIT_EXPECT_EQ(test, raw_send(test, &b, NULL),
			TPM2_FAKE_RC_SESSION_HANDLES);
}

static void tpm2_fake_model_injection(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	u32 handle, len;
	struct tpm_buf b;
	u8 blob[64];
	int i;

	build_create_primary(test, &b);
	KUNIT_ASSERT_EQ(test, raw_send(test, &b, &handle), 0);

	KUNIT_ASSERT_EQ(test, tpm2_fake_inject(ctx->fake, TPM2_CC_CONTEXT_SAVE,
					       2, TPM2_FAKE_RC_CONTEXT_GAP), 0);
	KUNIT_ASSERT_EQ(test, tpm2_fake_inject_next(ctx->fake,
						    TPM2_FAKE_RC_MEMORY), 0);
	KUNIT_EXPECT_EQ(test, tpm2_fake_injections_pending(ctx->fake), 2);

	/* the next command, whatever it is */
	build_get_random(test, &b, TPM2_RS_PW, 0);
	KUNIT_EXPECT_EQ(test, raw_send(test, &b, NULL), TPM2_FAKE_RC_MEMORY);

	/* the second ContextSave from now */
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, raw_context_save(test, handle, blob,
						       &len),
				i == 1 ? TPM2_FAKE_RC_CONTEXT_GAP : 0);
	KUNIT_EXPECT_EQ(test, tpm2_fake_injections_pending(ctx->fake), 0);
	KUNIT_EXPECT_EQ(test, tpm2_fake_context_sequence(ctx->fake), 2);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake,
						  TPM2_CC_CONTEXT_SAVE), 3);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake,
						  TPM2_FAKE_ANY_CC), 5);
	KUNIT_EXPECT_TRUE(test, tpm2_fake_log_entry(ctx->fake, 1)->injected);

	/* unknown commands */
	cmd_init(test, &b, TPM2_ST_NO_SESSIONS, TPM2_CC_PCR_READ);
	KUNIT_EXPECT_EQ(test, raw_send(test, &b, NULL),
			TPM2_FAKE_RC_COMMAND_CODE);
}

/*
 * The index of @cc in the chip's command attributes, or -1. tpm2_find_cc()
 * does the same, but the TPM core does not export it to this module.
 */
static int cc_attrs_index(struct tpm_chip *chip, u32 cc)
{
	u32 mask = BIT(TPM2_CC_ATTR_VENDOR) | GENMASK(15, 0);
	int i;

	for (i = 0; i < chip->nr_commands; i++)
		if ((chip->cc_attrs_tbl[i] & mask) == cc)
			return i;
	return -1;
}

static void tpm2_fake_model_get_capability(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	u32 handle[2], attrs, len;
	struct tpm_buf b;
	u8 out[64];
	int i;

	/* the fixture read the command attributes from the fake */
	i = cc_attrs_index(ctx->chip, TPM2_CC_START_AUTH_SESS);
	KUNIT_ASSERT_GE(test, i, 0);
	attrs = ctx->chip->cc_attrs_tbl[i];
	KUNIT_EXPECT_EQ(test, (attrs >> TPM2_CC_ATTR_CHANDLES) & 7, 2);
	KUNIT_EXPECT_EQ(test, (attrs >> TPM2_CC_ATTR_RHANDLE) & 1, 1);
	KUNIT_EXPECT_LT(test, cc_attrs_index(ctx->chip, TPM2_CC_PCR_READ), 0);

	for (i = 0; i < 2; i++) {
		build_create_primary(test, &b);
		KUNIT_ASSERT_EQ(test, raw_send(test, &b, &handle[i]), 0);
	}

	/* moreData, capability, count, handles */
	build_get_capability(test, &b, TPM2_CAP_HANDLES,
			     TPM2_FAKE_HT_TRANSIENT, 1);
	KUNIT_ASSERT_EQ(test, raw_xfer(test, &b, NULL, out, &len), 0);
	KUNIT_ASSERT_EQ(test, len, 13);
	KUNIT_EXPECT_EQ(test, out[0], 1);
	KUNIT_EXPECT_EQ(test, get_unaligned_be32(out + 5), 1);
	KUNIT_EXPECT_EQ(test, get_unaligned_be32(out + 9),
			min(handle[0], handle[1]));
}

/* ------------------------------------------------------------------ */
/* Session exhaustion and the context gap                              */
/* ------------------------------------------------------------------ */

struct saved_param {
	unsigned int *param;
	unsigned int value;
};

static void param_restore(void *data)
{
	struct saved_param *saved = data;

	*saved->param = saved->value;
}

/* Sets a module parameter for the rest of the test. */
static void param_set(struct kunit *test, unsigned int *param,
		      unsigned int value)
{
	struct saved_param *saved;

	saved = kunit_kzalloc(test, sizeof(*saved), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, saved);
	saved->param = param;
	saved->value = *param;
	*param = value;
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, param_restore,
							saved), 0);
}

static long rm_stat(atomic_long_t *counter)
{
	return atomic_long_read(counter);
}

/* Uses an HMAC session in a command; returns the response code. */
static u32 space_use_session(struct kunit *test, struct tpm_space *space,
			     u32 sess)
{
	struct tpm_buf b;

	build_get_random(test, &b, sess, TPM2_SA_CONTINUE_SESSION);
	space_send(test, space, &b);
	return rsp_code(test);
}

/* Fills the fake's session handles: @n spaces of @per sessions each. */
static void fill_sessions(struct kunit *test, struct tpm_space **spaces,
			  u32 *handles, unsigned int n, unsigned int per)
{
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		spaces[i] = space_open(test);
		for (j = 0; j < per; j++)
			handles[i * per + j] =
				space_start_session(test, spaces[i],
						    TPM2_SE_HMAC);
	}
}

/*
 * The resource manager's clock, tpm2_rm_now(), runs ctx->clock_lag behind
 * jiffies in the cases that age sessions. The clock starts in the past and
 * is only ever moved on up to the present, never beyond, so that it never
 * runs backwards when a case lets it catch up: a session used while it
 * lags looks idle for that long already.
 */
static unsigned long test_clock_now(void)
{
	struct tpm2_space_test *ctx = kunit_get_current_test()->priv;

	return jiffies - ctx->clock_lag;
}

/* Sets the resource manager's clock @ms back, for the rest of the test. */
static void clock_start_in_past(struct kunit *test, unsigned int ms)
{
	struct tpm2_space_test *ctx = test->priv;

	ctx->clock_lag = msecs_to_jiffies(ms);
	kunit_activate_static_stub(test, tpm2_rm_now, test_clock_now);
}

/* Moves the resource manager's clock @ms on, at most to the present. */
static void clock_advance(struct kunit *test, unsigned int ms)
{
	struct tpm2_space_test *ctx = test->priv;
	unsigned long step = msecs_to_jiffies(ms);

	KUNIT_ASSERT_LE(test, step, ctx->clock_lag);
	ctx->clock_lag -= step;
}

/* A clock that jumps ctx->clock_tick further on at every reading. */
static unsigned long test_clock_ticking(void)
{
	struct tpm2_space_test *ctx = kunit_get_current_test()->priv;

	ctx->clock_now += ctx->clock_tick;
	return ctx->clock_now;
}

/* From now on each reading of the resource manager's clock is @ms later. */
static void clock_start_ticking(struct kunit *test, unsigned int ms)
{
	struct tpm2_space_test *ctx = test->priv;

	ctx->clock_now = jiffies;
	ctx->clock_tick = msecs_to_jiffies(ms);
	kunit_activate_static_stub(test, tpm2_rm_now, test_clock_ticking);
}

/* Uses sessions @first to @last of fill_sessions(); each use must work. */
static void expect_sessions_work(struct kunit *test, struct tpm_space **spaces,
				 const u32 *handles, unsigned int per,
				 unsigned int first, unsigned int last)
{
	unsigned int i;

	for (i = first; i <= last; i++)
		KUNIT_EXPECT_EQ(test, space_use_session(test, spaces[i / per],
							handles[i]),
				TPM2_RC_SUCCESS);
}

/*
 * Out of session handles, the least recently used idle session is evicted
 * and StartAuthSession sent again. The owner of the evicted session gets
 * the defined error, even though the TPM gave the handle to the newcomer.
 */
static void tpm2_space_evicts_for_new_session(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm2_rm_stats *st = &ctx->chip->rm->stats;
	struct tpm_space *spaces[4], *newcomer;
	u32 handles[64], fresh;

	param_set(test, &tpm2_space_session_grace_ms, 1000);
	clock_start_in_past(test, 5000);
	fill_sessions(test, spaces, handles, 4, 16);
	KUNIT_ASSERT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 64);
	/* handles[0] idles for 5 s, handles[1] for 3 s, the others not */
	clock_advance(test, 2000);
	expect_sessions_work(test, spaces, handles, 16, 1, 1);
	clock_advance(test, 3000);
	expect_sessions_work(test, spaces, handles, 16, 2, 63);

	newcomer = space_open(test);
	fresh = space_start_session(test, newcomer, TPM2_SE_HMAC);
	KUNIT_EXPECT_EQ(test, rm_stat(&st->evictions), 1);
	KUNIT_EXPECT_EQ(test, rm_stat(&st->resends), 1);
	/* at once: a session had idled for the grace period already */
	KUNIT_EXPECT_EQ(test, rm_stat(&st->waits), 0);
	KUNIT_EXPECT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 64);
	/* the fake hands out the freed handle again */
	KUNIT_EXPECT_EQ(test, fresh, handles[0]);

	KUNIT_EXPECT_EQ(test, space_use_session(test, newcomer, fresh),
			TPM2_RC_SUCCESS);
	KUNIT_EXPECT_EQ(test, space_use_session(test, spaces[0], handles[0]),
			RM_LAYER | TPM2_RC_REFERENCE_S0);
	/* told once: the handle is simply not the space's any more */
	KUNIT_EXPECT_NE(test, space_use_session(test, spaces[0], handles[0]),
			TPM2_RC_SUCCESS);
	expect_sessions_work(test, spaces, handles, 16, 1, 1);
	KUNIT_EXPECT_EQ(test, space_use_session(test, newcomer, fresh),
			TPM2_RC_SUCCESS);
	expect_no_slot_held(test);
}

/*
 * Abandoned sessions go first, then a hog's, although other sessions have
 * idled longer.
 */
static void tpm2_space_victim_order(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *hog, *small[3], *others[8], *quitter, *newcomer;
	u32 hogs[20], smalls[3], busy[40], gone, fresh;
	u8 blob[64];

	param_set(test, &tpm2_space_max_sessions, 20);
	param_set(test, &tpm2_space_session_grace_ms, 1000);
	clock_start_in_past(test, 9000);
	/* the small spaces' sessions are the least recently used */
	fill_sessions(test, small, smalls, 3, 1);
	clock_advance(test, 6000);
	fill_sessions(test, &hog, hogs, 1, 20);
	quitter = space_open(test);
	gone = space_start_session(test, quitter, TPM2_SE_POLICY);
	space_context_save(test, quitter, gone, blob);
	space_close(quitter);
	/* and sessions of spaces within their share, too new to go */
	clock_advance(test, 3000);
	fill_sessions(test, others, busy, 8, 5);
	KUNIT_ASSERT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 64);

	newcomer = space_open(test);
	fresh = space_start_session(test, newcomer, TPM2_SE_HMAC);
	KUNIT_EXPECT_EQ(test, fresh, (gone & ~TPM2_FAKE_HT_MASK) |
			TPM2_FAKE_HT_HMAC_SESSION);
	KUNIT_EXPECT_EQ(test, tpm2_fake_session_state(ctx->fake, gone),
			TPM2_FAKE_SESSION_NONE);

	/* 64 handles for 13 spaces: the hog's 20 are over its share of 4 */
	fresh = space_start_session(test, newcomer, TPM2_SE_HMAC);
	KUNIT_EXPECT_EQ(test, space_use_session(test, hog, fresh),
			RM_LAYER | TPM2_RC_REFERENCE_S0);
	KUNIT_EXPECT_EQ(test, rm_stat(&ctx->chip->rm->stats.evictions), 2);
	KUNIT_EXPECT_EQ(test, rm_stat(&ctx->chip->rm->stats.waits), 0);
	expect_sessions_work(test, small, smalls, 1, 0, 2);
	expect_no_slot_held(test);
}

/*
 * Sets the grace period and the longest wait, takes all 64 session handles
 * of the fake, 16 for each of four spaces, and opens a space that will want
 * one more.
 */
static struct tpm_space *exhaust_session_handles(struct kunit *test,
						 unsigned int grace_ms,
						 unsigned int wait_ms,
						 struct tpm_space **spaces,
						 u32 *handles)
{
	param_set(test, &tpm2_space_session_grace_ms, grace_ms);
	param_set(test, &tpm2_space_session_wait_ms, wait_ms);
	fill_sessions(test, spaces, handles, 4, 16);
	return space_open(test);
}

/*
 * With no session idle long enough, StartAuthSession waits without the
 * chip until one has aged past the grace period, then gets its handle.
 */
static void tpm2_space_waits_for_grace(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm2_rm_stats *st = &ctx->chip->rm->stats;
	struct tpm_space *spaces[4], *newcomer;
	unsigned long start;
	u32 handles[64];

	newcomer = exhaust_session_handles(test, 300, 5000, spaces, handles);
	start = jiffies;
	space_start_session(test, newcomer, TPM2_SE_HMAC);
	KUNIT_EXPECT_GE(test, rm_stat(&st->waits), 1);
	KUNIT_EXPECT_EQ(test, rm_stat(&st->evictions), 1);
	KUNIT_EXPECT_TRUE(test, time_after_eq(jiffies,
					      start + msecs_to_jiffies(200)));
	KUNIT_EXPECT_TRUE(test, list_empty(&ctx->chip->rm->waiters));
	expect_no_slot_held(test);
}

/* A wait that runs out gives the client the TPM's code; nothing is lost. */
static void tpm2_space_wait_is_bounded(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *spaces[4], *newcomer;
	struct tpm_buf b;
	u32 handles[64];

	newcomer = exhaust_session_handles(test, 60000, 200, spaces, handles);
	build_start_auth_session(test, &b, TPM2_SE_HMAC);
	space_send(test, newcomer, &b);
	KUNIT_EXPECT_EQ(test, rsp_code(test), TPM2_FAKE_RC_SESSION_HANDLES);
	KUNIT_EXPECT_EQ(test, rm_stat(&ctx->chip->rm->stats.evictions), 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&ctx->chip->rm->waiters));
	expect_sessions_work(test, spaces, handles, 16, 0, 63);
	expect_no_slot_held(test);
}

/*
 * The wait for a session handle is measured on tpm2_rm_now(), like the
 * idle times: on a clock that jumps 5 s at every reading, a wait of at
 * most 3 s is over at once, without sleeping for real, and nobody is
 * evicted, for the grace period is 10 min.
 */
static void tpm2_space_wait_runs_on_rm_clock(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *spaces[4], *newcomer;
	unsigned long start;
	struct tpm_buf b;
	u32 handles[64];

	newcomer = exhaust_session_handles(test, 600000, 3000, spaces, handles);
	clock_start_ticking(test, 5000);
	build_start_auth_session(test, &b, TPM2_SE_HMAC);
	start = jiffies;
	space_send(test, newcomer, &b);
	KUNIT_EXPECT_LT(test, jiffies - start, msecs_to_jiffies(1000));
	KUNIT_EXPECT_EQ(test, rsp_code(test), TPM2_FAKE_RC_SESSION_HANDLES);
	KUNIT_EXPECT_GE(test, rm_stat(&ctx->chip->rm->stats.waits), 1);
	KUNIT_EXPECT_EQ(test, rm_stat(&ctx->chip->rm->stats.evictions), 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&ctx->chip->rm->waiters));
	expect_no_slot_held(test);
}

/*
 * TPM_RC_SESSION_MEMORY means loaded slots held outside the RM: evicting
 * saved sessions cannot help, so the client gets the RM's code at once,
 * although a session has idled past the grace period.
 */
static void tpm2_space_session_memory_is_not_evicted_for(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *space;
	struct tpm_buf b;
	u32 sess;

	param_set(test, &tpm2_space_session_grace_ms, 1000);
	clock_start_in_past(test, 2000);
	space = space_open(test);
	sess = space_start_session(test, space, TPM2_SE_HMAC);
	clock_advance(test, 2000);
	tpm2_fake_inject(ctx->fake, TPM2_CC_START_AUTH_SESS, 1,
			 TPM2_FAKE_RC_SESSION_MEMORY);
	build_start_auth_session(test, &b, TPM2_SE_HMAC);
	space_send(test, space, &b);
	KUNIT_EXPECT_EQ(test, rsp_code(test), RM_LAYER | 0x903);
	KUNIT_EXPECT_EQ(test, rm_stat(&ctx->chip->rm->stats.evictions), 0);
	KUNIT_EXPECT_EQ(test, space_use_session(test, space, sess),
			TPM2_RC_SUCCESS);
	expect_no_slot_held(test);
}

/*
 * An evicted session leaves a tombstone in its space: a FlushContext of it
 * is answered without the TPM, whose handle is someone else's now, and a
 * ContextLoad of its blob gets the defined error. Each is told once.
 */
static void tpm2_space_tombstones(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *a, *others[2], *newcomer;
	u32 s1, s2, len, flushes, fresh, handles[62];
	struct tpm_buf b;
	u8 blob[64];

	param_set(test, &tpm2_space_max_sessions, 31);
	param_set(test, &tpm2_space_session_grace_ms, 1000);
	clock_start_in_past(test, 5000);
	a = space_open(test);
	s1 = space_start_session(test, a, TPM2_SE_HMAC);
	s2 = space_start_session(test, a, TPM2_SE_POLICY);
	len = space_context_save(test, a, s2, blob);
	clock_advance(test, 5000);
	fill_sessions(test, others, handles, 2, 31);
	newcomer = space_open(test);
	fresh = space_start_session(test, newcomer, TPM2_SE_HMAC);
	space_start_session(test, newcomer, TPM2_SE_HMAC);
	KUNIT_EXPECT_EQ(test, rm_stat(&ctx->chip->rm->stats.evictions), 2);
	KUNIT_EXPECT_EQ(test, rm_stat(&ctx->chip->rm->stats.waits), 0);
	KUNIT_EXPECT_EQ(test, tpm2_fake_session_state(ctx->fake, s2),
			TPM2_FAKE_SESSION_NONE);
	KUNIT_EXPECT_EQ(test, a->nr_sessions, 0);
	KUNIT_ASSERT_EQ(test, fresh, s1);

	flushes = tpm2_fake_cmd_count(ctx->fake, TPM2_CC_FLUSH_CONTEXT);
	build_one_handle(test, &b, TPM2_CC_FLUSH_CONTEXT, s1);
	space_send_ok(test, a, &b);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake,
						  TPM2_CC_FLUSH_CONTEXT),
			flushes);
	KUNIT_EXPECT_EQ(test, space_use_session(test, newcomer, fresh),
			TPM2_RC_SUCCESS);
	build_one_handle(test, &b, TPM2_CC_FLUSH_CONTEXT, s1);
	space_send(test, a, &b);
	KUNIT_EXPECT_EQ(test, rsp_code(test), RM_REFUSED_P1);

	space_context_load(test, a, blob, len);
	KUNIT_EXPECT_EQ(test, rsp_code(test), RM_LAYER | TPM2_RC_REFERENCE_H0);
	space_context_load(test, a, blob, len);
	KUNIT_EXPECT_NE(test, rsp_code(test), TPM2_RC_SUCCESS);
	KUNIT_EXPECT_NE(test, rsp_code(test), RM_LAYER | TPM2_RC_REFERENCE_H0);
	expect_no_slot_held(test);
}

/* Is a re-gap due? Asked as the resource manager asks, under tpm_mutex. */
static bool gap_due(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	bool due;

	mutex_lock(&ctx->chip->tpm_mutex);
	due = tpm2_rm_gap_due(ctx->chip->rm);
	mutex_unlock(&ctx->chip->tpm_mutex);
	return due;
}

/* Cycles a session of @space @n times; every use must succeed. */
static void cycle_session(struct kunit *test, struct tpm_space *space,
			  u32 sess, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		KUNIT_ASSERT_EQ(test, space_use_session(test, space, sess),
				TPM2_RC_SUCCESS);
}

/* The oldest session is re-gapped before the TPM would refuse a save. */
static void tpm2_space_regap_before_the_limit(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *idle = space_open(test);
	struct tpm_space *busy = space_open(test);
	u32 s_idle, s_busy;

	/* the resource manager reads it at its first command */
	tpm2_fake_set_context_gap(ctx->fake, 32);
	s_idle = space_start_session(test, idle, TPM2_SE_HMAC);
	s_busy = space_start_session(test, busy, TPM2_SE_HMAC);
	KUNIT_EXPECT_FALSE(test, gap_due(test));
	tpm2_fake_reset_counters(ctx->fake);
	cycle_session(test, busy, s_busy, 200);
	KUNIT_EXPECT_GE(test, rm_stat(&ctx->chip->rm->stats.regaps), 5);
	/* and that costs no command of the client's */
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake,
						  TPM2_FAKE_ANY_CC) - rm_cmds(ctx),
			200);
	KUNIT_EXPECT_EQ(test, space_use_session(test, idle, s_idle),
			TPM2_RC_SUCCESS);
	KUNIT_EXPECT_FALSE(test, gap_due(test));
	expect_no_slot_held(test);
}

/* TPM_RC_CONTEXT_GAP on the RM's save, or the client's, is cured. */
static void tpm2_space_regap_on_context_gap(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *idle = space_open(test);
	struct tpm_space *busy = space_open(test);
	struct tpm2_rm_stats *st = &ctx->chip->rm->stats;
	u32 s_idle, s_busy, len;
	u8 blob[64];

	s_idle = space_start_session(test, idle, TPM2_SE_HMAC);
	s_busy = space_start_session(test, busy, TPM2_SE_HMAC);

	/* the RM's own save after the command */
	tpm2_fake_inject(ctx->fake, TPM2_CC_CONTEXT_SAVE, 1,
			 TPM2_FAKE_RC_CONTEXT_GAP);
	KUNIT_EXPECT_EQ(test, space_use_session(test, busy, s_busy),
			TPM2_RC_SUCCESS);
	KUNIT_EXPECT_EQ(test, rm_stat(&st->regaps), 1);
	expect_no_slot_held(test);

	/* the client's own ContextSave */
	tpm2_fake_inject(ctx->fake, TPM2_CC_CONTEXT_SAVE, 1,
			 TPM2_FAKE_RC_CONTEXT_GAP);
	len = space_context_save(test, busy, s_busy, blob);
	KUNIT_EXPECT_GT(test, len, 0);
	KUNIT_EXPECT_EQ(test, rm_stat(&st->regaps), 2);
	KUNIT_EXPECT_EQ(test, rm_stat(&st->resends), 1);

	KUNIT_EXPECT_EQ(test, space_use_session(test, idle, s_idle),
			TPM2_RC_SUCCESS);
	space_context_load(test, busy, blob, len);
	KUNIT_EXPECT_EQ(test, rsp_code(test), TPM2_RC_SUCCESS);
	KUNIT_EXPECT_EQ(test, space_use_session(test, busy, s_busy),
			TPM2_RC_SUCCESS);
}

/*
 * A blob the client saved itself still loads after a re-gap used it up:
 * the RM gives the TPM the current one instead.
 */
static void tpm2_space_regapped_blob_substituted(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *holder, *busy;
	struct tpm2_rm_session *rec;
	u32 s_held, s_busy, len;
	u8 blob[64];

	tpm2_fake_set_context_gap(ctx->fake, 32);
	holder = space_open(test);
	busy = space_open(test);
	s_held = space_start_session(test, holder, TPM2_SE_POLICY);
	len = space_context_save(test, holder, s_held, blob);
	s_busy = space_start_session(test, busy, TPM2_SE_HMAC);
	cycle_session(test, busy, s_busy, 100);

	rec = tpm2_rm_session_find(holder, s_held);
	KUNIT_ASSERT_NOT_NULL(test, rec);
	KUNIT_EXPECT_NE(test, rec->seq, rec->client_seq);
	KUNIT_EXPECT_EQ(test, rec->client_seq, get_unaligned_be64(blob));

	space_context_load(test, holder, blob, len);
	KUNIT_EXPECT_EQ(test, rsp_code(test), TPM2_RC_SUCCESS);
	KUNIT_EXPECT_EQ(test, rsp_u32(test, TPM_HEADER_SIZE), s_held);
	/* once loaded, the old blob is no good, as with a TPM */
	space_context_save(test, holder, s_held, blob + 32);
	space_context_load(test, holder, blob, len);
	KUNIT_EXPECT_NE(test, rsp_code(test), TPM2_RC_SUCCESS);
}

/* The fake's model of a TPM, driven without a resource manager. */
static struct kunit_case tpm2_fake_model_cases[] = {
	KUNIT_CASE(tpm2_fake_model_objects),
	KUNIT_CASE(tpm2_fake_model_sessions),
	KUNIT_CASE(tpm2_fake_model_active_sessions),
	KUNIT_CASE(tpm2_fake_model_injection),
	KUNIT_CASE(tpm2_fake_model_get_capability),
	{}
};

static struct kunit_case tpm2_space_test_cases[] = {
	KUNIT_CASE(tpm2_space_create_primary_virtual_handle),
	KUNIT_CASE(tpm2_space_vhandle_reaches_tpm_as_phandle),
	KUNIT_CASE(tpm2_space_del_space_flushes),
	KUNIT_CASE(tpm2_space_session_loaded_for_command),
	KUNIT_CASE(tpm2_space_flush_vhandle),
	KUNIT_CASE(tpm2_space_isolation),
	KUNIT_CASE(tpm2_space_more_objects_than_slots),
	KUNIT_CASE(tpm2_space_transmit_error),
	KUNIT_CASE(tpm2_space_unknown_command),
	KUNIT_CASE_PARAM(tpm2_space_malformed, malformed_gen_params),
	KUNIT_CASE(tpm2_space_loads_only_named),
	KUNIT_CASE(tpm2_space_quotas),
	KUNIT_CASE(tpm2_space_context_rules),
	KUNIT_CASE(tpm2_space_object_context_save_load),
	KUNIT_CASE(tpm2_space_idle_cost),
	KUNIT_CASE(tpm2_space_foreign_session),
	KUNIT_CASE(tpm2_space_abandoned_session),
	KUNIT_CASE(tpm2_space_load_errors_stay_local),
	KUNIT_CASE(tpm2_space_reads_limits_once),
	{}
};

static struct kunit_case tpm2_space_exhaustion_cases[] = {
	KUNIT_CASE(tpm2_space_evicts_for_new_session),
	KUNIT_CASE(tpm2_space_victim_order),
	KUNIT_CASE(tpm2_space_waits_for_grace),
	KUNIT_CASE(tpm2_space_wait_is_bounded),
	KUNIT_CASE(tpm2_space_wait_runs_on_rm_clock),
	KUNIT_CASE(tpm2_space_session_memory_is_not_evicted_for),
	KUNIT_CASE(tpm2_space_tombstones),
	KUNIT_CASE(tpm2_space_regap_before_the_limit),
	KUNIT_CASE(tpm2_space_regap_on_context_gap),
	KUNIT_CASE(tpm2_space_regapped_blob_substituted),
	{}
};

static struct kunit_suite tpm2_fake_model_suite = {
	.name = "tpm2_fake",
	.init = tpm2_space_test_init,
	.test_cases = tpm2_fake_model_cases,
};

static struct kunit_suite tpm2_space_test_suite = {
	.name = "tpm2_space",
	.init = tpm2_space_test_init,
	.test_cases = tpm2_space_test_cases,
};

static struct kunit_suite tpm2_space_exhaustion_suite = {
	.name = "tpm2_space_exhaustion",
	.init = tpm2_space_test_init,
	.test_cases = tpm2_space_exhaustion_cases,
};

/* ------------------------------------------------------------------ */
/* The wait for a session handle: liveness                             */
/* ------------------------------------------------------------------ */

/* A head of the line whose time is up does not keep the others waiting. */
static void tpm2_space_expired_head_does_not_block(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm2_rm_chip *rm = ctx->chip->rm;
	struct tpm_space *spaces[4], *stale, *newcomer;
	unsigned long start;
	u32 handles[64];
	struct tpm_buf b;
	long waits;

	param_set(test, &tpm2_space_session_grace_ms, 1000);
	param_set(test, &tpm2_space_session_wait_ms, 300);
	clock_start_in_past(test, 5000);
	fill_sessions(test, spaces, handles, 4, 16);

	/* in line, with no command in flight and its time long up */
	stale = space_open(test);
	mutex_lock(&ctx->chip->tpm_mutex);
	stale->wait_deadline = tpm2_rm_now() - msecs_to_jiffies(1000);
	list_add_tail(&stale->wait_node, &rm->waiters);
	mutex_unlock(&ctx->chip->tpm_mutex);

	clock_advance(test, 5000);
	newcomer = space_open(test);
	waits = rm_stat(&rm->stats.waits);
	start = jiffies;
	build_start_auth_session(test, &b, TPM2_SE_HMAC);
	/* blocked, it would get the TPM's 0x905 at its own deadline: bounded */
	KUNIT_ASSERT_GE(test, space_send(test, newcomer, &b),
			(ssize_t)TPM_HEADER_SIZE);
	KUNIT_ASSERT_EQ_MSG(test, rsp_code(test), TPM2_RC_SUCCESS,
			    "waited %u ms behind a head whose time was up",
			    jiffies_to_msecs(jiffies - start));
	KUNIT_EXPECT_EQ(test, rm_stat(&rm->stats.waits), waits);
	KUNIT_EXPECT_EQ(test, rm_stat(&rm->stats.evictions), 1);
	KUNIT_EXPECT_LT(test, jiffies - start, msecs_to_jiffies(200));
	expect_no_slot_held(test);
}

/*
 * The clock of tpm2_space_wait_failed_ops_leaves_line(): the present, and
 * once a command has lined up the chip is disabled, so that its
 * tpm_try_get_ops() fails when it comes back from the wait, as after an
 * unplug. Without a second thread, the case cannot hang.
 */
static unsigned long test_clock_disabling_chip(void)
{
	struct tpm2_space_test *ctx = kunit_get_current_test()->priv;

	if (atomic_long_read(&ctx->chip->rm->stats.waits))
		ctx->chip->flags |= TPM_CHIP_FLAG_DISABLE;
	return jiffies;
}

static bool no_waiters(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	bool empty;

	mutex_lock(&ctx->chip->tpm_mutex);
	empty = list_empty(&ctx->chip->rm->waiters);
	mutex_unlock(&ctx->chip->tpm_mutex);
	return empty;
}

/* A command whose chip cannot be had after its wait leaves the line. */
static void tpm2_space_wait_failed_ops_leaves_line(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *spaces[4], *waiter;
	u32 handles[64];
	struct tpm_buf b;
	ssize_t ret;

	param_set(test, &tpm2_space_session_grace_ms, 60000);
	param_set(test, &tpm2_space_session_wait_ms, 100);
	fill_sessions(test, spaces, handles, 4, 16);

	waiter = space_open(test);
	kunit_activate_static_stub(test, tpm2_rm_now,
				   test_clock_disabling_chip);
	build_start_auth_session(test, &b, TPM2_SE_HMAC);
	ret = space_send(test, waiter, &b);
	kunit_deactivate_static_stub(test, tpm2_rm_now);
	ctx->chip->flags &= ~TPM_CHIP_FLAG_DISABLE;

	KUNIT_EXPECT_EQ(test, rm_stat(&ctx->chip->rm->stats.waits), 1);
	KUNIT_EXPECT_EQ(test, ret, -EPIPE);
	KUNIT_ASSERT_TRUE_MSG(test, no_waiters(test),
			      "in line without a command in flight");
	expect_no_slot_held(test);
}

/* Takes back the signal of raise_signal(). */
static void lower_signal(void *unused)
{
	flush_signals(current);
	disallow_signal(SIGUSR1);
}

/*
 * Lets the test's thread take SIGUSR1, which a kthread ignores unless it
 * allows it, until lower_signal() at the latest when the case ends.
 */
static void allow_test_signal(struct kunit *test)
{
	allow_signal(SIGUSR1);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, lower_signal,
							NULL), 0);
}

/*
 * Makes a signal pending for the test's thread, as for a process that
 * got one while in write(). The signal is real: signal_pending() sees
 * it, and every interruptible sleep ends at once, until lower_signal().
 */
static void raise_signal(struct kunit *test)
{
	allow_test_signal(test);
	send_sig(SIGUSR1, current, 1);
	KUNIT_ASSERT_TRUE(test, signal_pending(current));
}

/*
 * A command whose process has a signal pending evicts nobody, although
 * every session has idled past the grace period: the signal would end
 * the command anyway, so the eviction would cost a session for nothing.
 * write() fails with ERESTARTSYS, and every session still works.
 */
static void tpm2_space_signal_evicts_nobody(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm2_rm_stats *st = &ctx->chip->rm->stats;
	struct tpm_space *spaces[4], *newcomer;
	u32 handles[64];
	struct tpm_buf b;
	ssize_t ret;

	clock_start_in_past(test, 5000);
	newcomer = exhaust_session_handles(test, 1000, 5000, spaces, handles);
	clock_advance(test, 5000);

	raise_signal(test);
	build_start_auth_session(test, &b, TPM2_SE_HMAC);
	ret = space_send(test, newcomer, &b);
	lower_signal(NULL);

	KUNIT_EXPECT_EQ_MSG(test, rm_stat(&st->evictions), 0,
			    "a session evicted for a signalled command");
	KUNIT_EXPECT_EQ(test, ret, -ERESTARTSYS);
	KUNIT_EXPECT_EQ(test, rm_stat(&st->waits), 0);
	KUNIT_EXPECT_TRUE(test, no_waiters(test));
	KUNIT_EXPECT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 64);
	expect_sessions_work(test, spaces, handles, 16, 0, 63);
	expect_no_slot_held(test);
}

/*
 * The clock of tpm2_space_signal_ends_wait(): the present, and once a
 * command has lined up a signal arrives, as it would during the wait.
 */
static unsigned long test_clock_signalling(void)
{
	struct kunit *test = kunit_get_current_test();
	struct tpm2_space_test *ctx = test->priv;

	if (atomic_long_read(&ctx->chip->rm->stats.waits) &&
	    !signal_pending(current))
		send_sig(SIGUSR1, current, 1);
	return jiffies;
}

/*
 * A signal during the wait for a session handle ends it at once, not at
 * its deadline 5 s later: write() fails with ERESTARTSYS, the command is
 * out of the line, and it evicted nobody.
 */
static void tpm2_space_signal_ends_wait(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm2_rm_stats *st = &ctx->chip->rm->stats;
	struct tpm_space *spaces[4], *waiter;
	unsigned long start;
	u32 handles[64];
	struct tpm_buf b;
	ssize_t ret;

	waiter = exhaust_session_handles(test, 60000, 5000, spaces, handles);
	allow_test_signal(test);
	kunit_activate_static_stub(test, tpm2_rm_now, test_clock_signalling);
	build_start_auth_session(test, &b, TPM2_SE_HMAC);
	start = jiffies;
	ret = space_send(test, waiter, &b);
	kunit_deactivate_static_stub(test, tpm2_rm_now);
	lower_signal(NULL);

	KUNIT_EXPECT_EQ(test, rm_stat(&st->waits), 1);
	KUNIT_EXPECT_EQ(test, ret, -ERESTARTSYS);
	KUNIT_EXPECT_LT_MSG(test, jiffies - start, msecs_to_jiffies(1000),
			    "the wait went on after the signal");
	KUNIT_EXPECT_EQ(test, rm_stat(&st->evictions), 0);
	KUNIT_EXPECT_TRUE(test, no_waiters(test));
	expect_sessions_work(test, spaces, handles, 16, 0, 63);
	expect_no_slot_held(test);
}

static struct kunit_case tpm2_space_wait_cases[] = {
	KUNIT_CASE(tpm2_space_expired_head_does_not_block),
	KUNIT_CASE(tpm2_space_wait_failed_ops_leaves_line),
	KUNIT_CASE(tpm2_space_signal_evicts_nobody),
	KUNIT_CASE(tpm2_space_signal_ends_wait),
	{}
};

static struct kunit_suite tpm2_space_wait_suite = {
	.name = "tpm2_space_wait",
	.init = tpm2_space_test_init,
	.test_cases = tpm2_space_wait_cases,
};

/* ------------------------------------------------------------------ */
/* Isolation: per-user fair share, stale records, the kernel's room    */
/* ------------------------------------------------------------------ */

/* Opens a space as if user @uid had opened the file. */
static struct tpm_space *space_open_as(struct kunit *test, uid_t uid)
{
	struct tpm_space *space = space_open(test);

	space->euid = KUIDT_INIT(uid);
	return space;
}

/* Sends @b as a write() to /dev/tpm0 would: no space. Consumes @b. */
static ssize_t outside_send(struct kunit *test, struct tpm_buf *b)
{
	return space_send(test, NULL, b);
}

/* @space's stale session @s is told, without a TPM command for it */
static void expect_told_without_tpm(struct kunit *test,
				    struct tpm_space *space, u32 s)
{
	struct tpm2_space_test *ctx = test->priv;
	unsigned int loads;

	loads = tpm2_fake_cmd_count(ctx->fake, TPM2_CC_CONTEXT_LOAD);
	KUNIT_EXPECT_EQ(test, space_use_session(test, space, s),
			RM_LAYER | TPM2_RC_REFERENCE_S0);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake,
						  TPM2_CC_CONTEXT_LOAD),
			loads);
}

/* Closing @space sends no FlushContext: nothing it held is its own now */
static void expect_close_flushes_nothing(struct kunit *test,
					 struct tpm_space *space)
{
	struct tpm2_space_test *ctx = test->priv;
	unsigned int flushes;

	flushes = tpm2_fake_cmd_count(ctx->fake, TPM2_CC_FLUSH_CONTEXT);
	space_close(space);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake,
						  TPM2_CC_FLUSH_CONTEXT),
			flushes);
}

/* Startup(CLEAR) through /dev/tpm0, which the fake answers with @rc */
static void outside_startup_clear(struct kunit *test, u32 rc)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_buf b;

	KUNIT_ASSERT_EQ(test, tpm2_fake_inject(ctx->fake, TPM2_CC_STARTUP, 1,
					       rc), 0);
	cmd_init(test, &b, TPM2_ST_NO_SESSIONS, TPM2_CC_STARTUP);
	tpm_buf_append_u16(&b, TPM2_SU_CLEAR);
	outside_send(test, &b);
}

/*
 * One user with an idle session in each of 60 files, another with 4 in
 * one file, the least recently used: 64 handles for two users make a
 * share of 32, so the victim is the first user's. Counted per file, the
 * second user's file would be over a share of 64 / 61.
 */
static void tpm2_space_fair_share_per_user(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *few, *many, *newcomer;
	u32 few_handles[4];
	unsigned int i;

	param_set(test, &tpm2_space_session_grace_ms, 1000);
	clock_start_in_past(test, 9000);
	few = space_open_as(test, 1001);
	for (i = 0; i < 4; i++)
		few_handles[i] = space_start_session(test, few, TPM2_SE_HMAC);
	clock_advance(test, 6000);
	for (i = 0; i < 60; i++) {
		many = space_open_as(test, 1000);
		space_start_session(test, many, TPM2_SE_HMAC);
	}
	KUNIT_ASSERT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 64);
	clock_advance(test, 3000);

	/* the first user's newcomer evicts one of the first user's own */
	newcomer = space_open_as(test, 1000);
	space_start_session(test, newcomer, TPM2_SE_HMAC);
	KUNIT_EXPECT_EQ(test, rm_stat(&ctx->chip->rm->stats.evictions), 1);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, space_use_session(test, few,
							few_handles[i]),
				TPM2_RC_SUCCESS);
	expect_no_slot_held(test);
}

/*
 * A session the RM holds saved is flushed behind its back, and the TPM
 * gives the handle to another space's new session: the old record is a
 * tombstone, and the old owner's close flushes nothing.
 */
static void tpm2_space_handle_taken_by_new_session(struct kunit *test)
{
	struct tpm_space *a = space_open(test), *b = space_open(test);
	u32 old, fresh;

	old = space_start_session(test, a, TPM2_SE_HMAC);
	raw_flush(test, old);
	fresh = space_start_session(test, b, TPM2_SE_HMAC);
	KUNIT_ASSERT_EQ(test, fresh, old);
	KUNIT_EXPECT_EQ(test, a->nr_sessions, 0);

	expect_close_flushes_nothing(test, a);
	KUNIT_EXPECT_EQ(test, space_use_session(test, b, fresh),
			TPM2_RC_SUCCESS);
}

/* A FlushContext through /dev/tpm0 of a session the RM holds. */
static void tpm2_space_outside_flush(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *a = space_open(test);
	struct tpm_buf b;
	u32 s;

	s = space_start_session(test, a, TPM2_SE_HMAC);
	build_one_handle(test, &b, TPM2_CC_FLUSH_CONTEXT, s);
	outside_send(test, &b);
	KUNIT_ASSERT_EQ(test, rsp_code(test), TPM2_RC_SUCCESS);
	KUNIT_EXPECT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 0);
	KUNIT_EXPECT_EQ(test, a->nr_sessions, 0);

	expect_told_without_tpm(test, a, s);
}

/*
 * Startup(CLEAR) through /dev/tpm0 that succeeds means a TPM reset: every
 * record is stale and none is flushed. Refused with TPM_RC_INITIALIZE,
 * the TPM was started already and nothing changes.
 */
static void tpm2_space_startup_clear(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *a = space_open(test);
	u32 s;

	s = space_start_session(test, a, TPM2_SE_HMAC);

	outside_startup_clear(test, TPM2_RC_INITIALIZE);
	KUNIT_EXPECT_EQ(test, a->nr_sessions, 1);
	KUNIT_EXPECT_EQ(test, space_use_session(test, a, s), TPM2_RC_SUCCESS);

	outside_startup_clear(test, TPM2_RC_SUCCESS);
	KUNIT_EXPECT_EQ(test, a->nr_sessions, 0);
	KUNIT_EXPECT_NULL(test, tpm2_rm_session_lookup(ctx->chip->rm, s));

	expect_told_without_tpm(test, a, s);
	expect_close_flushes_nothing(test, a);
}

/* TPM_RC_INITIALIZE as the answer to another command: a reset, too. */
static void tpm2_space_initialize_is_a_reset(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *a = space_open(test);
	struct tpm_buf b;

	space_start_session(test, a, TPM2_SE_HMAC);
	KUNIT_ASSERT_EQ(test, tpm2_fake_inject(ctx->fake, TPM2_CC_GET_RANDOM,
					       1, TPM2_RC_INITIALIZE), 0);
	cmd_init(test, &b, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_RANDOM);
	tpm_buf_append_u16(&b, 8);
	outside_send(test, &b);
	KUNIT_EXPECT_EQ(test, rsp_code(test), TPM2_RC_INITIALIZE);
	KUNIT_EXPECT_EQ(test, a->nr_sessions, 0);
}

/*
 * Spaces hold every session handle; the kernel's own StartAuthSession
 * (CONFIG_TCG_TPM2_HMAC) gets one at once, grace period or not.
 */
static void tpm2_space_room_for_kernel(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *spaces[4];
	u32 handles[64], fresh;
	struct tpm_buf b;

	param_set(test, &tpm2_space_session_grace_ms, 60000);
	fill_sessions(test, spaces, handles, 4, 16);
	KUNIT_ASSERT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 64);

	KUNIT_ASSERT_EQ(test, tpm_try_get_ops(ctx->chip), 0);
	tpm2_rm_make_room_for_kernel(ctx->chip);
	tpm_put_ops(ctx->chip);
	KUNIT_EXPECT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 63);

	build_start_auth_session(test, &b, TPM2_SE_HMAC);
	KUNIT_EXPECT_EQ(test, raw_send(test, &b, &fresh), 0);
	raw_flush(test, fresh);

	/* with a free handle, nobody is evicted */
	KUNIT_ASSERT_EQ(test, tpm_try_get_ops(ctx->chip), 0);
	tpm2_rm_make_room_for_kernel(ctx->chip);
	tpm_put_ops(ctx->chip);
	KUNIT_EXPECT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 63);
	KUNIT_EXPECT_EQ(test, rm_stat(&ctx->chip->rm->stats.evictions), 1);
}

/* Suspends the fake's chip and resumes it, with a TPM Reset if @reset */
static void suspend_resume(struct kunit *test, bool reset)
{
	struct tpm2_space_test *ctx = test->priv;
	struct device *dev = ctx->chip->dev.parent;

	KUNIT_ASSERT_EQ(test, tpm_pm_suspend(dev), 0);
	if (reset)
		tpm2_fake_reset_tpm(ctx->fake);
	KUNIT_ASSERT_EQ(test, tpm_pm_resume(dev), 0);
}

/*
 * The TPM comes back from a suspend without its state (a TPM Reset): at
 * resume every session record is a tombstone. The kernel's own session
 * (CONFIG_TCG_TPM2_HMAC, which no space sees) then gets the handle of one
 * old record, a new client's session that of another: the old owners'
 * closes flush neither, and they are told without a TPM command.
 */
static void tpm2_space_reset_at_resume(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *old = space_open(test), *other = space_open(test);
	struct tpm_space *fresh = space_open(test);
	u32 s[2], kernel_s, new_s;
	struct tpm_buf b;

	s[0] = space_start_session(test, old, TPM2_SE_HMAC);
	s[1] = space_start_session(test, other, TPM2_SE_HMAC);
	suspend_resume(test, true);
	KUNIT_EXPECT_EQ_MSG(test, old->nr_sessions + other->nr_sessions, 0,
			    "records of sessions the reset ended");

	build_start_auth_session(test, &b, TPM2_SE_HMAC);
	KUNIT_ASSERT_EQ(test, raw_send(test, &b, &kernel_s), 0);
	KUNIT_ASSERT_EQ(test, kernel_s, s[0]);
	new_s = space_start_session(test, fresh, TPM2_SE_HMAC);
	KUNIT_ASSERT_EQ(test, new_s, s[1]);

	expect_close_flushes_nothing(test, old);
	KUNIT_EXPECT_EQ_MSG(test, tpm2_fake_session_state(ctx->fake, kernel_s),
			    TPM2_FAKE_SESSION_LOADED,
			    "the kernel's session was flushed");
	expect_told_without_tpm(test, other, s[1]);
	expect_close_flushes_nothing(test, other);
	KUNIT_EXPECT_EQ(test, space_use_session(test, fresh, new_s),
			TPM2_RC_SUCCESS);
	raw_flush(test, kernel_s);
	expect_no_slot_held(test);
}

/* A resume without a TPM reset, the TPM's list of sessions answered @rc */
static void resume_answered(struct kunit *test, u32 rc)
{
	struct tpm2_space_test *ctx = test->priv;

	KUNIT_ASSERT_EQ(test, tpm2_fake_inject(ctx->fake,
					       TPM2_CC_GET_CAPABILITY, 1, rc),
			0);
	suspend_resume(test, false);
}

/*
 * A resume with the TPM's state keeps every session, and so does one
 * after which the TPM cannot say which sessions it has: forgetting them
 * would leave them in the TPM, taking handles nobody flushes. One that
 * the TPM answers with TPM_RC_INITIALIZE (nobody started it) is a reset.
 */
static void tpm2_space_resume_keeps_sessions(struct kunit *test)
{
	struct tpm_space *a = space_open(test);
	u32 s[2];

	s[0] = space_start_session(test, a, TPM2_SE_HMAC);
	s[1] = space_start_session(test, a, TPM2_SE_HMAC);
	suspend_resume(test, false);
	KUNIT_EXPECT_EQ(test, a->nr_sessions, 2);
	KUNIT_EXPECT_EQ(test, space_use_session(test, a, s[0]),
			TPM2_RC_SUCCESS);

	resume_answered(test, TPM2_RC_FAILURE);
	KUNIT_EXPECT_EQ(test, a->nr_sessions, 2);
	KUNIT_EXPECT_EQ(test, space_use_session(test, a, s[1]),
			TPM2_RC_SUCCESS);

	resume_answered(test, TPM2_RC_INITIALIZE);
	KUNIT_EXPECT_EQ(test, a->nr_sessions, 0);
	expect_told_without_tpm(test, a, s[0]);
	expect_close_flushes_nothing(test, a);
}

static struct kunit_case tpm2_space_isolation_cases[] = {
	KUNIT_CASE(tpm2_space_fair_share_per_user),
	KUNIT_CASE(tpm2_space_handle_taken_by_new_session),
	KUNIT_CASE(tpm2_space_outside_flush),
	KUNIT_CASE(tpm2_space_startup_clear),
	KUNIT_CASE(tpm2_space_initialize_is_a_reset),
	KUNIT_CASE(tpm2_space_room_for_kernel),
	KUNIT_CASE(tpm2_space_reset_at_resume),
	KUNIT_CASE(tpm2_space_resume_keeps_sessions),
	{}
};

static struct kunit_suite tpm2_space_isolation_suite = {
	.name = "tpm2_space_isolation",
	.init = tpm2_space_test_init,
	.test_cases = tpm2_space_isolation_cases,
};

/* ------------------------------------------------------------------ */
/* Robustness: GetCapability, failing allocations, chip teardown       */
/* ------------------------------------------------------------------ */

/* GetCapability(TPM_CAP_HANDLES) with one session in the auth area. */
static void build_get_capability_auth(struct kunit *test, struct tpm_buf *b,
				      u32 session, u8 attrs, u32 property)
{
	cmd_init(test, b, TPM2_ST_SESSIONS, TPM2_CC_GET_CAPABILITY);
	append_session(b, session, attrs);
	tpm_buf_append_u32(b, TPM2_CAP_HANDLES);
	tpm_buf_append_u32(b, property);
	tpm_buf_append_u32(b, 64);
}

/*
 * With an authorization area, GetCapability is the TPM's to answer: the
 * reply carries the response auth area, and a session sent without
 * continueSession is gone afterwards, in the TPM and in the space.
 */
static void tpm2_space_get_capability_with_session(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *a = space_open(test);
	unsigned int asked;
	struct tpm_buf b;
	u32 s;

	s = space_start_session(test, a, TPM2_SE_HMAC);
	asked = tpm2_fake_cmd_count(ctx->fake, TPM2_CC_GET_CAPABILITY);

	build_get_capability_auth(test, &b, s, TPM2_SA_CONTINUE_SESSION,
				  TPM2_MSO_VOLATILE << 24);
	space_send_ok(test, a, &b);
	KUNIT_EXPECT_EQ(test, get_unaligned_be16(ctx->buf), TPM2_ST_SESSIONS);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake,
						  TPM2_CC_GET_CAPABILITY),
			asked + 1);
	KUNIT_EXPECT_EQ(test, space_use_session(test, a, s), TPM2_RC_SUCCESS);

	build_get_capability_auth(test, &b, s, 0, TPM2_MSO_VOLATILE << 24);
	space_send_ok(test, a, &b);
	KUNIT_EXPECT_EQ(test, get_unaligned_be16(ctx->buf), TPM2_ST_SESSIONS);
	KUNIT_EXPECT_NULL(test, tpm2_rm_session_find(a, s));
	KUNIT_EXPECT_EQ(test, a->nr_sessions, 0);
	KUNIT_EXPECT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 0);
	KUNIT_EXPECT_EQ(test, tpm2_fake_loaded_sessions(ctx->fake), 0);
}

/* Pages through the space's loaded sessions @count handles at a time. */
static unsigned int page_sessions(struct kunit *test, struct tpm_space *space,
				  u32 count, u32 *out, unsigned int max)
{
	struct tpm2_space_test *ctx = test->priv;
	u32 property = TPM2_MSO_SESSION << 24, got, i;
	unsigned int n = 0;
	struct tpm_buf b;
	u8 more;

	do {
		build_get_capability(test, &b, TPM2_CAP_HANDLES, property,
				     count);
		space_send_ok(test, space, &b);
		more = ctx->buf[TPM_HEADER_SIZE];
		got = rsp_u32(test, TPM_HEADER_SIZE + 5);
		for (i = 0; i < got && n < max; i++)
			out[n++] = rsp_u32(test, TPM_HEADER_SIZE + 9 + 4 * i);
		/* the next page of the same range: keep its type byte */
		if (got)
			property = TPM2_MSO_SESSION << 24 |
				   tpm2_rm_handle_index(out[n - 1] + 1);
	} while (more && got && n < max);
	return n;
}

/* Paging one handle at a time lists HMAC and policy sessions alike. */
static void tpm2_space_get_capability_paging(struct kunit *test)
{
	struct tpm_space *a = space_open(test);
	u32 all[8], paged[8];
	unsigned int i, n_all, n_paged;

	for (i = 0; i < 4; i++)
		space_start_session(test, a, i % 2 ? TPM2_SE_POLICY :
						     TPM2_SE_HMAC);
	space_create_primary(test, a);

	n_all = page_sessions(test, a, 64, all, ARRAY_SIZE(all));
	KUNIT_EXPECT_EQ(test, n_all, 4);
	n_paged = page_sessions(test, a, 1, paged, ARRAY_SIZE(paged));
	KUNIT_ASSERT_EQ(test, n_paged, n_all);
	for (i = 0; i < n_all; i++)
		KUNIT_EXPECT_EQ(test, paged[i], all[i]);
}

#ifdef CONFIG_FAULT_INJECTION
/* The next @nth allocation of the resource manager fails, once. */
static void fail_nth_alloc(unsigned int nth)
{
	WRITE_ONCE(current->fail_nth, nth);
}

/* Stops the injection; returns whether the failure happened. */
static bool fail_nth_done(void)
{
	bool hit = !READ_ONCE(current->fail_nth);

	WRITE_ONCE(current->fail_nth, 0);
	return hit;
}
#else
static void fail_nth_alloc(unsigned int nth) {}
static bool fail_nth_done(void) { return false; }
#endif

static void skip_without_fault_injection(struct kunit *test)
{
	if (!IS_ENABLED(CONFIG_FAULT_INJECTION))
		kunit_skip(test, "needs CONFIG_FAULT_INJECTION");
}

/*
 * The RM cannot take what the TPM created (no memory for the record):
 * the client gets the RM's TPM_RC_MEMORY, the object is flushed, and the
 * session the TPM ended for lack of continueSession is gone, not a
 * tombstone.
 */
static void tpm2_space_new_handle_refused_after_success(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *a = space_open(test);
	struct tpm_buf b;
	u32 s;

	skip_without_fault_injection(test);
	s = space_start_session(test, a, TPM2_SE_HMAC);

	build_create_primary(test, &b);
	/* the HMAC session instead of the password, without continue */
	put_unaligned_be32(s, b.data + TPM_HEADER_SIZE + 8);
	fail_nth_alloc(1);
	space_send(test, a, &b);
	KUNIT_EXPECT_TRUE(test, fail_nth_done());
	KUNIT_EXPECT_EQ(test, rsp_code(test), RM_LAYER | TPM2_RC_MEMORY);
	KUNIT_EXPECT_EQ(test, tpm2_fake_loaded_objects(ctx->fake), 0);
	KUNIT_EXPECT_EQ(test, a->nr_objects, 0);
	KUNIT_EXPECT_NULL(test, tpm2_rm_session_find(a, s));
	KUNIT_EXPECT_EQ(test, a->nr_sessions, 0);
	KUNIT_EXPECT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 0);
}

enum robust_cmd { ROBUST_USE, ROBUST_START, ROBUST_CREATE, ROBUST_SAVE };

static const char *const robust_cmd_name[] = {
	"use a session", "StartAuthSession", "CreatePrimary", "ContextSave",
};

static const enum robust_cmd robust_cmds[] = {
	ROBUST_USE, ROBUST_START, ROBUST_CREATE, ROBUST_SAVE,
};

static void robust_desc(const enum robust_cmd *c, char *desc)
{
	strscpy(desc, robust_cmd_name[*c], KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(robust, robust_cmds, robust_desc);

/* Sends one command of the kind under test; returns its result. */
static ssize_t robust_send(struct kunit *test, struct tpm_space *space,
			   enum robust_cmd c, u32 sess)
{
	struct tpm_buf b;

	switch (c) {
	case ROBUST_USE:
		build_get_random(test, &b, sess, TPM2_SA_CONTINUE_SESSION);
		break;
	case ROBUST_START:
		build_start_auth_session(test, &b, TPM2_SE_POLICY);
		break;
	case ROBUST_CREATE:
		build_create_primary(test, &b);
		break;
	case ROBUST_SAVE:
		build_one_handle(test, &b, TPM2_CC_CONTEXT_SAVE, sess);
		break;
	}
	return space_send(test, space, &b);
}

/* Undoes what a successful command of the kind under test left. */
static void robust_undo(struct kunit *test, struct tpm_space *space,
			enum robust_cmd c, ssize_t len)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_buf b;

	if (len < TPM_HEADER_SIZE || rsp_code(test))
		return;
	if (c == ROBUST_START || c == ROBUST_CREATE) {
		build_one_handle(test, &b, TPM2_CC_FLUSH_CONTEXT,
				 rsp_u32(test, TPM_HEADER_SIZE));
		space_send_ok(test, space, &b);
	} else if (c == ROBUST_SAVE) {
		u8 blob[256];
		u32 n = len - TPM_HEADER_SIZE;

		KUNIT_ASSERT_LE(test, n, sizeof(blob));
		memcpy(blob, ctx->buf + TPM_HEADER_SIZE, n);
		KUNIT_ASSERT_GE(test, space_context_load(test, space, blob, n),
				(ssize_t)TPM_HEADER_SIZE);
		KUNIT_ASSERT_EQ(test, rsp_code(test), TPM2_RC_SUCCESS);
	}
}

/*
 * Each allocation the RM makes for a command fails in turn. The client
 * gets -ENOMEM or the RM's TPM_RC_MEMORY, or its command works; either
 * way its session and object live on, the TPM holds nothing, no session
 * leaks there, and the next command works.
 */
static void tpm2_space_failing_allocations(struct kunit *test)
{
	const enum robust_cmd *c = test->param_value;
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *a = space_open(test);
	unsigned int nth;
	u32 s, key, id;
	ssize_t len;
	bool hit;

	skip_without_fault_injection(test);
	s = space_start_session(test, a, TPM2_SE_HMAC);
	key = space_create_primary(test, a);
	id = space_read_public(test, a, key);

	for (nth = 1; nth < 16; nth++) {
		fail_nth_alloc(nth);
		len = robust_send(test, a, *c, s);
		hit = fail_nth_done();
		if (len != -ENOMEM) {
			KUNIT_ASSERT_GE(test, len, (ssize_t)TPM_HEADER_SIZE);
			if (rsp_code(test))
				KUNIT_EXPECT_EQ_MSG(test, rsp_code(test),
						    RM_LAYER | TPM2_RC_MEMORY,
						    "allocation %u", nth);
		}
		robust_undo(test, a, *c, len);

		KUNIT_EXPECT_EQ_MSG(test, space_use_session(test, a, s),
				    TPM2_RC_SUCCESS, "allocation %u", nth);
		KUNIT_EXPECT_EQ_MSG(test, space_read_public(test, a, key), id,
				    "allocation %u", nth);
		expect_no_slot_held(test);
		KUNIT_EXPECT_EQ_MSG(test, tpm2_fake_active_sessions(ctx->fake),
				    a->nr_sessions, "allocation %u", nth);
		KUNIT_EXPECT_EQ(test, a->nr_objects, 1);
		if (!hit)
			break;
	}
	KUNIT_EXPECT_LT(test, nth, 16);
}

/*
 * A re-gap happens after a command of someone else's. With the first
 * allocation of every such command failing, the idle session that is
 * re-gapped lives on: the re-gap needs no memory.
 */
static void tpm2_space_regap_survives_failing_allocation(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm2_rm_stats *st = &ctx->chip->rm->stats;
	struct tpm_space *idle = space_open(test);
	struct tpm_space *busy = space_open(test);
	unsigned int i;
	u32 s_idle, s_busy;

	skip_without_fault_injection(test);
	tpm2_fake_set_context_gap(ctx->fake, 32);
	s_idle = space_start_session(test, idle, TPM2_SE_HMAC);
	s_busy = space_start_session(test, busy, TPM2_SE_HMAC);
	/* a gap of 32 makes the re-gap due within 32 saves */
	for (i = 0; i < 40; i++) {
		fail_nth_alloc(1);
		KUNIT_ASSERT_EQ(test, space_use_session(test, busy, s_busy),
				TPM2_RC_SUCCESS);
		fail_nth_done();
	}
	KUNIT_EXPECT_EQ(test, space_use_session(test, idle, s_idle),
			TPM2_RC_SUCCESS);
	KUNIT_EXPECT_GE(test, rm_stat(&st->regaps), 1);
	KUNIT_EXPECT_EQ(test, idle->nr_sessions, 1);
	KUNIT_EXPECT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 2);
	expect_no_slot_held(test);
}

/* Abandoned sessions are flushed when the chip is unregistered. */
static void tpm2_space_unregister_flushes_abandoned(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm_space *a = space_open(test);
	unsigned int flushes;
	u8 blob[64];
	u32 s;

	s = space_start_session(test, a, TPM2_SE_HMAC);
	space_context_save(test, a, s, blob);
	space_close(a);
	KUNIT_ASSERT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 1);

	flushes = tpm2_fake_cmd_count(ctx->fake, TPM2_CC_FLUSH_CONTEXT);
	tpm2_rm_chip_unregister(ctx->chip);
	KUNIT_EXPECT_EQ(test, tpm2_fake_cmd_count(ctx->fake,
						  TPM2_CC_FLUSH_CONTEXT),
			flushes + 1);
	KUNIT_EXPECT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&ctx->chip->rm->abandoned));
	KUNIT_EXPECT_TRUE(test, list_empty(&ctx->chip->rm->sessions));
}

static int refuse_locality(struct tpm_chip *chip, int loc)
{
	return -EBUSY;
}

/*
 * A file closed while the TPM cannot be reached for a moment (its
 * locality request fails) keeps its sessions on record, so that they are
 * flushed once it can: nothing stays in the TPM unknown to the RM.
 */
static void tpm2_space_close_while_unreachable(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	const struct tpm_class_ops *ops = ctx->chip->ops;
	struct tpm_space *a = space_open(test);
	struct tpm_class_ops *busy;
	u8 blob[64];
	u32 s1, s2;

	busy = kunit_kzalloc(test, sizeof(*busy), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, busy);
	memcpy(busy, ops, sizeof(*busy));
	busy->request_locality = refuse_locality;

	s1 = space_start_session(test, a, TPM2_SE_HMAC);
	s2 = space_start_session(test, a, TPM2_SE_POLICY);
	space_context_save(test, a, s2, blob);
	KUNIT_ASSERT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 2);

	ctx->chip->ops = busy;
	space_close(a);
	ctx->chip->ops = ops;

	KUNIT_EXPECT_NOT_NULL(test, tpm2_rm_session_lookup(ctx->chip->rm, s1));
	KUNIT_EXPECT_NOT_NULL(test, tpm2_rm_session_lookup(ctx->chip->rm, s2));
	tpm2_rm_chip_unregister(ctx->chip);
	KUNIT_EXPECT_EQ(test, tpm2_fake_active_sessions(ctx->fake), 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&ctx->chip->rm->sessions));
}

static struct kunit_case tpm2_space_robust_cases[] = {
	KUNIT_CASE(tpm2_space_get_capability_with_session),
	KUNIT_CASE(tpm2_space_get_capability_paging),
	KUNIT_CASE(tpm2_space_new_handle_refused_after_success),
	KUNIT_CASE_PARAM(tpm2_space_failing_allocations, robust_gen_params),
	KUNIT_CASE(tpm2_space_regap_survives_failing_allocation),
	KUNIT_CASE(tpm2_space_unregister_flushes_abandoned),
	KUNIT_CASE(tpm2_space_close_while_unreachable),
	{}
};

static struct kunit_suite tpm2_space_robust_suite = {
	.name = "tpm2_space_robust",
	.init = tpm2_space_test_init,
	.test_cases = tpm2_space_robust_cases,
};

/* ------------------------------------------------------------------ */
/* The session state machine, and what a command costs                 */
/* ------------------------------------------------------------------ */

/* The space's record of @handle is in @state; returns it. */
static struct tpm2_rm_session *expect_state(struct kunit *test,
					    struct tpm_space *space, u32 handle,
					    enum tpm2_rm_session_state state)
{
	struct tpm2_rm_session *sess = tpm2_rm_session_find(space, handle);

	KUNIT_ASSERT_NOT_NULL(test, sess);
	KUNIT_EXPECT_EQ(test, sess->state, state);
	return sess;
}

/* The counts the state machine keeps, and the TPM's view of them. */
static void expect_counts(struct kunit *test, struct tpm_space *space,
			  unsigned int live, unsigned int tombstones,
			  unsigned int known, unsigned int abandoned)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm2_rm_chip *rm = ctx->chip->rm;

	KUNIT_EXPECT_EQ(test, space->nr_sessions, live);
	KUNIT_EXPECT_EQ(test, space->nr_tombstones, tombstones);
	KUNIT_EXPECT_EQ(test, rm->nr_sessions, known);
	KUNIT_EXPECT_EQ(test, rm->nr_abandoned, abandoned);
	KUNIT_EXPECT_EQ(test, list_count_nodes(&space->sessions),
			live + tombstones);
	KUNIT_EXPECT_EQ(test, list_count_nodes(&rm->sessions), known);
	KUNIT_EXPECT_EQ(test, list_count_nodes(&rm->abandoned), abandoned);
	KUNIT_EXPECT_EQ(test, tpm2_fake_active_sessions(ctx->fake), known);
}

/*
 * One session through every state, each move made by a real command:
 * held after StartAuthSession and after use, client-saved after the
 * client's ContextSave, held again after its ContextLoad, abandoned when
 * its file closes, held by the file of the same user that loads it, a
 * tombstone when /dev/tpmN flushes it, gone once its owner is told.
 */
static void tpm2_space_session_lifecycle(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm2_rm_chip *rm = ctx->chip->rm;
	struct tpm_space *a = space_open(test);
	struct tpm_space *b;
	struct tpm_buf cmd;
	u32 s, s2, len;
	u8 blob[64];

	s = space_start_session(test, a, TPM2_SE_HMAC);
	expect_state(test, a, s, TPM2_RM_HELD);
	expect_counts(test, a, 1, 0, 1, 0);
	KUNIT_EXPECT_EQ(test, space_use_session(test, a, s), TPM2_RC_SUCCESS);
	expect_state(test, a, s, TPM2_RM_HELD);

	len = space_context_save(test, a, s, blob);
	expect_state(test, a, s, TPM2_RM_CLIENT_SAVED);
	expect_counts(test, a, 1, 0, 1, 0);
	space_context_load(test, a, blob, len);
	KUNIT_EXPECT_EQ(test, rsp_code(test), TPM2_RC_SUCCESS);
	expect_state(test, a, s, TPM2_RM_HELD);

	len = space_context_save(test, a, s, blob);
	space_close(a);
	KUNIT_ASSERT_NOT_NULL(test, tpm2_rm_session_lookup(rm, s));
	KUNIT_EXPECT_EQ(test, tpm2_rm_session_lookup(rm, s)->state,
			TPM2_RM_ABANDONED);
	KUNIT_EXPECT_EQ(test, rm->nr_sessions, 1);
	KUNIT_EXPECT_EQ(test, rm->nr_abandoned, 1);

	b = space_open(test);
	space_context_load(test, b, blob, len);
	KUNIT_EXPECT_EQ(test, rsp_code(test), TPM2_RC_SUCCESS);
	expect_state(test, b, s, TPM2_RM_HELD);
	expect_counts(test, b, 1, 0, 1, 0);

	build_one_handle(test, &cmd, TPM2_CC_FLUSH_CONTEXT, s);
	outside_send(test, &cmd);
	KUNIT_ASSERT_EQ(test, rsp_code(test), TPM2_RC_SUCCESS);
	expect_state(test, b, s, TPM2_RM_STALE);
	expect_counts(test, b, 0, 1, 0, 0);
	KUNIT_EXPECT_NULL(test, tpm2_rm_session_lookup(rm, s));
	expect_told_without_tpm(test, b, s);
	KUNIT_EXPECT_NULL(test, tpm2_rm_session_find(b, s));
	expect_counts(test, b, 0, 0, 0, 0);

	s2 = space_start_session(test, b, TPM2_SE_HMAC);
	build_one_handle(test, &cmd, TPM2_CC_FLUSH_CONTEXT, s2);
	space_send_ok(test, b, &cmd);
	KUNIT_EXPECT_NULL(test, tpm2_rm_session_find(b, s2));
	expect_counts(test, b, 0, 0, 0, 0);
	expect_no_slot_held(test);
}

static int illegal_moves;

static void count_illegal_move(const struct tpm2_rm_session *sess,
			       enum tpm2_rm_session_state new)
{
	illegal_moves++;
}

/*
 * A move the table does not allow is reported and changes nothing: not
 * the state, not the lists, not the counts. The session works on. The
 * report (a WARN outside this test) is counted instead.
 */
static void tpm2_space_illegal_session_move(struct kunit *test)
{
	struct tpm2_space_test *ctx = test->priv;
	struct tpm2_rm_chip *rm = ctx->chip->rm;
	struct tpm_space *a = space_open(test);
	struct tpm_space *b = space_open(test);
	struct tpm2_rm_session *sess;
	bool moved[4];
	u32 s;

	s = space_start_session(test, a, TPM2_SE_HMAC);
	sess = expect_state(test, a, s, TPM2_RM_HELD);

	illegal_moves = 0;
	kunit_activate_static_stub(test, tpm2_rm_illegal_move,
				   count_illegal_move);
	mutex_lock(&ctx->chip->tpm_mutex);
	/* a client saves only a session loaded for its ContextSave */
	moved[0] = tpm2_rm_session_set_state(rm, sess, TPM2_RM_CLIENT_SAVED,
					     NULL);
	/* a session never changes spaces while it has one */
	moved[1] = tpm2_rm_session_set_state(rm, sess, TPM2_RM_LOADED, b);
	moved[2] = tpm2_rm_session_set_state(rm, sess, TPM2_RM_NEW, NULL);
	moved[3] = tpm2_rm_session_set_state(rm, sess, TPM2_RM_NR_STATES,
					     NULL);
	mutex_unlock(&ctx->chip->tpm_mutex);

	KUNIT_EXPECT_FALSE(test, moved[0]);
	KUNIT_EXPECT_FALSE(test, moved[1]);
	KUNIT_EXPECT_FALSE(test, moved[2]);
	KUNIT_EXPECT_FALSE(test, moved[3]);
	KUNIT_EXPECT_EQ(test, illegal_moves, 4);
	KUNIT_EXPECT_PTR_EQ(test, expect_state(test, a, s, TPM2_RM_HELD), sess);
	KUNIT_EXPECT_PTR_EQ(test, sess->space, a);
	KUNIT_EXPECT_PTR_EQ(test, tpm2_rm_session_lookup(rm, s), sess);
	expect_counts(test, a, 1, 0, 1, 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&b->sessions));
	KUNIT_EXPECT_EQ(test, b->nr_sessions, 0);
	KUNIT_EXPECT_EQ(test, space_use_session(test, a, s), TPM2_RC_SUCCESS);
	expect_no_slot_held(test);
}

/* GetRandom without sessions: it names no context of the space. */
static u32 plain_command_cost(struct kunit *test, struct tpm_space *space)
{
	unsigned long before = tpm2_rm_walk_steps;
	struct tpm_buf b;
	bool allocated;

	cmd_init(test, &b, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_RANDOM);
	tpm_buf_append_u16(&b, 8);
	fail_nth_alloc(1);
	space_send_ok(test, space, &b);
	allocated = fail_nth_done();
	KUNIT_EXPECT_FALSE_MSG(test, allocated,
			       "a command naming no context allocated");
	return tpm2_rm_walk_steps - before;
}

/*
 * What the resource manager does around a command that names no context
 * of the space does not grow with what the space holds: the list entries
 * its tables look at are as many (none) in an empty space as in one with
 * 64 objects, 16 sessions and 8 tombstones, and it allocates nothing.
 */
static void tpm2_space_idle_contexts_cost_nothing(struct kunit *test)
{
	struct tpm_space *empty = space_open(test);
	struct tpm_space *full = space_open(test);
	struct tpm_buf b;
	unsigned int i;
	u32 handles[24];

	skip_without_fault_injection(test);
	for (i = 0; i < 64; i++)
		space_create_primary(test, full);
	/*
	 * Tombstones: sessions flushed through /dev/tpmN, whose handles no
	 * new session has taken since, which would end them.
	 */
	param_set(test, &tpm2_space_max_sessions, 24);
	for (i = 0; i < 24; i++)
		handles[i] = space_start_session(test, full, TPM2_SE_HMAC);
	for (i = 0; i < 8; i++) {
		build_one_handle(test, &b, TPM2_CC_FLUSH_CONTEXT, handles[i]);
		outside_send(test, &b);
		KUNIT_ASSERT_EQ(test, rsp_code(test), TPM2_RC_SUCCESS);
	}
	KUNIT_ASSERT_EQ(test, full->nr_objects, 64);
	KUNIT_ASSERT_EQ(test, full->nr_sessions, 16);
	KUNIT_ASSERT_EQ(test, full->nr_tombstones, 8);

	KUNIT_EXPECT_EQ(test, plain_command_cost(test, empty), 0);
	KUNIT_EXPECT_EQ(test, plain_command_cost(test, full), 0);
	KUNIT_EXPECT_EQ(test, full->nr_tombstones, 8);
	expect_no_slot_held(test);
}

static struct kunit_case tpm2_space_session_cases[] = {
	KUNIT_CASE(tpm2_space_session_lifecycle),
	KUNIT_CASE(tpm2_space_illegal_session_move),
	KUNIT_CASE(tpm2_space_idle_contexts_cost_nothing),
	{}
};

static struct kunit_suite tpm2_space_session_suite = {
	.name = "tpm2_space_session",
	.init = tpm2_space_test_init,
	.test_cases = tpm2_space_session_cases,
};

kunit_test_suites(&tpm2_fake_model_suite, &tpm2_space_test_suite,
		  &tpm2_space_exhaustion_suite, &tpm2_space_wait_suite,
		  &tpm2_space_isolation_suite, &tpm2_space_robust_suite,
		  &tpm2_space_session_suite);

MODULE_DESCRIPTION("KUnit tests for the TPM 2.0 resource manager");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
