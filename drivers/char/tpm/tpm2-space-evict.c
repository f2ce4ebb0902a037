// SPDX-License-Identifier: GPL-2.0-only
/*
 * Session exhaustion. A saved session still takes one of the TPM's
 * TPM_PT_ACTIVE_SESSIONS_MAX handles, so sessions that idle programs keep
 * can lock everyone else out with TPM_RC_SESSION_HANDLES. The resource
 * manager then flushes one saved session that has been idle for a grace
 * period, and its owner learns of it through a tombstone on its next use.
 *
 * Victims are chosen in this order:
 *  1. abandoned sessions (client-saved sessions of closed files), oldest
 *     first: nobody may ever come back for them;
 *  2. sessions of a space holding more than its fair share of the TPM's
 *     session handles, least recently used first;
 *  3. any other session, least recently used first.
 *
 * A command that finds no victim yet waits without the chip, see
 * tpm2-space-retry.c; tpm2_rm_session_freed() wakes it.
 */

#include <linux/jiffies.h>
#include <linux/moduleparam.h>
#include "tpm2-space.h"

unsigned int tpm2_space_session_grace_ms = 2000;
module_param_named(space_session_grace_ms, tpm2_space_session_grace_ms, uint,
		   0644);
MODULE_PARM_DESC(space_session_grace_ms,
		 "Idle time after which a saved session may be evicted to make room for another (default 2000)");

unsigned int tpm2_space_session_wait_ms = 5000;
module_param_named(space_session_wait_ms, tpm2_space_session_wait_ms, uint,
		   0644);
MODULE_PARM_DESC(space_session_wait_ms,
		 "Longest a command waits for a session handle (default 5000)");

/**
 * tpm2_rm_in_use() - does the command in flight use this session?
 * @rm: the chip's resource manager
 * @sess: a session
 *
 * Return: true if a command is in flight that names @sess, loads it or
 * created it.
 */
bool tpm2_rm_in_use(const struct tpm2_rm_chip *rm,
		    const struct tpm2_rm_session *sess)
{
	const struct tpm2_rm_cmd *cmd = &rm->cmd;
	unsigned int i;

	if (!rm->space)
		return false;
	for (i = 0; i < TPM2_RM_MAX_HANDLES; i++)
		if (cmd->sess[i] == sess)
			return true;
	for (i = 0; i < TPM2_RM_MAX_AUTHS; i++)
		if (cmd->auth_sess[i] == sess)
			return true;
	return sess == cmd->load_sess || sess == cmd->flush_sess ||
	       sess == cmd->new_sess;
}

static unsigned long grace(void)
{
	return msecs_to_jiffies(tpm2_space_session_grace_ms);
}

static bool may_evict(struct tpm2_rm_chip *rm, struct tpm2_rm_session *sess,
		      unsigned long now)
{
	return tpm2_rm_session_is_saved(sess) &&
	       !tpm2_rm_in_use(rm, sess) &&
	       time_after_eq(now, sess->last_used + grace());
}

/* The number of spaces holding sessions: they share the TPM's handles. */
static unsigned int count_holders(struct tpm2_rm_chip *rm)
{
	struct tpm2_rm_session *sess, *first;
	unsigned int n = 0;

	list_for_each_entry(sess, &rm->sessions, chip_node) {
		if (!sess->space)
			continue;
		/* count each space at its first session in the list */
		list_for_each_entry(first, &rm->sessions, chip_node)
			if (first->space == sess->space)
				break;
		if (first == sess)
			n++;
	}
	return n;
}

static struct tpm2_rm_session *less_recent(struct tpm2_rm_session *a,
					   struct tpm2_rm_session *b)
{
	if (!a || time_before(b->last_used, a->last_used))
		return b;
	return a;
}

/**
 * tpm2_rm_pick_victim() - choose the saved session to evict
 * @rm: the chip's resource manager
 * @now: the current time in jiffies
 *
 * Only saved sessions idle for the grace period qualify, and none that the
 * command in flight uses.
 *
 * Return: the victim, or NULL if no session qualifies yet.
 */
struct tpm2_rm_session *tpm2_rm_pick_victim(struct tpm2_rm_chip *rm,
					    unsigned long now)
{
	struct tpm2_rm_session *sess, *hog = NULL, *lru = NULL;
	unsigned int share;

	lockdep_assert_held(&rm->chip->tpm_mutex);
	list_for_each_entry(sess, &rm->abandoned, node)
		if (may_evict(rm, sess, now))
			return sess;

	share = rm->active_max / max(count_holders(rm), 1U);
	list_for_each_entry(sess, &rm->sessions, chip_node) {
		if (!sess->space || !may_evict(rm, sess, now))
			continue;
		if (sess->space->nr_sessions > share)
			hog = less_recent(hog, sess);
		lru = less_recent(lru, sess);
	}
	return hog ?: lru;
}

/**
 * tpm2_rm_next_victim_time() - when will a session qualify as a victim?
 * @rm: the chip's resource manager
 * @now: the current time in jiffies
 * @limit: the latest time of interest
 *
 * Return: the time the first saved session will have been idle for the
 * grace period, or @limit if that is earlier or there is none.
 */
unsigned long tpm2_rm_next_victim_time(struct tpm2_rm_chip *rm,
				       unsigned long now, unsigned long limit)
{
	struct tpm2_rm_session *sess;
	unsigned long t;

	lockdep_assert_held(&rm->chip->tpm_mutex);
	list_for_each_entry(sess, &rm->sessions, chip_node) {
		if (!tpm2_rm_session_is_saved(sess))
			continue;
		t = sess->last_used + grace();
		if (time_before(t, limit))
			limit = time_after(t, now) ? t : now;
	}
	return limit;
}

/**
 * tpm2_rm_evict() - flush a saved session to free its handle
 * @chip: the chip, with its ops held
 * @victim: from tpm2_rm_pick_victim()
 *
 * See tpm2_rm_session_forget() for what becomes of the record.
 */
void tpm2_rm_evict(struct tpm_chip *chip, struct tpm2_rm_session *victim)
{
	dev_dbg_ratelimited(&chip->dev, "space: evicting session 0x%08x\n",
			    victim->handle);
	tpm2_rm_flush(chip, victim->handle);
	atomic_long_inc(&chip->rm->stats.evictions);
	tpm2_rm_session_forget(victim);
}

/**
 * tpm2_rm_session_freed() - a session handle went back to the TPM
 * @rm: the chip's resource manager
 *
 * Wakes the commands waiting for a session handle.
 */
void tpm2_rm_session_freed(struct tpm2_rm_chip *rm)
{
	lockdep_assert_held(&rm->chip->tpm_mutex);
	WRITE_ONCE(rm->freed, rm->freed + 1);
	if (!list_empty(&rm->waiters))
		wake_up_interruptible_all(&rm->wq);
}
