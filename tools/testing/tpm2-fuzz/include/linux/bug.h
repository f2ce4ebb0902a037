/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _TPM2_FUZZ_BUG_H
#define _TPM2_FUZZ_BUG_H

#include <stdio.h>
#include <stdlib.h>

/*
 * A warning in the tables is a bug the fuzzer has found: it stops there,
 * with the input, instead of going on with tables in an unknown state.
 */
#define WARN_ON_ONCE(condition) ({					\
	int __ret_warn_on = !!(condition);				\
	if (__ret_warn_on) {						\
		fprintf(stderr, "WARN_ON_ONCE(%s) at %s:%d\n",		\
			#condition, __FILE__, __LINE__);		\
		abort();						\
	}								\
	__ret_warn_on;							\
})

#define WARN_ONCE(condition, fmt...) ({				\
	int __ret_warn_once = !!(condition);				\
	if (__ret_warn_once) {						\
		fprintf(stderr, fmt);					\
		abort();						\
	}								\
	__ret_warn_once;						\
})

#endif
