// SPDX-License-Identifier: GPL-2.0-only
/*
 * Command parsing for the TPM 2.0 resource manager.
 *
 * Nothing here touches the TPM or a space: a command written to
 * /dev/tpmrmN is checked against its own length fields before the resource
 * manager acts on any handle in it, so a malformed command is answered
 * without reaching the chip.
 */

#include "tpm2-space.h"

/*
 * The last command code of TPM 2.0 Part 2 r1.83. A code up to here that the
 * TPM does not list is answered like the TPM would; anything else is not a
 * TPM 2.0 command at all and gets the resource manager's own answer.
 */
#define TPM2_RM_CC_LAST		0x019F
#define TPM2_AUTH_MIN_SIZE	9	/* handle, two empty TPM2Bs, attrs */

/**
 * tpm2_rm_is_session() - is this the handle of an HMAC or policy session?
 * @handle: a TPM handle
 *
 * Return: true for an HMAC or a policy session's handle.
 */
bool tpm2_rm_is_session(u32 handle)
{
	enum tpm2_mso_type type = tpm2_handle_mso(handle);

	return type == TPM2_MSO_SESSION || type == TPM2_MSO_POLICY;
}

/**
 * tpm2_rm_is_transient() - is this the handle of a transient object?
 * @handle: a TPM handle, physical or virtual
 *
 * Return: true for a transient object's handle.
 */
bool tpm2_rm_is_transient(u32 handle)
{
	return tpm2_handle_mso(handle) == TPM2_MSO_VOLATILE;
}

/**
 * tpm2_rm_handle_rc() - the resource manager's TPM_RC_HANDLE for a handle
 * @index: 0-based position of the handle in the command's handle area
 *
 * Return: TPM_RC_HANDLE in the resource manager's layer, naming the handle
 * as the TPM does (format one, handle number @index + 1).
 */
u32 tpm2_rm_handle_rc(unsigned int index)
{
	return TPM2_RM_LAYER | TPM2_RC_HANDLE |
	       ((index + 1) << TPM2_RC_FMT1_N_SHIFT);
}

/**
 * tpm2_rm_session_rc() - the resource manager's TPM_RC_HANDLE for a session
 * @index: 0-based position of the session in the authorization area
 *
 * Return: TPM_RC_HANDLE in the resource manager's layer, naming the session
 * as the TPM does (format one, session number @index + 1).
 */
u32 tpm2_rm_session_rc(unsigned int index)
{
	return TPM2_RM_LAYER | TPM2_RC_HANDLE | TPM2_RC_FMT1_S |
	       ((index + 1) << TPM2_RC_FMT1_N_SHIFT);
}

/**
 * tpm2_rm_answer() - write a bare response header
 * @buf: command buffer, at least TPM_HEADER_SIZE bytes
 * @rc: response code
 *
 * Return: the length of the response.
 */
size_t tpm2_rm_answer(u8 *buf, u32 rc)
{
	struct tpm_header *head = (struct tpm_header *)buf;

	head->tag = cpu_to_be16(TPM2_ST_NO_SESSIONS);
	head->length = cpu_to_be32(TPM_HEADER_SIZE);
	head->return_code = cpu_to_be32(rc);
	return TPM_HEADER_SIZE;
}

/**
 * tpm2_rm_context_len() - length of a marshalled TPMS_CONTEXT
 * @blob: start of the context
 * @avail: bytes available at @blob
 *
 * Return: the length, or -EINVAL if it does not fit into @avail.
 */
int tpm2_rm_context_len(const u8 *blob, size_t avail)
{
	const struct tpm2_context_head *head = (const void *)blob;
	size_t len;

	if (avail < sizeof(*head))
		return -EINVAL;
	len = sizeof(*head) + be16_to_cpu(head->blob_size);
	if (len > avail || len > U16_MAX)
		return -EINVAL;
	return len;
}

