// SPDX-License-Identifier: GPL-2.0-only
/*
 * A fake TPM 2.0 for KUnit tests of the resource manager.
 *
 * The fake is a behavioural model, not a TPM: it keeps track of which
 * transient objects and sessions exist and where they are (loaded in a
 * slot, or saved as a context), and enforces the capacity limits a small
 * TPM such as swtpm has:
 *
 *  - at most TPM2_FAKE_MAX_OBJECTS transient objects loaded
 *    (TPM_RC_OBJECT_MEMORY otherwise),
 *  - at most TPM2_FAKE_MAX_LOADED_SESSIONS sessions loaded
 *    (TPM_RC_SESSION_MEMORY otherwise),
 *  - at most TPM2_FAKE_MAX_ACTIVE_SESSIONS sessions loaded or saved
 *    (TPM_RC_SESSION_HANDLES otherwise).
 *
 * Object contexts may be loaded any number of times, each load gives a new
 * handle. A session context is valid only for the most recent save of that
 * session; loading it brings the session back under its old handle and
 * makes the blob stale, so a second load fails with TPM_RC_HANDLE.
 *
 * Sessions named in an authorization area must be loaded
 * (TPM_RC_REFERENCE_S0 otherwise), and a session whose continueSession
 * attribute is clear is flushed once its command succeeds.
 *
 * Nothing cryptographic is modelled: public areas, nonces and HMACs are
 * placeholders, and the context blob is a checksummed record of which
 * object or session it holds.
 *
 * Commands are answered synchronously from ->send(), so the fake must only
 * be driven with chip->tpm_mutex held, as the TPM core always does. The
 * accessors are meant to be called from the test while no command is in
 * flight.
 */

#include <kunit/device.h>
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/jhash.h>
#include <linux/sort.h>
#include <linux/unaligned.h>
#include "tpm.h"
#include "tpm-dev.h"
#include "tpm2-fake.h"
#include "tpm2-space-wire.h"

#define TPM2_FAKE_STS_DONE	BIT(0)
#define TPM2_FAKE_MAX_AUTHS	3
#define TPM2_FAKE_NR_INJECT	8
#define TPM2_FAKE_NR_CC		0x200
#define TPM2_FAKE_PARAM_SIZE	1024
#define TPM2_FAKE_BLOB_MAGIC	0x544b4146	/* "FAKT" */
#define TPM2_FAKE_BLOB_SIZE	12
#define TPM2_FAKE_RANDOM_MAX	32
#define TPM2_FAKE_NONCE_SIZE	16
#define TPM2_FAKE_RS_PW		0x40000009
#define TPM2_FAKE_ALG_NULL	0x0010
#define TPM2_FAKE_ST_CREATION	0x8021

/* TPMA_CC bit layout (TPM 2.0 Part 2). */
#define TPM2_FAKE_CC_CHANDLES_SHIFT	25
#define TPM2_FAKE_CC_RHANDLE		BIT(28)

/* TPM_PT values reported by GetCapability(TPM_CAP_TPM_PROPERTIES). */
#define TPM2_FAKE_PT_HR_TRANSIENT_MIN	0x010E
#define TPM2_FAKE_PT_HR_LOADED_MIN	0x0110
#define TPM2_FAKE_PT_ACTIVE_SESSIONS_MAX 0x0111
#define TPM2_FAKE_PT_CONTEXT_GAP_MAX	0x0114
#define TPM2_FAKE_PT_TOTAL_COMMANDS	0x0129
#define TPM2_FAKE_PT_HR_LOADED		0x0203
#define TPM2_FAKE_PT_HR_LOADED_AVAIL	0x0204
#define TPM2_FAKE_PT_HR_ACTIVE		0x0205
#define TPM2_FAKE_PT_HR_ACTIVE_AVAIL	0x0206
#define TPM2_FAKE_PT_HR_TRANSIENT_AVAIL	0x0207

enum tpm2_fake_auth_rule {
	TPM2_FAKE_AUTH_OPTIONAL,
	TPM2_FAKE_AUTH_REQUIRED,
	TPM2_FAKE_AUTH_FORBIDDEN,
};

struct tpm2_fake_object {
	u32 handle;		/* 0 when the slot is free */
	u32 id;
	u32 hierarchy;
};

struct tpm2_fake_session {
	u32 handle;		/* 0 when the slot is free */
	enum tpm2_fake_session_state state;
	u64 sequence;		/* of the only valid saved context */
};

struct tpm2_fake_injection {
	bool armed;
	u32 cc;
	unsigned int countdown;
	u32 rc;
	int err;
};

struct tpm2_fake_req {
	struct tpm2_rm_reader in;
	size_t len;
	u16 tag;
	u32 cc;
	u32 handles[3];
	unsigned int nr_auths;
	u32 auth_handles[TPM2_FAKE_MAX_AUTHS];
	u8 auth_attrs[TPM2_FAKE_MAX_AUTHS];
};

struct tpm2_fake {
	struct tpm_chip *chip;

	struct tpm2_fake_object objects[TPM2_FAKE_MAX_OBJECTS];
	struct tpm2_fake_session sessions[TPM2_FAKE_MAX_ACTIVE_SESSIONS];
	u32 last_object_id;
	u32 next_transient;
	bool reuse_handles;
	u64 context_sequence;
	u32 gap_max;
	u32 random_counter;

	struct tpm2_fake_injection inject[TPM2_FAKE_NR_INJECT];

	unsigned int total_cmds;
	unsigned int cc_count[TPM2_FAKE_NR_CC];
	struct tpm2_fake_cmd log[TPM2_FAKE_LOG_SIZE];
	unsigned int log_total;

	/* response under construction */
	u32 out_handle;
	size_t par_len;
	bool par_overflow;
	u8 par[TPM2_FAKE_PARAM_SIZE];

	/* response waiting for ->recv() */
	bool rsp_ready;
	size_t rsp_len;
	u8 rsp[TPM_BUFSIZE];
};

struct tpm2_fake_cc {
	u32 cc;
	unsigned int c_handles;
	bool r_handle;
	enum tpm2_fake_auth_rule auth;
	u32 (*run)(struct tpm2_fake *fake, struct tpm2_fake_req *req);
};

static atomic_t tpm2_fake_instances = ATOMIC_INIT(0);

/* ------------------------------------------------------------------ */
/* Request parsing and response building                               */
/* ------------------------------------------------------------------ */

