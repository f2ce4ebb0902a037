/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _TPM2_FUZZ_FAULT_INJECT_H
#define _TPM2_FUZZ_FAULT_INJECT_H

/*
 * Built without CONFIG_FAULT_INJECTION, the tables use none of it: the
 * fuzzers fail allocations through their own kzalloc() and kmemdup().
 */

#endif
