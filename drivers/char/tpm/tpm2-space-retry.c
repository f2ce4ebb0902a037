// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sending a command again once the resource manager has made room for it.
 *
 * Two answers of the TPM mean that the command would succeed if the
 * resource manager did something first:
 *  - TPM_RC_CONTEXT_GAP: the oldest saved session is re-gapped
 *    (tpm2-space-gap.c);
 *  - TPM_RC_SESSION_HANDLES: an idle saved session is evicted
 *    (tpm2-space-evict.c). When none qualifies yet, the command waits
 *    without the chip, in line with other such commands
 *    (tpm2-space-line.c), until a session is given back or ages past the
 *    grace period, and runs again.
 * The command is then sent again, unchanged.
 *
 * TPM_RC_SESSION_MEMORY is different: it counts loaded sessions, and
 * between commands only holders outside the resource manager (/dev/tpmN
 * users, firmware) keep sessions loaded. Evicting saved sessions would free
 * no slot and lose them for nothing, so the client gets the code from the
 * resource manager's layer at once.
 */

#include <linux/jiffies.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/string.h>
#include "tpm2-space.h"

/* Bounds the TPM commands one client command may cost here. */
#define TPM2_RM_MAX_RESENDS	8

static u32 response_code(const u8 *buf, size_t len)
{
	const struct tpm_header *head = (const struct tpm_header *)buf;

	if (len < TPM_HEADER_SIZE)
		return TPM2_RC_FAILURE;
	return be32_to_cpu(head->return_code);
}

/* The client's command again, with the handles of the objects it loaded. */
static void restore_command(struct tpm2_rm_cmd *cmd, u8 *buf)
{
	unsigned int i;

	memcpy(buf, cmd->resend, cmd->len);
	for (i = 0; i < cmd->nr_handles; i++)
		if (cmd->obj[i])
			tpm2_set_handle_at(buf, i, cmd->obj[i]->phandle);
}

/* Evicts a session for a command that found no free session handle. */
static bool evict_for(struct tpm_chip *chip, struct tpm_space *space)
{
	struct tpm2_rm_session *victim;

	/* waiting commands get the victims in the order they came */
	if (!tpm2_rm_is_served_next(chip->rm, space))
		return false;
	victim = tpm2_rm_pick_victim(chip->rm, tpm2_rm_now());
	if (!victim)
		return false;
	tpm2_rm_evict(chip, victim);
	return true;
}

/* When the waiting command should look again if nobody wakes it. */
static unsigned long wake_time(struct tpm2_rm_chip *rm,
			       struct tpm_space *space, unsigned long now)
{
	if (!tpm2_rm_is_served_next(rm, space))
		return space->wait_deadline;
	return tpm2_rm_next_victim_time(rm, now, space->wait_deadline);
}

/*
 * Makes the command wait for a session handle, last among the waiters,
 * unless its time is up or its file closes. Everything it loaded goes
 * back first, so that it waits holding no TPM slot, and @buf gets the
 * command as the client wrote it.
 */
static bool start_waiting(struct tpm_chip *chip, struct tpm_space *space,
			  u8 *buf)
{
	struct tpm2_rm_chip *rm = chip->rm;
	struct tpm2_rm_cmd *cmd = tpm2_rm_cmd_in_flight(rm);
	unsigned long now = tpm2_rm_now();

	lockdep_assert_held(&chip->tpm_mutex);
	tpm2_rm_join_line(rm, space, now);
	/* the TPM has just said that no handle is spare */
	rm->spare = 0;
	if (tpm2_rm_wait_is_over(space, now) ||
	    (space->wait_wake & TPM2_RM_WAKE_STOP))
		return false;

	tpm2_rm_unload_cmd(chip, cmd);
	memcpy(buf, cmd->resend, cmd->len);
	WRITE_ONCE(space->wait_wake, 0);
	space->wait_until = wake_time(rm, space, now);
	space->wait_asked = true;
	atomic_long_inc(&rm->stats.waits);
	trace_tpm_space_wait_begin(space->id, cmd->cc);
	return true;
}

/*
 * Makes room for a command the TPM refused for want of it. Returns 1 to
 * send it again, 0 to give the TPM's answer to the client, -EAGAIN when
 * the command must wait, or -ERESTARTSYS when a signal is pending: then
 * the command did not run, and the client may simply write it again.
 */
static int make_room(struct tpm_chip *chip, struct tpm_space *space, u8 *buf,
		     u32 rc)
{
	switch (rc) {
	case TPM2_RC_CONTEXT_GAP:
		return tpm2_rm_regap_oldest(chip);
	case TPM2_RC_SESSION_HANDLES:
		/* the command ends here, before it costs anyone a session */
		if (signal_pending(current))
			return -ERESTARTSYS;
		/* nobody will read the response */
		if (space->wait_wake & TPM2_RM_WAKE_STOP)
			return 0;
		if (evict_for(chip, space))
			return 1;
		return start_waiting(chip, space, buf) ? -EAGAIN : 0;
	}
	return 0;
}

/**
 * tpm2_rm_retry() - cure a response that says the TPM is out of room
 * @chip: the chip, with its ops held
 * @space: the space of the command
 * @buf: the response; on return the one to go on with
 * @len: its length
 *
 * Return: 0 to go on with the response in @buf; -EAGAIN when everything
 * the command loaded has been put back and @buf holds the command, to run
 * again after tpm2_space_wait(); -ERESTARTSYS when a signal is pending
 * and the TPM had no session handle for the command; or -errno when
 * sending failed.
 */
