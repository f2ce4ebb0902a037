// SPDX-License-Identifier: GPL-2.0-only
/*
 * The line of commands that wait for a session handle, first come first
 * served. tpm2-space-retry.c decides when a command joins it and what it
 * does once woken; this file keeps the line itself, so that the code that
 * gives session handles back to the TPM only has to call
 * tpm2_rm_session_freed(), and depends on nothing above it.
 *
 * All of it runs under chip->tpm_mutex.
 */

#include <kunit/visibility.h>
#include <linux/jiffies.h>
#include <linux/lockdep.h>
#include <linux/moduleparam.h>
#include <linux/wait.h>
#include "tpm2-space.h"

unsigned int tpm2_space_session_wait_ms = 5000;
EXPORT_SYMBOL_IF_KUNIT(tpm2_space_session_wait_ms);
module_param_named(space_session_wait_ms, tpm2_space_session_wait_ms, uint,
		   0644);
MODULE_PARM_DESC(space_session_wait_ms,
		 "Longest a command waits for a session handle (default 5000)");

static bool is_waiting(const struct tpm_space *space)
{
	return !list_empty(&space->wait_node);
}

/**
 * tpm2_rm_wait_is_over() - has a waiting command waited as long as it may?
 * @space: the space of the command
 * @now: tpm2_rm_now()
 *
 * Return: true once space_session_wait_ms have passed since it joined.
 */
bool tpm2_rm_wait_is_over(const struct tpm_space *space, unsigned long now)
{
	return !time_before(now, space->wait_deadline);
}

/*
 * The first waiter whose time is not up. One whose time is up gets the
 * TPM's answer when it wakes, so it must not keep the others waiting.
 */
static struct tpm_space *first_waiter(struct tpm2_rm_chip *rm,
				      unsigned long now)
{
	struct tpm_space *space;

	list_for_each_entry(space, &rm->waiters, wait_node)
		if (!tpm2_rm_wait_is_over(space, now))
			return space;
	return NULL;
}

/**
 * tpm2_rm_is_served_next() - is this command the one to get a handle next?
 * @rm: the chip's resource manager
 * @space: the space of the command, waiting or not
 *
 * Return: true if @space is first in line, or nobody waits.
 */
bool tpm2_rm_is_served_next(struct tpm2_rm_chip *rm, struct tpm_space *space)
{
	struct tpm_space *head = first_waiter(rm, tpm2_rm_now());

	return !head || head == space;
}

/**
 * tpm2_rm_wake_waiter() - wake the command of a space, telling it why
 * @space: the space
 * @why: TPM2_RM_WAKE_*
 */
void tpm2_rm_wake_waiter(struct tpm_space *space, unsigned int why)
{
	WRITE_ONCE(space->wait_wake, space->wait_wake | why);
	wake_up_interruptible(&space->wait_wq);
}

/**
 * tpm2_rm_join_line() - put a command last in line, if not in it already
 * @rm: the chip's resource manager
 * @space: the space of the command
 * @now: tpm2_rm_now(), from which its longest wait is counted
 */
void tpm2_rm_join_line(struct tpm2_rm_chip *rm, struct tpm_space *space,
		       unsigned long now)
{
	lockdep_assert_held(&rm->chip->tpm_mutex);
	if (is_waiting(space))
		return;
	space->wait_deadline = now +
		msecs_to_jiffies(READ_ONCE(tpm2_space_session_wait_ms));
	list_add_tail(&space->wait_node, &rm->waiters);
}

/**
 * tpm2_rm_leave_line() - take a command out of the line
 * @rm: the chip's resource manager
 * @space: the space of the command, waiting or not
 * @got_handle: whether the TPM gave it the handle it waited for
 *
 * A handle it got was one of the spare ones. The next in line runs again
 * if a handle is still spare, else it may now evict, and must learn when.
 */
void tpm2_rm_leave_line(struct tpm2_rm_chip *rm, struct tpm_space *space,
			bool got_handle)
{
	unsigned long now = tpm2_rm_now();
	struct tpm_space *head, *old_head;

	lockdep_assert_held(&rm->chip->tpm_mutex);
	if (!is_waiting(space))
		return;
	old_head = first_waiter(rm, now);
	list_del_init(&space->wait_node);
	if (got_handle && rm->spare)
		rm->spare--;
	head = first_waiter(rm, now);
	if (!head) {
		rm->spare = 0;
		return;
	}
	if (rm->spare)
		tpm2_rm_wake_waiter(head, TPM2_RM_WAKE_FREED);
	else if (head != old_head)
		tpm2_rm_wake_waiter(head, TPM2_RM_WAKE_HEAD);
}

/**
 * tpm2_rm_session_freed() - a session handle went back to the TPM
 * @rm: the chip's resource manager
 *
 * Wakes the first command waiting for a session handle, and only that one:
 * the others would find the handle taken, and resend for nothing.
 */
void tpm2_rm_session_freed(struct tpm2_rm_chip *rm)
{
	struct tpm_space *head;

	lockdep_assert_held(&rm->chip->tpm_mutex);
	if (list_empty(&rm->waiters))
		return;
	rm->spare++;
	head = first_waiter(rm, tpm2_rm_now());
	if (head)
		tpm2_rm_wake_waiter(head, TPM2_RM_WAKE_FREED);
}