static void out_bytes(struct tpm2_fake *fake, const void *data, size_t n)
{
	if (fake->par_overflow || TPM2_FAKE_PARAM_SIZE - fake->par_len < n) {
		fake->par_overflow = true;
		return;
	}
	memcpy(fake->par + fake->par_len, data, n);
	fake->par_len += n;
}

static void out_u8(struct tpm2_fake *fake, u8 v)
{
	out_bytes(fake, &v, 1);
}

static void out_u16(struct tpm2_fake *fake, u16 v)
{
	__be16 b = cpu_to_be16(v);

	out_bytes(fake, &b, sizeof(b));
}

static void out_u32(struct tpm2_fake *fake, u32 v)
{
	__be32 b = cpu_to_be32(v);

	out_bytes(fake, &b, sizeof(b));
}

static void out_u64(struct tpm2_fake *fake, u64 v)
{
	__be64 b = cpu_to_be64(v);

	out_bytes(fake, &b, sizeof(b));
}

/* ------------------------------------------------------------------ */
/* Model state                                                         */
/* ------------------------------------------------------------------ */

static bool tpm2_fake_is_session(u32 handle)
{
	u32 ht = handle & TPM2_FAKE_HT_MASK;

	return ht == TPM2_FAKE_HT_HMAC_SESSION ||
	       ht == TPM2_FAKE_HT_POLICY_SESSION;
}

static bool tpm2_fake_is_transient(u32 handle)
{
	return (handle & TPM2_FAKE_HT_MASK) == TPM2_FAKE_HT_TRANSIENT;
}

static struct tpm2_fake_object *tpm2_fake_find_object(struct tpm2_fake *fake,
						      u32 handle)
{
	int i;

	if (!tpm2_fake_is_transient(handle))
		return NULL;

	for (i = 0; i < ARRAY_SIZE(fake->objects); i++)
		if (fake->objects[i].handle == handle)
			return &fake->objects[i];
	return NULL;
}

static struct tpm2_fake_session *tpm2_fake_find_session(struct tpm2_fake *fake,
							u32 handle)
{
	u32 index = handle & ~TPM2_FAKE_HT_MASK;

	if (!tpm2_fake_is_session(handle) || index >= ARRAY_SIZE(fake->sessions))
		return NULL;
	if (fake->sessions[index].handle != handle)
		return NULL;
	return &fake->sessions[index];
}

/* Put an object into a free slot, or fail with TPM_RC_OBJECT_MEMORY. */
static u32 tpm2_fake_load_object(struct tpm2_fake *fake, u32 id, u32 hierarchy)
{
	struct tpm2_fake_object *obj;
	int i;

	if (tpm2_fake_loaded_objects(fake) == TPM2_FAKE_MAX_OBJECTS)
		return TPM2_FAKE_RC_OBJECT_MEMORY;
	/* there is one, as fewer than all slots are taken */
	i = 0;
	while (fake->objects[i].handle)
		i++;
	obj = &fake->objects[i];
	if (fake->reuse_handles)
		obj->handle = TPM2_FAKE_HT_TRANSIENT | i;
	else
		obj->handle = TPM2_FAKE_HT_TRANSIENT |
			      (fake->next_transient++ & 0x7FFFFF);
	obj->id = id;
	obj->hierarchy = hierarchy;
	fake->out_handle = obj->handle;
	return TPM2_FAKE_RC_SUCCESS;
}

static u32 tpm2_fake_blob_check(u64 sequence, u32 saved_handle, u32 hierarchy,
				u32 id)
{
	u32 words[5] = {
		upper_32_bits(sequence), lower_32_bits(sequence),
		saved_handle, hierarchy, id,
	};

	return jhash2(words, ARRAY_SIZE(words), TPM2_FAKE_BLOB_MAGIC);
}

