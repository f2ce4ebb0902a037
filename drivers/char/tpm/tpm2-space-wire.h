/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Wire formats the TPM 2.0 resource manager reads and writes, and one
 * bounds-checked reader for the bytes a client or the TPM sends.
 *
 * tpm_buf has a reader too (tpm_buf_read_u32() and friends), but it
 * WARN()s when a read runs past the end: right for the TPM's responses to
 * the kernel's own commands, wrong for commands any file owner writes.
 * This reader fails quietly instead, and stays failed, so that a parser
 * reads a whole structure and checks once.
 */

#ifndef __TPM2_SPACE_WIRE_H__
#define __TPM2_SPACE_WIRE_H__

#include <linux/types.h>
#include <linux/unaligned.h>
#include "tpm.h"

/*
 * TPMS_CONTEXT (TPM 2.0 Part 2), as ContextSave returns it and ContextLoad
 * takes it: this head, then @blob_size bytes of the TPM's own.
 */
struct tpm2_context_head {
	__be64 sequence;
	__be32 saved_handle;
	__be32 hierarchy;
	__be16 blob_size;
} __packed;

/* The parameters of GetCapability. */
struct tpm2_get_cap_in {
	__be32 capability;
	__be32 property;
	__be32 count;
} __packed;

/*
 * The handle area after a header: the handles a command names, or the
 * one a response gives (commands with TPM2_CC_ATTR_RHANDLE).
 */
struct tpm2_handle_area {
	struct tpm_header head;
	__be32 handle[];
} __packed;

/* Handle @i of the handle area of @buf, which holds at least that much. */
static inline u32 tpm2_handle_at(const u8 *buf, unsigned int i)
{
	const struct tpm2_handle_area *area = (const void *)buf;

	return be32_to_cpu(area->handle[i]);
}

static inline void tpm2_set_handle_at(u8 *buf, unsigned int i, u32 handle)
{
	struct tpm2_handle_area *area = (void *)buf;

	area->handle[i] = cpu_to_be32(handle);
}

/* A GetCapability response of TPM_CAP_HANDLES: TPMS_CAPABILITY_DATA. */
struct tpm2_cap_handles_rsp {
	struct tpm_header head;
	u8 more_data;
	__be32 capability;
	__be32 count;
	__be32 handle[];
} __packed;

/* The handle a saved context loads as; @blob holds at least the head. */
static inline u32 tpm2_context_saved_handle(const u8 *blob)
{
	const struct tpm2_context_head *head = (const void *)blob;

	return be32_to_cpu(head->saved_handle);
}

static inline u64 tpm2_context_sequence(const u8 *blob)
{
	const struct tpm2_context_head *head = (const void *)blob;

	return be64_to_cpu(head->sequence);
}

/**
 * struct tpm2_rm_reader - a cursor over bytes from outside
 * @p:		the next byte
 * @left:	bytes from @p on that may be read
 * @overrun:	a read wanted more than @left; every later read fails too
 */
struct tpm2_rm_reader {
	const u8 *p;
	size_t left;
	bool overrun;
};

static inline void tpm2_rm_reader_init(struct tpm2_rm_reader *r,
				       const void *buf, size_t len)
{
	r->p = buf;
	r->left = len;
	r->overrun = false;
}

/* Returns the next @n bytes, or NULL once the reader has run short. */
static inline const u8 *tpm2_rm_read_bytes(struct tpm2_rm_reader *r, size_t n)
{
	const u8 *p = r->p;

	if (r->overrun || r->left < n) {
		r->overrun = true;
		r->left = 0;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

static inline u8 tpm2_rm_read_u8(struct tpm2_rm_reader *r)
{
	const u8 *p = tpm2_rm_read_bytes(r, 1);

	return p ? *p : 0;
}

static inline u16 tpm2_rm_read_u16(struct tpm2_rm_reader *r)
{
	const u8 *p = tpm2_rm_read_bytes(r, 2);

	return p ? get_unaligned_be16(p) : 0;
}

static inline u32 tpm2_rm_read_u32(struct tpm2_rm_reader *r)
{
	const u8 *p = tpm2_rm_read_bytes(r, 4);

	return p ? get_unaligned_be32(p) : 0;
}

static inline u64 tpm2_rm_read_u64(struct tpm2_rm_reader *r)
{
	const u8 *p = tpm2_rm_read_bytes(r, 8);

	return p ? get_unaligned_be64(p) : 0;
}

/* Returns the payload of a TPM2B and its @size, or NULL if it is short. */
static inline const u8 *tpm2_rm_read_tpm2b(struct tpm2_rm_reader *r,
					   u16 *size)
{
	*size = tpm2_rm_read_u16(r);
	return tpm2_rm_read_bytes(r, *size);
}

/*
 * Takes the next @n bytes as a reader of their own, for a structure whose
 * size field says where it ends. Returns false if @r holds fewer.
 */
static inline bool tpm2_rm_read_sub(struct tpm2_rm_reader *r, size_t n,
				    struct tpm2_rm_reader *sub)
{
	const u8 *p = tpm2_rm_read_bytes(r, n);

	tpm2_rm_reader_init(sub, p, p ? n : 0);
	sub->overrun = !p;
	return !sub->overrun;
}

#endif /* __TPM2_SPACE_WIRE_H__ */
