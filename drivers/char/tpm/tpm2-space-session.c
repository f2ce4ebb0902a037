// SPDX-License-Identifier: GPL-2.0-only
/*
 * The life of a session record. enum tpm2_rm_session_state (tpm2-space.h)
 * is the one truth about a record: which lists hold it and which counts
 * it is in follow from it, and tpm2_rm_session_set_state() is the only
 * function that moves a record from one state to another, so it keeps
 * them all. The other functions here are named for why a record moves.
 *
 * All of it runs under chip->tpm_mutex.
 */

#include <kunit/visibility.h>
#include <linux/bits.h>
#include <linux/bug.h>
#include <linux/jiffies.h>
#include <linux/lockdep.h>
#include <linux/slab.h>
#include <kunit/static_stub.h>
#include "tpm2-space.h"

/**
 * tpm2_rm_now() - the clock that session idle times are measured on
 *
 * It is jiffies. A KUnit test redirects it (kunit_activate_static_stub())
 * to age sessions without sleeping; outside a test the redirection costs a
 * static branch, and nothing at all without CONFIG_KUNIT.
 *
 * Return: the current time in jiffies.
 */
unsigned long tpm2_rm_now(void)
{
	KUNIT_STATIC_STUB_REDIRECT(tpm2_rm_now);
	return jiffies;
}
EXPORT_SYMBOL_IF_KUNIT(tpm2_rm_now);

/**
 * tpm2_rm_in_use() - does the command in flight use this session?
 * @rm: the chip's resource manager
 * @sess: a session
 *
 * Return: true if a command is in flight that names @sess, loads it or
 * created it.
 */
bool tpm2_rm_in_use(struct tpm2_rm_chip *rm,
		    const struct tpm2_rm_session *sess)
{
	const struct tpm2_rm_cmd *cmd = tpm2_rm_cmd_in_flight(rm);
	unsigned int ref;

	if (!rm->space)
		return false;
	for (ref = 0; ref < TPM2_RM_NR_REFS; ref++)
		if (cmd->sess[ref] == sess)
			return true;
	return false;
}

/*
 * The moves a record may make. A session starts loaded, for the command
 * that started or loaded it; between commands it is saved by the resource
 * manager or by its client; a client-saved session outlives its file as
 * an abandoned one, for a file of the same user to load; a session the TPM
 * no longer has becomes a tombstone while its owner does not know yet.
 * A session of a file that the TPM cannot be told about at close is kept
 * as an abandoned one, to be flushed later, whoever saved it.
 */
static const u8 tpm2_rm_session_moves[TPM2_RM_NR_STATES] = {
	[TPM2_RM_NEW]		= BIT(TPM2_RM_LOADED),
	[TPM2_RM_LOADED]	= BIT(TPM2_RM_HELD) | BIT(TPM2_RM_CLIENT_SAVED) |
				  BIT(TPM2_RM_STALE) | BIT(TPM2_RM_GONE),
	[TPM2_RM_HELD]		= BIT(TPM2_RM_LOADED) | BIT(TPM2_RM_ABANDONED) |
				  BIT(TPM2_RM_STALE) | BIT(TPM2_RM_GONE),
	[TPM2_RM_CLIENT_SAVED]	= BIT(TPM2_RM_LOADED) | BIT(TPM2_RM_ABANDONED) |
				  BIT(TPM2_RM_STALE) | BIT(TPM2_RM_GONE),
	[TPM2_RM_ABANDONED]	= BIT(TPM2_RM_LOADED) | BIT(TPM2_RM_GONE),
	[TPM2_RM_STALE]		= BIT(TPM2_RM_GONE),
};

/* Owned by a space and counted against its quota */
static bool state_is_owned(enum tpm2_rm_session_state state)
{
	return state == TPM2_RM_LOADED || state == TPM2_RM_HELD ||
	       state == TPM2_RM_CLIENT_SAVED;
}

/* In the chip's list, where lookups by handle find it */
static bool state_is_known(enum tpm2_rm_session_state state)
{
	return state_is_owned(state) || state == TPM2_RM_ABANDONED;
}

/*
 * A record joins a space (@space) only from none; once in one, it stays
 * there until it is gone.
 */
static bool move_is_legal(const struct tpm2_rm_session *sess,
			  enum tpm2_rm_session_state new,
			  const struct tpm_space *space)
{
	if (new >= TPM2_RM_NR_STATES ||
	    !(tpm2_rm_session_moves[sess->state] & BIT(new)))
		return false;
	if (state_is_owned(new) && !state_is_owned(sess->state))
		return space;
	return !space || space == sess->space;
}

