/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _TPM2_FUZZ_UIDGID_H
#define _TPM2_FUZZ_UIDGID_H

#include <linux/types.h>

typedef struct {
	u32 val;
} kuid_t;

static inline bool uid_eq(kuid_t left, kuid_t right)
{
	return left.val == right.val;
}

#endif
