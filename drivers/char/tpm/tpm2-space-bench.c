// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the resource manager costs per command, by itself: a KUnit
 * benchmark against the fake TPM, built only with
 * CONFIG_TCG_TPM2_SPACE_KUNIT_BENCH so that no test run times anything.
 * 'make bench-native' runs it under UML, natively, where the guest under
 * TCG would measure mostly the emulator.
 *
 * Each case fills a space with some objects and sessions, then times
 * three commands through tpm_dev_run(), as write() on /dev/tpmrm0 runs
 * them: GetRandom, which names nothing; ReadPublic of one held object;
 * GetRandom with one held session in its authorization area. The same
 * commands without a space, as /dev/tpm0 runs them, give the cost of the
 * TPM core. The chip's send() and recv() are timed too, so the fake's own
 * time is known and taken out: what remains beyond the /dev/tpm0 path is
 * the resource manager's, including the core's share of the context
 * commands it sends.
 */

#include <kunit/test.h>
#include <linux/timekeeping.h>
#include <linux/unaligned.h>
#include "tpm.h"
#include "tpm-dev.h"
#include "tpm2-fake.h"
#include "tpm2-space.h"

#define BENCH_ROUNDS	15
#define BENCH_OPS	2000

struct bench_layout {
	unsigned int objects;
	unsigned int sessions;
};

/*
 * The chip's ops, with send() and recv() timed: the fake's time is
 * counted in @tpm_ns and its commands in @tpm_cmds.
 */
struct bench_chip {
	struct tpm_class_ops ops;
	const struct tpm_class_ops *fake_ops;
	struct tpm_chip *chip;
	u64 tpm_ns;
	u64 tpm_cmds;
};

/* There is one chip per case, and cases run one at a time. */
static struct bench_chip *bench_current;

struct bench_ctx {
	struct tpm2_fake *fake;
	struct tpm_chip *chip;
	struct bench_chip *timed;
	struct tpm_space space;
	bool space_live;
	u8 buf[TPM_BUFSIZE];	/* like file_priv->data_buffer */
};

/* A command built once, copied into the buffer before each run. */
struct bench_cmd {
	u8 data[64];
	size_t len;
};

static int bench_send(struct tpm_chip *chip, u8 *buf, size_t len)
{
	u64 start = ktime_get_ns();
	int rc = bench_current->fake_ops->send(chip, buf, len);

	bench_current->tpm_ns += ktime_get_ns() - start;
	bench_current->tpm_cmds++;
	return rc;
}

static int bench_recv(struct tpm_chip *chip, u8 *buf, size_t len)
{
	u64 start = ktime_get_ns();
	int rc = bench_current->fake_ops->recv(chip, buf, len);

	bench_current->tpm_ns += ktime_get_ns() - start;
	return rc;
}

static void bench_untime(void *data)
{
	struct bench_chip *timed = data;

	timed->chip->ops = timed->fake_ops;
	bench_current = NULL;
}

static void bench_time_chip(struct kunit *test, struct bench_ctx *ctx)
{
	struct bench_chip *timed;

	timed = kunit_kzalloc(test, sizeof(*timed), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, timed);
	timed->chip = ctx->chip;
	timed->fake_ops = ctx->chip->ops;
	/* tpm_class_ops has const members: copied, not assigned */
	memcpy(&timed->ops, ctx->chip->ops, sizeof(timed->ops));
	timed->ops.send = bench_send;
	timed->ops.recv = bench_recv;
	ctx->chip->ops = &timed->ops;
	bench_current = timed;
	ctx->timed = timed;
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, bench_untime,
							timed), 0);
}

static void bench_close_space(void *data)
{
	struct bench_ctx *ctx = data;

	if (ctx->space_live)
		tpm2_del_space(ctx->chip, &ctx->space);
	ctx->space_live = false;
}

static int bench_init(struct kunit *test)
{
	struct bench_ctx *ctx;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	test->priv = ctx;
	ctx->fake = tpm2_fake_create(test);
	ctx->chip = tpm2_fake_chip(ctx->fake);
	bench_time_chip(test, ctx);

	KUNIT_ASSERT_EQ(test, tpm2_init_space(&ctx->space,
					      TPM2_SPACE_BUFFER_SIZE), 0);
	ctx->space_live = true;
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							bench_close_space,
							ctx), 0);
	return 0;
}

/* Freezes the command in @b into @cmd, and frees @b. */
static void bench_cmd_take(struct kunit *test, struct bench_cmd *cmd,
			   struct tpm_buf *b)
{
	KUNIT_ASSERT_FALSE(test, b->flags & TPM_BUF_OVERFLOW);
	cmd->len = tpm_buf_length(b);
	KUNIT_ASSERT_LE(test, cmd->len, sizeof(cmd->data));
	memcpy(cmd->data, b->data, cmd->len);
	tpm_buf_destroy(b);
}

