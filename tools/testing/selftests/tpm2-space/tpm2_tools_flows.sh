#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tpm2-tools flows through the resource manager, one tpm2 process per step
# as real clients run them: hash and HMAC sequences, policy sessions kept
# in context files across processes, sealing under a PCR policy, NV with an
# HMAC session, persistent keys, quote, certify, RSA and AES encryption,
# and what GetCapability shows. Each flow counts as one test; after each,
# /dev/tpm0 must show no transient object, no loaded session and no more
# saved sessions than before the flow.
#
# RM_TCTI and TPM_TCTI override the two TCTIs (see tpm2_tools_lib.sh).
# Prints KTAP with the kselftest ktap_helpers.sh, one result per flow;
# exits non-zero when a flow failed.

set -u
set -o pipefail

. "$(dirname "$0")/tpm2_tools_lib.sh"

NV_INDEX=0x1500016
PERSISTENT=0x81000116
# The debug PCR: resettable from locality 0
PCR=16

command -v tpm2 >/dev/null || skip "tpm2-tools (the tpm2 binary) are not installed"
command -v openssl >/dev/null || skip "openssl is not installed"
require_tctis

# One step, in its own process, through the RM. Its stdout stays stdout,
# its stderr goes to stderr marked as a comment.
t() {
	echo "# tpm2 $*" >&2
	{ TPM2TOOLS_TCTI=$RM_TCTI tpm2 "$@" 2>&1 1>&3 3>&- |
		sed 's/^/#   /' >&2; } 3>&1
}

# A step that must fail
t_fails() {
	echo "# tpm2 $* (must fail)"
	if TPM2TOOLS_TCTI=$RM_TCTI tpm2 "$@" >/dev/null 2>&1; then
		echo "# ... but it worked"
		return 1
	fi
}

# The same step, with its stdout for the caller
t_out() {
	TPM2TOOLS_TCTI=$RM_TCTI tpm2 "$@"
}

# The number of handles in a getcap list on stdin (grep -c fails on none)
handles() {
	grep -c '0x' || true
}

count_handles() {	# handles-transient, ... through /dev/tpm0
	TPM2TOOLS_TCTI=$TPM_TCTI tpm2 getcap "$1" | handles
}

# The zero-slot rule, and no session left behind by the flow
census_ok() {
	local transient loaded saved

	transient=$(count_handles handles-transient)
	loaded=$(count_handles handles-loaded-session)
	saved=$(count_handles handles-saved-session)
	echo "# TPM: $transient transient, $loaded loaded sessions," \
		"$saved saved sessions (before: $saved_before)"
	[ "$transient" -eq 0 ] && [ "$loaded" -eq 0 ] &&
		[ "$saved" -eq "$saved_before" ]
}

primary() {	# an ECC storage primary key of the owner in primary.ctx
	t createprimary -C o -G ecc256 -c primary.ctx >/dev/null
}

flow_hash_sequence() {
	# more than one TPM2B_MAX_BUFFER: tpm2 hash runs a sequence
	head -c 5000 /dev/urandom >data.bin
	t hash -C o -g sha256 -o digest.bin -t ticket.bin data.bin &&
	[ "$(od -An -tx1 digest.bin | tr -d " \n")" = \
	  "$(sha256sum data.bin | cut -d' ' -f1)" ]
}

