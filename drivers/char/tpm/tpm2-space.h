/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private interfaces of the TPM 2.0 resource manager behind /dev/tpmrmN.
 *
 * A space (one open file) holds its transient objects and its sessions as
 * saved contexts. For each command only the contexts the command names are
 * loaded, and after the response they are saved or flushed again, so the
 * resource manager holds no TPM slot between commands.
 *
 * Every error the resource manager makes up itself is a TPM-format response
 * code in TSS2 layer 11 (TSS2_RESMGR_TPM_RC_LAYER in this kernel), see
 * Documentation/security/tpm/tpm-space.rst.
 */

#ifndef __TPM2_SPACE_H__
#define __TPM2_SPACE_H__

#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <trace/events/tpm.h>
#include "tpm.h"
#include "tpm2-space-wire.h"

#define TPM2_RM_LAYER		TSS2_RESMGR_TPM_RC_LAYER
#define TPM2_RM_MAX_HANDLES	3
#define TPM2_RM_MAX_AUTHS	3
#define TPM2_RM_MAX_LOADED	(TPM2_RM_MAX_HANDLES + TPM2_RM_MAX_AUTHS)

/*
 * Format-one response code parts (TPM 2.0 Part 2, TPM_RC): the code names
 * a parameter (P) or a session (S), number N.
 */
#define TPM2_RC_FMT1_P		0x040
#define TPM2_RC_FMT1_S		0x800
#define TPM2_RC_FMT1_N_SHIFT	8

/* The handle number within its type: the bits below the MSO. */
static inline u32 tpm2_rm_handle_index(u32 handle)
{
	return handle & GENMASK(23, 0);
}

/*
 * The life of a session record; tpm2_rm_session_set_state() is the only
 * way from one state to another (tpm2-space-session.c has the table).
 * Where the record is listed follows from the state alone:
 *
 *  state		space->sessions	rm->abandoned	rm->sessions	counted in
 *  NEW, GONE		-		-		-		-
 *  LOADED, HELD,	yes		-		yes		space->nr_sessions,
 *  CLIENT_SAVED							rm->nr_sessions
 *  ABANDONED		-		yes		yes		rm->nr_abandoned,
 *									rm->nr_sessions
 *  STALE		yes		-		-		space->nr_tombstones
 */
enum tpm2_rm_session_state {
	TPM2_RM_NEW,		/* allocated, in no list yet */
	TPM2_RM_LOADED,		/* in the TPM for the command in flight */
	TPM2_RM_HELD,		/* saved by the resource manager */
	TPM2_RM_CLIENT_SAVED,	/* saved by the client, which holds the blob */
	TPM2_RM_ABANDONED,	/* client-saved, and its file closed */
	TPM2_RM_STALE,		/* tombstone: evicted or lost */
	TPM2_RM_GONE,		/* freed: only ever a target */
	TPM2_RM_NR_STATES
};

/**
 * struct tpm2_rm_object - a transient object or sequence of a space
 * @node:	entry in the space's object list, sorted by @vhandle
 * @vhandle:	the handle the client knows
 * @phandle:	TPM handle while loaded for a command, else 0
 * @stale:	the context can no longer be loaded
 * @dirty:	the TPM state differs from @blob: save before the flush
 * @len:	length of @blob
 * @blob:	TPMS_CONTEXT as returned by ContextSave
 */
struct tpm2_rm_object {
	struct list_head node;
	u32 vhandle;
	u32 phandle;
	bool stale;
	bool dirty;
	u16 len;
	u8 *blob;
};

/**
 * struct tpm2_rm_session - a session held by a space, or abandoned
 * @node:	entry in the owning space's list, or in the chip's abandoned
 *		list
 * @chip_node:	entry in the chip's list of every session the RM knows
 * @space:	owning space, NULL while abandoned
 * @euid:	effective uid of the owning space's opener
 * @handle:	physical handle; a session keeps it across save and load
 * @state:	see enum tpm2_rm_session_state
 * @len:	length of @blob
 * @blob:	the saved context that loads now; for a client-saved session
 *		a copy of the client's blob, or its successor after a re-gap.
 *		While loaded, the buffer of the context last loaded, which
 *		the next save writes over, so that saving needs no memory
 * @seq:	sequence number of @blob
 * @client_seq:	sequence number of the blob the client holds
 * @created:	tpm2_rm_now() when the session was started or first loaded
 * @last_used:	tpm2_rm_now() when a command last named the session
 *
 * The chip list is kept in the order the contexts were saved, so the
 * oldest saved session, the one the context gap is measured from, is the
 * first saved one in it. Tombstones are in the space's list only.
 */
