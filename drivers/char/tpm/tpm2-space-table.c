// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tables of a space: its transient objects, known to the client by
 * virtual handles, and its sessions, known by their physical handles.
 *
 * All functions run under chip->tpm_mutex, except on a space that no other
 * thread can see yet or any more.
 */

#include <linux/fault-inject.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include "tpm2-space.h"

unsigned int tpm2_space_max_objects = 64;
module_param_named(space_max_objects, tpm2_space_max_objects, uint, 0644);
MODULE_PARM_DESC(space_max_objects,
		 "Transient objects one /dev/tpmrm file may hold (default 64)");

unsigned int tpm2_space_max_sessions = 16;
module_param_named(space_max_sessions, tpm2_space_max_sessions, uint, 0644);
MODULE_PARM_DESC(space_max_sessions,
		 "Sessions one /dev/tpmrm file may hold (default 16)");

unsigned int tpm2_space_max_abandoned = 8;
module_param_named(space_max_abandoned, tpm2_space_max_abandoned, uint, 0644);
MODULE_PARM_DESC(space_max_abandoned,
		 "Client-saved sessions of closed files kept per user (default 8)");

/*
 * Every allocation the resource manager makes for a file goes through
 * tpm2_rm_alloc() or tpm2_rm_memdup(): it is charged to the opener's memory
 * cgroup, and with CONFIG_FAULT_INJECTION a test can make the n-th one fail
 * through current->fail_nth (/proc/self/fail-nth), one at a time.
 */
#ifdef CONFIG_FAULT_INJECTION
static DECLARE_FAULT_ATTR(fail_tpm2_rm_alloc);

static bool alloc_should_fail(size_t size)
{
	return should_fail(&fail_tpm2_rm_alloc, size);
}
#else
static bool alloc_should_fail(size_t size)
{
	return false;
}
#endif

/**
 * tpm2_rm_alloc() - zeroed memory for a file's records
 * @size: bytes
 *
 * Return: the memory, or NULL.
 */
void *tpm2_rm_alloc(size_t size)
{
	if (alloc_should_fail(size))
		return NULL;
	return kzalloc(size, GFP_KERNEL_ACCOUNT);
}

/**
 * tpm2_rm_memdup() - a file's copy of a context or a command
 * @src: what to copy
 * @len: its length
 *
 * Return: the copy, or NULL.
 */
void *tpm2_rm_memdup(const void *src, size_t len)
{
	if (alloc_should_fail(len))
		return NULL;
	return kmemdup(src, len, GFP_KERNEL_ACCOUNT);
}

/*
 * Virtual handles count up from here and skip live ones when they wrap, so
 * a handle is never reused while its object lives. They start where TPMs
 * start, because clients (upstream's SpaceTest among them) walk
 * TPM_CAP_HANDLES one property value at a time from 0x80000000.
 */
#define TPM2_RM_VHANDLE_FIRST	0x80000000
#define TPM2_RM_VHANDLE_MASK	0x00FFFFFF

struct tpm2_rm_object *tpm2_rm_object_find(struct tpm_space *space,
					   u32 vhandle)
{
	struct tpm2_rm_object *obj;

	list_for_each_entry(obj, &space->objects, node)
		if (obj->vhandle == vhandle)
			return obj;
	return NULL;
}

static u32 next_vhandle(struct tpm_space *space)
{
	u32 vhandle;

	do {
		vhandle = TPM2_RM_VHANDLE_FIRST |
			  (space->next_vhandle++ & TPM2_RM_VHANDLE_MASK);
	} while (tpm2_rm_object_find(space, vhandle));
	return vhandle;
}

/* Keeps the list sorted, for GetCapability. */
static void object_insert(struct tpm_space *space, struct tpm2_rm_object *obj)
{
	struct tpm2_rm_object *pos;

	list_for_each_entry(pos, &space->objects, node) {
		if (pos->vhandle > obj->vhandle) {
			list_add_tail(&obj->node, &pos->node);
			return;
		}
	}
	list_add_tail(&obj->node, &space->objects);
}

/**
 * tpm2_rm_object_add() - give a space a new object with a virtual handle
 * @space: the space
 *
 * Return: the object, without a context yet, or NULL.
 */
struct tpm2_rm_object *tpm2_rm_object_add(struct tpm_space *space)
{
	struct tpm2_rm_object *obj;

	obj = tpm2_rm_alloc(sizeof(*obj));
	if (!obj)
		return NULL;
	obj->vhandle = next_vhandle(space);
	object_insert(space, obj);
	space->nr_objects++;
	return obj;
}

void tpm2_rm_object_del(struct tpm_space *space, struct tpm2_rm_object *obj)
{
	list_del(&obj->node);
	space->nr_objects--;
	kfree(obj->blob);
	kfree(obj);
}

struct tpm2_rm_session *tpm2_rm_session_find(struct tpm_space *space,
					     u32 handle)
{
	struct tpm2_rm_session *sess;

	list_for_each_entry(sess, &space->sessions, node)
		if (sess->handle == handle)
			return sess;
	return NULL;
}

