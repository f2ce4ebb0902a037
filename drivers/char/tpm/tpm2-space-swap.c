// SPDX-License-Identifier: GPL-2.0-only
/*
 * Moving contexts in and out of the TPM: ContextLoad, ContextSave and
 * FlushContext, for the resource manager and for the in-kernel users of
 * tpm2_load_context() and tpm2_save_context().
 */

#include <linux/slab.h>
#include <linux/unaligned.h>
#include "tpm2-space.h"

#define TPM2_RC_VALUE_CODE	0x084
#define TPM2_RC_HIERARCHY_CODE	0x085
#define TPM2_RC_SIZE_CODE	0x095

/*
 * One context command the resource manager sent: counted in space_stats
 * and for the command in flight, and traced, so the two always agree.
 */
static void sent(struct tpm_chip *chip, atomic_long_t *counter,
		 enum tpm_space_ctx_op op, u32 handle,
		 enum tpm_space_ctx_reason why, int rc)
{
	struct tpm2_rm_chip *rm = chip->rm;

	atomic_long_inc(counter);
	tpm2_rm_cmd_in_flight(rm)->rm_cmds++;
	trace_tpm_space_context(rm->cause, op, handle, why, rc);
}

/**
 * tpm2_rm_rc_is_lost() - does a load or save error mean the context is gone?
 * @rc: result of tpm2_rm_load() or tpm2_rm_save_over()
 *
 * A context the TPM rejects as damaged, stale or of a disabled hierarchy
 * will never load again. Errors about TPM resources or the transport may go
 * away, so they must not cost the client its context.
 *
 * Return: true when the context can never be loaded again; false for
 * success, -errno and the TPM errors that may go away.
 */
bool tpm2_rm_rc_is_lost(int rc)
{
	if (rc <= 0)
		return false;
	if (rc == TPM2_RC_REFERENCE_H0)
		return true;
	switch (tpm2_rc_value(rc)) {
	case TPM2_RC_HANDLE:
	case TPM2_RC_INTEGRITY:
	case TPM2_RC_VALUE_CODE:
	case TPM2_RC_HIERARCHY_CODE:
	case TPM2_RC_SIZE_CODE:
		return true;
	}
	return false;
}

/* Returns the TPM response code, or -errno. */
static int context_load(struct tpm_chip *chip, const u8 *blob, u16 len,
			u32 *handle)
{
	struct tpm_buf tbuf;
	int rc;

	rc = tpm_buf_init(&tbuf, TPM2_ST_NO_SESSIONS, TPM2_CC_CONTEXT_LOAD);
	if (rc)
		return rc;
	tpm_buf_append(&tbuf, blob, len);
	if (tbuf.flags & TPM_BUF_OVERFLOW) {
		tpm_buf_destroy(&tbuf);
		return -E2BIG;
	}
	rc = tpm_transmit_cmd(chip, &tbuf, 4, NULL);
	if (!rc)
		*handle = get_unaligned_be32(&tbuf.data[TPM_HEADER_SIZE]);
	tpm_buf_destroy(&tbuf);
	return rc;
}

/*
 * Returns the TPM response code or -errno. On success @tbuf must be
 * destroyed by the caller, and *@blob points into it, *@len bytes long.
 */
static int context_save(struct tpm_chip *chip, u32 handle,
			struct tpm_buf *tbuf, const u8 **blob, u16 *len)
{
	int rc;

	rc = tpm_buf_init(tbuf, TPM2_ST_NO_SESSIONS, TPM2_CC_CONTEXT_SAVE);
	if (rc)
		return rc;
	tpm_buf_append_u32(tbuf, handle);
	rc = tpm_transmit_cmd(chip, tbuf, sizeof(struct tpm2_context_head),
			      NULL);
	if (!rc) {
		*blob = &tbuf->data[TPM_HEADER_SIZE];
		rc = tpm2_rm_context_len(*blob, tpm_buf_length(tbuf) -
					 TPM_HEADER_SIZE);
		if (rc > 0) {
			*len = rc;
			return 0;
		}
		rc = -EFAULT;
	}
	tpm_buf_destroy(tbuf);
	return rc;
}

/**
 * tpm2_rm_load() - load a context for the resource manager
 * @chip: the chip, with its ops held
 * @blob: TPMS_CONTEXT
 * @len: length of @blob
 * @handle: the handle the TPM gave it
 * @why: what the resource manager loads it for, for the trace event
 *
 * Return: 0, the TPM response code, or -errno.
 */
int tpm2_rm_load(struct tpm_chip *chip, const u8 *blob, u16 len, u32 *handle,
		 enum tpm_space_ctx_reason why)
{
	int rc;

	lockdep_assert_held(&chip->tpm_mutex);
	rc = context_load(chip, blob, len, handle);
	sent(chip, &chip->rm->stats.context_load, TPM_SPACE_CTX_LOAD,
	     rc ? 0 : *handle, why, rc);
	return rc;
}