struct tpm2_rm_session {
	struct list_head node;
	struct list_head chip_node;
	struct tpm_space *space;
	kuid_t euid;
	u32 handle;
	enum tpm2_rm_session_state state;
	u16 len;
	u8 *blob;
	u64 seq;
	u64 client_seq;
	unsigned long created;
	unsigned long last_used;
};

/*
 * The references of a command to the space's objects and sessions, one
 * table for all: unloading what was loaded, telling whether a session
 * is in use and forgetting a record all walk every one of them, from 0 to
 * TPM2_RM_NR_REFS. Handle i of the handle area is reference i.
 */
enum tpm2_rm_ref {
	TPM2_RM_REF_HANDLE,	/* + i: named by handle i */
	TPM2_RM_REF_AUTH = TPM2_RM_REF_HANDLE + TPM2_RM_MAX_HANDLES,
				/* + i: session of authorization i */
	TPM2_RM_REF_LOAD = TPM2_RM_REF_AUTH + TPM2_RM_MAX_AUTHS,
				/* known session a ContextLoad's blob names */
	TPM2_RM_REF_FLUSH,	/* the session a FlushContext names */
	TPM2_RM_REF_NEW,	/* what the TPM returned a new handle for */
	TPM2_RM_NR_REFS
};

/**
 * struct tpm2_rm_cmd - what was parsed from, and loaded for, one command
 * @cc:		command code
 * @attrs:	TPMA_CC of @cc
 * @tag:	command tag
 * @len:	command length from the header
 * @nr_handles:	handles in the handle area
 * @handle:	handle area as written by the client
 * @nr_auths:	sessions in the authorization area
 * @auth:	session handles of the authorization area
 * @auth_attrs:	their sessionAttributes
 * @param_off:	offset of the parameter area
 * @obj:	the objects the command refers to, by enum tpm2_rm_ref, or NULL
 * @sess:	the sessions the command refers to, by enum tpm2_rm_ref, or
 *		NULL
 * @bufsiz:	size of the command buffer
 * @resend:	the client's command as written, kept for commands the
 *		resource manager may send again after making room
 * @load_blob:	copy of the context a ContextLoad sends, or NULL
 * @load_len:	its length
 * @rm_rc:	the resource manager's answer instead of the TPM's success,
 *		when it could not keep what the command created, or 0
 * @rm_cmds:	ContextLoad, ContextSave and FlushContext commands the
 *		resource manager sent for this command
 */
struct tpm2_rm_cmd {
	u32 cc;
	u32 attrs;
	u16 tag;
	u32 len;
	unsigned int nr_handles;
	u32 handle[TPM2_RM_MAX_HANDLES];
	unsigned int nr_auths;
	u32 auth[TPM2_RM_MAX_AUTHS];
	u8 auth_attrs[TPM2_RM_MAX_AUTHS];
	u32 param_off;
	struct tpm2_rm_object *obj[TPM2_RM_NR_REFS];
	struct tpm2_rm_session *sess[TPM2_RM_NR_REFS];
	size_t bufsiz;
	u8 *resend;
	u8 *load_blob;
	u16 load_len;
	u32 rm_rc;
	unsigned int rm_cmds;
};

