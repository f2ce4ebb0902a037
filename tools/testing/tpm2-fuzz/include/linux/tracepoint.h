/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _TPM2_FUZZ_TRACEPOINT_H
#define _TPM2_FUZZ_TRACEPOINT_H

#include <assert.h>
#include <stdbool.h>

/*
 * The resource manager's trace header, read for its enums: every event is
 * a function that does nothing, and no event is ever enabled.
 */
#define TP_PROTO(args...)	args
#define TP_ARGS(args...)	args
#define TRACE_EVENT(name, proto, ...)					\
	static inline void trace_##name(proto) {}			\
	static inline bool trace_##name##_enabled(void) { return false; }
#define DECLARE_EVENT_CLASS(name, ...)	static_assert(1, #name)
/* An event of a class is an event of its own; the class is only named. */
#define DEFINE_EVENT(class, name, proto, ...)				\
	TRACE_EVENT(name, PARAMS(proto), class)
#define PARAMS(args...)		args
#define TRACE_DEFINE_ENUM(a)	static_assert((a) >= 0, #a)

#endif