flow_hmac_sequence() {
	local a b c

	primary &&
	t create -C primary.ctx -G hmac -c hmac.ctx >/dev/null &&
	head -c 3000 /dev/urandom >data.bin &&
	head -c 3000 /dev/urandom >other.bin &&
	a=$(t_out hmac -c hmac.ctx --hex data.bin) &&
	b=$(t_out hmac -c hmac.ctx --hex data.bin) &&
	c=$(t_out hmac -c hmac.ctx --hex other.bin) &&
	echo "# hmac: $a, again: $b, other data: $c" &&
	[ ${#a} -eq 64 ] && [ "$a" = "$b" ] && [ "$a" != "$c" ]
}

flow_policy_session_across_processes() {
	t startauthsession -S trial.ctx &&
	t policypcr -S trial.ctx -l sha256:0 -L trial.policy >/dev/null &&
	t policycommandcode -S trial.ctx -L trial.policy TPM2_CC_Unseal \
		>/dev/null &&
	t flushcontext trial.ctx &&
	t startauthsession -S s.ctx --policy-session &&
	t policypcr -S s.ctx -l sha256:0 -L s1.policy >/dev/null &&
	t policycommandcode -S s.ctx -L s.policy TPM2_CC_Unseal >/dev/null &&
	t flushcontext s.ctx &&
	# the real session reached the trial session's digest
	cmp trial.policy s.policy && ! cmp -s s1.policy s.policy
}

flow_policy_secret_across_processes() {
	t startauthsession -S trial.ctx &&
	t policysecret -S trial.ctx -c o -L trial.policy >/dev/null &&
	t flushcontext trial.ctx &&
	t startauthsession -S s.ctx --policy-session &&
	t policysecret -S s.ctx -c o -L s.policy >/dev/null &&
	t flushcontext s.ctx &&
	cmp trial.policy s.policy
}

flow_salted_encrypt_session() {
	local a b

	# a salted HMAC session encrypting the response parameter
	primary &&
	t startauthsession --hmac-session -c primary.ctx -S enc.ctx &&
	t sessionconfig --enable-encrypt enc.ctx &&
	t getrandom -S enc.ctx -o a.bin 16 &&
	t getrandom -S enc.ctx -o b.bin 16 &&
	t flushcontext enc.ctx &&
	a=$(od -An -tx1 a.bin | tr -d ' \n') &&
	b=$(od -An -tx1 b.bin | tr -d ' \n') &&
	echo "# random: $a, $b" &&
	[ ${#a} -eq 32 ] && [ "$a" != "$b" ]
}

flow_seal_unseal_pcr_policy() {
	local out

	primary &&
	t pcrreset $PCR &&
	t createpolicy --policy-pcr -l sha256:$PCR -L pcr.policy >/dev/null &&
	echo "tpm2-space sealed secret" >secret.dat &&
	t create -C primary.ctx -L pcr.policy -i secret.dat \
		-u seal.pub -r seal.priv >/dev/null &&
	t load -C primary.ctx -u seal.pub -r seal.priv -c seal.ctx \
		>/dev/null &&
	out=$(t_out unseal -c seal.ctx -p pcr:sha256:$PCR) &&
	[ "$out" = "$(cat secret.dat)" ] &&
	# with a policy session of its own, across processes
	t startauthsession -S s.ctx --policy-session &&
	t policypcr -S s.ctx -l sha256:$PCR >/dev/null &&
	out=$(t_out unseal -c seal.ctx -p session:s.ctx) &&
	t flushcontext s.ctx &&
	[ "$out" = "$(cat secret.dat)" ] &&
	# another PCR value: no unseal
	t pcrextend "$PCR:sha256=$(printf '%064d' 1)" &&
	t_fails unseal -c seal.ctx -p pcr:sha256:$PCR &&
	t pcrreset $PCR &&
	out=$(t_out unseal -c seal.ctx -p pcr:sha256:$PCR) &&
	[ "$out" = "$(cat secret.dat)" ]
}

flow_nv_hmac_session() {
	local rc

	head -c 32 /dev/urandom >nv.dat
	t nvdefine -C o -s 32 -a 'ownerread|ownerwrite|authread|authwrite' \
		$NV_INDEX &&
	t startauthsession -S hs.ctx --hmac-session &&
	t nvwrite -C o -P session:hs.ctx -i nv.dat $NV_INDEX &&
	t nvread -C o -P session:hs.ctx -s 32 -o back.dat $NV_INDEX &&
	t flushcontext hs.ctx &&
	cmp nv.dat back.dat &&
	t nvread -C o -s 16 --offset 16 -o half.dat $NV_INDEX &&
	tail -c 16 nv.dat >tail.dat && cmp tail.dat half.dat
	rc=$?
	t nvundefine -C o $NV_INDEX || rc=1
	return $rc
}

flow_persistent_key() {
	local rc

	primary &&
	t evictcontrol -C o -c primary.ctx $PERSISTENT >/dev/null &&
	TPM2TOOLS_TCTI=$RM_TCTI tpm2 getcap handles-persistent |
		grep -i "$PERSISTENT" >/dev/null &&
	t readpublic -c $PERSISTENT -o pers.pub >/dev/null &&
	t create -C $PERSISTENT -G ecc256 -u key.pub -r key.priv >/dev/null &&
	t load -C $PERSISTENT -u key.pub -r key.priv -c key.ctx >/dev/null &&
	echo "message" >msg.dat &&
	t sign -c key.ctx -g sha256 -o sig.bin msg.dat &&
	t verifysignature -c key.ctx -g sha256 -m msg.dat -s sig.bin
	rc=$?
	t evictcontrol -C o -c $PERSISTENT >/dev/null || rc=1
	return $rc
}

# A restricted signing key (an attestation key) in ak.ctx, its PEM in ak.pem
attestation_key() {
	primary &&
	t create -C primary.ctx -G ecc256:ecdsa-sha256:null \
		-a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign' \
		-u ak.pub -r ak.priv >/dev/null &&
	t load -C primary.ctx -u ak.pub -r ak.priv -c ak.ctx >/dev/null &&
	t readpublic -c ak.ctx -f pem -o ak.pem >/dev/null
}

flow_quote() {
	attestation_key &&
	t quote -c ak.ctx -l sha256:0,1,$PCR -q 0badc0de -m quote.msg \
		-s quote.sig -o quote.pcrs -g sha256 >/dev/null &&
	t checkquote -u ak.pem -m quote.msg -s quote.sig -f quote.pcrs \
		-g sha256 -q 0badc0de >/dev/null &&
	t_fails checkquote -u ak.pem -m quote.msg -s quote.sig -f quote.pcrs \
		-g sha256 -q 0badc0df
}

flow_certify() {
	attestation_key &&
	t create -C primary.ctx -G ecc256 -u key.pub -r key.priv >/dev/null &&
	t load -C primary.ctx -u key.pub -r key.priv -c key.ctx >/dev/null &&
	t certify -c key.ctx -C ak.ctx -g sha256 -o attest.bin -f plain \
		-s attest.sig >/dev/null &&
	# the AK's signature over the attestation, checked outside the TPM
	openssl dgst -sha256 -verify ak.pem -signature attest.sig \
		attest.bin 2>&1 | sed 's/^/#   /' &&
	openssl dgst -sha256 -verify ak.pem -signature attest.sig \
		attest.bin >/dev/null 2>&1
}

flow_rsa_encrypt_decrypt() {
	primary &&
	t create -C primary.ctx -G rsa2048 \
		-a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|decrypt' \
		-c rsa.ctx >/dev/null &&
	echo "tpm2-space RSA plaintext" >plain.dat &&
	t rsaencrypt -c rsa.ctx -o cipher.bin plain.dat &&
	t rsadecrypt -c rsa.ctx -o back.dat cipher.bin &&
	cmp plain.dat back.dat && ! cmp -s plain.dat cipher.bin
}

flow_aes_encrypt_decrypt() {
	primary &&
	t create -C primary.ctx -G aes128cfb -c aes.ctx >/dev/null &&
	head -c 100 /dev/urandom >plain.dat &&
	t encryptdecrypt -c aes.ctx -o cipher.bin plain.dat &&
	t encryptdecrypt -d -c aes.ctx -o back.dat cipher.bin &&
	cmp plain.dat back.dat && ! cmp -s plain.dat cipher.bin
}

flow_getcap() {
	local n

	# a new process holds nothing: its space lists no transient object
	n=$(t_out getcap handles-transient | handles) &&
	echo "# transient handles listed: $n" && [ "$n" -eq 0 ] &&
	n=$(t_out getcap handles-loaded-session | handles) &&
	echo "# loaded sessions listed: $n" && [ "$n" -eq 0 ] &&
	t_out getcap commands | grep TPM2_CC_GetRandom >/dev/null &&
	t_out getcap properties-fixed | grep TPM2_PT_FAMILY_INDICATOR >/dev/null &&
	t_out getcap pcrs | grep sha256 >/dev/null
}

flow_contexts_in_files() {
	# a key's context file, used by processes after the one that made it
	primary &&
	t create -C primary.ctx -G ecc256 -c key.ctx >/dev/null &&
	echo "message" >msg.dat &&
	t sign -c key.ctx -g sha256 -o sig.bin msg.dat &&
	t sign -c key.ctx -g sha256 -o sig2.bin msg.dat &&
	t verifysignature -c key.ctx -g sha256 -m msg.dat -s sig.bin &&
	t verifysignature -c key.ctx -g sha256 -m msg.dat -s sig2.bin &&
	t getrandom -o rand.bin 32 && [ "$(stat -c %s rand.bin)" -eq 32 ]
}

flow_process_substitution() {
	local rnd n

	# what real client scripts do: tpm2 reading and writing through
	# /dev/fd/N of a <(...) or >(...), and /dev/stdout as a file name
	head -c 4000 /dev/urandom >data.bin &&
	t hash -C o -g sha256 -o digest.bin <(cat data.bin) &&
	[ "$(od -An -tx1 digest.bin | tr -d " \n")" = \
	  "$(sha256sum data.bin | cut -d' ' -f1)" ] &&
	t getrandom -o >(od -An -tx1 | tr -d " \n" >rnd.hex) 16 &&
	wait $! && rnd=$(cat rnd.hex) &&
	echo "# random through >(...): $rnd" && [ ${#rnd} -eq 32 ] &&
	n=$(t_out getrandom -o /dev/stdout 8 | wc -c) &&
	echo "# bytes through /dev/stdout: $n" && [ "$n" -eq 8 ] &&
	diff <(sha256sum <data.bin) <(cat data.bin | sha256sum)
}

flows=(
	hash_sequence
	hmac_sequence
	policy_session_across_processes
	policy_secret_across_processes
	salted_encrypt_session
	seal_unseal_pcr_policy
	nv_hmac_session
	persistent_key
	quote
	certify
	rsa_encrypt_decrypt
	aes_encrypt_decrypt
	getcap
	contexts_in_files
	process_substitution
)

top=$(mktemp -d /tmp/tpm2-space-flows.XXXXXX)
trap 'rm -rf "$top"' EXIT
ktap_print_header
ktap_set_plan "${#flows[@]}"
for f in "${flows[@]}"; do
	mkdir "$top/$f"
	saved_before=$(count_handles handles-saved-session)
	ktap_print_msg "=== $f"
	if (cd "$top/$f" && "flow_$f") && census_ok; then
		ktap_test_pass "$f"
	else
		ktap_test_fail "$f"
	fi
done
ktap_finished