/* Returns the TPMA_CC of @cc, or a response code when it is not served. */
static int parse_cc(struct tpm_chip *chip, struct tpm2_rm_cmd *cmd)
{
	int i = tpm2_find_cc(chip, cmd->cc);

	if (i < 0) {
		if (cmd->cc >= TPM2_CC_FIRST && cmd->cc <= TPM2_RM_CC_LAST)
			return TPM2_RC_COMMAND_CODE;
		return TPM2_RM_LAYER | TPM2_RC_COMMAND_CODE;
	}
	cmd->attrs = chip->cc_attrs_tbl[i];
	cmd->nr_handles = (cmd->attrs >> TPM2_CC_ATTR_CHANDLES) & GENMASK(2, 0);
	if (cmd->nr_handles > TPM2_RM_MAX_HANDLES)
		return TPM2_RM_LAYER | TPM2_RC_COMMAND_CODE;
	return 0;
}

/* Reads the authorization area, which ends where its size says. */
static int parse_auths(struct tpm2_rm_reader *r, struct tpm2_rm_cmd *cmd)
{
	const u32 bad = TPM2_RM_LAYER | TPM2_RC_AUTHSIZE;
	struct tpm2_rm_reader area;
	u32 size;
	u16 n;

	size = tpm2_rm_read_u32(r);
	if (size < TPM2_AUTH_MIN_SIZE || !tpm2_rm_read_sub(r, size, &area))
		return bad;
	cmd->param_off = cmd->len - r->left;

	while (area.left) {
		if (cmd->nr_auths == TPM2_RM_MAX_AUTHS)
			return bad;
		cmd->auth[cmd->nr_auths] = tpm2_rm_read_u32(&area);
		tpm2_rm_read_tpm2b(&area, &n);		/* nonceCaller */
		cmd->auth_attrs[cmd->nr_auths] = tpm2_rm_read_u8(&area);
		tpm2_rm_read_tpm2b(&area, &n);		/* hmac */
		if (area.overrun)
			return bad;
		cmd->nr_auths++;
	}
	return 0;
}

/**
 * tpm2_rm_parse() - check a command and record its handles and sessions
 * @chip: the chip, for its command attributes
 * @buf: the command
 * @bufsiz: size of @buf
 * @cmd: filled in
 *
 * Return: 0 for a command to serve, or the response code to answer with.
 */
int tpm2_rm_parse(struct tpm_chip *chip, const u8 *buf, size_t bufsiz,
		  struct tpm2_rm_cmd *cmd)
{
	const struct tpm_header *head = (const struct tpm_header *)buf;
	struct tpm2_rm_reader r;
	unsigned int i;
	int rc;

	memset(cmd, 0, sizeof(*cmd));
	if (bufsiz < TPM_HEADER_SIZE)
		return TPM2_RM_LAYER | TPM2_RC_COMMAND_SIZE;
	cmd->tag = be16_to_cpu(head->tag);
	cmd->len = be32_to_cpu(head->length);
	cmd->cc = be32_to_cpu(head->ordinal);
	if (cmd->len < TPM_HEADER_SIZE || cmd->len > bufsiz)
		return TPM2_RM_LAYER | TPM2_RC_COMMAND_SIZE;
	if (cmd->tag != TPM2_ST_NO_SESSIONS && cmd->tag != TPM2_ST_SESSIONS)
		return TPM2_RM_LAYER | TPM2_RC_BAD_TAG;

	rc = parse_cc(chip, cmd);
	if (rc)
		return rc;

	tpm2_rm_reader_init(&r, buf + TPM_HEADER_SIZE,
			    cmd->len - TPM_HEADER_SIZE);
	for (i = 0; i < cmd->nr_handles; i++)
		cmd->handle[i] = tpm2_rm_read_u32(&r);
	if (r.overrun)
		return TPM2_RM_LAYER | TPM2_RC_COMMAND_SIZE;

	cmd->param_off = cmd->len - r.left;
	if (cmd->tag == TPM2_ST_SESSIONS)
		return parse_auths(&r, cmd);
	return 0;
}
