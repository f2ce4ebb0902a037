/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _TPM2_FUZZ_UIDGID_H
#define _TPM2_FUZZ_UIDGID_H

#include <linux/types.h>

/* The kernel's kuid_t is a typedef of a struct; a #define does as well here */
struct tpm2_fuzz_kuid {
	u32 val;
};

#define kuid_t struct tpm2_fuzz_kuid

static inline bool uid_eq(kuid_t left, kuid_t right)
{
	return left.val == right.val;
}

#endif