/**
 * struct tpm_space - the resource manager's state of one open /dev/tpmrmN
 * @objects:	the space's transient objects, as saved contexts
 * @sessions:	its sessions: held, client-saved, loaded for the command
 *		in flight, or tombstones
 * @nr_objects:	entries of @objects
 * @nr_sessions: entries of @sessions that are not tombstones
 * @nr_tombstones: entries of @sessions that are
 * @next_vhandle: the number the next virtual object handle is made from
 * @euid:	the opener's effective uid, whose fair share of sessions
 *		this space counts against and who may take over its
 *		abandoned sessions
 * @id:		number of the space in the trace events
 * @wait_node:	entry in rm->waiters while a command waits for a session
 *		handle
 * @wait_deadline: when that wait gives up
 * @wait_until:	when the waiting command looks again if nobody wakes it
 * @wait_wake:	TPM2_RM_WAKE_* reasons it was woken for
 * @wait_asked:	the last command's commit asked for tpm2_space_wait()
 * @wait_wq:	where the waiting command sleeps
 *
 * Only drivers/char/tpm looks inside: the rest of the kernel sees a
 * struct tpm_space only through the pointers of tpm-dev.h.
 */
struct tpm_space {
	struct list_head objects;
	struct list_head sessions;
	unsigned int nr_objects;
	unsigned int nr_sessions;
	unsigned int nr_tombstones;
	u32 next_vhandle;
	kuid_t euid;
	u32 id;
	struct list_head wait_node;
	unsigned long wait_deadline;
	unsigned long wait_until;
	unsigned int wait_wake;
	bool wait_asked;
	wait_queue_head_t wait_wq;
};

/**
 * struct tpm2_rm_stats - per-chip counters, shown in debugfs
 * @user_cmds:		client commands sent to the TPM
 * @rm_answers:		client commands answered by the resource manager
 * @context_load:	ContextLoad commands the resource manager sent
 * @context_save:	ContextSave commands the resource manager sent
 * @flush_context:	FlushContext commands the resource manager sent
 * @evictions:		saved sessions flushed to make room for another
 * @regaps:		sessions loaded and saved again for the context gap
 * @waits:		times a command waited for a session handle
 * @resends:		client commands sent again after making room
 */
struct tpm2_rm_stats {
	atomic_long_t user_cmds;
	atomic_long_t rm_answers;
	atomic_long_t context_load;
	atomic_long_t context_save;
	atomic_long_t flush_context;
	atomic_long_t evictions;
	atomic_long_t regaps;
	atomic_long_t waits;
	atomic_long_t resends;
};

/**
 * struct tpm2_rm_chip - chip-wide state of the resource manager
 * @sessions:	every session of every space, and the abandoned ones
 * @abandoned:	abandoned sessions, oldest first
 * @nr_sessions: entries of @sessions
 * @nr_abandoned: entries of @abandoned
 * @waiters:	spaces waiting for a session handle, first come first
 * @spare:	session handles given back since the TPM last refused one,
 *		while commands wait
 * @space:	space of the command in flight, or NULL
 * @cmd:	the command in flight
 * @newest_seq:	highest session context sequence number seen
 * @seq_floor:	no saved session's sequence number is lower, so that the
 *		context gap needs looking at only when @newest_seq has run
 *		far enough ahead of it
 * @gap_max:	TPM_PT_CONTEXT_GAP_MAX, 0 until read
 * @active_max:	TPM_PT_ACTIVE_SESSIONS_MAX
 * @outside_cc:	command code of the /dev/tpmN command in flight
 * @outside_arg: its first parameter or handle, for tpm2_rm_outside_commit()
 * @cause:	id of the space the resource manager works for, in its
 *		command or its close, for the trace events; 0 for none
 * @stats:	counters
 * @debugfs:	the chip's debugfs directory
 * @chip:	the chip, whose tpm_mutex guards this
 *
 * All but @stats and @debugfs are used under chip->tpm_mutex
 * only.
 */
struct tpm2_rm_chip {
	struct list_head sessions;
	struct list_head abandoned;
	unsigned int nr_sessions;
	unsigned int nr_abandoned;
	struct list_head waiters;
	unsigned int spare;
	struct tpm_space *space;
	struct tpm2_rm_cmd cmd;
	u64 newest_seq;
	u64 seq_floor;
	u32 gap_max;
	u32 active_max;
	u32 outside_cc;
	u32 outside_arg;
	u32 cause;
	struct tpm2_rm_stats stats;
	struct dentry *debugfs;
	struct tpm_chip *chip;
};

/*
 * The command in flight. It is valid only while chip->tpm_mutex is held,
 * so it is reached only through here.
 */
