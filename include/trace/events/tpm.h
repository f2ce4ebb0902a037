/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Trace events of the TPM 2.0 resource manager behind /dev/tpmrmN.
 *
 * A space is named by a number the resource manager gives it when its
 * file is opened (never a pointer); the same number is in the events of
 * every command of that file.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM tpm

#if !defined(_TRACE_TPM_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_TPM_H

#include <linux/tracepoint.h>

#ifndef TPM_SPACE_TRACE_ENUMS
#define TPM_SPACE_TRACE_ENUMS

/* What the resource manager did with a context */
enum tpm_space_ctx_op {
	TPM_SPACE_CTX_LOAD,
	TPM_SPACE_CTX_SAVE,
	TPM_SPACE_CTX_FLUSH,
};

/* Why it did it */
enum tpm_space_ctx_reason {
	TPM_SPACE_WHY_NAMED,
	TPM_SPACE_WHY_PUT_BACK,
	TPM_SPACE_WHY_REGAP,
	TPM_SPACE_WHY_EVICT,
	TPM_SPACE_WHY_REFUSED,
	TPM_SPACE_WHY_CLOSE,
	TPM_SPACE_WHY_HANDOFF,
};

/* Which rule picked an eviction victim */
enum tpm_space_evict_rule {
	TPM_SPACE_EVICT_ABANDONED,
	TPM_SPACE_EVICT_OVER_SHARE,
	TPM_SPACE_EVICT_LRU,
};

/* How a wait for a session handle ended */
enum tpm_space_wait_end {
	TPM_SPACE_WAIT_RESEND,
	TPM_SPACE_WAIT_SIGNAL,
	TPM_SPACE_WAIT_STOPPED,
};

/* What a quota refused */
enum tpm_space_quota {
	TPM_SPACE_QUOTA_OBJECTS,
	TPM_SPACE_QUOTA_SESSIONS,
};

#endif

TRACE_DEFINE_ENUM(TPM_SPACE_CTX_LOAD);
TRACE_DEFINE_ENUM(TPM_SPACE_CTX_SAVE);
TRACE_DEFINE_ENUM(TPM_SPACE_CTX_FLUSH);
TRACE_DEFINE_ENUM(TPM_SPACE_WHY_NAMED);
TRACE_DEFINE_ENUM(TPM_SPACE_WHY_PUT_BACK);
TRACE_DEFINE_ENUM(TPM_SPACE_WHY_REGAP);
TRACE_DEFINE_ENUM(TPM_SPACE_WHY_EVICT);
TRACE_DEFINE_ENUM(TPM_SPACE_WHY_REFUSED);
TRACE_DEFINE_ENUM(TPM_SPACE_WHY_CLOSE);
TRACE_DEFINE_ENUM(TPM_SPACE_WHY_HANDOFF);
TRACE_DEFINE_ENUM(TPM_SPACE_EVICT_ABANDONED);
TRACE_DEFINE_ENUM(TPM_SPACE_EVICT_OVER_SHARE);
TRACE_DEFINE_ENUM(TPM_SPACE_EVICT_LRU);
TRACE_DEFINE_ENUM(TPM_SPACE_WAIT_RESEND);
TRACE_DEFINE_ENUM(TPM_SPACE_WAIT_SIGNAL);
TRACE_DEFINE_ENUM(TPM_SPACE_WAIT_STOPPED);
TRACE_DEFINE_ENUM(TPM_SPACE_QUOTA_OBJECTS);
TRACE_DEFINE_ENUM(TPM_SPACE_QUOTA_SESSIONS);

/* A command of a space, named by its command code */
DECLARE_EVENT_CLASS(tpm_space_cc,
		    TP_PROTO(u32 space, u32 cc),
		    TP_ARGS(space, cc),
		    TP_STRUCT__entry(__field(u32, space)
				     __field(u32, cc)),
		    TP_fast_assign(__entry->space = space;
				   __entry->cc = cc;),
		    TP_printk("space=%u cc=0x%03x", __entry->space, __entry->cc)
);

DEFINE_EVENT(tpm_space_cc, tpm_space_command_begin,
	     TP_PROTO(u32 space, u32 cc),
	     TP_ARGS(space, cc)
);

TRACE_EVENT(tpm_space_command_end,
	    TP_PROTO(u32 space, u32 cc, u32 rc, int err, u32 rm_cmds),
	    TP_ARGS(space, cc, rc, err, rm_cmds),
	    TP_STRUCT__entry(__field(u32, space)
			     __field(u32, cc)
			     __field(u32, rc)
			     __field(int, err)
			     __field(u32, rm_cmds)),
	    TP_fast_assign(__entry->space = space;
			   __entry->cc = cc;
			   __entry->rc = rc;
			   __entry->err = err;
			   __entry->rm_cmds = rm_cmds;),
	    TP_printk("space=%u cc=0x%03x rc=0x%08x err=%d rm_cmds=%u",
		      __entry->space, __entry->cc, __entry->rc, __entry->err,
		      __entry->rm_cmds)
);

