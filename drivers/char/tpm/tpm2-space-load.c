// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loading what a command of a space names, and putting it back afterwards:
 * before the command, the contexts of the objects and sessions its handle
 * and authorization areas name are loaded, after it sessions are saved and
 * objects flushed, so that between commands the resource manager holds no
 * TPM slot.
 */

#include <linux/lockdep.h>
#include <linux/slab.h>
#include "tpm2-space.h"

static void rm_warn(struct tpm_chip *chip, const char *what, u32 handle,
		    int rc)
{
	dev_warn_ratelimited(&chip->dev, "space: %s 0x%08x failed: %d\n",
			     what, handle, rc);
}

/* The command no longer refers to @obj. */
static void cmd_forget_object(struct tpm2_rm_cmd *cmd,
			      struct tpm2_rm_object *obj)
{
	unsigned int ref;

	for (ref = 0; ref < TPM2_RM_NR_REFS; ref++)
		if (cmd->obj[ref] == obj)
			cmd->obj[ref] = NULL;
}

static void cmd_forget_session(struct tpm2_rm_cmd *cmd,
			       struct tpm2_rm_session *sess)
{
	unsigned int ref;

	for (ref = 0; ref < TPM2_RM_NR_REFS; ref++)
		if (cmd->sess[ref] == sess)
			cmd->sess[ref] = NULL;
}

/**
 * tpm2_rm_drop_object() - delete an object, and the command's reference
 * @cmd: the command in flight
 * @space: the object's space
 * @obj: the object, unloaded
 */
void tpm2_rm_drop_object(struct tpm2_rm_cmd *cmd, struct tpm_space *space,
			 struct tpm2_rm_object *obj)
{
	cmd_forget_object(cmd, obj);
	tpm2_rm_object_del(space, obj);
}

/**
 * tpm2_rm_drop_session() - delete a session, and the command's reference
 * @rm: the chip's resource manager
 * @sess: the session, which the TPM no longer has
 */
void tpm2_rm_drop_session(struct tpm2_rm_chip *rm,
			  struct tpm2_rm_session *sess)
{
	cmd_forget_session(tpm2_rm_cmd_in_flight(rm), sess);
	tpm2_rm_session_del(rm, sess);
}

/*
 * Saves @obj if it changed, then takes it out of the TPM. A new object
 * that cannot be saved is dropped, and the client is told instead of
 * getting a handle that no longer works.
 */
static void unload_object(struct tpm_chip *chip, struct tpm2_rm_cmd *cmd,
			  struct tpm2_rm_object *obj)
{
	int rc = 0;

	if (!obj || !obj->phandle)
		return;
	if (obj->dirty) {
		rc = tpm2_rm_save_over(chip, obj->phandle, &obj->blob,
				       &obj->len, TPM_SPACE_WHY_PUT_BACK);
		if (rc) {
			rm_warn(chip, "saving object", obj->vhandle, rc);
			obj->stale = true;
		} else {
			obj->dirty = false;
		}
	}
	tpm2_rm_flush(chip, obj->phandle, TPM_SPACE_WHY_PUT_BACK);
	obj->phandle = 0;
	if (rc == -ENOMEM && obj == cmd->obj[TPM2_RM_REF_NEW] &&
	    chip->rm->space) {
		tpm2_rm_drop_object(cmd, chip->rm->space, obj);
		cmd->rm_rc = TPM2_RM_LAYER | TPM2_RC_MEMORY;
	}
}

/*
 * Saves a loaded session over the buffer of the context it was loaded
 * from, so that this takes no memory. When the save would widen the
 * context gap too far, the oldest saved session is re-gapped first. A
 * session that still cannot be saved is lost; a new one that the client
 * does not know yet is dropped, and the client is told.
 */
static void unload_session(struct tpm_chip *chip, struct tpm2_rm_cmd *cmd,
			   struct tpm2_rm_session *sess)
{
	int rc;