/* Emit a TPMS_CONTEXT for @id (object id, or session handle). */
static void tpm2_fake_out_context(struct tpm2_fake *fake, u64 sequence,
				  u32 saved_handle, u32 hierarchy, u32 id)
{
	out_u64(fake, sequence);
	out_u32(fake, saved_handle);
	out_u32(fake, hierarchy);
	out_u16(fake, TPM2_FAKE_BLOB_SIZE);
	out_u32(fake, TPM2_FAKE_BLOB_MAGIC);
	out_u32(fake, id);
	out_u32(fake, tpm2_fake_blob_check(sequence, saved_handle, hierarchy,
					   id));
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */
/* ------------------------------------------------------------------ */

/* A fake TPMT_PUBLIC: just the object id, so tests can tell keys apart. */
static void tpm2_fake_out_public(struct tpm2_fake *fake, u32 id)
{
	out_u16(fake, sizeof(u32));
	out_u32(fake, id);
}

static u32 tpm2_fake_create_primary(struct tpm2_fake *fake,
				    struct tpm2_fake_req *req)
{
	u32 hierarchy = req->handles[0];
	u32 rc;

	if ((hierarchy & TPM2_FAKE_HT_MASK) != TPM2_FAKE_HT_PERMANENT)
		return TPM2_FAKE_RC_HANDLE_H1;

	rc = tpm2_fake_load_object(fake, fake->last_object_id + 1, hierarchy);
	if (rc)
		return rc;
	fake->last_object_id++;

	tpm2_fake_out_public(fake, fake->last_object_id);
	out_u16(fake, 0);			/* creationData */
	out_u16(fake, 0);			/* creationHash */
	out_u16(fake, TPM2_FAKE_ST_CREATION);	/* creationTicket */
	out_u32(fake, hierarchy);
	out_u16(fake, 0);
	out_u16(fake, 0);			/* name */
	return TPM2_FAKE_RC_SUCCESS;
}

static u32 tpm2_fake_load(struct tpm2_fake *fake, struct tpm2_fake_req *req)
{
	u32 parent = req->handles[0];
	struct tpm2_fake_object *obj;
	u32 hierarchy = TPM2_FAKE_RH_OWNER;
	u32 rc;

	if (tpm2_fake_is_transient(parent)) {
		obj = tpm2_fake_find_object(fake, parent);
		if (!obj)
			return TPM2_FAKE_RC_REFERENCE_H0;
		hierarchy = obj->hierarchy;
	} else if ((parent & TPM2_FAKE_HT_MASK) == TPM2_FAKE_HT_PERMANENT) {
		hierarchy = parent;
	}

	rc = tpm2_fake_load_object(fake, fake->last_object_id + 1, hierarchy);
	if (rc)
		return rc;
	fake->last_object_id++;

	out_u16(fake, 0);			/* name */
	return TPM2_FAKE_RC_SUCCESS;
}

static u32 tpm2_fake_context_load(struct tpm2_fake *fake,
				  struct tpm2_fake_req *req)
{
	struct tpm2_fake_session *sess;
	u32 saved_handle, hierarchy;
	const u8 *blob;
	u64 sequence;
	u16 size;
	u32 id;

	sequence = tpm2_rm_read_u64(&req->in);
	saved_handle = tpm2_rm_read_u32(&req->in);
	hierarchy = tpm2_rm_read_u32(&req->in);
	blob = tpm2_rm_read_tpm2b(&req->in, &size);
	if (!blob || size != TPM2_FAKE_BLOB_SIZE)
		return TPM2_FAKE_RC_SIZE_P1;

	id = get_unaligned_be32(blob + 4);
	if (get_unaligned_be32(blob) != TPM2_FAKE_BLOB_MAGIC ||
	    get_unaligned_be32(blob + 8) !=
	    tpm2_fake_blob_check(sequence, saved_handle, hierarchy, id))
		return TPM2_FAKE_RC_INTEGRITY_P1;

	if (tpm2_fake_is_transient(saved_handle)) {
		if (!id || id > fake->last_object_id)
			return TPM2_FAKE_RC_INTEGRITY_P1;
		return tpm2_fake_load_object(fake, id, hierarchy);
	}

	sess = tpm2_fake_find_session(fake, saved_handle);
	if (!sess || id != saved_handle ||
	    sess->state != TPM2_FAKE_SESSION_SAVED ||
	    sess->sequence != sequence)
		return TPM2_FAKE_RC_HANDLE_P1;

	if (tpm2_fake_loaded_sessions(fake) >= TPM2_FAKE_MAX_LOADED_SESSIONS)
		return TPM2_FAKE_RC_SESSION_MEMORY;

	sess->state = TPM2_FAKE_SESSION_LOADED;
	fake->out_handle = sess->handle;
	return TPM2_FAKE_RC_SUCCESS;
}

/*
 * A real TPM keeps only the low bits of a saved session's sequence number,
 * so the next save may not get further than gap_max ahead of the oldest.
 */
static bool tpm2_fake_gap_exceeded(struct tpm2_fake *fake)
{
	struct tpm2_fake_session *sess;
	int i;

	for (i = 0; i < ARRAY_SIZE(fake->sessions); i++) {
		sess = &fake->sessions[i];
		if (sess->handle && sess->state == TPM2_FAKE_SESSION_SAVED &&
		    fake->context_sequence - sess->sequence >= fake->gap_max)
			return true;
	}
	return false;
}

static u32 tpm2_fake_context_save(struct tpm2_fake *fake,
				  struct tpm2_fake_req *req)
{
	u32 handle = req->handles[0];
	struct tpm2_fake_session *sess;
	struct tpm2_fake_object *obj;
	u64 sequence;

	if (!tpm2_fake_is_transient(handle) && !tpm2_fake_is_session(handle))
		return TPM2_FAKE_RC_HANDLE_H1;

	obj = tpm2_fake_find_object(fake, handle);
	if (obj) {
		sequence = fake->context_sequence++;
		tpm2_fake_out_context(fake, sequence, TPM2_FAKE_HT_TRANSIENT,
				      obj->hierarchy, obj->id);
		return TPM2_FAKE_RC_SUCCESS;
	}

	sess = tpm2_fake_find_session(fake, handle);
	if (!sess || sess->state != TPM2_FAKE_SESSION_LOADED)
		return TPM2_FAKE_RC_REFERENCE_H0;
	if (tpm2_fake_gap_exceeded(fake))
		return TPM2_FAKE_RC_CONTEXT_GAP;

	sequence = fake->context_sequence++;
	sess->state = TPM2_FAKE_SESSION_SAVED;
	sess->sequence = sequence;
	tpm2_fake_out_context(fake, sequence, handle, TPM2_FAKE_RH_NULL,
			      handle);
	return TPM2_FAKE_RC_SUCCESS;
}

static u32 tpm2_fake_flush_context(struct tpm2_fake *fake,
				   struct tpm2_fake_req *req)
{
	u32 handle = tpm2_rm_read_u32(&req->in);
	struct tpm2_fake_session *sess;
	struct tpm2_fake_object *obj;

	if (req->in.overrun)
		return TPM2_FAKE_RC_COMMAND_SIZE;

	obj = tpm2_fake_find_object(fake, handle);
	if (obj) {
		memset(obj, 0, sizeof(*obj));
		return TPM2_FAKE_RC_SUCCESS;
	}

	sess = tpm2_fake_find_session(fake, handle);
	if (sess) {
		memset(sess, 0, sizeof(*sess));
		return TPM2_FAKE_RC_SUCCESS;
	}

	return TPM2_FAKE_RC_HANDLE_P1;
}

static u32 tpm2_fake_read_public(struct tpm2_fake *fake,
				 struct tpm2_fake_req *req)
{
	struct tpm2_fake_object *obj;

	if (!tpm2_fake_is_transient(req->handles[0]))
		return TPM2_FAKE_RC_HANDLE_H1;

	obj = tpm2_fake_find_object(fake, req->handles[0]);
	if (!obj)
		return TPM2_FAKE_RC_REFERENCE_H0;

	tpm2_fake_out_public(fake, obj->id);
	out_u16(fake, 0);			/* name */
	out_u16(fake, 0);			/* qualifiedName */
	return TPM2_FAKE_RC_SUCCESS;
}

static u32 tpm2_fake_start_auth_session(struct tpm2_fake *fake,
					struct tpm2_fake_req *req)
{
	u16 size, sym;
	struct tpm2_fake_session *sess;
	u8 type;
	u32 ht;
	int i;

	for (i = 0; i < 2; i++)
		if (tpm2_fake_is_transient(req->handles[i]) &&
		    !tpm2_fake_find_object(fake, req->handles[i]))
			return TPM2_FAKE_RC_REFERENCE_H0 + i;

	tpm2_rm_read_tpm2b(&req->in, &size);			/* nonceCaller */
	tpm2_rm_read_tpm2b(&req->in, &size);			/* encryptedSalt */
	type = tpm2_rm_read_u8(&req->in);
	sym = tpm2_rm_read_u16(&req->in);
	if (sym != TPM2_FAKE_ALG_NULL) {
		tpm2_rm_read_u16(&req->in);			/* keyBits */
		tpm2_rm_read_u16(&req->in);			/* mode */
	}
	tpm2_rm_read_u16(&req->in);				/* authHash */
	if (req->in.overrun)
		return TPM2_FAKE_RC_COMMAND_SIZE;

	switch (type) {
	case TPM2_SE_HMAC:
		ht = TPM2_FAKE_HT_HMAC_SESSION;
		break;
	case TPM2_SE_POLICY:
	case TPM2_SE_TRIAL:
		ht = TPM2_FAKE_HT_POLICY_SESSION;
		break;
	default:
		return TPM2_FAKE_RC_VALUE_P3;
	}

	for (i = 0; i < ARRAY_SIZE(fake->sessions); i++)
		if (!fake->sessions[i].handle)
			break;
	if (i == ARRAY_SIZE(fake->sessions))
		return TPM2_FAKE_RC_SESSION_HANDLES;
	if (tpm2_fake_loaded_sessions(fake) >= TPM2_FAKE_MAX_LOADED_SESSIONS)
		return TPM2_FAKE_RC_SESSION_MEMORY;

	sess = &fake->sessions[i];
	sess->handle = ht | i;
	sess->state = TPM2_FAKE_SESSION_LOADED;
	sess->sequence = 0;
	fake->out_handle = sess->handle;

	out_u16(fake, TPM2_FAKE_NONCE_SIZE);	/* nonceTPM */
	for (i = 0; i < TPM2_FAKE_NONCE_SIZE; i++)
		out_u8(fake, sess->handle + i);
	return TPM2_FAKE_RC_SUCCESS;
}

static u32 tpm2_fake_get_random(struct tpm2_fake *fake,
				struct tpm2_fake_req *req)
{
	u16 n = tpm2_rm_read_u16(&req->in);
	u16 i;

	if (req->in.overrun)
		return TPM2_FAKE_RC_COMMAND_SIZE;

	n = min_t(u16, n, TPM2_FAKE_RANDOM_MAX);
	out_u16(fake, n);
	for (i = 0; i < n; i++)
		out_u8(fake, fake->random_counter++);
	return TPM2_FAKE_RC_SUCCESS;
}

static u32 tpm2_fake_get_capability(struct tpm2_fake *fake,
				    struct tpm2_fake_req *req);

/*
 * Sorted by command code, as GetCapability(TPM_CAP_COMMANDS) lists them.
 * A command takes no handle, returns none and may have an authorization
 * area unless its entry says otherwise.
 */
static const struct tpm2_fake_cc tpm2_fake_cmds[] = {
	{ .cc = TPM2_CC_CREATE_PRIMARY, .c_handles = 1, .r_handle = true,
	  .auth = TPM2_FAKE_AUTH_REQUIRED, .run = tpm2_fake_create_primary },
	{ .cc = TPM2_CC_LOAD, .c_handles = 1, .r_handle = true,
	  .auth = TPM2_FAKE_AUTH_REQUIRED, .run = tpm2_fake_load },
	{ .cc = TPM2_CC_CONTEXT_LOAD, .r_handle = true,
	  .auth = TPM2_FAKE_AUTH_FORBIDDEN, .run = tpm2_fake_context_load },
	{ .cc = TPM2_CC_CONTEXT_SAVE, .c_handles = 1,
	  .auth = TPM2_FAKE_AUTH_FORBIDDEN, .run = tpm2_fake_context_save },
	/* flushHandle is a parameter, not in the handle area */
	{ .cc = TPM2_CC_FLUSH_CONTEXT, .auth = TPM2_FAKE_AUTH_FORBIDDEN,
	  .run = tpm2_fake_flush_context },
	{ .cc = TPM2_CC_READ_PUBLIC, .c_handles = 1, .run = tpm2_fake_read_public },
	{ .cc = TPM2_CC_START_AUTH_SESS, .c_handles = 2, .r_handle = true,
	  .run = tpm2_fake_start_auth_session },
	{ .cc = TPM2_CC_GET_CAPABILITY, .run = tpm2_fake_get_capability },
	{ .cc = TPM2_CC_GET_RANDOM, .run = tpm2_fake_get_random },
};

#define TPM2_FAKE_NR_CMDS ARRAY_SIZE(tpm2_fake_cmds)

static int tpm2_fake_cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

static void tpm2_fake_cap_handles(struct tpm2_fake *fake, u32 property,
				  u32 count)
{
	u32 list[TPM2_FAKE_MAX_ACTIVE_SESSIONS];
	unsigned int n = 0, first, i;

	switch (property & TPM2_FAKE_HT_MASK) {
	case TPM2_FAKE_HT_TRANSIENT:
		for (i = 0; i < ARRAY_SIZE(fake->objects); i++)
			if (fake->objects[i].handle)
				list[n++] = fake->objects[i].handle;
		break;
	case TPM2_FAKE_HT_HMAC_SESSION:		/* TPM_HT_LOADED_SESSION */
	case TPM2_FAKE_HT_POLICY_SESSION:	/* TPM_HT_SAVED_SESSION */
		for (i = 0; i < ARRAY_SIZE(fake->sessions); i++) {
			struct tpm2_fake_session *sess = &fake->sessions[i];
			bool want_loaded = (property & TPM2_FAKE_HT_MASK) ==
					   TPM2_FAKE_HT_HMAC_SESSION;
			bool loaded = sess->state == TPM2_FAKE_SESSION_LOADED;

			if (sess->handle && loaded == want_loaded)
				list[n++] = sess->handle;
		}
		break;
	}

	sort(list, n, sizeof(list[0]), tpm2_fake_cmp_u32, NULL);
	for (first = 0; first < n; first++)
		if ((list[first] & ~TPM2_FAKE_HT_MASK) >=
		    (property & ~TPM2_FAKE_HT_MASK))
			break;

	count = min_t(u32, count, n - first);
	out_u8(fake, first + count < n);	/* moreData */
	out_u32(fake, TPM2_CAP_HANDLES);
	out_u32(fake, count);
	for (i = 0; i < count; i++)
		out_u32(fake, list[first + i]);
}

static u32 tpm2_fake_cc_attrs(const struct tpm2_fake_cc *cmd)
{
	return cmd->cc | cmd->c_handles << TPM2_FAKE_CC_CHANDLES_SHIFT |
	       (cmd->r_handle ? TPM2_FAKE_CC_RHANDLE : 0);
}

static void tpm2_fake_cap_commands(struct tpm2_fake *fake, u32 property,
				   u32 count)
{
	unsigned int first, n, i;

	for (first = 0; first < TPM2_FAKE_NR_CMDS; first++)
		if (tpm2_fake_cmds[first].cc >= property)
			break;

	n = min_t(u32, count, TPM2_FAKE_NR_CMDS - first);
	out_u8(fake, first + n < TPM2_FAKE_NR_CMDS);
	out_u32(fake, TPM2_CAP_COMMANDS);
	out_u32(fake, n);
	for (i = 0; i < n; i++)
		out_u32(fake, tpm2_fake_cc_attrs(&tpm2_fake_cmds[first + i]));
}

static void tpm2_fake_cap_properties(struct tpm2_fake *fake, u32 property,
				     u32 count)
{
	unsigned int objs = tpm2_fake_loaded_objects(fake);
	unsigned int loaded = tpm2_fake_loaded_sessions(fake);
	unsigned int active = tpm2_fake_active_sessions(fake);
	const u32 props[][2] = {
		{ TPM2_FAKE_PT_HR_TRANSIENT_MIN, TPM2_FAKE_MAX_OBJECTS },
		{ TPM2_FAKE_PT_HR_LOADED_MIN, TPM2_FAKE_MAX_LOADED_SESSIONS },
		{ TPM2_FAKE_PT_ACTIVE_SESSIONS_MAX,
		  TPM2_FAKE_MAX_ACTIVE_SESSIONS },
		{ TPM2_FAKE_PT_CONTEXT_GAP_MAX, fake->gap_max },
		{ TPM2_FAKE_PT_TOTAL_COMMANDS, TPM2_FAKE_NR_CMDS },
		{ TPM2_FAKE_PT_HR_LOADED, loaded },
		{ TPM2_FAKE_PT_HR_LOADED_AVAIL,
		  TPM2_FAKE_MAX_LOADED_SESSIONS - loaded },
		{ TPM2_FAKE_PT_HR_ACTIVE, active },
		{ TPM2_FAKE_PT_HR_ACTIVE_AVAIL,
		  TPM2_FAKE_MAX_ACTIVE_SESSIONS - active },
		{ TPM2_FAKE_PT_HR_TRANSIENT_AVAIL,
		  TPM2_FAKE_MAX_OBJECTS - objs },
	};
	unsigned int first, n, i;

	for (first = 0; first < ARRAY_SIZE(props); first++)
		if (props[first][0] >= property)
			break;

	n = min_t(u32, count, ARRAY_SIZE(props) - first);
	out_u8(fake, first + n < ARRAY_SIZE(props));
	out_u32(fake, TPM2_CAP_TPM_PROPERTIES);
	out_u32(fake, n);
	for (i = 0; i < n; i++) {
		out_u32(fake, props[first + i][0]);
		out_u32(fake, props[first + i][1]);
	}
}

static u32 tpm2_fake_get_capability(struct tpm2_fake *fake,
				    struct tpm2_fake_req *req)
{
	u32 cap = tpm2_rm_read_u32(&req->in);
	u32 property = tpm2_rm_read_u32(&req->in);
	u32 count = tpm2_rm_read_u32(&req->in);

	if (req->in.overrun)
		return TPM2_FAKE_RC_COMMAND_SIZE;

	switch (cap) {
	case TPM2_CAP_HANDLES:
		tpm2_fake_cap_handles(fake, property, count);
		break;
	case TPM2_CAP_COMMANDS:
		tpm2_fake_cap_commands(fake, property, count);
		break;
	case TPM2_CAP_TPM_PROPERTIES:
		tpm2_fake_cap_properties(fake, property, count);
		break;
	default:
		return TPM2_FAKE_RC_VALUE_P1;
	}
	return TPM2_FAKE_RC_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Command dispatch                                                    */
/* ------------------------------------------------------------------ */

static const struct tpm2_fake_cc *tpm2_fake_find_cc(u32 cc)
{
	unsigned int i;

	for (i = 0; i < TPM2_FAKE_NR_CMDS; i++)
		if (tpm2_fake_cmds[i].cc == cc)
			return &tpm2_fake_cmds[i];
	return NULL;
}

/* Parse the authorization area and check that its sessions are loaded. */
static u32 tpm2_fake_parse_auths(struct tpm2_fake *fake,
				 struct tpm2_fake_req *req)
{
	struct tpm2_rm_reader area;
	u32 size;
	u16 n;
	int i;

	size = tpm2_rm_read_u32(&req->in);
	if (!tpm2_rm_read_sub(&req->in, size, &area))
		return TPM2_FAKE_RC_AUTHSIZE;

	while (area.left) {
		if (req->nr_auths == TPM2_FAKE_MAX_AUTHS)
			return TPM2_FAKE_RC_AUTHSIZE;
		i = req->nr_auths++;
		req->auth_handles[i] = tpm2_rm_read_u32(&area);
		tpm2_rm_read_tpm2b(&area, &n);		/* nonceCaller */
		req->auth_attrs[i] = tpm2_rm_read_u8(&area);
		tpm2_rm_read_tpm2b(&area, &n);		/* hmac */
		if (area.overrun)
			return TPM2_FAKE_RC_AUTHSIZE;
	}

	if (!req->nr_auths)
		return TPM2_FAKE_RC_AUTHSIZE;

	for (i = 0; i < req->nr_auths; i++) {
		u32 h = req->auth_handles[i];

		if (h == TPM2_FAKE_RS_PW)
			continue;
		if (tpm2_fake_session_state(fake, h) !=
		    TPM2_FAKE_SESSION_LOADED)
			return TPM2_FAKE_RC_REFERENCE_S0 + i;
	}
	return TPM2_FAKE_RC_SUCCESS;
}

/* Sessions without continueSession end with a successful command. */
static void tpm2_fake_end_sessions(struct tpm2_fake *fake,
				   struct tpm2_fake_req *req)
{
	struct tpm2_fake_session *sess;
	int i;

	for (i = 0; i < req->nr_auths; i++) {
		if (req->auth_attrs[i] & TPM2_SA_CONTINUE_SESSION)
			continue;
		sess = tpm2_fake_find_session(fake, req->auth_handles[i]);
		if (sess)
			memset(sess, 0, sizeof(*sess));
	}
}

static u32 tpm2_fake_run(struct tpm2_fake *fake, struct tpm2_fake_req *req,
			 const struct tpm2_fake_cc **cmdp)
{
	const struct tpm2_fake_cc *cmd;
	unsigned int i;
	u32 rc;

	*cmdp = NULL;
	if (req->len < TPM_HEADER_SIZE)
		return TPM2_FAKE_RC_COMMAND_SIZE;
	req->tag = tpm2_rm_read_u16(&req->in);
	if (tpm2_rm_read_u32(&req->in) != req->len)
		return TPM2_FAKE_RC_COMMAND_SIZE;
	tpm2_rm_read_u32(&req->in);				/* command code */

	if (req->tag != TPM2_ST_NO_SESSIONS && req->tag != TPM2_ST_SESSIONS)
		return TPM2_FAKE_RC_BAD_TAG;

	cmd = tpm2_fake_find_cc(req->cc);
	if (!cmd)
		return TPM2_FAKE_RC_COMMAND_CODE;

	for (i = 0; i < cmd->c_handles; i++)
		req->handles[i] = tpm2_rm_read_u32(&req->in);
	if (req->in.overrun)
		return TPM2_FAKE_RC_COMMAND_SIZE;

	if (req->tag == TPM2_ST_SESSIONS) {
		if (cmd->auth == TPM2_FAKE_AUTH_FORBIDDEN)
			return TPM2_FAKE_RC_AUTH_CONTEXT;
		rc = tpm2_fake_parse_auths(fake, req);
		if (rc)
			return rc;
	} else if (cmd->auth == TPM2_FAKE_AUTH_REQUIRED) {
		return TPM2_FAKE_RC_AUTH_MISSING;
	}

	*cmdp = cmd;
	rc = cmd->run(fake, req);
	if (!rc && req->in.overrun)
		rc = TPM2_FAKE_RC_COMMAND_SIZE;
	if (!rc && fake->par_overflow)
		rc = TPM2_RC_FAILURE;
	if (!rc)
		tpm2_fake_end_sessions(fake, req);
	return rc;
}

static void tpm2_fake_respond(struct tpm2_fake *fake,
			      const struct tpm2_fake_req *req,
			      const struct tpm2_fake_cc *cmd, u32 rc)
{
	bool sessions = !rc && req->tag == TPM2_ST_SESSIONS;
	u8 *p = fake->rsp + TPM_HEADER_SIZE;
	int i;

	if (!rc && cmd) {
		if (cmd->r_handle) {
			put_unaligned_be32(fake->out_handle, p);
			p += 4;
		}
		if (sessions) {
			put_unaligned_be32(fake->par_len, p);
			p += 4;
		}
		memcpy(p, fake->par, fake->par_len);
		p += fake->par_len;
		for (i = 0; sessions && i < req->nr_auths; i++) {
			put_unaligned_be16(0, p);	/* nonceTPM */
			p[2] = req->auth_attrs[i];
			put_unaligned_be16(0, p + 3);	/* hmac */
			p += 5;
		}
	}

	fake->rsp_len = p - fake->rsp;
	put_unaligned_be16(sessions ? TPM2_ST_SESSIONS : TPM2_ST_NO_SESSIONS,
			   fake->rsp);
	put_unaligned_be32(fake->rsp_len, fake->rsp + 2);
	put_unaligned_be32(rc, fake->rsp + 6);
	fake->rsp_ready = true;
}

/* Return the injection that answers this command, if any. */
static struct tpm2_fake_injection *
tpm2_fake_take_injection(struct tpm2_fake *fake, u32 cc)
{
	struct tpm2_fake_injection *inj, *hit = NULL;
	int i;

	for (i = 0; i < ARRAY_SIZE(fake->inject); i++) {
		inj = &fake->inject[i];
		if (!inj->armed ||
		    (inj->cc != TPM2_FAKE_ANY_CC && inj->cc != cc))
			continue;
		if (inj->countdown)
			inj->countdown--;
		if (!inj->countdown && !hit)
			hit = inj;
	}
	if (hit)
		hit->armed = false;
	return hit;
}

static struct tpm2_fake_cmd *tpm2_fake_log_new(struct tpm2_fake *fake,
					       const u8 *buf, size_t len)
{
	struct tpm2_fake_cmd *rec;
	u32 cc = 0;
	int i;

	if (len >= TPM_HEADER_SIZE)
		cc = get_unaligned_be32(buf + 6);

	fake->total_cmds++;
	if (cc && cc < TPM2_FAKE_NR_CC)
		fake->cc_count[cc]++;

	rec = &fake->log[fake->log_total++ % TPM2_FAKE_LOG_SIZE];
	memset(rec, 0, sizeof(*rec));
	rec->cc = cc;
	for (i = 0; i < ARRAY_SIZE(rec->arg); i++)
		if (len >= TPM_HEADER_SIZE + 4 * (i + 1))
			rec->arg[i] = get_unaligned_be32(buf + TPM_HEADER_SIZE +
							 4 * i);
	return rec;
}

static int tpm2_fake_send(struct tpm_chip *chip, u8 *buf, size_t len)
{
	struct tpm2_fake *fake = dev_get_drvdata(&chip->dev);
	const struct tpm2_fake_cc *cmd = NULL;
	struct tpm2_fake_injection *inj;
	struct tpm2_fake_req req = { .len = len };
	struct tpm2_fake_cmd *rec;
	u32 rc;

	tpm2_rm_reader_init(&req.in, buf, len);
	rec = tpm2_fake_log_new(fake, buf, len);
	req.cc = rec->cc;
	fake->rsp_ready = false;
	fake->out_handle = 0;
	fake->par_len = 0;
	fake->par_overflow = false;

	inj = tpm2_fake_take_injection(fake, rec->cc);
	if (inj) {
		rec->injected = true;
		if (inj->err)
			return inj->err;
		rc = inj->rc;
	} else {
		rc = tpm2_fake_run(fake, &req, &cmd);
	}

	rec->rc = rc;
	if (!rc && cmd && cmd->r_handle)
		rec->out_handle = fake->out_handle;
	tpm2_fake_respond(fake, &req, cmd, rc);
	return 0;
}

static int tpm2_fake_recv(struct tpm_chip *chip, u8 *buf, size_t len)
{
	struct tpm2_fake *fake = dev_get_drvdata(&chip->dev);

	if (!fake->rsp_ready || len < fake->rsp_len)
		return -EIO;

	memcpy(buf, fake->rsp, fake->rsp_len);
	fake->rsp_ready = false;
	return fake->rsp_len;
}

static u8 tpm2_fake_status(struct tpm_chip *chip)
{
	struct tpm2_fake *fake = dev_get_drvdata(&chip->dev);

	return fake->rsp_ready ? TPM2_FAKE_STS_DONE : 0;
}

static bool tpm2_fake_req_canceled(struct tpm_chip *chip, u8 status)
{
	return false;
}

static void tpm2_fake_cancel(struct tpm_chip *chip)
{
	struct tpm2_fake *fake = dev_get_drvdata(&chip->dev);

	fake->rsp_ready = false;
}

static const struct tpm_class_ops tpm2_fake_ops = {
	.req_complete_mask = TPM2_FAKE_STS_DONE,
	.req_complete_val = TPM2_FAKE_STS_DONE,
	.req_canceled = tpm2_fake_req_canceled,
	.send = tpm2_fake_send,
	.recv = tpm2_fake_recv,
	.status = tpm2_fake_status,
	.cancel = tpm2_fake_cancel,
};

/* ------------------------------------------------------------------ */
/* Public interface                                                    */
/* ------------------------------------------------------------------ */

/**
 * tpm2_fake_create() - create a fake TPM 2.0 and its chip for a test
 * @test: the test; the chip and the fake are released when it ends
 *
 * The chip is allocated with tpmm_chip_alloc() on a KUnit device, marked
 * as TPM 2.0, and its command attribute table is read from the fake with
 * tpm2_get_cc_attrs_tbl(), as tpm_chip_register() would. The chip is not
 * registered: no character devices, sysfs or hwrng. Counters and the log
 * start empty. Fails the test on error.
 *
 * Return: the fake.
 */
struct tpm2_fake *tpm2_fake_create(struct kunit *test)
{
	struct tpm2_fake *fake;
	struct tpm_chip *chip;
	struct device *dev;
	char name[32];
	int rc;

	fake = kunit_kzalloc(test, sizeof(*fake), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fake);

	snprintf(name, sizeof(name), "tpm2-fake%d",
		 atomic_inc_return(&tpm2_fake_instances));
	dev = kunit_device_register(test, name);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);

	chip = tpmm_chip_alloc(dev, &tpm2_fake_ops);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, chip);
	chip->flags |= TPM_CHIP_FLAG_TPM2;
	dev_set_drvdata(&chip->dev, fake);
	fake->chip = chip;
	fake->gap_max = 0xFFFF;

	rc = tpm_try_get_ops(chip);
	KUNIT_ASSERT_EQ(test, rc, 0);
	rc = tpm2_get_cc_attrs_tbl(chip);
	tpm_put_ops(chip);
	KUNIT_ASSERT_EQ(test, rc, 0);
	KUNIT_ASSERT_EQ(test, chip->nr_commands, TPM2_FAKE_NR_CMDS);

	tpm2_fake_reset_counters(fake);
	return fake;
}

