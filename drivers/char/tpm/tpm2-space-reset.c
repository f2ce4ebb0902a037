// SPDX-License-Identifier: GPL-2.0-only
/*
 * Stale session records. The resource manager is not the TPM's only user:
 * a FlushContext through /dev/tpmN ends a session it holds saved, and a
 * TPM reset (TPM2_Startup(CLEAR) without a state saved before, as after a
 * firmware reset or swtpm re-initialised) ends all of them. The TPM then
 * hands the freed handle numbers to new sessions, and a record that still
 * claims such a handle would have the resource manager flush, on the old
 * owner's close or as an eviction victim, a session of someone else.
 *
 * So every record the TPM contradicts becomes a tombstone at once, and its
 * handle is never sent to the TPM again on its behalf. The TPM tells:
 *  - a command through /dev/tpmN: a FlushContext of a known session, a
 *    TPM2_Startup(CLEAR) that succeeds, or TPM_RC_INITIALIZE as the answer
 *    to any other command (to Startup it means "started already");
 *  - a new session, started or loaded by anyone, with the handle of a
 *    record: the TPM never gives out an active handle;
 *  - a ContextLoad that the TPM refuses as damaged or of an unknown handle
 *    (tpm2_rm_rc_is_lost(), in the space code);
 *  - a resume after which the TPM does not list the sessions saved before
 *    the suspend (tpm2_rm_chip_resume()).
 * The owner of a tombstone learns of it as of an eviction, see
 * Documentation/security/tpm/tpm-space.rst.
 */

#include <linux/lockdep.h>
#include <linux/unaligned.h>
#include "tpm2-space.h"
#include "tpm2-space-wire.h"

/* Startup's parameter follows the header; FlushContext's handle too. */
#define TPM2_OUTSIDE_ARG_OFF	TPM_HEADER_SIZE

/* Session handles asked for per GetCapability at resume */
#define TPM2_RM_RESUME_PAGE	64
/* The part of a TPM_CAP_HANDLES answer before its handles */
#define TPM2_RM_CAP_HANDLES_MIN \
	(offsetof(struct tpm2_cap_handles_rsp, handle) - TPM_HEADER_SIZE)
/* GetCapability lists loaded sessions from 0x02, saved ones from 0x03 */
#define TPM2_RM_HT_LOADED_SESSION	(TPM2_MSO_SESSION << 24)
#define TPM2_RM_HT_SAVED_SESSION	(TPM2_MSO_POLICY << 24)
/* HMAC and policy sessions share their handle numbers: these low bits */
#define TPM2_RM_SESSION_INDEX	0x00FFFFFF

/**
 * tpm2_rm_session_taken() - the TPM gave a session handle to a session
 * @rm: the chip's resource manager, with chip->tpm_mutex held
 * @handle: the session handle in the TPM's response
 * @keep: the record the TPM's answer is about, or NULL
 *
 * Any other record of @handle describes a session that no longer exists.
 */
void tpm2_rm_session_taken(struct tpm2_rm_chip *rm, u32 handle,
			   struct tpm2_rm_session *keep)
{
	struct tpm2_rm_session *sess, *tmp;

	lockdep_assert_held(&rm->chip->tpm_mutex);
	list_for_each_entry_safe(sess, tmp, &rm->sessions, chip_node)
		if (sess->handle == handle && sess != keep)
			tpm2_rm_session_forget(rm, sess);
}

/**
 * tpm2_rm_forget_all() - the TPM was reset: no record is true any more
 * @rm: the chip's resource manager, with chip->tpm_mutex held and no
 *	command of a space in flight
 *
 * Saved object contexts need no such care: the resource manager loads
 * them only for a command, and a context the TPM refuses marks its object
 * stale.
 */
void tpm2_rm_forget_all(struct tpm2_rm_chip *rm)
{
	struct tpm2_rm_session *sess, *tmp;

	lockdep_assert_held(&rm->chip->tpm_mutex);
	if (list_empty(&rm->sessions))
		return;
	list_for_each_entry_safe(sess, tmp, &rm->sessions, chip_node)
		tpm2_rm_session_forget(rm, sess);
	/* whoever waits for a handle has a fresh TPM now */
	tpm2_rm_session_freed(rm);
}

/**
 * tpm2_rm_outside_prepare() - note a /dev/tpmN command before it is sent
 * @rm: the chip's resource manager
 * @buf: the command
 * @len: its length (the buffer's size; the header says the rest)
 */
void tpm2_rm_outside_prepare(struct tpm2_rm_chip *rm, const u8 *buf,
			     size_t len)
{
	const struct tpm_header *head = (const struct tpm_header *)buf;

	lockdep_assert_held(&rm->chip->tpm_mutex);
	rm->outside_cc = 0;
	rm->outside_arg = 0;
	if (len < TPM_HEADER_SIZE ||
	    be32_to_cpu(head->length) < TPM_HEADER_SIZE + 2)
		return;
	rm->outside_cc = be32_to_cpu(head->ordinal);
	if (rm->outside_cc == TPM2_CC_STARTUP)
		rm->outside_arg = get_unaligned_be16(buf +
						     TPM2_OUTSIDE_ARG_OFF);
	else if (be32_to_cpu(head->length) >= TPM_HEADER_SIZE + 4)
		rm->outside_arg = get_unaligned_be32(buf +
						     TPM2_OUTSIDE_ARG_OFF);
}

/**
 * tpm2_rm_outside_commit() - learn from the TPM's answer to /dev/tpmN
 * @rm: the chip's resource manager
 * @buf: the response
 * @len: its length
 */
