// SPDX-License-Identifier: GPL-2.0-only
/*
 * Chip-wide state of the TPM 2.0 resource manager, and what it shows of
 * itself: the counters (<debugfs>/tpmN/space_stats), every session it
 * knows across all spaces (<debugfs>/tpmN/space_sessions), and its trace
 * events (include/trace/events/tpm.h).
 */

#define CREATE_TRACE_POINTS
#include <trace/events/tpm.h>
#undef CREATE_TRACE_POINTS

#include <kunit/visibility.h>
#include <linux/debugfs.h>
#include <linux/jiffies.h>
#include <linux/lockdep.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/user_namespace.h>
#include "tpm2-space.h"

/* Conservative values for a TPM that does not report its own. */
#define TPM2_RM_DEFAULT_GAP_MAX		0xFF
#define TPM2_RM_DEFAULT_ACTIVE_MAX	64

/* Numbers for the spaces in trace events; 0 is none */
static atomic_t tpm2_rm_space_ids = ATOMIC_INIT(0);

/**
 * tpm2_rm_new_space_id() - a number for a new space's trace events
 *
 * Return: a number no open space has (they wrap after 2^32 opens).
 */
u32 tpm2_rm_new_space_id(void)
{
	return (u32)atomic_inc_return(&tpm2_rm_space_ids) ?:
	       (u32)atomic_inc_return(&tpm2_rm_space_ids);
}

/**
 * tpm2_rm_command_begin() - a client command enters its space
 * @rm: the chip's resource manager
 * @space: the space
 * @buf: the command
 * @len: its length
 *
 * From here to tpm2_rm_command_end(), what the resource manager does is
 * done for @space, and its trace events say so.
 */
void tpm2_rm_command_begin(struct tpm2_rm_chip *rm,
			   const struct tpm_space *space, const u8 *buf,
			   size_t len)
{
	const struct tpm_header *head = (const void *)buf;

	lockdep_assert_held(&rm->chip->tpm_mutex);
	rm->cause = space->id;
	trace_tpm_space_command_begin(space->id, len >= TPM_HEADER_SIZE ?
				      be32_to_cpu(head->ordinal) : 0);
}

/**
 * tpm2_rm_command_end() - the client command is answered, or failed
 * @rm: the chip's resource manager
 * @rsp: the response, or NULL
 * @len: its length
 * @err: 0, or the -errno the command ended with
 */
void tpm2_rm_command_end(struct tpm2_rm_chip *rm, const u8 *rsp, size_t len,
			 int err)
{
	const struct tpm2_rm_cmd *cmd = tpm2_rm_cmd_in_flight(rm);
	const struct tpm_header *head = (const void *)rsp;
	u32 rc = 0;

	if (!err && rsp && len >= TPM_HEADER_SIZE)
		rc = be32_to_cpu(head->return_code);
	trace_tpm_space_command_end(rm->cause, cmd->cc, rc, err, cmd->rm_cmds);
	rm->cause = 0;
}

/**
 * tpm2_rm_chip_alloc() - set up the resource manager of a new chip
 * @chip: the chip
 *
 * Return: 0 or -ENOMEM.
 */
int tpm2_rm_chip_alloc(struct tpm_chip *chip)
{
	chip->rm = kzalloc(sizeof(*chip->rm), GFP_KERNEL);
	if (!chip->rm)
		return -ENOMEM;
	INIT_LIST_HEAD(&chip->rm->sessions);
	INIT_LIST_HEAD(&chip->rm->abandoned);
	INIT_LIST_HEAD(&chip->rm->waiters);
	chip->rm->chip = chip;
	return 0;
}

/**
 * tpm2_rm_read_limits() - read the TPM's session limits once
 * @chip: the chip, with its ops held
 */
void tpm2_rm_read_limits(struct tpm_chip *chip)
{
	struct tpm2_rm_chip *rm = chip->rm;
	u32 value;

	lockdep_assert_held(&chip->tpm_mutex);
	rm->gap_max = TPM2_RM_DEFAULT_GAP_MAX;
	rm->active_max = TPM2_RM_DEFAULT_ACTIVE_MAX;
	if (!tpm2_get_tpm_pt(chip, TPM2_PT_CONTEXT_GAP_MAX, &value, NULL) &&
	    value)
		rm->gap_max = value;
	if (!tpm2_get_tpm_pt(chip, TPM2_PT_ACTIVE_SESSIONS_MAX, &value,
			     NULL) && value)
		rm->active_max = value;
}

/**
 * tpm2_rm_chip_free() - free the resource manager of a released chip
 * @chip: the chip; no file refers to it any more
 *
 * tpm2_rm_chip_unregister() flushed every session it could reach; the
 * records of any other abandoned session are all that is left of it.
 */