/**
 * tpm2_fake_chip() - the chip in front of a fake
 * @fake: the fake
 *
 * Return: the chip.
 */
struct tpm_chip *tpm2_fake_chip(struct tpm2_fake *fake)
{
	return fake->chip;
}

/**
 * tpm2_fake_set_handle_reuse() - choose how transient handles are assigned
 * @fake: the fake
 * @reuse: true to name an object after its slot (0x80000000 + slot, as
 *	   most TPMs do), false (the default) to give each load a fresh
 *	   handle 0x80000000 + n so that stale handles are never valid again
 */
void tpm2_fake_set_handle_reuse(struct tpm2_fake *fake, bool reuse)
{
	fake->reuse_handles = reuse;
}

/**
 * tpm2_fake_reset_tpm() - a TPM Reset, as after a resume without state
 * @fake: the fake
 *
 * Every session and loaded object is gone, and new sessions get the
 * handle numbers from the first again. Saved session contexts cannot be
 * loaded any more; object contexts still can (the fake has no context
 * key that a reset would change). Call it with no command in flight.
 */
void tpm2_fake_reset_tpm(struct tpm2_fake *fake)
{
	memset(fake->sessions, 0, sizeof(fake->sessions));
	memset(fake->objects, 0, sizeof(fake->objects));
}