static inline struct tpm2_rm_cmd *tpm2_rm_cmd_in_flight(struct tpm2_rm_chip *rm)
{
	lockdep_assert_held(&rm->chip->tpm_mutex);
	return &rm->cmd;
}

/* tpm2-space-parse.c */
int tpm2_rm_parse(struct tpm_chip *chip, const u8 *buf, size_t bufsiz,
		  struct tpm2_rm_cmd *cmd);
u32 tpm2_rm_handle_rc(unsigned int index);
u32 tpm2_rm_session_rc(unsigned int index);
bool tpm2_rm_is_session(u32 handle);
bool tpm2_rm_is_transient(u32 handle);
int tpm2_rm_context_len(const u8 *blob, size_t avail);
size_t tpm2_rm_answer(u8 *buf, u32 rc);

/* tpm2-space-table.c */
extern unsigned int tpm2_space_max_objects;
extern unsigned int tpm2_space_max_sessions;
extern unsigned int tpm2_space_max_abandoned;

struct tpm2_rm_object *tpm2_rm_object_find(struct tpm_space *space,
					   u32 vhandle);
struct tpm2_rm_object *tpm2_rm_object_add(struct tpm_space *space);
void *tpm2_rm_alloc(size_t size);
void *tpm2_rm_memdup(const void *src, size_t len);
void tpm2_rm_object_del(struct tpm_space *space, struct tpm2_rm_object *obj);
struct tpm2_rm_session *tpm2_rm_session_find(struct tpm_space *space,
					     u32 handle);
struct tpm2_rm_session *tpm2_rm_session_lookup(struct tpm2_rm_chip *rm,
					       u32 handle);
bool tpm2_rm_over_quota(const struct tpm_space *space,
			enum tpm_space_quota what);

/* tpm2-space-session.c */
unsigned long tpm2_rm_now(void);
bool tpm2_rm_in_use(struct tpm2_rm_chip *rm,
		    const struct tpm2_rm_session *sess);
void tpm2_rm_illegal_move(const struct tpm2_rm_session *sess,
			  enum tpm2_rm_session_state new);
bool tpm2_rm_session_set_state(struct tpm2_rm_chip *rm,
			       struct tpm2_rm_session *sess,
			       enum tpm2_rm_session_state new,
			       struct tpm_space *space);
struct tpm2_rm_session *tpm2_rm_session_add(struct tpm2_rm_chip *rm,
					    struct tpm_space *space,
					    u32 handle);
void tpm2_rm_session_del(struct tpm2_rm_chip *rm,
			 struct tpm2_rm_session *sess);
void tpm2_rm_session_forget(struct tpm2_rm_chip *rm,
			    struct tpm2_rm_session *sess);
void tpm2_rm_trim_tombstones(struct tpm2_rm_chip *rm,
			     struct tpm_space *space);
bool tpm2_rm_session_is_saved(const struct tpm2_rm_session *sess);
struct tpm2_rm_session *tpm2_rm_abandon(struct tpm2_rm_chip *rm,
					struct tpm2_rm_session *sess);

/* tpm2-space-line.c */
extern unsigned int tpm2_space_session_wait_ms;

/* Why a waiting command was woken: tpm_space.wait_wake */
#define TPM2_RM_WAKE_FREED	BIT(0)	/* a handle is free: run again */
#define TPM2_RM_WAKE_HEAD	BIT(1)	/* first in line now: may evict */
#define TPM2_RM_WAKE_STOP	BIT(2)	/* the file closes, or the chip goes */

bool tpm2_rm_wait_is_over(const struct tpm_space *space, unsigned long now);
bool tpm2_rm_is_served_next(struct tpm2_rm_chip *rm, struct tpm_space *space);
void tpm2_rm_wake_waiter(struct tpm_space *space, unsigned int why);
void tpm2_rm_join_line(struct tpm2_rm_chip *rm, struct tpm_space *space,
		       unsigned long now);
void tpm2_rm_leave_line(struct tpm2_rm_chip *rm, struct tpm_space *space,
			bool got_handle);
void tpm2_rm_session_freed(struct tpm2_rm_chip *rm);