/* An empty password session, or @handle with continueSession set. */
static void bench_append_auth(struct tpm_buf *b, u32 handle)
{
	tpm_buf_append_u32(b, 9);		/* authorizationSize */
	tpm_buf_append_u32(b, handle);
	tpm_buf_append_u16(b, 0);		/* nonceCaller */
	tpm_buf_append_u8(b, handle == TPM2_RS_PW ? 0 :
			  TPM2_SA_CONTINUE_SESSION);
	tpm_buf_append_u16(b, 0);		/* hmac */
}

/* GetRandom(8), with @session in the auth area unless it is 0. */
static void bench_get_random(struct kunit *test, struct bench_cmd *cmd,
			     u32 session)
{
	struct tpm_buf b;

	KUNIT_ASSERT_EQ(test, tpm_buf_init(&b, session ? TPM2_ST_SESSIONS :
					   TPM2_ST_NO_SESSIONS,
					   TPM2_CC_GET_RANDOM), 0);
	if (session)
		bench_append_auth(&b, session);
	tpm_buf_append_u16(&b, 8);
	bench_cmd_take(test, cmd, &b);
}

static void bench_read_public(struct kunit *test, struct bench_cmd *cmd,
			      u32 handle)
{
	struct tpm_buf b;

	KUNIT_ASSERT_EQ(test, tpm_buf_init(&b, TPM2_ST_NO_SESSIONS,
					   TPM2_CC_READ_PUBLIC), 0);
	tpm_buf_append_u32(&b, handle);
	bench_cmd_take(test, cmd, &b);
}

/* A keyed-hash primary key in the null hierarchy: the fake's cheapest. */
static void bench_create_primary(struct kunit *test, struct bench_cmd *cmd)
{
	struct tpm_buf b;

	KUNIT_ASSERT_EQ(test, tpm_buf_init(&b, TPM2_ST_SESSIONS,
					   TPM2_CC_CREATE_PRIMARY), 0);
	tpm_buf_append_u32(&b, TPM2_RH_NULL);
	bench_append_auth(&b, TPM2_RS_PW);
	tpm_buf_append_u16(&b, 4);		/* inSensitive: two empty */
	tpm_buf_append_u16(&b, 0);
	tpm_buf_append_u16(&b, 0);
	tpm_buf_append_u16(&b, 14);		/* inPublic */
	tpm_buf_append_u16(&b, TPM_ALG_KEYEDHASH);
	tpm_buf_append_u16(&b, TPM_ALG_SHA256);
	tpm_buf_append_u32(&b, TPM2_OA_FIXED_TPM | TPM2_OA_FIXED_PARENT |
			   TPM2_OA_SENSITIVE_DATA_ORIGIN |
			   TPM2_OA_USER_WITH_AUTH | TPM2_OA_SIGN);
	tpm_buf_append_u16(&b, 0);		/* authPolicy */
	tpm_buf_append_u16(&b, TPM_ALG_NULL);	/* scheme */
	tpm_buf_append_u16(&b, 0);		/* unique */
	tpm_buf_append_u16(&b, 0);		/* outsideInfo */
	tpm_buf_append_u32(&b, 0);		/* creationPCR */
	bench_cmd_take(test, cmd, &b);
}

static void bench_start_hmac_session(struct kunit *test,
				     struct bench_cmd *cmd)
{
	static const u8 nonce[16];
	struct tpm_buf b;

	KUNIT_ASSERT_EQ(test, tpm_buf_init(&b, TPM2_ST_NO_SESSIONS,
					   TPM2_CC_START_AUTH_SESS), 0);
	tpm_buf_append_u32(&b, TPM2_RH_NULL);	/* tpmKey */
	tpm_buf_append_u32(&b, TPM2_RH_NULL);	/* bind */
	tpm_buf_append_u16(&b, sizeof(nonce));
	tpm_buf_append(&b, nonce, sizeof(nonce));
	tpm_buf_append_u16(&b, 0);		/* encryptedSalt */
	tpm_buf_append_u8(&b, TPM2_SE_HMAC);
	tpm_buf_append_u16(&b, TPM_ALG_NULL);	/* symmetric */
	tpm_buf_append_u16(&b, TPM_ALG_SHA256);	/* authHash */
	bench_cmd_take(test, cmd, &b);
}

