/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _TPM2_FUZZ_WAIT_H
#define _TPM2_FUZZ_WAIT_H

/* The parser and the tables never sleep: the type is all they need. */
typedef struct {
	int unused;
} wait_queue_head_t;

#endif