/**
 * tpm2_fake_set_context_gap() - set the fake's TPM_PT_CONTEXT_GAP_MAX
 * @fake: the fake
 * @gap_max: how far the next session save may be ahead of the oldest saved
 *	     session (0xFFFF unless set)
 */
void tpm2_fake_set_context_gap(struct tpm2_fake *fake, u32 gap_max)
{
	fake->gap_max = gap_max;
}

/**
 * tpm2_fake_dev_transmit() - send a command the way /dev/tpmrm0 does
 * @chip: the chip
 * @space: the space, or NULL for no resource management
 * @buf: command in, response out
 * @bufsiz: size of @buf
 *
 * The very code of write() on /dev/tpmrm0, tpm_dev_run() in
 * tpm-dev-common.c, without a file: it takes the chip, runs
 * tpm2_prepare_space(), tpm_transmit() and tpm2_commit_space(), and runs
 * the command again after tpm2_space_wait() when the resource manager
 * asks for that.
 *
 * Return: response length or -errno, as write() would.
 */
ssize_t tpm2_fake_dev_transmit(struct tpm_chip *chip, struct tpm_space *space,
			       u8 *buf, size_t bufsiz)
{
	return tpm_dev_run(chip, space, buf, bufsiz, NULL);
}

/* Arms a free injection slot with @inj, which fires on its countdown. */
static int tpm2_fake_arm(struct tpm2_fake *fake,
			 const struct tpm2_fake_injection *inj)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(fake->inject); i++) {
		if (fake->inject[i].armed)
			continue;
		fake->inject[i] = *inj;
		return 0;
	}
	return -ENOSPC;
}