/*
 * @sess becomes a session of @space. A tombstone of the same handle has
 * done its job: the client now knows the handle as this session's.
 */
static void join_space(struct tpm2_rm_chip *rm, struct tpm2_rm_session *sess,
		       struct tpm_space *space)
{
	struct tpm2_rm_session *old = tpm2_rm_session_find(space, sess->handle);

	if (old && old->state == TPM2_RM_STALE)
		tpm2_rm_session_set_state(rm, old, TPM2_RM_GONE, NULL);
	list_move_tail(&sess->node, &space->sessions);
	sess->space = space;
	sess->euid = space->euid;
	space->nr_sessions++;
}

/* Takes @sess out of the lists and counts of its state that @new leaves. */
static void leave_state(struct tpm2_rm_chip *rm, struct tpm2_rm_session *sess,
			enum tpm2_rm_session_state new)
{
	enum tpm2_rm_session_state old = sess->state;

	if (state_is_owned(old) && !state_is_owned(new))
		sess->space->nr_sessions--;
	if (old == TPM2_RM_STALE)
		sess->space->nr_tombstones--;
	if (old == TPM2_RM_ABANDONED)
		rm->nr_abandoned--;
	if (state_is_known(old) && !state_is_known(new)) {
		list_del_init(&sess->chip_node);
		rm->nr_sessions--;
	}
}

/**
 * tpm2_rm_illegal_move() - report a session move the table does not allow
 * @sess: the record
 * @new: the state it was asked to move to
 *
 * Such a move is a bug in the resource manager. The KUnit case that makes
 * one on purpose redirects this function, so that its expected warning
 * leaves no report in the kernel log, which the test rig fails on.
 */
void tpm2_rm_illegal_move(const struct tpm2_rm_session *sess,
			  enum tpm2_rm_session_state new)
{
	KUNIT_STATIC_STUB_REDIRECT(tpm2_rm_illegal_move, sess, new);
	WARN_ONCE(1, "tpm: session 0x%08x: illegal move from state %u to %u\n",
		  sess->handle, sess->state, new);
}
EXPORT_SYMBOL_IF_KUNIT(tpm2_rm_illegal_move);

/**
 * tpm2_rm_session_set_state() - move a session record to another state
 * @rm: the chip's resource manager
 * @sess: the record
 * @new: its next state; TPM2_RM_GONE frees it
 * @space: the space it joins, for a move from TPM2_RM_NEW or
 *	   TPM2_RM_ABANDONED to a state of a space; else NULL or its own
 *
 * Moves the record between the lists of its space and of the chip and
 * keeps their counts, as the table in tpm2-space.h says. A move that
 * tpm2_rm_session_moves does not allow is a bug: it warns and changes
 * nothing.
 *
 * Return: true if the record moved (and, for TPM2_RM_GONE, is freed).
 */
bool tpm2_rm_session_set_state(struct tpm2_rm_chip *rm,
			       struct tpm2_rm_session *sess,
			       enum tpm2_rm_session_state new,
			       struct tpm_space *space)
{
	lockdep_assert_held(&rm->chip->tpm_mutex);
	if (!move_is_legal(sess, new, space)) {
		tpm2_rm_illegal_move(sess, new);
		return false;
	}

	leave_state(rm, sess, new);
	if (!state_is_known(sess->state) && state_is_known(new)) {
		list_add_tail(&sess->chip_node, &rm->sessions);
		rm->nr_sessions++;
	}
	switch (new) {
	case TPM2_RM_LOADED:
	case TPM2_RM_HELD:
	case TPM2_RM_CLIENT_SAVED:
		if (!state_is_owned(sess->state))
			join_space(rm, sess, space);
		break;
	case TPM2_RM_ABANDONED:
		list_move_tail(&sess->node, &rm->abandoned);
		sess->space = NULL;
		rm->nr_abandoned++;
		break;
	case TPM2_RM_STALE:
		kfree(sess->blob);
		sess->blob = NULL;
		/* to the end, where tpm2_rm_trim_tombstones() looks last */
		list_move_tail(&sess->node, &sess->space->sessions);
		sess->space->nr_tombstones++;
		break;
	case TPM2_RM_GONE:
		list_del(&sess->node);
		kfree(sess->blob);
		kfree(sess);
		return true;
	default:
		break;
	}
	sess->state = new;
	return true;
}
EXPORT_SYMBOL_IF_KUNIT(tpm2_rm_session_set_state);

/**
 * tpm2_rm_session_add() - record a session a space has started or loaded
 * @rm: the chip's resource manager
 * @space: the owner
 * @handle: session handle
 *
 * Return: the session, loaded for the command in flight, or NULL.
 */