int tpm2_rm_retry(struct tpm_chip *chip, struct tpm_space *space, u8 *buf,
		  size_t *len)
{
	struct tpm2_rm_chip *rm = chip->rm;
	struct tpm2_rm_cmd *cmd = tpm2_rm_cmd_in_flight(rm);
	unsigned int resends;
	ssize_t n;
	int rc;

	lockdep_assert_held(&chip->tpm_mutex);
	for (resends = 0; cmd->resend && resends < TPM2_RM_MAX_RESENDS;
	     resends++) {
		rc = make_room(chip, space, buf, response_code(buf, *len));
		if (rc == -EAGAIN)
			return rc;
		if (rc < 0) {
			tpm2_rm_leave_line(rm, space, false);
			return rc;
		}
		if (!rc)
			break;
		restore_command(cmd, buf);
		atomic_long_inc(&rm->stats.resends);
		n = tpm_transmit(chip, buf, cmd->bufsiz);
		if (n < 0) {
			tpm2_rm_leave_line(rm, space, false);
			return n;
		}
		*len = n;
	}
	tpm2_rm_leave_line(rm, space, response_code(buf, *len) !=
			      TPM2_RC_SESSION_HANDLES);

	if (response_code(buf, *len) == TPM2_RC_SESSION_MEMORY)
		((struct tpm_header *)buf)->return_code =
			cpu_to_be32(TPM2_RM_LAYER | TPM2_RC_SESSION_MEMORY);
	return 0;
}

/**
 * tpm2_space_end_wait() - take a command out of the line for good
 * @chip: the chip; its ops need not be held
 * @space: the space of the file, or NULL for /dev/tpmN
 *
 * For a command that will not run again, e.g. because the chip is gone.
 */
void tpm2_space_end_wait(struct tpm_chip *chip, struct tpm_space *space)
{
	if (!space)
		return;
	mutex_lock(&chip->tpm_mutex);
	tpm2_rm_leave_line(chip->rm, space, false);
	mutex_unlock(&chip->tpm_mutex);
}

/**
 * tpm2_space_stop_wait() - end the waiting of a file that closes
 * @chip: the chip; its ops need not be held
 * @space: the space of the file, or NULL for /dev/tpmN
 *
 * A command of the file that waits for a session handle, or would wait,
 * gets the TPM's answer at once.
 */
void tpm2_space_stop_wait(struct tpm_chip *chip, struct tpm_space *space)
{
	if (!space)
		return;
	mutex_lock(&chip->tpm_mutex);
	tpm2_rm_wake_waiter(space, TPM2_RM_WAKE_STOP);
	mutex_unlock(&chip->tpm_mutex);
}

/**
 * tpm2_rm_chip_gone() - end every wait for a session handle
 * @chip: a chip being unregistered, whose ops are gone
 */
void tpm2_rm_chip_gone(struct tpm_chip *chip)
{
	struct tpm_space *space;

	mutex_lock(&chip->tpm_mutex);
	list_for_each_entry(space, &chip->rm->waiters, wait_node)
		tpm2_rm_wake_waiter(space, TPM2_RM_WAKE_STOP);
	mutex_unlock(&chip->tpm_mutex);
}

/* The wait ends: traced, with its time and how it ended; returns @ret */
static int wait_over(const struct tpm_space *space, unsigned long start,
		     enum tpm_space_wait_end how, int ret)
{
	trace_tpm_space_wait_end(space->id,
				 jiffies_to_msecs(tpm2_rm_now() - start), how);
	return ret;
}

/**
 * tpm2_space_wait() - wait without the chip for a session handle
 * @chip: the chip; its ops are not held
 * @space: the space of the file, or NULL for /dev/tpmN
 *
 * Called when tpm2_commit_space() asked for it with -EAGAIN. Sleeps until
 * this command is the one to take a session handle given back, or it is
 * first in line and a saved session ages past the grace period, or its
 * time is up, or a signal arrives, or the file closes or the chip goes.
 * Only the first in line is woken for a handle, so the handles go to the
 * commands in the order they came.
 *
 * Return: 0 if the command should be run again; -ERESTARTSYS on a signal
 * and -EPIPE when the file closes or the chip goes, the command out of
 * line and not run; -EAGAIN if the -EAGAIN did not come from the
 * resource manager.
 */
int tpm2_space_wait(struct tpm_chip *chip, struct tpm_space *space)
{
	unsigned long start = tpm2_rm_now();
	unsigned int why;
	long left;

	if (!space || !space->wait_asked)
		return -EAGAIN;
	space->wait_asked = false;
	for (;;) {
		left = (long)(space->wait_until - tpm2_rm_now());
		if (left <= 0)
			return wait_over(space, start, TPM_SPACE_WAIT_RESEND, 0);
		left = wait_event_interruptible_timeout(space->wait_wq,
							READ_ONCE(space->wait_wake),
							left);
		if (left < 0) {
			tpm2_space_end_wait(chip, space);
			return wait_over(space, start, TPM_SPACE_WAIT_SIGNAL,
					 -ERESTARTSYS);
		}
		why = READ_ONCE(space->wait_wake);
		if (why & TPM2_RM_WAKE_STOP) {
			tpm2_space_end_wait(chip, space);
			return wait_over(space, start, TPM_SPACE_WAIT_STOPPED,
					 -EPIPE);
		}
		if (!left || (why & TPM2_RM_WAKE_FREED))
			return wait_over(space, start, TPM_SPACE_WAIT_RESEND, 0);

		/* first in line now: sleep until a session may be evicted */
		mutex_lock(&chip->tpm_mutex);
		WRITE_ONCE(space->wait_wake,
			   space->wait_wake & ~TPM2_RM_WAKE_HEAD);
		space->wait_until = wake_time(chip->rm, space, tpm2_rm_now());
		mutex_unlock(&chip->tpm_mutex);
	}
}
