// SPDX-License-Identifier: GPL-2.0-only
/*
 * The context gap. A TPM numbers saved session contexts from one counter,
 * but keeps only the low bits of each saved session's number. So the
 * counter may run at most TPM_PT_CONTEXT_GAP_MAX ahead of the oldest saved
 * session; after that, saving another session fails with
 * TPM_RC_CONTEXT_GAP. One idle session and a busy one are enough to get
 * there: about 65,000 commands on swtpm, a few hundred on TPMs with a gap
 * of 0xFF.
 *
 * Re-gapping the oldest saved session, a ContextLoad and a ContextSave,
 * gives it a new number. The resource manager does that before the gap
 * grows too wide, and again whenever the TPM answers TPM_RC_CONTEXT_GAP,
 * for instance because a session saved outside the resource manager
 * moved the counter.
 *
 * A client keeps the blob of a session it saved itself. When that session
 * is re-gapped the client's blob is used up, so its next ContextLoad gets
 * the current blob instead.
 */

#include <kunit/visibility.h>
#include <linux/lockdep.h>
#include "tpm2-space.h"

/* Re-gaps a command may cost before its response goes back. */
#define TPM2_RM_MAX_REGAPS		4

/**
 * tpm2_rm_saved() - note a session's new saved context
 * @rm: the chip's resource manager
 * @sess: the session; @sess->blob is the context the TPM just returned
 *
 * Keeps the chip's list in the order of the contexts' sequence numbers,
 * and @rm->seq_floor below every saved one.
 */
void tpm2_rm_saved(struct tpm2_rm_chip *rm, struct tpm2_rm_session *sess)
{
	lockdep_assert_held(&rm->chip->tpm_mutex);
	sess->seq = tpm2_context_sequence(sess->blob);
	if (sess->seq > rm->newest_seq)
		rm->newest_seq = sess->seq;
	if (sess->seq < rm->seq_floor)
		rm->seq_floor = sess->seq;
	list_move_tail(&sess->chip_node, &rm->sessions);
}

/**
 * tpm2_rm_oldest_saved() - the saved session the context gap starts at
 * @rm: the chip's resource manager
 *
 * Return: the session with the oldest context the resource manager can
 * load, or NULL.
 */
struct tpm2_rm_session *tpm2_rm_oldest_saved(struct tpm2_rm_chip *rm)
{
	struct tpm2_rm_session *sess;

	list_for_each_entry(sess, &rm->sessions, chip_node) {
		tpm2_rm_walk_step();
		if (tpm2_rm_session_is_saved(sess) && sess->blob)
			return sess;
	}
	return NULL;
}

/*
 * Room left before a re-gap is due, so that a few commands' worth of saves
 * by the resource manager or anyone else cannot run into the limit.
 */
static u32 gap_margin(struct tpm2_rm_chip *rm)
{
	return max(rm->gap_max / 8, 4U);
}

/**
 * tpm2_rm_gap_due() - is the oldest saved session close to the gap limit?
 * @rm: the chip's resource manager
 *
 * Runs after every command. No saved context is older than
 * @rm->seq_floor, so only when the newest has run far enough ahead of that
 * is the oldest looked for, and the floor raised to it.
 *
 * Return: true if it should be re-gapped now.
 */
bool tpm2_rm_gap_due(struct tpm2_rm_chip *rm)
{
	struct tpm2_rm_session *oldest;
	u32 limit;

	lockdep_assert_held(&rm->chip->tpm_mutex);
	if (rm->gap_max <= gap_margin(rm))
		return false;
	limit = rm->gap_max - gap_margin(rm);
	if (rm->newest_seq - rm->seq_floor < limit)
		return false;
	oldest = tpm2_rm_oldest_saved(rm);
	rm->seq_floor = oldest ? oldest->seq : rm->newest_seq;
	return oldest && rm->newest_seq - oldest->seq >= limit;
}
EXPORT_SYMBOL_IF_KUNIT(tpm2_rm_gap_due);

/*
 * The context of @sess is gone. A session still loaded is flushed; one the
 * TPM refused to load is not, as its handle may be someone else's by now.
 */
static void regap_lost(struct tpm_chip *chip, struct tpm2_rm_session *sess,
		       bool loaded)
{
	if (loaded)
		tpm2_rm_flush(chip, sess->handle, TPM_SPACE_WHY_REGAP);
	tpm2_rm_session_forget(chip->rm, sess);
}

/*
 * Loads and saves @sess again. The new context is written over the buffer
 * of the old one, which the load has used up, so that a re-gap needs no
 * memory and cannot lose the session for want of it. Returns 0, a TPM
 * response code or -errno.
 */