/**
 * tpm2_fake_inject() - answer a future command with a given response code
 * @fake: the fake
 * @cc: command code to match, or TPM2_FAKE_ANY_CC for any command
 * @nth: 1 for the next matching command, 2 for the one after, ...
 * @rc: response code; the model does not see the command
 *
 * Up to eight injections may be pending; each fires once.
 *
 * Return: 0, or -ENOSPC when too many injections are pending.
 */
int tpm2_fake_inject(struct tpm2_fake *fake, u32 cc, unsigned int nth, u32 rc)
{
	const struct tpm2_fake_injection inj = {
		.armed = true,
		.cc = cc,
		.countdown = max(nth, 1U),
		.rc = rc,
	};

	return tpm2_fake_arm(fake, &inj);
}

/**
 * tpm2_fake_inject_next() - answer the next command with @rc
 * @fake: the fake
 * @rc: response code
 *
 * Return: as tpm2_fake_inject().
 */
int tpm2_fake_inject_next(struct tpm2_fake *fake, u32 rc)
{
	return tpm2_fake_inject(fake, TPM2_FAKE_ANY_CC, 1, rc);
}

/**
 * tpm2_fake_inject_send_error() - make ->send() fail for a future command
 * @fake: the fake
 * @cc: command code to match, or TPM2_FAKE_ANY_CC
 * @nth: as for tpm2_fake_inject()
 * @err: negative errno returned by ->send()
 *
 * Return: as tpm2_fake_inject(), or -EINVAL if @err is not negative.
 */
