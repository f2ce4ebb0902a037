// SPDX-License-Identifier: GPL-2.0-only
/*
 * The commands the TPM 2.0 resource manager answers or rewrites itself
 * (TCG TSS 2.0 TAB and RM, section 3.7): FlushContext of an object,
 * ContextSave of an object, ContextLoad of a session another file or a
 * re-gap has a say in, and GetCapability(TPM_CAP_HANDLES) of the handle
 * types a space holds. Everything else goes to the TPM unchanged but for
 * its handles.
 */

#include <linux/slab.h>
#include <linux/sort.h>
#include "tpm2-space.h"

/**
 * tpm2_rm_reply() - answer the client instead of the TPM
 * @chip: the chip
 * @buf: the command buffer, at least TPM_HEADER_SIZE bytes
 * @rc: the response code
 *
 * Return: the length of the response.
 */
int tpm2_rm_reply(struct tpm_chip *chip, u8 *buf, u32 rc)
{
	atomic_long_inc(&chip->rm->stats.rm_answers);
	return tpm2_rm_answer(buf, rc);
}

/*
 * Gives a ContextLoad the current blob of @sess, the client-saved or
 * abandoned session the blob in @buf names: a blob the client saved itself
 * is replaced when a re-gap has used it up. Any other blob is left for the
 * TPM to judge. Returns 0, or -E2BIG if the current blob does not fit.
 */
static int substitute_current_blob(struct tpm2_rm_session *sess, u8 *buf,
				   struct tpm2_rm_cmd *cmd)
{
	struct tpm_header *head = (struct tpm_header *)buf;
	u64 seq = tpm2_context_sequence(buf + cmd->param_off);

	if (sess->state == TPM2_RM_HELD || !sess->blob ||
	    seq == sess->seq || seq != sess->client_seq)
		return 0;
	if (cmd->param_off + sess->len > cmd->bufsiz)
		return -E2BIG;
	memcpy(buf + cmd->param_off, sess->blob, sess->len);
	cmd->len = cmd->param_off + sess->len;
	head->length = cpu_to_be32(cmd->len);
	return 0;
}

/*
 * FlushContext of an object only drops the space's saved context: the
 * object is not in the TPM. A session is flushed by the TPM, saved or not.
 */
static int prepare_flush(struct tpm_chip *chip, struct tpm_space *space,
			 u8 *buf)
{
	struct tpm2_rm_cmd *cmd = tpm2_rm_cmd_in_flight(chip->rm);
	struct tpm2_rm_session *sess;
	struct tpm2_rm_object *obj;
	u32 h = cmd->handle[0];

	if (tpm2_rm_is_transient(h)) {
		obj = tpm2_rm_object_find(space, h);
		if (!obj)
			return -EINVAL;
		tpm2_rm_object_del(space, obj);
		return tpm2_rm_reply(chip, buf, TPM2_RC_SUCCESS);
	}
	if (!tpm2_rm_is_session(h))
		return 0;
	sess = tpm2_rm_session_find(space, h);
	if (!sess)
		return tpm2_rm_reply(chip, buf, TPM2_RM_LAYER | TPM2_RC_HANDLE |
				 TPM2_RC_FMT1_P | (1 << TPM2_RC_FMT1_N_SHIFT));
	if (sess->state == TPM2_RM_STALE) {
		tpm2_rm_session_del(chip->rm, sess);
		return tpm2_rm_reply(chip, buf, TPM2_RC_SUCCESS);
	}
	cmd->sess[TPM2_RM_REF_FLUSH] = sess;
	return 0;
}

/*
 * A session context may only be loaded by the space that saved it, or,
 * once that file is closed, by a file of the same user. A client's blob
 * that a re-gap has replaced is swapped for the current one.
 */
static int prepare_context_load(struct tpm_chip *chip,
				struct tpm_space *space, u8 *buf)
{
	struct tpm2_rm_chip *rm = chip->rm;
	struct tpm2_rm_cmd *cmd = tpm2_rm_cmd_in_flight(rm);
	const u32 refused = TPM2_RM_LAYER | TPM2_RC_HANDLE | TPM2_RC_FMT1_P |
			    (1 << TPM2_RC_FMT1_N_SHIFT);
	struct tpm2_rm_session *sess;
	int len;
	u32 h;

