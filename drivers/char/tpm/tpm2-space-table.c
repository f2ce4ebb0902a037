// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tables of a space: its transient objects, known to the client by
 * virtual handles, and its sessions, known by their physical handles. How
 * a session record moves between the tables is tpm2-space-session.c's.
 *
 * All functions run under chip->tpm_mutex, except on a space that no other
 * thread can see yet or any more.
 */

#include <kunit/visibility.h>
#include <linux/fault-inject.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include "tpm2-space.h"

unsigned int tpm2_space_max_objects = 64;
EXPORT_SYMBOL_IF_KUNIT(tpm2_space_max_objects);
module_param_named(space_max_objects, tpm2_space_max_objects, uint, 0644);
MODULE_PARM_DESC(space_max_objects,
		 "Transient objects one /dev/tpmrm file may hold (default 64)");

unsigned int tpm2_space_max_sessions = 16;
EXPORT_SYMBOL_IF_KUNIT(tpm2_space_max_sessions);
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

#if IS_ENABLED(CONFIG_TCG_TPM2_SPACE_KUNIT_TEST)
/* see tpm2_rm_walk_step() */
unsigned long tpm2_rm_walk_steps;
EXPORT_SYMBOL_IF_KUNIT(tpm2_rm_walk_steps);
#endif

/**
 * tpm2_rm_over_quota() - would one more object or session break the quota?
 * @space: the space
 * @what: objects or sessions
 *
 * A refusal is traced.
 *
 * Return: true if the space holds its space_max_objects or
 * space_max_sessions already.
 */
bool tpm2_rm_over_quota(const struct tpm_space *space,
			enum tpm_space_quota what)
{
	unsigned int held, limit;

	if (what == TPM_SPACE_QUOTA_OBJECTS) {
		held = space->nr_objects;
		limit = READ_ONCE(tpm2_space_max_objects);
	} else {
		held = space->nr_sessions;
		limit = READ_ONCE(tpm2_space_max_sessions);
	}
	if (held < limit)
		return false;
	trace_tpm_space_quota(space->id, what, held, limit);
	return true;
}

/**
 * tpm2_rm_object_find() - find a transient object of a space
 * @space: the space
 * @vhandle: the virtual handle its client knows the object by
 *
 * Return: the object, or NULL when @space holds none with @vhandle.
 */
struct tpm2_rm_object *tpm2_rm_object_find(struct tpm_space *space,
					   u32 vhandle)
{
	struct tpm2_rm_object *obj;

	list_for_each_entry(obj, &space->objects, node) {
		tpm2_rm_walk_step();
		if (obj->vhandle == vhandle)
			return obj;
	}
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(tpm2_rm_object_find);

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

/**
 * tpm2_rm_object_del() - drop a transient object from its space and free it
 * @space: the space that holds @obj
 * @obj: the object, with its saved context if any
 *
 * Only the record goes: an object still loaded in the TPM is the caller's
 * to flush first.
 */
void tpm2_rm_object_del(struct tpm_space *space, struct tpm2_rm_object *obj)
{
	list_del(&obj->node);
	space->nr_objects--;
	kfree(obj->blob);
	kfree(obj);
}

/**
 * tpm2_rm_session_find() - find a session a space holds
 * @space: the space
 * @handle: the session's handle (sessions are not virtualised)
 *
 * Return: the session, or NULL when @space holds none with @handle;
 * abandoned sessions are tpm2_rm_session_lookup()'s.
 */
struct tpm2_rm_session *tpm2_rm_session_find(struct tpm_space *space,
					     u32 handle)
{
	struct tpm2_rm_session *sess;

	list_for_each_entry(sess, &space->sessions, node) {
		tpm2_rm_walk_step();
		if (sess->handle == handle)
			return sess;
	}
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(tpm2_rm_session_find);

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

	list_for_each_entry(sess, &rm->sessions, chip_node) {
		tpm2_rm_walk_step();
		if (sess->handle == handle)
			return sess;
	}
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(tpm2_rm_session_lookup);