struct tpm2_rm_session *tpm2_rm_session_add(struct tpm2_rm_chip *rm,
					    struct tpm_space *space,
					    u32 handle)
{
	struct tpm2_rm_session *sess;

	sess = tpm2_rm_alloc(sizeof(*sess));
	if (!sess)
		return NULL;
	sess->handle = handle;
	sess->state = TPM2_RM_NEW;
	sess->created = tpm2_rm_now();
	sess->last_used = sess->created;
	INIT_LIST_HEAD(&sess->node);
	INIT_LIST_HEAD(&sess->chip_node);
	tpm2_rm_session_set_state(rm, sess, TPM2_RM_LOADED, space);
	return sess;
}

/**
 * tpm2_rm_session_del() - forget a session that nobody needs to be told of
 * @rm: the chip's resource manager
 * @sess: the record
 *
 * The session is gone from the TPM, or the TPM will forget it, or it is a
 * tombstone whose owner has been told.
 */
void tpm2_rm_session_del(struct tpm2_rm_chip *rm, struct tpm2_rm_session *sess)
{
	tpm2_rm_session_set_state(rm, sess, TPM2_RM_GONE, NULL);
}

/**
 * tpm2_rm_session_forget() - drop a session the TPM no longer has
 * @rm: the chip's resource manager
 * @sess: a session of a space, or an abandoned one; no tombstone
 *
 * The TPM may give the handle to a new session at once. A session of a
 * space becomes a tombstone, which makes the owner's next use of the
 * handle fail instead of reaching whoever has the handle now; it no
 * longer counts against the quota, and lookups by handle in the chip's
 * list do not find it. An abandoned session has nobody to tell and goes.
 */
void tpm2_rm_session_forget(struct tpm2_rm_chip *rm,
			    struct tpm2_rm_session *sess)
{
	tpm2_rm_session_set_state(rm, sess, sess->space ? TPM2_RM_STALE :
							  TPM2_RM_GONE, NULL);
}

/**
 * tpm2_rm_trim_tombstones() - bound the tombstones of a space
 * @rm: the chip's resource manager
 * @space: the space, with no command in flight
 *
 * Drops the oldest tombstones beyond one per session the space may hold.
 * The count says whether there is anything to do, so a command pays for
 * a walk only when tombstones are over the limit.
 */
void tpm2_rm_trim_tombstones(struct tpm2_rm_chip *rm, struct tpm_space *space)
{
	unsigned int max = READ_ONCE(tpm2_space_max_sessions);
	struct tpm2_rm_session *sess, *tmp;

	if (space->nr_tombstones <= max)
		return;
	list_for_each_entry_safe(sess, tmp, &space->sessions, node) {
		tpm2_rm_walk_step();
		if (sess->state == TPM2_RM_STALE)
			tpm2_rm_session_del(rm, sess);
		if (space->nr_tombstones <= max)
			break;
	}
}

/**
 * tpm2_rm_session_is_saved() - is the session's context outside the TPM?
 * @sess: a session the resource manager knows
 *
 * Return: true for a session saved by the resource manager or a client, or
 * abandoned; false while it is loaded for a command, and for a tombstone.
 */
bool tpm2_rm_session_is_saved(const struct tpm2_rm_session *sess)
{
	return sess->state == TPM2_RM_HELD ||
	       sess->state == TPM2_RM_CLIENT_SAVED ||
	       sess->state == TPM2_RM_ABANDONED;
}

/**
 * tpm2_rm_abandon() - keep a session of a closing space
 * @rm: the chip's resource manager
 * @sess: the session
 *
 * Each user keeps at most tpm2_space_max_abandoned sessions this way.
 *
 * Return: a session of the same user the caller must flush and delete
 * because the user is over that limit, or NULL.
 */
struct tpm2_rm_session *tpm2_rm_abandon(struct tpm2_rm_chip *rm,
					struct tpm2_rm_session *sess)
{
	unsigned int max = READ_ONCE(tpm2_space_max_abandoned);
	struct tpm2_rm_session *pos, *oldest = NULL;
	unsigned int count = 0;

	if (!tpm2_rm_session_set_state(rm, sess, TPM2_RM_ABANDONED, NULL) ||
	    rm->nr_abandoned <= max)
		return NULL;
	list_for_each_entry(pos, &rm->abandoned, node) {
		if (!uid_eq(pos->euid, sess->euid))
			continue;
		if (!oldest)
			oldest = pos;
		count++;
	}
	return count > max ? oldest : NULL;
}