static int regap(struct tpm_chip *chip, struct tpm2_rm_session *sess)
{
	u64 old_seq = sess->seq;
	u32 handle;
	int rc;

	rc = tpm2_rm_load(chip, sess->blob, sess->len, &handle,
			  TPM_SPACE_WHY_REGAP);
	if (!rc && handle != sess->handle) {
		tpm2_rm_flush(chip, handle, TPM_SPACE_WHY_REGAP);
		rc = TPM2_RC_HANDLE;
	}
	if (rc) {
		if (tpm2_rm_rc_is_lost(rc))
			regap_lost(chip, sess, false);
		return rc;
	}
	/* the old blob is used up: from here on, failing loses the session */
	rc = tpm2_rm_save_over(chip, handle, &sess->blob, &sess->len,
			       TPM_SPACE_WHY_REGAP);
	if (rc) {
		regap_lost(chip, sess, true);
		return rc;
	}
	tpm2_rm_saved(chip->rm, sess);
	atomic_long_inc(&chip->rm->stats.regaps);
	trace_tpm_space_regap(chip->rm->cause, sess->handle, old_seq, sess->seq);
	return 0;
}

/**
 * tpm2_rm_regap_oldest() - re-gap the oldest saved session
 * @chip: the chip, with its ops held
 *
 * Sessions the command in flight uses are left alone.
 *
 * Return: true if the oldest saved context has moved on, so that a command
 * that failed with TPM_RC_CONTEXT_GAP may succeed now.
 */
bool tpm2_rm_regap_oldest(struct tpm_chip *chip)
{
	struct tpm2_rm_chip *rm = chip->rm;
	struct tpm2_rm_session *sess;
	int rc;

	lockdep_assert_held(&chip->tpm_mutex);
	list_for_each_entry(sess, &rm->sessions, chip_node) {
		if (!tpm2_rm_session_is_saved(sess) || !sess->blob ||
		    tpm2_rm_in_use(rm, sess))
			continue;
		rc = regap(chip, sess);
		if (rc)
			dev_warn_ratelimited(&chip->dev,
					     "space: re-gap of session 0x%08x failed: %d\n",
					     sess->handle, rc);
		return !rc || tpm2_rm_rc_is_lost(rc);
	}
	return false;
}

/**
 * tpm2_rm_load_past_gap() - load a session's context, past the context gap
 * @chip: the chip, with its ops held
 * @sess: the session; its context stays in @sess->blob
 * @handle: the handle the TPM loaded it at
 *
 * When the gap is in the way, the oldest saved session is re-gapped and
 * the load tried once more.
 *
 * Return: 0, a TPM response code, or -errno; see tpm2_rm_load().
 */
int tpm2_rm_load_past_gap(struct tpm_chip *chip, struct tpm2_rm_session *sess,
			  u32 *handle)
{
	int rc;

	rc = tpm2_rm_load(chip, sess->blob, sess->len, handle,
			  TPM_SPACE_WHY_NAMED);
	if (rc == TPM2_RC_CONTEXT_GAP && tpm2_rm_regap_oldest(chip))
		rc = tpm2_rm_load(chip, sess->blob, sess->len, handle,
				  TPM_SPACE_WHY_NAMED);
	return rc;
}

/**
 * tpm2_rm_save_past_gap() - save a loaded session, past the context gap
 * @chip: the chip, with its ops held
 * @sess: the session, saved over the buffer of its context
 *
 * Each time the gap is in the way, the oldest saved session is re-gapped,
 * at most once for each session the TPM can hold loaded.
 *
 * Return: 0, a TPM response code, or -errno; see tpm2_rm_save_over().
 */
int tpm2_rm_save_past_gap(struct tpm_chip *chip, struct tpm2_rm_session *sess)
{
	unsigned int tries = 0;
	int rc;

	do {
		rc = tpm2_rm_save_over(chip, sess->handle, &sess->blob,
				       &sess->len, TPM_SPACE_WHY_PUT_BACK);
	} while (rc == TPM2_RC_CONTEXT_GAP && tries++ < TPM2_RM_MAX_LOADED &&
		 tpm2_rm_regap_oldest(chip));
	return rc;
}

/**
 * tpm2_rm_regap_due() - re-gap before the gap grows too wide
 * @chip: the chip, with its ops held
 */
void tpm2_rm_regap_due(struct tpm_chip *chip)
{
	unsigned int n;

	for (n = 0; n < TPM2_RM_MAX_REGAPS && tpm2_rm_gap_due(chip->rm); n++)
		if (!tpm2_rm_regap_oldest(chip))
			break;
}
