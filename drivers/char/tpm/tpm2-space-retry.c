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
 *    without the chip, in line with other such commands, until a session
 *    is given back or ages past the grace period, and runs again.
 * The command is then sent again, unchanged.
 *
 * TPM_RC_SESSION_MEMORY is different: it counts loaded sessions, and
 * between commands only holders outside the resource manager (/dev/tpmN
 * users, firmware) keep sessions loaded. Evicting saved sessions would free
 * no slot and lose them for nothing, so the client gets the code from the
 * resource manager's layer at once.
 */

#include <linux/jiffies.h>
#include <linux/sched/signal.h>
#include <linux/string.h>
#include <linux/unaligned.h>
#include "tpm2-space.h"

/* Bounds the TPM commands one client command may cost here. */
#define TPM2_RM_MAX_RESENDS	8

static u32 response_code(const u8 *buf, size_t len)
{
	if (len < TPM_HEADER_SIZE)
		return TPM2_RC_FAILURE;
	return get_unaligned_be32(buf + 6);
}

/* The client's command again, with the handles of the objects it loaded. */
static void restore_command(struct tpm2_rm_cmd *cmd, u8 *buf)
{
	unsigned int i;

	memcpy(buf, cmd->resend, cmd->len);
	for (i = 0; i < cmd->nr_handles; i++)
		if (cmd->obj[i])
			put_unaligned_be32(cmd->obj[i]->phandle,
					   buf + TPM_HEADER_SIZE + 4 * i);
}

static bool in_line(struct tpm_space *space)
{
	return !list_empty(&space->wait_node);
}

static bool first_in_line(struct tpm2_rm_chip *rm, struct tpm_space *space)
{
	return list_empty(&rm->waiters) ||
	       list_first_entry(&rm->waiters, struct tpm_space,
				wait_node) == space;
}

/**
 * tpm2_rm_leave_line() - stop waiting for a session handle
 * @rm: the chip's resource manager
 * @space: a space, waiting or not
 */
void tpm2_rm_leave_line(struct tpm2_rm_chip *rm, struct tpm_space *space)
{
	lockdep_assert_held(&rm->chip->tpm_mutex);
	if (!in_line(space))
		return;
	list_del_init(&space->wait_node);
	/* the next in line may evict now */
	tpm2_rm_session_freed(rm);
}

/* Evicts a session for a command that found no free session handle. */
static bool evict_for(struct tpm_chip *chip, struct tpm_space *space)
{
	struct tpm2_rm_session *victim;

	/* waiting commands get the victims in the order they came */
	if (!first_in_line(chip->rm, space))
		return false;
	victim = tpm2_rm_pick_victim(chip->rm, jiffies);
	if (!victim)
		return false;
	tpm2_rm_evict(chip, victim);
	return true;
}

/*
 * Lines the command up to wait for a session handle, unless its time is
 * up. Everything it loaded goes back first, so that it waits holding no
 * TPM slot, and @buf gets the command as the client wrote it.
 */
static bool line_up(struct tpm_chip *chip, struct tpm_space *space, u8 *buf)
{
	struct tpm2_rm_chip *rm = chip->rm;
	struct tpm2_rm_cmd *cmd = &rm->cmd;
	unsigned long now = jiffies;

	if (!in_line(space)) {
		space->wait_deadline = now +
			msecs_to_jiffies(tpm2_space_session_wait_ms);
		list_add_tail(&space->wait_node, &rm->waiters);
	}
	if (!time_before(now, space->wait_deadline) || signal_pending(current))
		return false;

	tpm2_rm_put_back(chip, cmd);
	memcpy(buf, cmd->resend, cmd->len);
	space->wait_until = space->wait_deadline;
	if (first_in_line(rm, space))
		space->wait_until = tpm2_rm_next_victim_time(rm, now,
							     space->wait_deadline);
	space->wait_freed = rm->freed;
	space->wait_asked = true;
	atomic_long_inc(&rm->stats.waits);
	return true;
}

/*
 * Makes room for a command the TPM refused for want of it. Returns 1 to
 * send it again, 0 to give the TPM's answer to the client, or -EAGAIN when
 * the command must wait.
 */
static int make_room(struct tpm_chip *chip, struct tpm_space *space, u8 *buf,
		     u32 rc)
{
	switch (rc) {
	case TPM2_RC_CONTEXT_GAP:
		return tpm2_rm_regap_oldest(chip);
	case TPM2_RC_SESSION_HANDLES:
		if (evict_for(chip, space))
			return 1;
		return line_up(chip, space, buf) ? -EAGAIN : 0;
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
 * again after tpm2_space_wait(); or -errno when sending failed.
 */
int tpm2_rm_retry(struct tpm_chip *chip, struct tpm_space *space, u8 *buf,
		  size_t *len)
{
	struct tpm2_rm_chip *rm = chip->rm;
	struct tpm2_rm_cmd *cmd = &rm->cmd;
	unsigned int resends;
	ssize_t n;
	int rc;

	for (resends = 0; cmd->resend && resends < TPM2_RM_MAX_RESENDS;
	     resends++) {
		rc = make_room(chip, space, buf, response_code(buf, *len));
		if (rc <= 0) {
			if (rc == -EAGAIN)
				return rc;
			break;
		}
		restore_command(cmd, buf);
		atomic_long_inc(&rm->stats.resends);
		n = tpm_transmit(chip, buf, cmd->bufsiz);
		if (n < 0) {
			tpm2_rm_leave_line(rm, space);
			return n;
		}
		*len = n;
	}
	tpm2_rm_leave_line(rm, space);

	if (response_code(buf, *len) == TPM2_RC_SESSION_MEMORY)
		put_unaligned_be32(TPM2_RM_LAYER | TPM2_RC_SESSION_MEMORY,
				   buf + 6);
	return 0;
}

/**
 * tpm2_space_wait() - wait without the chip for a session handle
 * @chip: the chip; its ops are not held
 * @space: the space of the file, or NULL for /dev/tpmN
 *
 * Called when tpm2_commit_space() asked for it with -EAGAIN. Sleeps until
 * a session handle is given back, or the first saved session ages past
 * the grace period, or the command's time is up, or a signal arrives.
 *
 * Return: true if the command should be run again; false if the -EAGAIN
 * did not come from the resource manager.
 */
bool tpm2_space_wait(struct tpm_chip *chip, struct tpm_space *space)
{
	struct tpm2_rm_chip *rm = chip->rm;
	long timeout;

	if (!space || !space->wait_asked)
		return false;
	space->wait_asked = false;
	timeout = (long)(space->wait_until - jiffies);
	if (timeout > 0)
		wait_event_interruptible_timeout(rm->wq, READ_ONCE(rm->freed) !=
						 space->wait_freed, timeout);
	return true;
}