	if (!sess || sess->state != TPM2_RM_LOADED)
		return;
	rc = tpm2_rm_save_past_gap(chip, sess);
	sess->last_used = tpm2_rm_now();
	if (!rc) {
		tpm2_rm_session_set_state(chip->rm, sess, TPM2_RM_HELD, NULL);
		tpm2_rm_saved(chip->rm, sess);
		return;
	}
	rm_warn(chip, "saving session", sess->handle, rc);
	if (!tpm2_rm_rc_is_lost(rc))
		tpm2_rm_flush(chip, sess->handle, TPM_SPACE_WHY_PUT_BACK);
	if (rc == -ENOMEM && sess == cmd->sess[TPM2_RM_REF_NEW]) {
		tpm2_rm_drop_session(chip->rm, sess);
		cmd->rm_rc = TPM2_RM_LAYER | TPM2_RC_MEMORY;
		tpm2_rm_session_freed(chip->rm);
		return;
	}
	tpm2_rm_session_forget(chip->rm, sess);
}

/**
 * tpm2_rm_unload_cmd() - return what a command loaded to its saved state
 * @chip: the chip, with its ops held
 * @cmd: the command
 */
void tpm2_rm_unload_cmd(struct tpm_chip *chip, struct tpm2_rm_cmd *cmd)
{
	unsigned int ref;

	lockdep_assert_held(&chip->tpm_mutex);
	for (ref = 0; ref < TPM2_RM_NR_REFS; ref++)
		unload_object(chip, cmd, cmd->obj[ref]);
	/* only loaded ones: a FlushContext's session never is */
	for (ref = 0; ref < TPM2_RM_NR_REFS; ref++)
		unload_session(chip, cmd, cmd->sess[ref]);
	/* a ContextLoad's context that no new object took */
	kfree(cmd->load_blob);
	cmd->load_blob = NULL;
}

/*
 * Loads @obj unless the command already did. Returns 0, or the response
 * code for the client.
 */
static u32 load_object(struct tpm_chip *chip, struct tpm2_rm_object *obj,
		       unsigned int index)
{
	int rc;

	if (obj->stale)
		return TPM2_RM_LAYER | (TPM2_RC_REFERENCE_H0 + index);
	if (obj->phandle)
		return 0;
	rc = tpm2_rm_load(chip, obj->blob, obj->len, &obj->phandle,
			  TPM_SPACE_WHY_NAMED);
	if (!rc)
		return 0;
	obj->phandle = 0;
	rm_warn(chip, "loading object", obj->vhandle, rc);
	if (tpm2_rm_rc_is_lost(rc) || rc < 0) {
		obj->stale = tpm2_rm_rc_is_lost(rc);
		return TPM2_RM_LAYER | (TPM2_RC_REFERENCE_H0 + index);
	}
	return TPM2_RM_LAYER | rc;
}

/* Loads @sess unless the command already did; @ref is TPM_RC_REFERENCE_x. */
static u32 load_session(struct tpm_chip *chip, struct tpm2_rm_session *sess,
			u32 ref)
{
	u32 handle;
	int rc;

	if (sess->state == TPM2_RM_LOADED)
		return 0;
	if (sess->state != TPM2_RM_HELD)
		return TPM2_RM_LAYER | ref;
	rc = tpm2_rm_load_past_gap(chip, sess, &handle);
	if (!rc && handle != sess->handle) {
		tpm2_rm_flush(chip, handle, TPM_SPACE_WHY_NAMED);
		rc = TPM2_RC_HANDLE;
	}
	if (!rc) {
		/* the blob is used up; its buffer takes the next save */
		tpm2_rm_session_set_state(chip->rm, sess, TPM2_RM_LOADED, NULL);
		sess->last_used = tpm2_rm_now();
		return 0;
	}
	rm_warn(chip, "loading session", sess->handle, rc);
	if (!tpm2_rm_rc_is_lost(rc))
		return rc < 0 ? TPM2_RM_LAYER | ref : TPM2_RM_LAYER | rc;
	tpm2_rm_session_forget(chip->rm, sess);
	return TPM2_RM_LAYER | ref;
}

