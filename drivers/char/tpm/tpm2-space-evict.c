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
 *  2. sessions of a user (the effective uid of the file's opener) holding
 *     more than its fair share of the TPM's session handles, the handles
 *     divided by the users holding sessions, least recently used first:
 *     opening more files buys a user nothing;
 *  3. among the sessions of such users, or of everyone if no user is over
 *     its share, those of a file holding more than the handles divided by
 *     the files holding sessions;
 *  4. any other session, least recently used first.
 *
 * A command that finds no victim yet waits without the chip, in line, see
 * tpm2-space-retry.c; tpm2_rm_session_freed() wakes the first in line.
 */

#include <kunit/visibility.h>
#include <linux/jiffies.h>
#include <linux/lockdep.h>
#include <linux/moduleparam.h>
#include <linux/user_namespace.h>
#include "tpm2-space.h"

unsigned int tpm2_space_session_grace_ms = 2000;
EXPORT_SYMBOL_IF_KUNIT(tpm2_space_session_grace_ms);
module_param_named(space_session_grace_ms, tpm2_space_session_grace_ms, uint,
		   0644);
MODULE_PARM_DESC(space_session_grace_ms,
		 "Idle time after which a saved session may be evicted to make room for another (default 2000)");

static unsigned long grace(void)
{
	return msecs_to_jiffies(READ_ONCE(tpm2_space_session_grace_ms));
}

/* Saved, not used by the command in flight, and idle for @idle jiffies */
static bool may_evict(struct tpm2_rm_chip *rm, struct tpm2_rm_session *sess,
		      unsigned long now, unsigned long idle)
{
	return tpm2_rm_session_is_saved(sess) &&
	       !tpm2_rm_in_use(rm, sess) &&
	       time_after_eq(now, sess->last_used + idle);
}

static bool held_by_space(const struct tpm2_rm_session *sess)
{
	return sess->space;
}

/* Is @sess the first session in the chip's list of its space? */
static bool first_of_space(struct tpm2_rm_chip *rm,
			   struct tpm2_rm_session *sess)
{
	struct tpm2_rm_session *pos;

	list_for_each_entry(pos, &rm->sessions, chip_node)
		if (pos->space == sess->space)
			return pos == sess;
	return false;
}

/* Is @sess the first session in the chip's list of its user's spaces? */
static bool first_of_user(struct tpm2_rm_chip *rm,
			  struct tpm2_rm_session *sess)
{
	struct tpm2_rm_session *pos;

	list_for_each_entry(pos, &rm->sessions, chip_node)
		if (held_by_space(pos) && uid_eq(pos->euid, sess->euid))
			return pos == sess;
	return false;
}

/* The spaces, and the users, holding sessions: they share the handles. */
static void count_holders(struct tpm2_rm_chip *rm, unsigned int *files,
			  unsigned int *users)
{
	struct tpm2_rm_session *sess;

	*files = 0;
	*users = 0;
	list_for_each_entry(sess, &rm->sessions, chip_node) {
		if (!held_by_space(sess))
			continue;
		*files += first_of_space(rm, sess);
		*users += first_of_user(rm, sess);
	}
}

static unsigned int user_sessions(struct tpm2_rm_chip *rm, kuid_t euid)
{
	struct tpm2_rm_session *sess;
	unsigned int n = 0;

	list_for_each_entry(sess, &rm->sessions, chip_node)
		n += held_by_space(sess) && uid_eq(sess->euid, euid);
	return n;
}

/*
 * How much of a hog the owner of @sess is: 2 when its user holds more than
 * @user_share, plus 1 when its file holds more than @file_share.
 */
static unsigned int hog_rank(struct tpm2_rm_chip *rm,
			     struct tpm2_rm_session *sess,
			     unsigned int user_share, unsigned int file_share)
{
	unsigned int rank = 0;

	if (user_sessions(rm, sess->euid) > user_share)
		rank += 2;
	if (sess->space->nr_sessions > file_share)
		rank += 1;
	return rank;
}

static struct tpm2_rm_session *less_recent(struct tpm2_rm_session *a,
					   struct tpm2_rm_session *b)
{
	if (!a || time_before(b->last_used, a->last_used))
		return b;
	return a;
}

/* The fair shares of session handles: per user, and per file of a user */
static void fair_shares(struct tpm2_rm_chip *rm, unsigned int *user_share,
			unsigned int *file_share)
{
	unsigned int files, users;

	count_holders(rm, &files, &users);
	*user_share = rm->active_max / max(users, 1U);
	*file_share = rm->active_max / max(files, 1U);
}

static struct tpm2_rm_session *pick(struct tpm2_rm_chip *rm,
				    unsigned long now, unsigned long idle)
{
	struct tpm2_rm_session *sess, *victim = NULL;
	unsigned int user_share, file_share, rank, best = 0;

	list_for_each_entry(sess, &rm->abandoned, node)
		if (may_evict(rm, sess, now, idle))
			return sess;

	fair_shares(rm, &user_share, &file_share);
	list_for_each_entry(sess, &rm->sessions, chip_node) {
		if (!held_by_space(sess) || !may_evict(rm, sess, now, idle))
			continue;
		rank = hog_rank(rm, sess, user_share, file_share);
		if (!victim || rank > best) {
			victim = sess;
			best = rank;
		} else if (rank == best) {
			victim = less_recent(victim, sess);
		}
	}
	return victim;
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
	lockdep_assert_held(&rm->chip->tpm_mutex);
	return pick(rm, now, grace());
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

/* Which rule of pick() chose @victim, for the trace event */
static enum tpm_space_evict_rule victim_rule(struct tpm2_rm_chip *rm,
					     struct tpm2_rm_session *victim)
{
	unsigned int user_share, file_share;

	if (victim->state == TPM2_RM_ABANDONED)
		return TPM_SPACE_EVICT_ABANDONED;
	fair_shares(rm, &user_share, &file_share);
	if (hog_rank(rm, victim, user_share, file_share))
		return TPM_SPACE_EVICT_OVER_SHARE;
	return TPM_SPACE_EVICT_LRU;
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
	struct tpm2_rm_chip *rm = chip->rm;

	lockdep_assert_held(&chip->tpm_mutex);
	dev_dbg_ratelimited(&chip->dev, "space: evicting session 0x%08x\n",
			    victim->handle);
	if (trace_tpm_space_evict_enabled())
		trace_tpm_space_evict(rm->cause, victim->handle,
				      from_kuid(&init_user_ns, victim->euid),
				      jiffies_to_msecs(tpm2_rm_now() -
						       victim->last_used),
				      victim_rule(rm, victim));
	tpm2_rm_flush(chip, victim->handle, TPM_SPACE_WHY_EVICT);
	atomic_long_inc(&chip->rm->stats.evictions);
	tpm2_rm_session_forget(chip->rm, victim);
}

/**
 * tpm2_rm_make_room_for_kernel() - free a session handle for the kernel
 * @chip: the chip, with chip->tpm_mutex held
 *
 * The kernel's own sessions (CONFIG_TCG_TPM2_HMAC: hwrng reads, PCR
 * extends) belong to no space. They cannot wait in line, for they hold the
 * chip, and they must not fail because files hold every session handle.
 * So when the sessions the resource manager knows fill the TPM, one of
 * them is evicted at once, in the usual order: one idle for the grace
 * period if there is one, else any saved session, for a client can start
 * a session again and the kernel's command has no second chance.
 * Handles taken outside the resource manager are not counted; those the
 * kernel cannot get back.
 */
void tpm2_rm_make_room_for_kernel(struct tpm_chip *chip)
{
	struct tpm2_rm_chip *rm = chip->rm;
	struct tpm2_rm_session *victim;
	unsigned long now;

	lockdep_assert_held(&chip->tpm_mutex);
	if (!rm || !rm->active_max || rm->nr_sessions < rm->active_max)
		return;
	/* a session idle for the grace period first, as for a file */
	now = tpm2_rm_now();
	victim = tpm2_rm_pick_victim(rm, now) ?: pick(rm, now, 0);
	if (victim)
		tpm2_rm_evict(chip, victim);
}
EXPORT_SYMBOL_IF_KUNIT(tpm2_rm_make_room_for_kernel);