void tpm2_rm_chip_free(struct tpm_chip *chip)
{
	struct tpm2_rm_session *sess, *tmp;

	if (!chip->rm)
		return;
	/* nobody else can get at it: the lock is for the state machine */
	mutex_lock(&chip->tpm_mutex);
	list_for_each_entry_safe(sess, tmp, &chip->rm->abandoned, node)
		tpm2_rm_session_del(chip->rm, sess);
	mutex_unlock(&chip->tpm_mutex);
	kfree(chip->rm);
	chip->rm = NULL;
}

static int space_stats_show(struct seq_file *m, void *unused)
{
	struct tpm2_rm_stats *stats = m->private;

	seq_printf(m, "user_commands %ld\n",
		   atomic_long_read(&stats->user_cmds));
	seq_printf(m, "rm_answers %ld\n", atomic_long_read(&stats->rm_answers));
	seq_printf(m, "context_load %ld\n",
		   atomic_long_read(&stats->context_load));
	seq_printf(m, "context_save %ld\n",
		   atomic_long_read(&stats->context_save));
	seq_printf(m, "flush_context %ld\n",
		   atomic_long_read(&stats->flush_context));
	seq_printf(m, "sessions_evicted %ld\n",
		   atomic_long_read(&stats->evictions));
	seq_printf(m, "context_regaps %ld\n",
		   atomic_long_read(&stats->regaps));
	seq_printf(m, "session_waits %ld\n", atomic_long_read(&stats->waits));
	seq_printf(m, "commands_resent %ld\n",
		   atomic_long_read(&stats->resends));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(space_stats);

static const char *const session_state_name[] = {
	[TPM2_RM_NEW] = "new",
	[TPM2_RM_LOADED] = "loaded",
	[TPM2_RM_HELD] = "held",
	[TPM2_RM_CLIENT_SAVED] = "client-saved",
	[TPM2_RM_ABANDONED] = "abandoned",
	[TPM2_RM_STALE] = "tombstone",
};

static unsigned int ms_since(unsigned long then)
{
	return jiffies_to_msecs(tpm2_rm_now() - then);
}

/* One line per session the resource manager knows, oldest context first. */
static int space_sessions_show(struct seq_file *m, void *unused)
{
	struct tpm_chip *chip = m->private;
	struct tpm2_rm_session *sess;

	mutex_lock(&chip->tpm_mutex);
	list_for_each_entry(sess, &chip->rm->sessions, chip_node)
		seq_printf(m, "0x%08x %s uid %u age_ms %u idle_ms %u seq %llu\n",
			   sess->handle, session_state_name[sess->state],
			   from_kuid_munged(&init_user_ns, sess->euid),
			   ms_since(sess->created), ms_since(sess->last_used),
			   sess->seq);
	mutex_unlock(&chip->tpm_mutex);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(space_sessions);

/**
 * tpm2_rm_debugfs_add() - show the chip's counters in debugfs
 * @chip: a registered TPM 2.0 chip
 */
void tpm2_rm_debugfs_add(struct tpm_chip *chip)
{
	chip->rm->debugfs = debugfs_create_dir(dev_name(&chip->dev), NULL);
	debugfs_create_file("space_stats", 0444, chip->rm->debugfs,
			    &chip->rm->stats, &space_stats_fops);
	debugfs_create_file("space_sessions", 0400, chip->rm->debugfs, chip,
			    &space_sessions_fops);
}

/* Removes the counters; waits for their readers. */
static void tpm2_rm_debugfs_remove(struct tpm_chip *chip)
{
	debugfs_remove_recursive(chip->rm->debugfs);
	chip->rm->debugfs = NULL;
}

/**
 * tpm2_rm_chip_unregister() - flush every session while the TPM is there
 * @chip: a TPM 2.0 chip being unregistered, its ops still set
 *
 * Once the chip is unregistered nothing can flush the sessions the
 * resource manager knows, and a TPM that lives on (a driver unbound, a
 * module unloaded) would keep them until its next reset. So they are
 * flushed now: abandoned ones are forgotten, those of open files become
 * tombstones, so that their owners are told. Then the debugfs files go.
 */
void tpm2_rm_chip_unregister(struct tpm_chip *chip)
{
	struct tpm2_rm_session *sess, *tmp;

	if (!tpm_try_get_ops(chip)) {
		list_for_each_entry_safe(sess, tmp, &chip->rm->sessions,
					 chip_node) {
			tpm2_rm_flush(chip, sess->handle, TPM_SPACE_WHY_CLOSE);
			tpm2_rm_session_forget(chip->rm, sess);
		}
		tpm2_rm_session_freed(chip->rm);
		tpm_put_ops(chip);
	}
	tpm2_rm_debugfs_remove(chip);
}
EXPORT_SYMBOL_IF_KUNIT(tpm2_rm_chip_unregister);