/*
 * Refuses a session the command cannot use. A tombstone has done its job
 * once its owner has been told.
 */
static u32 refuse_session(struct tpm2_rm_chip *rm,
			  struct tpm2_rm_session *sess, u32 ref)
{
	if (sess->state == TPM2_RM_STALE)
		tpm2_rm_drop_session(rm, sess);
	return TPM2_RM_LAYER | ref;
}

/*
 * Finds what the handle and the authorization area name, and checks that
 * the space holds all of it in a usable state, before anything is loaded:
 * a command the resource manager refuses never reaches the TPM, not even
 * as a load of another of its contexts. Returns 0, the response code for
 * the client, or -EINVAL for an unknown virtual handle, as Linux always
 * did.
 */
static int resolve_names(struct tpm_chip *chip, struct tpm_space *space)
{
	struct tpm2_rm_cmd *cmd = tpm2_rm_cmd_in_flight(chip->rm);
	struct tpm2_rm_session *sess;
	struct tpm2_rm_object *obj;
	unsigned int i;
	u32 h;

	for (i = 0; i < cmd->nr_handles; i++) {
		h = cmd->handle[i];
		if (tpm2_rm_is_transient(h)) {
			obj = tpm2_rm_object_find(space, h);
			if (!obj)
				return -EINVAL;
			cmd->obj[i] = obj;
		} else if (tpm2_rm_is_session(h)) {
			sess = tpm2_rm_session_find(space, h);
			if (!sess)
				return tpm2_rm_handle_rc(i);
			cmd->sess[i] = sess;
		}
	}
	for (i = 0; i < cmd->nr_auths; i++) {
		if (!tpm2_rm_is_session(cmd->auth[i]))
			continue;
		sess = tpm2_rm_session_find(space, cmd->auth[i]);
		if (!sess)
			return tpm2_rm_session_rc(i);
		cmd->sess[TPM2_RM_REF_AUTH + i] = sess;
	}

	for (i = 0; i < cmd->nr_handles; i++) {
		if (cmd->obj[i] && cmd->obj[i]->stale)
			return TPM2_RM_LAYER | (TPM2_RC_REFERENCE_H0 + i);
		if (cmd->sess[i] && cmd->sess[i]->state != TPM2_RM_HELD)
			return refuse_session(chip->rm, cmd->sess[i],
					      TPM2_RC_REFERENCE_H0 + i);
	}
	for (i = 0; i < cmd->nr_auths; i++)
		if (cmd->sess[TPM2_RM_REF_AUTH + i] &&
		    cmd->sess[TPM2_RM_REF_AUTH + i]->state != TPM2_RM_HELD)
			return refuse_session(chip->rm,
					      cmd->sess[TPM2_RM_REF_AUTH + i],
					      TPM2_RC_REFERENCE_S0 + i);
	return 0;
}

/*
 * Loads what resolve_names() found and writes the TPM's handles into
 * @buf. Returns 0 or the response code for the client.
 */
