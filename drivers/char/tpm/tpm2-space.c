// SPDX-License-Identifier: GPL-2.0-only
/*
 * The TPM 2.0 resource manager behind /dev/tpmrmN: the hooks the TPM core
 * calls around each command of a space, and the bookkeeping after a
 * command the TPM ran. Loading what a command names and unloading it
 * afterwards is in tpm2-space-load.c; the commands the resource manager
 * answers or rewrites itself are in tpm2-space-emulate.c.
 *
 * For each command only the contexts it names are loaded; afterwards
 * sessions are saved and objects flushed, so that between commands the
 * resource manager holds no TPM slot. Documentation/security/tpm/
 * tpm-space.rst describes the model and the error codes.
 */

#include <kunit/visibility.h>
#include <linux/cred.h>
#include <linux/lockdep.h>
#include <linux/slab.h>
#include "tpm2-space.h"

#define TPM2_SEQUENCE_SAVED_HANDLE	0x80000001

/**
 * tpm2_init_space() - set up the space of a newly opened /dev/tpmrm file
 * @space: the space
 * @buf_size: unused; a space allocates per object and session it holds
 *
 * The opener's effective uid decides who may claim the space's sessions
 * once the file is closed.
 *
 * Return: 0
 */
int tpm2_init_space(struct tpm_space *space, unsigned int buf_size)
{
	INIT_LIST_HEAD(&space->objects);
	INIT_LIST_HEAD(&space->sessions);
	space->nr_objects = 0;
	space->nr_sessions = 0;
	space->nr_tombstones = 0;
	space->next_vhandle = 0;
	space->euid = current_euid();
	space->id = tpm2_rm_new_space_id();
	INIT_LIST_HEAD(&space->wait_node);
	space->wait_deadline = 0;
	space->wait_until = 0;
	space->wait_wake = 0;
	space->wait_asked = false;
	init_waitqueue_head(&space->wait_wq);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(tpm2_init_space);

static bool object_is_sequence(struct tpm2_rm_object *obj)
{
	return obj->blob && tpm2_context_saved_handle(obj->blob) ==
			    TPM2_SEQUENCE_SAVED_HANDLE;
}

static int prepare(struct tpm_chip *chip, struct tpm_space *space, u8 *buf,
		   size_t bufsiz)
{
	struct tpm2_rm_chip *rm = chip->rm;
	struct tpm2_rm_cmd *cmd = tpm2_rm_cmd_in_flight(rm);
	int answer_len;
	int rc;

	tpm2_rm_trim_tombstones(rm, space);
	rc = tpm2_rm_parse(chip, buf, bufsiz, cmd);
	if (rc) {
		dev_dbg_ratelimited(&chip->dev, "space: refused command 0x%x: 0x%x\n",
				    cmd->cc, rc);
		return tpm2_rm_reply(chip, buf, rc);
	}
	/* once per chip; a command refused above needs no TPM command */
	if (!rm->gap_max)
		tpm2_rm_read_limits(chip);
	cmd->bufsiz = bufsiz;
	answer_len = tpm2_rm_emulate(chip, space, buf, bufsiz);
	if (answer_len)
		return answer_len;

	/* a FlushContext of a session loads nothing */
	if (!cmd->sess[TPM2_RM_REF_FLUSH]) {
		rc = tpm2_rm_load_cmd(chip, space, buf);
		if (rc > 0)
			return tpm2_rm_reply(chip, buf, rc);
		if (rc)
			return rc;
	}
	rm->space = space;
	atomic_long_inc(&rm->stats.user_cmds);
	return 0;
}

/**
 * tpm2_prepare_space() - check a command and load what it names
 * @chip: the chip, with its ops held
 * @space: the space of the file, or NULL for /dev/tpmN
 * @buf: the command; the resource manager's own answer on return > 0
 * @bufsiz: size of @buf
 *
 * Return: 0 to send the command, the length of the response the resource
 * manager wrote into @buf, or -errno.
 */
int tpm2_prepare_space(struct tpm_chip *chip, struct tpm_space *space, u8 *buf,
		       size_t bufsiz)
{
	int rc;

	lockdep_assert_held(&chip->tpm_mutex);
	if (!space) {
		tpm2_rm_outside_prepare(chip->rm, buf, bufsiz);
		return 0;
	}
	tpm2_rm_command_begin(chip->rm, space, buf, bufsiz);
	rc = prepare(chip, space, buf, bufsiz);
	if (rc) {
		/* a command waiting for a session handle that will not be sent */
		tpm2_rm_leave_line(chip->rm, space, false);
		tpm2_rm_command_end(chip->rm, buf, max(rc, 0), min(rc, 0));
	}
	return rc;
}

/* Gives the space the object or session the TPM returned a handle for. */
static u32 commit_new_handle(struct tpm_chip *chip, struct tpm_space *space,
			     u8 *buf)
{
	struct tpm2_rm_chip *rm = chip->rm;
	struct tpm2_rm_cmd *cmd = tpm2_rm_cmd_in_flight(rm);
	u32 h = tpm2_handle_at(buf, 0);
	struct tpm2_rm_object *obj;
	struct tpm2_rm_session *sess;

	if (tpm2_rm_is_transient(h)) {
		if (tpm2_rm_over_quota(space, TPM_SPACE_QUOTA_OBJECTS)) {
			tpm2_rm_flush(chip, h, TPM_SPACE_WHY_REFUSED);
			return TPM2_RM_LAYER | TPM2_RC_OBJECT_MEMORY;
		}
		obj = tpm2_rm_object_add(space);
		if (!obj) {
			tpm2_rm_flush(chip, h, TPM_SPACE_WHY_REFUSED);
			return TPM2_RM_LAYER | TPM2_RC_MEMORY;
		}
		obj->phandle = h;
		/* a ContextLoad's context needs no save */
		obj->blob = cmd->load_blob;
		obj->len = cmd->load_len;
		obj->dirty = !obj->blob;
		cmd->load_blob = NULL;
		cmd->obj[TPM2_RM_REF_NEW] = obj;
		tpm2_set_handle_at(buf, 0, obj->vhandle);
		return 0;
	}
	if (!tpm2_rm_is_session(h))
		return 0;

	/* another record of the handle is stale: its session is gone */
	tpm2_rm_session_taken(rm, h, cmd->sess[TPM2_RM_REF_LOAD]);
	sess = cmd->sess[TPM2_RM_REF_LOAD];
	if (sess && sess->handle == h) {
		/* the TPM has used the blob up; its buffer takes the save */
		tpm2_rm_session_set_state(rm, sess, TPM2_RM_LOADED, space);
		sess->last_used = tpm2_rm_now();
		return 0;
	}
	if (tpm2_rm_over_quota(space, TPM_SPACE_QUOTA_SESSIONS)) {
		tpm2_rm_flush(chip, h, TPM_SPACE_WHY_REFUSED);
		return TPM2_RM_LAYER | TPM2_RC_SESSION_MEMORY;
	}
	sess = tpm2_rm_session_add(rm, space, h);
	if (!sess) {
		tpm2_rm_flush(chip, h, TPM_SPACE_WHY_REFUSED);
		return TPM2_RM_LAYER | TPM2_RC_MEMORY;
	}
	/* the context a ContextLoad used up, as the buffer for saves */
	sess->blob = cmd->load_blob;
	sess->len = cmd->load_len;
	cmd->load_blob = NULL;
	cmd->sess[TPM2_RM_REF_NEW] = sess;
	return 0;
}

/*
 * The client holds the only valid context of @sess now. A copy is kept, so
 * that the session can be re-gapped and, if need be, evicted.
 */
static void commit_client_save(struct tpm_chip *chip,
			       struct tpm2_rm_session *sess, const u8 *buf,
			       size_t len)
{
	const u8 *ctx = buf + TPM_HEADER_SIZE;
	int ctx_len;
	u8 *copy;

	tpm2_rm_session_set_state(chip->rm, sess, TPM2_RM_CLIENT_SAVED, NULL);
	sess->last_used = tpm2_rm_now();
	ctx_len = tpm2_rm_context_len(ctx, len - TPM_HEADER_SIZE);
	if (ctx_len >= 0 && sess->blob && ctx_len <= sess->len) {
		/* over the buffer of the context the session was loaded from */
		memcpy(sess->blob, ctx, ctx_len);
	} else {
		copy = ctx_len < 0 ? NULL : tpm2_rm_memdup(ctx, ctx_len);
		kfree(sess->blob);
		sess->blob = copy;
		/* without a copy the client's blob still loads */
		if (!copy)
			return;
	}
	sess->len = ctx_len;
	tpm2_rm_saved(chip->rm, sess);
	sess->client_seq = sess->seq;
}

/* Bookkeeping for a command the TPM executed successfully. */
static void commit_success(struct tpm_chip *chip, struct tpm_space *space,
			   const u8 *buf, size_t len)
{
	struct tpm2_rm_cmd *cmd = tpm2_rm_cmd_in_flight(chip->rm);
	struct tpm2_rm_session *sess;
	struct tpm2_rm_object *obj;
	bool freed = false;
	unsigned int i;

	if (cmd->sess[TPM2_RM_REF_FLUSH]) {
		tpm2_rm_drop_session(chip->rm, cmd->sess[TPM2_RM_REF_FLUSH]);
		freed = true;
	}
	if (cmd->cc == TPM2_CC_CONTEXT_SAVE && cmd->sess[0])
		commit_client_save(chip, cmd->sess[0], buf, len);
	for (i = 0; i < cmd->nr_auths; i++) {
		sess = cmd->sess[TPM2_RM_REF_AUTH + i];
		if (sess && !(cmd->auth_attrs[i] & TPM2_SA_CONTINUE_SESSION)) {
			tpm2_rm_drop_session(chip->rm, sess);
			freed = true;
		}
	}
	if (freed)
		tpm2_rm_session_freed(chip->rm);

	for (i = 0; i < cmd->nr_handles; i++) {
		obj = cmd->obj[i];
		if (!obj || !object_is_sequence(obj))
			continue;
		if (cmd->cc == TPM2_CC_SEQUENCE_COMPLETE ||
		    cmd->cc == TPM2_CC_EVENT_SEQUENCE_COMPLETE)
			tpm2_rm_drop_object(cmd, space, obj);
		else
			obj->dirty = true;
	}
}

/* The command is over, answered or failed: the next one starts afresh */
static void no_command_in_flight(struct tpm2_rm_chip *rm)
{
	struct tpm2_rm_cmd *cmd = tpm2_rm_cmd_in_flight(rm);

	kfree(cmd->resend);
	cmd->resend = NULL;
	rm->space = NULL;
}

/**
 * tpm2_commit_space() - map the response and unload what was loaded
 * @chip: the chip, with its ops held
 * @space: the space of the file, or NULL for /dev/tpmN
 * @buf: the response
 * @bufsiz: in: its length; out: the length of the response to return
 *
 * When the TPM is out of session handles, or the context gap is in the way,
 * the resource manager makes room and sends the command again; see
 * tpm2-space-retry.c.
 *
 * Return: 0; -EAGAIN when the command must run again after
 * tpm2_space_wait(), with @buf holding it as the client wrote it; or
 * -errno when a resend failed.
 */
int tpm2_commit_space(struct tpm_chip *chip, struct tpm_space *space,
		      void *buf, size_t *bufsiz)
{
	struct tpm2_rm_chip *rm = chip->rm;
	struct tpm_header *head = buf;
	u32 rc = TPM2_RC_FAILURE;
	struct tpm2_rm_cmd *cmd;
	int ret;

	lockdep_assert_held(&chip->tpm_mutex);
	if (!space) {
		tpm2_rm_outside_commit(rm, buf, *bufsiz);
		return 0;
	}
	cmd = tpm2_rm_cmd_in_flight(rm);
	ret = tpm2_rm_retry(chip, space, buf, bufsiz);
	if (ret == -EAGAIN)
		goto out;
	if (!ret && *bufsiz >= TPM_HEADER_SIZE)
		rc = be32_to_cpu(head->return_code);
	if (!rc) {
		/*
		 * The TPM ran the command, and ended the sessions it ended,
		 * whatever the client is told.
		 */
		if ((cmd->attrs & BIT(TPM2_CC_ATTR_RHANDLE)) &&
		    *bufsiz >= TPM_HEADER_SIZE + 4)
			cmd->rm_rc = commit_new_handle(chip, space, buf);
		commit_success(chip, space, buf, *bufsiz);
	}
	tpm2_rm_unload_cmd(chip, cmd);
	if (cmd->rm_rc)
		*bufsiz = tpm2_rm_reply(chip, buf, cmd->rm_rc);
	tpm2_rm_regap_due(chip);
out:
	tpm2_rm_command_end(rm, buf, *bufsiz, ret);
	no_command_in_flight(rm);
	return ret;
}

/**
 * tpm2_flush_space() - unload what was loaded for a failed transmission
 * @chip: the chip, with its ops held
 */
void tpm2_flush_space(struct tpm_chip *chip)
{
	struct tpm2_rm_chip *rm = chip->rm;

	lockdep_assert_held(&chip->tpm_mutex);
	if (!rm || !rm->space)
		return;
	tpm2_rm_unload_cmd(chip, tpm2_rm_cmd_in_flight(rm));
	tpm2_rm_leave_line(rm, rm->space, false);
	/* the transmission failed; its error is the caller's to give */
	tpm2_rm_command_end(rm, NULL, 0, -EIO);
	no_command_in_flight(rm);
}

/* Returns the space's sessions to the TPM, keeping client-saved ones. */
static void release_sessions(struct tpm_chip *chip, struct tpm_space *space)
{
	struct tpm2_rm_session *sess, *tmp, *victim;

	list_for_each_entry_safe(sess, tmp, &space->sessions, node) {
		if (sess->state == TPM2_RM_CLIENT_SAVED) {
			victim = tpm2_rm_abandon(chip->rm, sess);
			if (victim) {
				tpm2_rm_flush(chip, victim->handle,
					      TPM_SPACE_WHY_HANDOFF);
				tpm2_rm_session_del(chip->rm, victim);
			}
			continue;
		}
		if (sess->state == TPM2_RM_HELD)
			tpm2_rm_flush(chip, sess->handle, TPM_SPACE_WHY_CLOSE);
		tpm2_rm_session_del(chip->rm, sess);
	}
}

/* Is the chip unregistered, so that no command can reach its TPM again? */
static bool chip_is_gone(struct tpm_chip *chip)
{
	bool gone;

	down_read(&chip->ops_sem);
	gone = !chip->ops;
	up_read(&chip->ops_sem);
	return gone;
}

/*
 * The TPM cannot be reached for a moment (a locality or clock request
 * failed, or the chip is disabled), so the space's sessions cannot be
 * flushed now. They are kept as abandoned sessions, which the resource
 * manager flushes first when it needs session handles, and at the latest
 * when the chip is unregistered. Tombstones go at once.
 */
static void keep_for_flush(struct tpm_chip *chip, struct tpm_space *space)
{
	struct tpm2_rm_session *sess, *tmp;

	list_for_each_entry_safe(sess, tmp, &space->sessions, node) {
		if (sess->state == TPM2_RM_STALE)
			tpm2_rm_session_del(chip->rm, sess);
		else
			tpm2_rm_abandon(chip->rm, sess);
	}
}

/**
 * tpm2_del_space() - release everything a closing file holds
 * @chip: the chip; its ops may be gone already
 * @space: the space
 *
 * Objects exist only as saved contexts, so they are just forgotten.
 * Sessions the RM holds are flushed. Sessions the client saved itself are
 * abandoned: they stay in the TPM for a later file of the same user. Only
 * when the chip is gone are sessions forgotten without a flush.
 */
void tpm2_del_space(struct tpm_chip *chip, struct tpm_space *space)
{
	struct tpm2_rm_object *obj, *otmp;
	struct tpm2_rm_session *sess, *stmp;

	if (!tpm_try_get_ops(chip)) {
		tpm2_rm_leave_line(chip->rm, space, false);
		chip->rm->cause = space->id;
		release_sessions(chip, space);
		chip->rm->cause = 0;
		tpm2_rm_session_freed(chip->rm);
		tpm_put_ops(chip);
	} else if (!chip_is_gone(chip)) {
		mutex_lock(&chip->tpm_mutex);
		tpm2_rm_leave_line(chip->rm, space, false);
		keep_for_flush(chip, space);
		mutex_unlock(&chip->tpm_mutex);
	} else {
		/* the chip is gone, and its sessions with it */
		mutex_lock(&chip->tpm_mutex);
		list_del_init(&space->wait_node);
		list_for_each_entry_safe(sess, stmp, &space->sessions, node)
			tpm2_rm_session_del(chip->rm, sess);
		mutex_unlock(&chip->tpm_mutex);
	}
	list_for_each_entry_safe(obj, otmp, &space->objects, node)
		tpm2_rm_object_del(space, obj);
}
EXPORT_SYMBOL_IF_KUNIT(tpm2_del_space);
