/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _TPM2_FUZZ_VISIBILITY_H
#define _TPM2_FUZZ_VISIBILITY_H

#include <assert.h>

/* No KUnit here, as in a kernel without it: nothing is exported. */
#define EXPORT_SYMBOL_IF_KUNIT(symbol)	static_assert(1, #symbol)
#define VISIBLE_IF_KUNIT static

#endif
