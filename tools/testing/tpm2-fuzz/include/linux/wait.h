/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _TPM2_FUZZ_WAIT_H
#define _TPM2_FUZZ_WAIT_H

/* The parser and the tables never sleep: the type is all they need. */
struct wait_queue_head {
	int unused;
};

#define wait_queue_head_t struct wait_queue_head

#endif