void tpm2_rm_outside_commit(struct tpm2_rm_chip *rm, const u8 *buf,
			    size_t len)
{
	const struct tpm_header *head = (const struct tpm_header *)buf;
	struct tpm2_rm_session *sess;
	u32 rc;

	lockdep_assert_held(&rm->chip->tpm_mutex);
	if (len < TPM_HEADER_SIZE)
		return;
	rc = be32_to_cpu(head->return_code);
	/* to Startup itself, the code means the TPM was started already */
	if (rc == TPM2_RC_INITIALIZE && rm->outside_cc != TPM2_CC_STARTUP) {
		tpm2_rm_forget_all(rm);
		return;
	}
	if (rc != TPM2_RC_SUCCESS)
		return;

	switch (rm->outside_cc) {
	case TPM2_CC_STARTUP:
		if (rm->outside_arg == TPM2_SU_CLEAR)
			tpm2_rm_forget_all(rm);
		break;
	case TPM2_CC_FLUSH_CONTEXT:
		sess = tpm2_rm_is_session(rm->outside_arg) ?
		       tpm2_rm_session_lookup(rm, rm->outside_arg) : NULL;
		if (sess) {
			tpm2_rm_session_forget(rm, sess);
			tpm2_rm_session_freed(rm);
		}
		break;
	case TPM2_CC_START_AUTH_SESS:
	case TPM2_CC_CONTEXT_LOAD:
		if (len >= TPM_HEADER_SIZE + 4 &&
		    tpm2_rm_is_session(get_unaligned_be32(buf +
							  TPM_HEADER_SIZE)))
			tpm2_rm_session_taken(rm, get_unaligned_be32(buf +
							TPM_HEADER_SIZE), NULL);
		break;
	}
}

/* Is a session with the number of @handle, of either type, recorded? */
static bool session_recorded(struct tpm2_rm_chip *rm, u32 handle)
{
	struct tpm2_rm_session *sess;

	list_for_each_entry(sess, &rm->sessions, chip_node)
		if (!((sess->handle ^ handle) & TPM2_RM_SESSION_INDEX))
			return true;
	return false;
}

/*
 * Counts into @found the handles the TPM lists under TPM_CAP_HANDLES
 * from @ht (TPM2_RM_HT_LOADED_SESSION or _SAVED_SESSION) that belong
 * to a record. Returns 0, a TPM response code, or -errno.
 */
static int count_recorded(struct tpm_chip *chip, u32 ht, unsigned int *found)
{
	const struct tpm2_cap_handles_rsp *rsp;
	u32 next = 0, count, handle, i;
	struct tpm_buf buf;
	int rc;

	rc = tpm_buf_init(&buf, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_CAPABILITY);
	if (rc)
		return rc;
	rsp = (const struct tpm2_cap_handles_rsp *)buf.data;
	do {
		tpm_buf_reset(&buf, TPM2_ST_NO_SESSIONS,
			      TPM2_CC_GET_CAPABILITY);
		tpm_buf_append_u32(&buf, TPM2_CAP_HANDLES);
		tpm_buf_append_u32(&buf, ht | next);
		tpm_buf_append_u32(&buf, TPM2_RM_RESUME_PAGE);
		rc = tpm_transmit_cmd(chip, &buf, TPM2_RM_CAP_HANDLES_MIN,
				      "listing the sessions at resume");
		if (rc)
			break;
		count = be32_to_cpu(rsp->count);
		if (count > (tpm_buf_length(&buf) - sizeof(*rsp)) /
			    sizeof(rsp->handle[0])) {
			rc = -EIO;
			break;
		}
		for (i = 0; i < count; i++) {
			handle = be32_to_cpu(rsp->handle[i]);
			if (session_recorded(chip->rm, handle))
				(*found)++;
			/* swtpm labels saved sessions 0x02: go by the number */
			next = (handle & TPM2_RM_SESSION_INDEX) + 1;
		}
	} while (!rc && rsp->more_data && count &&
		 next <= TPM2_RM_SESSION_INDEX);
	tpm_buf_destroy(&buf);
	return rc;
}

/**
 * tpm2_rm_chip_resume() - notice a TPM that lost its sessions in a suspend
 * @chip: a TPM 2.0 chip just resumed; its ops are not held
 *
 * tpm_pm_suspend() saved the TPM's state (TPM2_Shutdown(STATE)), and
 * every session of a space was a saved context then: the resource
 * manager holds no slot between commands. If the firmware resumed the
 * TPM without that state (TPM2_Startup(CLEAR), or the TPM lost power),
 * those sessions are gone. Neither resetCount nor restartCount can tell
 * a resume from a restart, so ask the TPM which sessions it has: if one
 * of the records is not among them, the TPM was reset and no record is
 * true any more. TPM_RC_INITIALIZE (the TPM was not started) says so too.
 * When the TPM cannot say, the records are kept: forgetting live
 * sessions would leave them in the TPM, taking handles that nobody ever
 * flushes, while a stale record is still caught by the other signs.
 */
void tpm2_rm_chip_resume(struct tpm_chip *chip)
{
	struct tpm2_rm_chip *rm = chip->rm;
	unsigned int found = 0;
	int rc;

	if (!rm || tpm_try_get_ops(chip))
		return;
	if (list_empty(&rm->sessions))
		goto out;
	rc = count_recorded(chip, TPM2_RM_HT_LOADED_SESSION, &found);
	if (!rc)
		rc = count_recorded(chip, TPM2_RM_HT_SAVED_SESSION, &found);
	if (rc == TPM2_RC_INITIALIZE || (!rc && found < rm->nr_sessions))
		tpm2_rm_forget_all(rm);
	else if (rc)
		dev_warn(&chip->dev,
			 "space: cannot tell whether the TPM kept its sessions: %d\n",
			 rc);
out:
	tpm_put_ops(chip);
}