	if (tpm2_rm_context_len(buf + cmd->param_off,
				cmd->len - cmd->param_off) < 0)
		return tpm2_rm_reply(chip, buf, TPM2_RM_LAYER | TPM2_RC_COMMAND_SIZE);
	h = tpm2_context_saved_handle(buf + cmd->param_off);
	if (!tpm2_rm_is_session(h))
		return 0;

	/* the space's own session was evicted or lost */
	sess = tpm2_rm_session_find(space, h);
	if (sess && sess->state == TPM2_RM_STALE) {
		tpm2_rm_session_del(rm, sess);
		return tpm2_rm_reply(chip, buf, TPM2_RM_LAYER |
				 TPM2_RC_REFERENCE_H0);
	}

	sess = tpm2_rm_session_lookup(rm, h);
	if (sess && sess->space == space &&
	    sess->state != TPM2_RM_CLIENT_SAVED)
		return tpm2_rm_reply(chip, buf, refused);
	if (sess && sess->space && sess->space != space)
		return tpm2_rm_reply(chip, buf, refused);
	if (sess && !sess->space && !uid_eq(sess->euid, space->euid))
		return tpm2_rm_reply(chip, buf, refused);
	if ((!sess || !sess->space) &&
	    tpm2_rm_over_quota(space, TPM_SPACE_QUOTA_SESSIONS))
		return tpm2_rm_reply(chip, buf, TPM2_RM_LAYER |
				 TPM2_RC_SESSION_MEMORY);
	if (sess && substitute_current_blob(sess, buf, cmd))
		return tpm2_rm_reply(chip, buf, TPM2_RM_LAYER | TPM2_RC_COMMAND_SIZE);
	cmd->sess[TPM2_RM_REF_LOAD] = sess;
	if (sess)
		return 0;
	/* a buffer for the new record's saves, before the TPM uses it up */
	len = tpm2_rm_context_len(buf + cmd->param_off,
				  cmd->len - cmd->param_off);
	cmd->load_blob = tpm2_rm_memdup(buf + cmd->param_off, len);
	if (!cmd->load_blob)
		return -ENOMEM;
	cmd->load_len = len;
	return 0;
}

/*
 * ContextSave of an object is answered with the context the space holds.
 * Between commands that context is current: a new object is saved once,
 * and a sequence is saved again after every command that names it. Any
 * space may load it. An unknown or stale object, and a command the TPM
 * would refuse for its shape, take the usual way and get its error.
 */
static int prepare_context_save(struct tpm_chip *chip,
				struct tpm_space *space, u8 *buf, size_t bufsiz)
{
	struct tpm2_rm_cmd *cmd = tpm2_rm_cmd_in_flight(chip->rm);
	struct tpm_header *head = (struct tpm_header *)buf;
	struct tpm2_rm_object *obj;
	u32 len;

	if (cmd->nr_handles != 1 || !tpm2_rm_is_transient(cmd->handle[0]) ||
	    cmd->tag != TPM2_ST_NO_SESSIONS || cmd->len != TPM_HEADER_SIZE + 4)
		return 0;
	obj = tpm2_rm_object_find(space, cmd->handle[0]);
	if (!obj || obj->stale || !obj->blob)
		return 0;
	len = TPM_HEADER_SIZE + obj->len;
	if (len > bufsiz)
		return 0;
	tpm2_rm_answer(buf, TPM2_RC_SUCCESS);
	memcpy(buf + TPM_HEADER_SIZE, obj->blob, obj->len);
	head->length = cpu_to_be32(len);
	atomic_long_inc(&chip->rm->stats.rm_answers);
	return len;
}

/*
 * Sessions are listed in the order of the low 24 bits, which is what the
 * property of the next page is compared with: HMAC (0x02) and policy
 * (0x03) sessions share one range of handle numbers.
 */
static int cmp_handle_number(const void *a, const void *b)
{
	u32 x = tpm2_rm_handle_index(*(const u32 *)a);
	u32 y = tpm2_rm_handle_index(*(const u32 *)b);

	return x < y ? -1 : x > y;
}