int tpm2_fake_inject_send_error(struct tpm2_fake *fake, u32 cc,
				unsigned int nth, int err)
{
	const struct tpm2_fake_injection inj = {
		.armed = true,
		.cc = cc,
		.countdown = max(nth, 1U),
		.err = err,
	};

	if (err >= 0)
		return -EINVAL;
	return tpm2_fake_arm(fake, &inj);
}

/**
 * tpm2_fake_injections_pending() - count injections that have not fired
 * @fake: the fake
 *
 * Return: the count.
 */
unsigned int tpm2_fake_injections_pending(struct tpm2_fake *fake)
{
	unsigned int i, n = 0;

	for (i = 0; i < ARRAY_SIZE(fake->inject); i++)
		n += fake->inject[i].armed;
	return n;
}

/**
 * tpm2_fake_clear_injections() - disarm all pending injections
 * @fake: the fake
 */
void tpm2_fake_clear_injections(struct tpm2_fake *fake)
{
	memset(fake->inject, 0, sizeof(fake->inject));
}

/**
 * tpm2_fake_cmd_count() - commands received since the last reset
 * @fake: the fake
 * @cc: a command code below 0x200, or TPM2_FAKE_ANY_CC for all commands
 *
 * Commands answered by an injection are counted too.
 *
 * Return: the count.
 */