/*
 * List entries the walks of the tables looked at, with the KUnit tests
 * configured (built in or as a module): their measure of the work a
 * command costs.
 */
#if IS_ENABLED(CONFIG_TCG_TPM2_SPACE_KUNIT_TEST)
extern unsigned long tpm2_rm_walk_steps;

static inline void tpm2_rm_walk_step(void)
{
	tpm2_rm_walk_steps++;
}
#else
static inline void tpm2_rm_walk_step(void)
{
}
#endif

/* tpm2-space-chip.c */
u32 tpm2_rm_new_space_id(void);
void tpm2_rm_command_begin(struct tpm2_rm_chip *rm,
			   const struct tpm_space *space, const u8 *buf,
			   size_t len);
void tpm2_rm_command_end(struct tpm2_rm_chip *rm, const u8 *rsp, size_t len,
			 int err);
void tpm2_rm_read_limits(struct tpm_chip *chip);

/* tpm2-space-swap.c */
int tpm2_rm_load(struct tpm_chip *chip, const u8 *blob, u16 len, u32 *handle,
		 enum tpm_space_ctx_reason why);
int tpm2_rm_save_over(struct tpm_chip *chip, u32 handle, u8 **blob,
		      u16 *len, enum tpm_space_ctx_reason why);
void tpm2_rm_flush(struct tpm_chip *chip, u32 handle,
		   enum tpm_space_ctx_reason why);
bool tpm2_rm_rc_is_lost(int rc);

/* tpm2-space-load.c */
int tpm2_rm_load_cmd(struct tpm_chip *chip, struct tpm_space *space, u8 *buf);
void tpm2_rm_unload_cmd(struct tpm_chip *chip, struct tpm2_rm_cmd *cmd);
void tpm2_rm_drop_object(struct tpm2_rm_cmd *cmd, struct tpm_space *space,
			 struct tpm2_rm_object *obj);
void tpm2_rm_drop_session(struct tpm2_rm_chip *rm,
			  struct tpm2_rm_session *sess);

/* tpm2-space-emulate.c */
int tpm2_rm_reply(struct tpm_chip *chip, u8 *buf, u32 rc);
int tpm2_rm_emulate(struct tpm_chip *chip, struct tpm_space *space, u8 *buf,
		    size_t bufsiz);

/* tpm2-space-evict.c */
extern unsigned int tpm2_space_session_grace_ms;

struct tpm2_rm_session *tpm2_rm_pick_victim(struct tpm2_rm_chip *rm,
					    unsigned long now);
void tpm2_rm_evict(struct tpm_chip *chip, struct tpm2_rm_session *victim);
unsigned long tpm2_rm_next_victim_time(struct tpm2_rm_chip *rm,
				       unsigned long now, unsigned long limit);

/* tpm2-space-reset.c */
void tpm2_rm_session_taken(struct tpm2_rm_chip *rm, u32 handle,
			   struct tpm2_rm_session *keep);
void tpm2_rm_forget_all(struct tpm2_rm_chip *rm);
void tpm2_rm_outside_prepare(struct tpm2_rm_chip *rm, const u8 *buf,
			     size_t len);
void tpm2_rm_outside_commit(struct tpm2_rm_chip *rm, const u8 *buf,
			    size_t len);

/* tpm2-space-gap.c */
void tpm2_rm_saved(struct tpm2_rm_chip *rm, struct tpm2_rm_session *sess);
struct tpm2_rm_session *tpm2_rm_oldest_saved(struct tpm2_rm_chip *rm);
bool tpm2_rm_gap_due(struct tpm2_rm_chip *rm);
bool tpm2_rm_regap_oldest(struct tpm_chip *chip);
int tpm2_rm_load_past_gap(struct tpm_chip *chip, struct tpm2_rm_session *sess,
			  u32 *handle);
int tpm2_rm_save_past_gap(struct tpm_chip *chip, struct tpm2_rm_session *sess);
void tpm2_rm_regap_due(struct tpm_chip *chip);

/* tpm2-space-retry.c */
int tpm2_rm_retry(struct tpm_chip *chip, struct tpm_space *space, u8 *buf,
		  size_t *len);

#endif /* __TPM2_SPACE_H__ */