static int load_named(struct tpm_chip *chip, u8 *buf)
{
	struct tpm2_rm_cmd *cmd = tpm2_rm_cmd_in_flight(chip->rm);
	unsigned int i;
	u32 rc;

	for (i = 0; i < cmd->nr_handles; i++) {
		if (cmd->obj[i]) {
			rc = load_object(chip, cmd->obj[i], i);
			if (rc)
				return rc;
			tpm2_set_handle_at(buf, i, cmd->obj[i]->phandle);
		} else if (cmd->sess[i]) {
			rc = load_session(chip, cmd->sess[i],
					  TPM2_RC_REFERENCE_H0 + i);
			if (rc)
				return rc;
		}
	}
	for (i = 0; i < cmd->nr_auths; i++) {
		if (!cmd->sess[TPM2_RM_REF_AUTH + i])
			continue;
		rc = load_session(chip, cmd->sess[TPM2_RM_REF_AUTH + i],
				  TPM2_RC_REFERENCE_S0 + i);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * A command that would give a full space a new object or session is
 * refused before it reaches the TPM; commit_new_handle() checks again.
 * ContextLoad of a session is checked by prepare_context_load(). The
 * object context a ContextLoad sends is kept for the new object, so that
 * it need not be saved again; the response will overwrite the command.
 * tpm2_rm_unload_cmd() frees the copy if no object takes it. Returns 0, the
 * response code for the client, or -ENOMEM.
 */
static int prepare_new_handle(struct tpm_chip *chip, struct tpm_space *space,
			      const u8 *buf)
{
	struct tpm2_rm_cmd *cmd = tpm2_rm_cmd_in_flight(chip->rm);
	const u8 *blob = buf + cmd->param_off;
	int len;

	if (!(cmd->attrs & BIT(TPM2_CC_ATTR_RHANDLE)))
		return 0;
	if (cmd->cc == TPM2_CC_START_AUTH_SESS)
		return tpm2_rm_over_quota(space, TPM_SPACE_QUOTA_SESSIONS) ?
		       TPM2_RM_LAYER | TPM2_RC_SESSION_MEMORY : 0;
	if (cmd->cc == TPM2_CC_CONTEXT_LOAD &&
	    tpm2_rm_is_session(tpm2_context_saved_handle(blob)))
		return 0;
	if (tpm2_rm_over_quota(space, TPM_SPACE_QUOTA_OBJECTS))
		return TPM2_RM_LAYER | TPM2_RC_OBJECT_MEMORY;
	if (cmd->cc != TPM2_CC_CONTEXT_LOAD)
		return 0;
	len = tpm2_rm_context_len(blob, cmd->len - cmd->param_off);
	if (len < 0)
		return TPM2_RM_LAYER | TPM2_RC_COMMAND_SIZE;
	cmd->load_blob = tpm2_rm_memdup(blob, len);
	if (!cmd->load_blob)
		return -ENOMEM;
	cmd->load_len = len;
	return 0;
}

/*
 * Keeps the client's command, as written, when its failure for want of a
 * session handle or because of the context gap can be cured. Returns 0 or
 * -ENOMEM, before anything is loaded.
 */
static int keep_for_resend(struct tpm2_rm_cmd *cmd, const u8 *buf)
{
	switch (cmd->cc) {
	case TPM2_CC_START_AUTH_SESS:
	case TPM2_CC_CONTEXT_LOAD:
	case TPM2_CC_CONTEXT_SAVE:
		cmd->resend = tpm2_rm_memdup(buf, cmd->len);
		if (!cmd->resend)
			return -ENOMEM;
	}
	return 0;
}

/**
 * tpm2_rm_load_cmd() - load what a command names
 * @chip: the chip, with its ops held
 * @space: the space of the command's file
 * @buf: the command, parsed into chip->rm->cmd; the TPM's handles are
 *	written into its handle area
 *
 * Everything is checked, and a command that may have to be sent again is
 * copied, before the first load. When a load fails, what was loaded is
 * unloaded again.
 *
 * Return: 0, the response code for the client, or -errno: -EINVAL for a
 * virtual handle the space does not know, as Linux always answered.
 */
int tpm2_rm_load_cmd(struct tpm_chip *chip, struct tpm_space *space, u8 *buf)
{
	struct tpm2_rm_cmd *cmd = tpm2_rm_cmd_in_flight(chip->rm);
	int rc;

	lockdep_assert_held(&chip->tpm_mutex);
	rc = resolve_names(chip, space);
	if (!rc)
		rc = prepare_new_handle(chip, space, buf);
	if (!rc)
		rc = keep_for_resend(cmd, buf);
	if (!rc)
		rc = load_named(chip, buf);
	if (rc) {
		tpm2_rm_unload_cmd(chip, cmd);
		kfree(cmd->resend);
		cmd->resend = NULL;
	}
	return rc;
}