unsigned int tpm2_fake_cmd_count(struct tpm2_fake *fake, u32 cc)
{
	if (cc == TPM2_FAKE_ANY_CC)
		return fake->total_cmds;
	return cc < TPM2_FAKE_NR_CC ? fake->cc_count[cc] : 0;
}

/**
 * tpm2_fake_log_entry() - a recently received command
 * @fake: the fake
 * @age: 0 for the latest command, 1 for the one before, ...
 *
 * Return: the entry, or NULL if it is older than the log reaches.
 */
const struct tpm2_fake_cmd *tpm2_fake_log_entry(struct tpm2_fake *fake,
						unsigned int age)
{
	if (age >= fake->log_total || age >= TPM2_FAKE_LOG_SIZE)
		return NULL;
	return &fake->log[(fake->log_total - 1 - age) % TPM2_FAKE_LOG_SIZE];
}

/**
 * tpm2_fake_last_cmd() - the latest logged command with a given code
 * @fake: the fake
 * @cc: command code, or TPM2_FAKE_ANY_CC
 *
 * Return: the entry, or NULL if none is in the log.
 */
const struct tpm2_fake_cmd *tpm2_fake_last_cmd(struct tpm2_fake *fake, u32 cc)
{
	const struct tpm2_fake_cmd *rec;
	unsigned int age;

	for (age = 0; (rec = tpm2_fake_log_entry(fake, age)); age++)
		if (cc == TPM2_FAKE_ANY_CC || rec->cc == cc)
			return rec;
	return NULL;
}

/**
 * tpm2_fake_reset_counters() - zero the command counters and the log
 * @fake: the fake
 */
void tpm2_fake_reset_counters(struct tpm2_fake *fake)
{
	fake->total_cmds = 0;
	fake->log_total = 0;
	memset(fake->cc_count, 0, sizeof(fake->cc_count));
	memset(fake->log, 0, sizeof(fake->log));
}

/**
 * tpm2_fake_loaded_objects() - transient objects loaded right now
 * @fake: the fake
 *
 * Return: the count.
 */
unsigned int tpm2_fake_loaded_objects(struct tpm2_fake *fake)
{
	unsigned int i, n = 0;

	for (i = 0; i < ARRAY_SIZE(fake->objects); i++)
		n += !!fake->objects[i].handle;
	return n;
}

static unsigned int tpm2_fake_count_sessions(struct tpm2_fake *fake,
					     enum tpm2_fake_session_state state)
{
	unsigned int i, n = 0;

	for (i = 0; i < ARRAY_SIZE(fake->sessions); i++)
		n += fake->sessions[i].handle &&
		     fake->sessions[i].state == state;
	return n;
}

/**
 * tpm2_fake_loaded_sessions() - sessions loaded right now
 * @fake: the fake
 *
 * Return: the count.
 */
unsigned int tpm2_fake_loaded_sessions(struct tpm2_fake *fake)
{
	return tpm2_fake_count_sessions(fake, TPM2_FAKE_SESSION_LOADED);
}

/**
 * tpm2_fake_saved_sessions() - sessions that exist only as saved contexts
 * @fake: the fake
 *
 * Return: the count.
 */
unsigned int tpm2_fake_saved_sessions(struct tpm2_fake *fake)
{
	return tpm2_fake_count_sessions(fake, TPM2_FAKE_SESSION_SAVED);
}

/**
 * tpm2_fake_active_sessions() - sessions loaded or saved
 * @fake: the fake
 *
 * Return: the count.
 */
unsigned int tpm2_fake_active_sessions(struct tpm2_fake *fake)
{
	return tpm2_fake_loaded_sessions(fake) + tpm2_fake_saved_sessions(fake);
}

/**
 * tpm2_fake_context_sequence() - the sequence number of the next save
 * @fake: the fake
 *
 * Return: the number of ContextSave commands that succeeded so far.
 */
u64 tpm2_fake_context_sequence(struct tpm2_fake *fake)
{
	return fake->context_sequence;
}

/**
 * tpm2_fake_object_id() - which object is loaded under a handle
 * @fake: the fake
 * @handle: a transient handle
 *
 * Objects are numbered from 1 in creation order; ReadPublic and the public
 * area returned by CreatePrimary carry the same number.
 *
 * Return: the object's number, or 0 if nothing is loaded under @handle.
 */
u32 tpm2_fake_object_id(struct tpm2_fake *fake, u32 handle)
{
	struct tpm2_fake_object *obj = tpm2_fake_find_object(fake, handle);

	return obj ? obj->id : 0;
}

/**
 * tpm2_fake_session_state() - where a session is
 * @fake: the fake
 * @handle: a session handle
 *
 * Return: loaded, saved, or none if no such session exists.
 */
enum tpm2_fake_session_state tpm2_fake_session_state(struct tpm2_fake *fake,
						     u32 handle)
{
	struct tpm2_fake_session *sess = tpm2_fake_find_session(fake, handle);

	return sess ? sess->state : TPM2_FAKE_SESSION_NONE;
}