/* Collects the space's handles of one handle type, sorted. */
static unsigned int collect_handles(struct tpm_space *space,
				    enum tpm2_mso_type type,
				    u32 *out, unsigned int max)
{
	struct tpm2_rm_session *sess;
	struct tpm2_rm_object *obj;
	unsigned int n = 0;
	u8 state;

	if (type == TPM2_MSO_VOLATILE) {
		list_for_each_entry(obj, &space->objects, node)
			if (n < max)
				out[n++] = obj->vhandle;
		return n;
	}
	/* the client sees the sessions the RM holds for it as loaded */
	state = type == TPM2_MSO_SESSION ? TPM2_RM_HELD :
					       TPM2_RM_CLIENT_SAVED;
	list_for_each_entry(sess, &space->sessions, node)
		if (sess->state == state && n < max)
			out[n++] = sess->handle;
	sort(out, n, sizeof(*out), cmp_handle_number, NULL);
	return n;
}

/*
 * GetCapability(TPM_CAP_HANDLES) for transient objects and sessions shows
 * the space its own handles only. A command with an authorization area is
 * the TPM's to answer: only the TPM can roll the nonces, end a session
 * without continueSession, extend an audit digest and compute the
 * response HMAC, which covers the list, so the list is not rewritten
 * either. Returns 0 to pass the command on.
 */
static int prepare_get_capability(struct tpm_chip *chip,
				  struct tpm_space *space, u8 *buf,
				  size_t bufsiz)
{
	struct tpm2_cap_handles_rsp *rsp = (struct tpm2_cap_handles_rsp *)buf;
	struct tpm2_rm_cmd *cmd = tpm2_rm_cmd_in_flight(chip->rm);
	unsigned int i, n, first, max, out;
	u32 cap, property, count, *handles;
	enum tpm2_mso_type type;
	const struct tpm2_get_cap_in *in;
	struct tpm2_rm_reader r;

	tpm2_rm_reader_init(&r, buf + cmd->param_off,
			    cmd->len - cmd->param_off);
	in = (const void *)tpm2_rm_read_bytes(&r, sizeof(*in));
	if (cmd->tag == TPM2_ST_SESSIONS || !in)
		return 0;
	cap = be32_to_cpu(in->capability);
	property = be32_to_cpu(in->property);
	count = be32_to_cpu(in->count);
	type = tpm2_handle_mso(property);
	if (cap != TPM2_CAP_HANDLES || (type != TPM2_MSO_VOLATILE &&
					!tpm2_rm_is_session(property)))
		return 0;

	max = type == TPM2_MSO_VOLATILE ? space->nr_objects :
					  space->nr_sessions;
	handles = tpm2_rm_alloc(array_size(max ?: 1, sizeof(*handles)));
	if (!handles)
		return -ENOMEM;
	n = collect_handles(space, type, handles, max);
	for (first = 0; first < n; first++)
		if (tpm2_rm_handle_index(handles[first]) >=
		    tpm2_rm_handle_index(property))
			break;
	out = min3(n - first, count,
		   (u32)((bufsiz - sizeof(*rsp)) / sizeof(rsp->handle[0])));

	tpm2_rm_answer(buf, TPM2_RC_SUCCESS);
	rsp->more_data = first + out < n;
	rsp->capability = cpu_to_be32(TPM2_CAP_HANDLES);
	rsp->count = cpu_to_be32(out);
	for (i = 0; i < out; i++)
		rsp->handle[i] = cpu_to_be32(handles[first + i]);
	kfree(handles);
	rsp->head.length = cpu_to_be32(struct_size(rsp, handle, out));
	atomic_long_inc(&chip->rm->stats.rm_answers);
	return struct_size(rsp, handle, out);
}

/**
 * tpm2_rm_emulate() - answer or rewrite a context or capability command
 * @chip: the chip, with its ops held
 * @space: the space of the file
 * @buf: the command, parsed into chip->rm->cmd; the answer on return > 0
 * @bufsiz: size of @buf
 *
 * Return: 0 to go on with the command (a FlushContext of a session has set
 * its reference), the length of the response written into @buf, or -errno.
 */
int tpm2_rm_emulate(struct tpm_chip *chip, struct tpm_space *space, u8 *buf,
		    size_t bufsiz)
{
	switch (tpm2_rm_cmd_in_flight(chip->rm)->cc) {
	case TPM2_CC_FLUSH_CONTEXT:
		return prepare_flush(chip, space, buf);
	case TPM2_CC_CONTEXT_LOAD:
		return prepare_context_load(chip, space, buf);
	case TPM2_CC_CONTEXT_SAVE:
		return prepare_context_save(chip, space, buf, bufsiz);
	case TPM2_CC_GET_CAPABILITY:
		return prepare_get_capability(chip, space, buf, bufsiz);
	}
	return 0;
}