/**
 * tpm2_rm_session_lookup() - find a session the RM knows, in any space
 * @rm: the chip's resource manager
 * @handle: session handle
 *
 * Return: the session, owned by a space or abandoned, or NULL.
 */
struct tpm2_rm_session *tpm2_rm_session_lookup(struct tpm2_rm_chip *rm,
					       u32 handle)
{
	struct tpm2_rm_session *sess;

	list_for_each_entry(sess, &rm->sessions, chip_node)
		if (sess->handle == handle)
			return sess;
	return NULL;
}

/**
 * tpm2_rm_session_add() - record a session a space has started or loaded
 * @rm: the chip's resource manager
 * @space: the owner
 * @handle: session handle
 *
 * Return: the session, marked loaded, or NULL.
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
	sess->loaded = true;
	sess->created = tpm2_rm_now();
	sess->last_used = sess->created;
	list_add_tail(&sess->chip_node, &rm->sessions);
	INIT_LIST_HEAD(&sess->node);
	tpm2_rm_session_claim(space, sess);
	return sess;
}

/* Forget a session: it is gone from the TPM, or the TPM will forget it. */
void tpm2_rm_session_del(struct tpm2_rm_session *sess)
{
	if (sess->space && sess->state != TPM2_RM_STALE)
		sess->space->nr_sessions--;
	list_del(&sess->node);
	list_del(&sess->chip_node);
	kfree(sess->blob);
	kfree(sess);
}

/**
 * tpm2_rm_trim_tombstones() - bound the tombstones of a space
 * @space: the space, with no command in flight
 *
 * Drops the oldest tombstones beyond one per session the space may hold.
 */
void tpm2_rm_trim_tombstones(struct tpm_space *space)
{
	struct tpm2_rm_session *sess, *tmp;
	unsigned int count = 0;

	list_for_each_entry_reverse(sess, &space->sessions, node)
		if (sess->state == TPM2_RM_STALE)
			count++;
	list_for_each_entry_safe(sess, tmp, &space->sessions, node) {
		if (count <= READ_ONCE(tpm2_space_max_sessions))
			break;
		if (sess->state != TPM2_RM_STALE)
			continue;
		tpm2_rm_session_del(sess);
		count--;
	}
}

/**
 * tpm2_rm_session_bury() - turn a session of a space into a tombstone
 * @sess: a session the TPM no longer has, owned by a space
 *
 * The TPM may give the handle to a new session at once. The tombstone
 * makes the owner's next use of the handle fail, instead of reaching
 * whoever has the handle now. It no longer counts against the quota and
 * is not in the chip's list, so lookups by handle do not find it.
 * tpm2_rm_trim_tombstones() bounds their number.
 */
void tpm2_rm_session_bury(struct tpm2_rm_session *sess)
{
	kfree(sess->blob);
	sess->blob = NULL;
	sess->loaded = false;
	if (sess->state == TPM2_RM_STALE)
		return;
	sess->state = TPM2_RM_STALE;
	list_del_init(&sess->chip_node);
	/* to the end, where tpm2_rm_trim_tombstones() looks last */
	list_move_tail(&sess->node, &sess->space->sessions);
	sess->space->nr_sessions--;
}

/**
 * tpm2_rm_session_forget() - drop a session the TPM no longer has
 * @sess: a session of a space, or an abandoned one
 *
 * An owner is told through a tombstone; an abandoned session has nobody
 * to tell and goes at once.
 */
void tpm2_rm_session_forget(struct tpm2_rm_session *sess)
{
	if (sess->space)
		tpm2_rm_session_bury(sess);
	else
		tpm2_rm_session_del(sess);
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
	switch (sess->state) {
	case TPM2_RM_HELD:
		return !sess->loaded;
	case TPM2_RM_CLIENT_SAVED:
	case TPM2_RM_ABANDONED:
		return true;
	}
	return false;
}

/**
 * tpm2_rm_session_claim() - make a space the owner of a session
 * @space: the new owner
 * @sess: a new or an abandoned session
 */
void tpm2_rm_session_claim(struct tpm_space *space,
			   struct tpm2_rm_session *sess)
{
	struct tpm2_rm_session *old = tpm2_rm_session_find(space, sess->handle);

	/* the client now knows the handle as this session's */
	if (old && old->state == TPM2_RM_STALE)
		tpm2_rm_session_del(old);
	list_del(&sess->node);
	list_add_tail(&sess->node, &space->sessions);
	sess->space = space;
	sess->euid = space->euid;
	sess->state = TPM2_RM_HELD;
	space->nr_sessions++;
}

/**
 * tpm2_rm_abandon() - keep a client-saved session of a closing space
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
	struct tpm2_rm_session *pos, *oldest = NULL;
	unsigned int count = 0;

	sess->space->nr_sessions--;
	sess->space = NULL;
	sess->state = TPM2_RM_ABANDONED;
	list_del(&sess->node);
	list_add_tail(&sess->node, &rm->abandoned);

	list_for_each_entry(pos, &rm->abandoned, node) {
		if (!uid_eq(pos->euid, sess->euid))
			continue;
		if (!oldest)
			oldest = pos;
		count++;
	}
	return count > READ_ONCE(tpm2_space_max_abandoned) ? oldest : NULL;
}