/**
 * tpm2_rm_save_over() - save a context into the buffer of the last one
 * @chip: the chip, with its ops held
 * @handle: the loaded object or session
 * @blob: in: the buffer of the context last saved or loaded, or NULL;
 *	  out: the new context
 * @len: in: the size of that buffer; out: the length of the new context
 * @why: what the resource manager saves it for, for the trace event
 *
 * A context keeps its size from one save to the next, so the new one is
 * written over the last and a full memory cgroup or a failing allocation
 * cannot lose what the TPM just saved. A first save, with no buffer yet,
 * allocates one of the largest context size before it asks the TPM, and
 * shrinks it afterwards when it can.
 *
 * Return: 0, the TPM response code, or -errno. On -ENOMEM before the
 * TPM was asked, @handle is still loaded and *@blob is untouched; a
 * context that grew and found no memory is gone (-ENOMEM, not loaded).
 */
int tpm2_rm_save_over(struct tpm_chip *chip, u32 handle, u8 **blob,
		      u16 *len, enum tpm_space_ctx_reason why)
{
	u8 *spare = NULL, *grown;
	struct tpm_buf tbuf;
	const u8 *ctx;
	u16 cap = *len;
	u16 n;
	int rc;

	lockdep_assert_held(&chip->tpm_mutex);
	if (!*blob) {
		spare = tpm2_rm_alloc(TPM2_MAX_CONTEXT_SIZE);
		if (!spare)
			return -ENOMEM;
		cap = TPM2_MAX_CONTEXT_SIZE;
	}
	rc = context_save(chip, handle, &tbuf, &ctx, &n);
	sent(chip, &chip->rm->stats.context_save, TPM_SPACE_CTX_SAVE, handle,
	     why, rc);
	if (rc) {
		kfree(spare);
		return rc;
	}
	if (n > cap) {
		grown = tpm2_rm_memdup(ctx, n);
		tpm_buf_destroy(&tbuf);
		kfree(spare);
		if (!grown)
			return -ENOMEM;
		kfree(*blob);
		*blob = grown;
		*len = n;
		return 0;
	}
	if (spare) {
		/* the large buffer does the job if the small one fails */
		*blob = tpm2_rm_memdup(ctx, n);
		if (*blob)
			kfree(spare);
		else
			*blob = spare;
	}
	memcpy(*blob, ctx, n);
	*len = n;
	tpm_buf_destroy(&tbuf);
	return 0;
}

/**
 * tpm2_rm_flush() - flush a context for the resource manager
 * @chip: the chip, with its ops held
 * @handle: the loaded object or session, or the saved session
 * @why: what the resource manager flushes it for, for the trace event
 */
void tpm2_rm_flush(struct tpm_chip *chip, u32 handle,
		   enum tpm_space_ctx_reason why)
{
	lockdep_assert_held(&chip->tpm_mutex);
	tpm2_flush_context(chip, handle);
	sent(chip, &chip->rm->stats.flush_context, TPM_SPACE_CTX_FLUSH, handle,
	     why, 0);
}

/**
 * tpm2_load_context() - load a context for an in-kernel user
 * @chip: the chip, with its ops held
 * @buf: buffer holding TPMS_CONTEXT at *@offset
 * @offset: moved past the context
 * @handle: the handle the TPM gave it
 *
 * Return: 0, -EINVAL when the TPM finds the context damaged, -ENOENT when
 * it is stale, -EFAULT on other TPM errors, or -errno.
 */
int tpm2_load_context(struct tpm_chip *chip, u8 *buf,
		      unsigned int *offset, u32 *handle)
{
	int len, rc;

	len = tpm2_rm_context_len(buf + *offset, TPM2_MAX_CONTEXT_SIZE);
	if (len < 0)
		return len;
	rc = context_load(chip, buf + *offset, len, handle);
	if (rc < 0)
		return rc;
	if (tpm2_rc_value(rc) == TPM2_RC_INTEGRITY)
		return -EINVAL;
	if (tpm2_rc_value(rc) == TPM2_RC_HANDLE || rc == TPM2_RC_REFERENCE_H0)
		return -ENOENT;
	if (rc) {
		dev_warn_ratelimited(&chip->dev, "%s: TPM error 0x%04x\n",
				     __func__, rc);
		return -EFAULT;
	}
	*offset += len;
	return 0;
}

/**
 * tpm2_save_context() - save a context for an in-kernel user
 * @chip: the chip, with its ops held
 * @handle: the loaded object or session
 * @buf: buffer receiving TPMS_CONTEXT at *@offset
 * @buf_size: size of @buf
 * @offset: moved past the context
 *
 * Return: 0, -ENOENT when @handle is not loaded, -ENOMEM when the context
 * does not fit, -EFAULT on other TPM errors, or -errno.
 */
int tpm2_save_context(struct tpm_chip *chip, u32 handle, u8 *buf,
		      unsigned int buf_size, unsigned int *offset)
{
	struct tpm_buf tbuf;
	const u8 *ctx;
	u16 len;
	int rc;

	rc = context_save(chip, handle, &tbuf, &ctx, &len);
	if (rc == TPM2_RC_REFERENCE_H0)
		return -ENOENT;
	if (rc < 0)
		return rc;
	if (rc) {
		dev_warn_ratelimited(&chip->dev, "%s: TPM error 0x%04x\n",
				     __func__, rc);
		return -EFAULT;
	}
	if (*offset + len > buf_size) {
		tpm_buf_destroy(&tbuf);
		return -ENOMEM;
	}
	memcpy(buf + *offset, ctx, len);
	*offset += len;
	tpm_buf_destroy(&tbuf);
	return 0;
}
