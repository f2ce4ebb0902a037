/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small behavioural model of a TPM 2.0 for KUnit tests of the resource
 * manager. See tpm2-fake.c for what is modelled and what is not.
 */

#ifndef __TPM2_FAKE_H__
#define __TPM2_FAKE_H__

#include <linux/types.h>

struct kunit;
struct tpm_chip;
struct tpm_space;
struct tpm2_fake;

/* Capacities, chosen to match the defaults of swtpm/libtpms. */
#define TPM2_FAKE_MAX_OBJECTS		3
#define TPM2_FAKE_MAX_LOADED_SESSIONS	3
#define TPM2_FAKE_MAX_ACTIVE_SESSIONS	64

/* Handle ranges. */
#define TPM2_FAKE_HT_MASK		0xFF000000
#define TPM2_FAKE_HT_HMAC_SESSION	0x02000000
#define TPM2_FAKE_HT_POLICY_SESSION	0x03000000
#define TPM2_FAKE_HT_PERMANENT		0x40000000
#define TPM2_FAKE_HT_TRANSIENT		0x80000000
#define TPM2_FAKE_RH_OWNER		0x40000001
#define TPM2_FAKE_RH_NULL		0x40000007

/* Response codes produced by the model (TPM 2.0 Part 2, TPM_RC). */
#define TPM2_FAKE_RC_SUCCESS		0x0000
#define TPM2_FAKE_RC_BAD_TAG		0x001E
#define TPM2_FAKE_RC_AUTH_MISSING	0x0125
#define TPM2_FAKE_RC_COMMAND_SIZE	0x0142
#define TPM2_FAKE_RC_COMMAND_CODE	0x0143
#define TPM2_FAKE_RC_AUTHSIZE		0x0144
#define TPM2_FAKE_RC_AUTH_CONTEXT	0x0145
#define TPM2_FAKE_RC_HANDLE_H1		0x018B	/* TPM_RC_HANDLE, handle 1 */
#define TPM2_FAKE_RC_VALUE_P1		0x01C4	/* TPM_RC_VALUE, parameter 1 */
#define TPM2_FAKE_RC_HANDLE_P1		0x01CB	/* TPM_RC_HANDLE, parameter 1 */
#define TPM2_FAKE_RC_SIZE_P1		0x01D5	/* TPM_RC_SIZE, parameter 1 */
#define TPM2_FAKE_RC_INTEGRITY_P1	0x01DF	/* TPM_RC_INTEGRITY, param. 1 */
#define TPM2_FAKE_RC_VALUE_P3		0x03C4	/* TPM_RC_VALUE, parameter 3 */
#define TPM2_FAKE_RC_CONTEXT_GAP	0x0901
#define TPM2_FAKE_RC_OBJECT_MEMORY	0x0902
#define TPM2_FAKE_RC_SESSION_MEMORY	0x0903
#define TPM2_FAKE_RC_MEMORY		0x0904
#define TPM2_FAKE_RC_SESSION_HANDLES	0x0905
#define TPM2_FAKE_RC_OBJECT_HANDLES	0x0906
#define TPM2_FAKE_RC_REFERENCE_H0	0x0910
#define TPM2_FAKE_RC_REFERENCE_S0	0x0918

/* Wildcard command code for tpm2_fake_inject() and the counters. */
#define TPM2_FAKE_ANY_CC		0

/* Number of commands kept in the command log. */
#define TPM2_FAKE_LOG_SIZE		64

enum tpm2_fake_session_state {
	TPM2_FAKE_SESSION_NONE,
	TPM2_FAKE_SESSION_LOADED,
	TPM2_FAKE_SESSION_SAVED,
};

/**
 * struct tpm2_fake_cmd - one entry of the command log
 * @cc:		command code as received
 * @arg:	first three 32-bit words after the header, as received (the
 *		handle area, or the first parameters); zero past the end
 * @rc:		response code sent back
 * @out_handle:	handle returned in the response, or 0
 * @injected:	@rc came from an injection, the model was not run
 */
struct tpm2_fake_cmd {
	u32 cc;
	u32 arg[3];
	u32 rc;
	u32 out_handle;
	bool injected;
};

struct tpm2_fake *tpm2_fake_create(struct kunit *test);
struct tpm_chip *tpm2_fake_chip(struct tpm2_fake *fake);
void tpm2_fake_set_handle_reuse(struct tpm2_fake *fake, bool reuse);
void tpm2_fake_set_context_gap(struct tpm2_fake *fake, u32 gap_max);
void tpm2_fake_reset_tpm(struct tpm2_fake *fake);

ssize_t tpm2_fake_dev_transmit(struct tpm_chip *chip, struct tpm_space *space,
			       u8 *buf, size_t bufsiz);

int tpm2_fake_inject(struct tpm2_fake *fake, u32 cc, unsigned int nth,
		     u32 rc);
int tpm2_fake_inject_next(struct tpm2_fake *fake, u32 rc);
int tpm2_fake_inject_send_error(struct tpm2_fake *fake, u32 cc,
				unsigned int nth, int err);
unsigned int tpm2_fake_injections_pending(struct tpm2_fake *fake);
void tpm2_fake_clear_injections(struct tpm2_fake *fake);

unsigned int tpm2_fake_cmd_count(struct tpm2_fake *fake, u32 cc);
const struct tpm2_fake_cmd *tpm2_fake_last_cmd(struct tpm2_fake *fake, u32 cc);
const struct tpm2_fake_cmd *tpm2_fake_log_entry(struct tpm2_fake *fake,
						unsigned int age);
void tpm2_fake_reset_counters(struct tpm2_fake *fake);

unsigned int tpm2_fake_loaded_objects(struct tpm2_fake *fake);
unsigned int tpm2_fake_loaded_sessions(struct tpm2_fake *fake);
unsigned int tpm2_fake_saved_sessions(struct tpm2_fake *fake);
unsigned int tpm2_fake_active_sessions(struct tpm2_fake *fake);
u64 tpm2_fake_context_sequence(struct tpm2_fake *fake);
u32 tpm2_fake_object_id(struct tpm2_fake *fake, u32 handle);
enum tpm2_fake_session_state tpm2_fake_session_state(struct tpm2_fake *fake,
						     u32 handle);

#endif /* __TPM2_FAKE_H__ */
