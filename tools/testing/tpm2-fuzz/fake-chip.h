/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _TPM2_FUZZ_FAKE_CHIP_H
#define _TPM2_FUZZ_FAKE_CHIP_H

#include "tpm.h"

/* Vendor commands the fake chip adds to swtpm's list (V set in TPMA_CC). */
#define FAKE_CC_VENDOR		(BIT(TPM2_CC_ATTR_VENDOR) | 0x0001)
#define FAKE_CC_VENDOR_BAD	(BIT(TPM2_CC_ATTR_VENDOR) | 0x0002)

extern struct tpm_chip fake_chip;

void fake_chip_init(void);
int fake_chip_find(u32 cc);

/* Makes the allocation after @n more successful ones fail; -1: none. */
void fake_fail_alloc_after(int n);
long fake_live_allocs(void);

#endif