TRACE_EVENT(tpm_space_context,
	    TP_PROTO(u32 space, enum tpm_space_ctx_op op, u32 handle,
		     enum tpm_space_ctx_reason why, int rc),
	    TP_ARGS(space, op, handle, why, rc),
	    TP_STRUCT__entry(__field(u32, space)
			     __field(u32, handle)
			     __field(int, rc)
			     __field(u8, op)
			     __field(u8, why)),
	    TP_fast_assign(__entry->space = space;
			   __entry->handle = handle;
			   __entry->rc = rc;
			   __entry->op = op;
			   __entry->why = why;),
	    TP_printk("space=%u %s handle=0x%08x why=%s rc=%d", __entry->space,
		      __print_symbolic(__entry->op,
				       { TPM_SPACE_CTX_LOAD, "load" },
				       { TPM_SPACE_CTX_SAVE, "save" },
				       { TPM_SPACE_CTX_FLUSH, "flush" }),
		      __entry->handle,
		      __print_symbolic(__entry->why,
				       { TPM_SPACE_WHY_NAMED, "named" },
				       { TPM_SPACE_WHY_PUT_BACK, "put-back" },
				       { TPM_SPACE_WHY_REGAP, "re-gap" },
				       { TPM_SPACE_WHY_EVICT, "evict" },
				       { TPM_SPACE_WHY_REFUSED, "refused" },
				       { TPM_SPACE_WHY_CLOSE, "close" },
				       { TPM_SPACE_WHY_HANDOFF, "hand-off" }),
		      __entry->rc)
);

TRACE_EVENT(tpm_space_evict,
	    TP_PROTO(u32 space, u32 handle, uid_t owner, unsigned int idle_ms,
		     enum tpm_space_evict_rule rule),
	    TP_ARGS(space, handle, owner, idle_ms, rule),
	    TP_STRUCT__entry(__field(u32, space)
			     __field(u32, handle)
			     __field(uid_t, owner)
			     __field(unsigned int, idle_ms)
			     __field(u8, rule)),
	    TP_fast_assign(__entry->space = space;
			   __entry->handle = handle;
			   __entry->owner = owner;
			   __entry->idle_ms = idle_ms;
			   __entry->rule = rule;),
	    TP_printk("for space=%u victim=0x%08x owner=%u idle_ms=%u rule=%s",
		      __entry->space, __entry->handle, __entry->owner,
		      __entry->idle_ms,
		      __print_symbolic(__entry->rule,
				       { TPM_SPACE_EVICT_ABANDONED, "abandoned" },
				       { TPM_SPACE_EVICT_OVER_SHARE, "over-share" },
				       { TPM_SPACE_EVICT_LRU, "lru" }))
);

DEFINE_EVENT(tpm_space_cc, tpm_space_wait_begin,
	     TP_PROTO(u32 space, u32 cc),
	     TP_ARGS(space, cc)
);

TRACE_EVENT(tpm_space_wait_end,
	    TP_PROTO(u32 space, unsigned int waited_ms,
		     enum tpm_space_wait_end how),
	    TP_ARGS(space, waited_ms, how),
	    TP_STRUCT__entry(__field(u32, space)
			     __field(unsigned int, waited_ms)
			     __field(u8, how)),
	    TP_fast_assign(__entry->space = space;
			   __entry->waited_ms = waited_ms;
			   __entry->how = how;),
	    TP_printk("space=%u waited_ms=%u how=%s", __entry->space,
		      __entry->waited_ms,
		      __print_symbolic(__entry->how,
				       { TPM_SPACE_WAIT_RESEND, "resend" },
				       { TPM_SPACE_WAIT_SIGNAL, "signal" },
				       { TPM_SPACE_WAIT_STOPPED, "stopped" }))
);

TRACE_EVENT(tpm_space_regap,
	    TP_PROTO(u32 space, u32 handle, u64 old_seq, u64 new_seq),
	    TP_ARGS(space, handle, old_seq, new_seq),
	    TP_STRUCT__entry(__field(u64, old_seq)
			     __field(u64, new_seq)
			     __field(u32, space)
			     __field(u32, handle)),
	    TP_fast_assign(__entry->old_seq = old_seq;
			   __entry->new_seq = new_seq;
			   __entry->space = space;
			   __entry->handle = handle;),
	    TP_printk("space=%u handle=0x%08x seq=%llu->%llu", __entry->space,
		      __entry->handle, __entry->old_seq, __entry->new_seq)
);

TRACE_EVENT(tpm_space_quota,
	    TP_PROTO(u32 space, enum tpm_space_quota what, unsigned int held,
		     unsigned int limit),
	    TP_ARGS(space, what, held, limit),
	    TP_STRUCT__entry(__field(u32, space)
			     __field(unsigned int, held)
			     __field(unsigned int, limit)
			     __field(u8, what)),
	    TP_fast_assign(__entry->space = space;
			   __entry->held = held;
			   __entry->limit = limit;
			   __entry->what = what;),
	    TP_printk("space=%u refused: %s held=%u limit=%u", __entry->space,
		      __print_symbolic(__entry->what,
				       { TPM_SPACE_QUOTA_OBJECTS, "objects" },
				       { TPM_SPACE_QUOTA_SESSIONS, "sessions" }),
		      __entry->held, __entry->limit)
);

#endif /* _TRACE_TPM_H */

#include <trace/define_trace.h>
