/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _TPM2_FUZZ_JIFFIES_H
#define _TPM2_FUZZ_JIFFIES_H

/*
 * jiffies itself is declared in include/tpm.h and defined in fake-chip.c,
 * where fuzz-table.c moves it forward: tpm2_rm_now() in
 * tpm2-space-session.c, the clock sessions are stamped with, reads it.
 */

#endif
