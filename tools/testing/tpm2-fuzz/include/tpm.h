/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * User-space stand-in for drivers/char/tpm/tpm.h and the parts of
 * include/linux/tpm.h that the resource manager's parser and tables use.
 *
 * It takes the include guard of drivers/char/tpm/tpm.h, so that the real
 * header, which the resource manager's files find next to them in a
 * kernel tree, is skipped once this one is in (the Makefile force-includes
 * it). check-shim.py compares every value below with the kernel headers.
 */

#ifndef __TPM_H__
#define __TPM_H__

#include <errno.h>
#include <string.h>
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/bits.h>
#include <linux/list.h>
#include <linux/uidgid.h>
#include <linux/wait.h>

/* fake-chip.c, over its kmalloc(), which fails where a fuzzer says */
void *kmemdup(const void *src, size_t len, gfp_t gfp);

#ifndef U16_MAX
#define U16_MAX			((u16)~0U)
#endif

#define TPM_HEADER_SIZE		10

enum tpm2_structures {
	TPM2_ST_NO_SESSIONS	= 0x8001,
	TPM2_ST_SESSIONS	= 0x8002,
};

#define TSS2_RC_LAYER_SHIFT	16
#define TSS2_RESMGR_TPM_RC_LAYER (11 << TSS2_RC_LAYER_SHIFT)

enum tpm2_return_codes {
	TPM2_RC_SUCCESS		= 0x0000,
	TPM2_RC_HANDLE		= 0x008B,
	TPM2_RC_COMMAND_CODE	= 0x0143,
	TPM2_RC_BAD_TAG		= 0x001E,
	TPM2_RC_COMMAND_SIZE	= 0x0142,
	TPM2_RC_AUTHSIZE	= 0x0144,
};

enum tpm2_command_codes {
	TPM2_CC_FIRST		= 0x011F,
	TPM2_CC_CONTEXT_LOAD	= 0x0161,
	TPM2_CC_CONTEXT_SAVE	= 0x0162,
	TPM2_CC_FLUSH_CONTEXT	= 0x0165,
	TPM2_CC_START_AUTH_SESS	= 0x0176,
};

enum tpm2_mso_type {
	TPM2_MSO_SESSION	= 0x02,
	TPM2_MSO_POLICY		= 0x03,
	TPM2_MSO_VOLATILE	= 0x80,
};

static inline enum tpm2_mso_type tpm2_handle_mso(u32 handle)
{
	return handle >> 24;
}

enum tpm2_cc_attrs {
	TPM2_CC_ATTR_CHANDLES	= 25,
	TPM2_CC_ATTR_RHANDLE	= 28,
	TPM2_CC_ATTR_VENDOR	= 29,
};

struct tpm_header {
	__be16 tag;
	__be32 length;
	union {
		__be32 ordinal;
		__be32 return_code;
	};
} __packed;

/* Only what the parser reads: the TPM's command attribute table. */
struct tpm_chip {
	u32 nr_commands;
	u32 *cc_attrs_tbl;
};

struct dentry;

extern unsigned long jiffies;

/* tpm2-cmd.c; the fuzzers' fake chip provides it */
int tpm2_find_cc(struct tpm_chip *chip, u32 cc);

#endif /* __TPM_H__ */
