#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A tpm2-tools scenario through the resource manager, one process per step:
# a primary key, a signing key under it, a signature and its verification,
# then a policy session that lives in a context file across processes.
# Afterwards /dev/tpm0 must show no transient object, no loaded session and
# no more saved sessions than before.
#
# RM_TCTI and TPM_TCTI override the two TCTIs (see tpm2_tools_lib.sh).
# Prints KTAP with the kselftest ktap_helpers.sh: the scenario is one test.

set -o pipefail

. "$(dirname "$0")/tpm2_tools_lib.sh"

# Debian's tpm2-tools 5.x is one multi-call binary; older ones are tpm2_*.
if command -v tpm2 >/dev/null; then
	tool() { tpm2 "$@"; }
elif command -v tpm2_createprimary >/dev/null; then
	tool() { local cmd=$1; shift; "tpm2_$cmd" "$@"; }
else
	skip "tpm2-tools are not installed"
fi

require_tctis

# One step of the scenario, in its own process, through the RM
rm_step() {
	echo "# tpm2 $*"
	TPM2TOOLS_TCTI=$RM_TCTI tool "$@"
}

# The same, without the step's own output on stdout
rm_step_quiet() {
	echo "# tpm2 $*"
	TPM2TOOLS_TCTI=$RM_TCTI tool "$@" >/dev/null
}

# Number of handles in a getcap list (handles-transient, ...) via /dev/tpm0
count_handles() {
	local out

	out=$(TPM2TOOLS_TCTI=$TPM_TCTI tool getcap "$1")
	grep -c '0x' <<<"$out" || true
}

# The scenario: any step that fails ends it (set -e, in a subshell)
scenario() {
	set -e
	cd "$dir"
	echo "# working in $dir"

	saved_before=$(count_handles handles-saved-session)

	rm_step_quiet createprimary -C o -G ecc256 -c primary.ctx
	rm_step_quiet create -C primary.ctx -G ecc256 \
		-a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' \
		-u key.pub -r key.priv
	rm_step_quiet load -C primary.ctx -u key.pub -r key.priv -c key.ctx
	echo "tpm2-space scenario message" >msg.dat
	rm_step sign -c key.ctx -g sha256 -o sig.bin msg.dat
	rm_step verifysignature -c key.ctx -g sha256 -m msg.dat -s sig.bin
	echo "tpm2-space scenario other message" >other.dat
	echo "# a signature over another message must not verify"
	if TPM2TOOLS_TCTI=$RM_TCTI tool verifysignature -c key.ctx -g sha256 \
			-m other.dat -s sig.bin 2>/dev/null; then
		echo "# a wrong signature verified"
		exit 1
	fi

	rm_step startauthsession -S s.ctx --policy-session
	rm_step_quiet policypcr -S s.ctx -l sha256:0 -L pcr.policy
	[ -s pcr.policy ] || { echo "# no policy digest written"; exit 1; }
	rm_step flushcontext s.ctx

	echo "# checking what is left in the TPM through $TPM_TCTI"
	transient=$(count_handles handles-transient)
	loaded=$(count_handles handles-loaded-session)
	saved=$(count_handles handles-saved-session)
	echo "# transient objects: $transient, loaded sessions: $loaded," \
		"saved sessions: $saved (before: $saved_before)"
	if [ "$transient" -ne 0 ] || [ "$loaded" -ne 0 ] ||
	   [ "$saved" -ne "$saved_before" ]; then
		echo "# objects or sessions were left in the TPM"
		exit 1
	fi
}

dir=$(mktemp -d /tmp/tpm2-space-scenario.XXXXXX)
trap 'rm -rf "$dir"' EXIT
ktap_print_header
ktap_set_plan 1
# not 'if (scenario)': set -e does not work in a condition
(scenario)
ktap_test_result "tpm2-tools scenario" [ $? -eq 0 ]
ktap_finished
