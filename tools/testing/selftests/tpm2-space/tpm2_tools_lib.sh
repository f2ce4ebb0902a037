#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# What the tpm2-tools tests share: the kselftest KTAP helpers, the two
# TCTIs (RM_TCTI and TPM_TCTI override them, e.g. RM_TCTI=swtpm:port=2321
# TPM_TCTI=swtpm:port=2321 to try a script against a plain swtpm), a skip
# of the whole script, and the check that both devices exist.

. "$(dirname "${BASH_SOURCE[0]}")/../kselftest/ktap_helpers.sh"

RM_TCTI=${RM_TCTI:-device:/dev/tpmrm0}
TPM_TCTI=${TPM_TCTI:-device:/dev/tpm0}

skip() {
	ktap_print_header
	ktap_skip_all "$*"
	exit "$KSFT_SKIP"
}

# Skips the script unless every device TCTI names a character device.
require_tctis() {
	local tcti

	for tcti in "$RM_TCTI" "$TPM_TCTI"; do
		case "$tcti" in
		device:*) [ -c "${tcti#device:}" ] || skip "no ${tcti#device:}" ;;
		esac
	done
}