/* Runs @cmd through @space (NULL: as /dev/tpm0); the response code. */
static u32 bench_run(struct kunit *test, struct tpm_space *space,
		     const struct bench_cmd *cmd)
{
	struct bench_ctx *ctx = test->priv;
	ssize_t len;

	memcpy(ctx->buf, cmd->data, cmd->len);
	len = tpm_dev_run(ctx->chip, space, ctx->buf, TPM_BUFSIZE, NULL);
	if (len < TPM_HEADER_SIZE)
		return U32_MAX;
	return be32_to_cpu(((struct tpm_header *)ctx->buf)->return_code);
}

/* Runs @cmd, which must succeed, and returns the handle it answers. */
static u32 bench_run_handle(struct kunit *test, struct tpm_space *space,
			    const struct bench_cmd *cmd)
{
	struct bench_ctx *ctx = test->priv;

	KUNIT_ASSERT_EQ(test, bench_run(test, space, cmd), TPM2_RC_SUCCESS);
	return get_unaligned_be32(ctx->buf + TPM_HEADER_SIZE);
}

struct bench_figure {
	u64 total_ns;	/* per command, in the fastest round */
	u64 tpm_ns;	/* the fake's share of that round */
	u64 tpm_cmds;	/* TPM commands per command, times 100 */
};

/* One round of BENCH_OPS runs of @cmd; keeps it in @fig if faster. */
static void bench_round(struct kunit *test, struct tpm_space *space,
			const struct bench_cmd *cmd, struct bench_figure *fig)
{
	struct bench_ctx *ctx = test->priv;
	u64 start, tpm_start = ctx->timed->tpm_ns;
	u64 cmds_start = ctx->timed->tpm_cmds;
	unsigned int loaded, i, bad = 0;

	loaded = tpm2_fake_loaded_objects(ctx->fake) +
		 tpm2_fake_loaded_sessions(ctx->fake);
	start = ktime_get_ns();
	for (i = 0; i < BENCH_OPS; i++)
		bad += bench_run(test, space, cmd) != TPM2_RC_SUCCESS;
	start = ktime_get_ns() - start;

	KUNIT_ASSERT_EQ_MSG(test, bad, 0, "%u commands failed", bad);
	/* between commands the resource manager holds no slot */
	KUNIT_EXPECT_EQ(test, tpm2_fake_loaded_objects(ctx->fake) +
			tpm2_fake_loaded_sessions(ctx->fake), loaded);
	if (fig->total_ns && fig->total_ns <= start / BENCH_OPS)
		return;
	fig->total_ns = start / BENCH_OPS;
	fig->tpm_ns = (ctx->timed->tpm_ns - tpm_start) / BENCH_OPS;
	fig->tpm_cmds = div_u64(100 * (ctx->timed->tpm_cmds - cmds_start),
				BENCH_OPS);
}

/*
 * Times @cmd through the space and @raw_cmd without one in alternate
 * rounds, so that a busy host slows both alike, and keeps the fastest
 * round of each: the host's noise only ever adds time.
 */
static void bench_measure(struct kunit *test, const struct bench_cmd *cmd,
			  const struct bench_cmd *raw_cmd,
			  struct bench_figure *rm, struct bench_figure *raw)
{
	struct bench_ctx *ctx = test->priv;
	unsigned int r;

	/* a first round of each warms the caches, and is not kept */
	memset(rm, 0, sizeof(*rm));
	bench_round(test, &ctx->space, cmd, rm);
	bench_round(test, NULL, raw_cmd, rm);
	memset(rm, 0, sizeof(*rm));
	memset(raw, 0, sizeof(*raw));
	for (r = 0; r < BENCH_ROUNDS; r++) {
		bench_round(test, &ctx->space, cmd, rm);
		bench_round(test, NULL, raw_cmd, raw);
	}
}

/*
 * One line per command for make bench-native to collect: the figures
 * through the space and through no space, and the difference of what is
 * not the TPM's, which is the resource manager's.
 */
static void bench_report(struct kunit *test, const char *name,
			 const struct bench_figure *rm,
			 const struct bench_figure *raw)
{
	const struct bench_layout *layout = test->param_value;
	s64 own = (s64)(rm->total_ns - rm->tpm_ns) -
		  (s64)(raw->total_ns - raw->tpm_ns);

	kunit_info(test,
		   "bench-native cmd=%s objects=%u sessions=%u rm_ns=%llu rm_tpm_ns=%llu rm_tpm_cmds=%llu.%02llu dev_ns=%llu dev_tpm_ns=%llu rm_own_ns=%lld\n",
		   name, layout->objects, layout->sessions, rm->total_ns,
		   rm->tpm_ns, rm->tpm_cmds / 100, rm->tpm_cmds % 100,
		   raw->total_ns, raw->tpm_ns, own);
}

