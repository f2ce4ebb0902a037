/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _TPM2_FUZZ_MODULEPARAM_H
#define _TPM2_FUZZ_MODULEPARAM_H

#include <assert.h>

/* Module parameters are plain variables here; the fuzzers set them. */
#define module_param_named(name, value, type, perm)			\
	static_assert(sizeof(value) && sizeof(#name #type) && (perm) >= 0, \
		      "module parameter")
#define MODULE_PARM_DESC(name, desc)					\
	static_assert(sizeof(#name) && sizeof(desc), "parameter text")

#endif