static void bench_flush(struct kunit *test, u32 handle)
{
	struct bench_cmd cmd;
	struct tpm_buf b;

	KUNIT_ASSERT_EQ(test, tpm_buf_init(&b, TPM2_ST_NO_SESSIONS,
					   TPM2_CC_FLUSH_CONTEXT), 0);
	tpm_buf_append_u32(&b, handle);
	bench_cmd_take(test, &cmd, &b);
	KUNIT_ASSERT_EQ(test, bench_run(test, NULL, &cmd), TPM2_RC_SUCCESS);
}

/* Starts @count sessions, or creates @count keys, through @space. */
static u32 bench_add(struct kunit *test, struct tpm_space *space,
		     bool session, unsigned int count)
{
	struct bench_cmd cmd;
	u32 handle, first = 0;
	unsigned int i;

	if (session)
		bench_start_hmac_session(test, &cmd);
	else
		bench_create_primary(test, &cmd);
	for (i = 0; i < count; i++) {
		handle = bench_run_handle(test, space, &cmd);
		if (!i)
			first = handle;
	}
	return first;
}

/*
 * Times @cmd through the space, then @raw_cmd without one, which names
 * @raw_handle when that is not 0; that one is flushed after. Returns the
 * TPM commands per command through the space, times 100.
 */
static u64 bench_compare(struct kunit *test, const char *name,
			 const struct bench_cmd *cmd,
			 const struct bench_cmd *raw_cmd, u32 raw_handle)
{
	struct bench_figure rm, raw;

	bench_measure(test, cmd, raw_cmd, &rm, &raw);
	if (raw_handle)
		bench_flush(test, raw_handle);
	bench_report(test, name, &rm, &raw);
	return rm.tpm_cmds;
}

/* ReadPublic, or GetRandom with a session, that names @handle. */
static void bench_naming(struct kunit *test, struct bench_cmd *cmd,
			 bool session, u32 handle)
{
	if (session)
		bench_get_random(test, cmd, handle);
	else
		bench_read_public(test, cmd, handle);
}

/*
 * Times a command naming @handle, an object or a session of the space,
 * against the same command naming one loaded for the /dev/tpm0 path.
 */
static void bench_named(struct kunit *test, const char *name, bool session,
			u32 handle)
{
	struct bench_cmd cmd, raw_cmd;
	u32 raw = bench_add(test, NULL, session, 1);

	bench_naming(test, &cmd, session, handle);
	bench_naming(test, &raw_cmd, session, raw);
	bench_compare(test, name, &cmd, &raw_cmd, raw);
}

/*
 * The space holds the layout's objects and sessions; the commands that
 * name one name the first, which is added when the layout has none.
 */
static void tpm2_space_bench_per_command(struct kunit *test)
{
	const struct bench_layout *layout = test->param_value;
	struct bench_ctx *ctx = test->priv;
	struct bench_cmd cmd;
	u32 object, session;

	object = bench_add(test, &ctx->space, false, layout->objects);
	session = bench_add(test, &ctx->space, true, layout->sessions);

	bench_get_random(test, &cmd, 0);
	/* naming nothing, it costs the TPM that one command, no more */
	KUNIT_EXPECT_EQ(test, bench_compare(test, "getrandom", &cmd, &cmd,
					    0), 100);

	if (!object)
		object = bench_add(test, &ctx->space, false, 1);
	bench_named(test, "readpublic_1object", false, object);
	if (!session)
		session = bench_add(test, &ctx->space, true, 1);
	bench_named(test, "getrandom_1session", true, session);
}

static const struct bench_layout bench_layouts[] = {
	{ 0, 0 }, { 0, 3 }, { 0, 16 },
	{ 3, 0 }, { 3, 3 }, { 3, 16 },
	{ 64, 0 }, { 64, 3 }, { 64, 16 },
};

static void bench_layout_desc(const struct bench_layout *layout, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%u objects, %u sessions",
		 layout->objects, layout->sessions);
}

KUNIT_ARRAY_PARAM(bench_layout, bench_layouts, bench_layout_desc);

static struct kunit_case tpm2_space_bench_cases[] = {
	KUNIT_CASE_PARAM(tpm2_space_bench_per_command,
			 bench_layout_gen_params),
	{}
};

static struct kunit_suite tpm2_space_bench_suite = {
	.name = "tpm2_space_bench",
	.init = bench_init,
	.test_cases = tpm2_space_bench_cases,
};

kunit_test_suite(tpm2_space_bench_suite);
