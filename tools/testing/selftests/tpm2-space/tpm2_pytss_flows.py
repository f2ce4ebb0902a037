#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Real-client flows through tpm2-pytss (ESAPI) and the resource manager.

tpm2-pytss drives the TPM through tpm2-tss's ESAPI, the way Python
clients (Keylime, attestation agents, tpm2-pytss's own test suite) do:
its ESYS_TR objects carry names, nonces and session keys across commands,
it salts and binds sessions, encrypts parameters and checks every
response HMAC. Any handle the resource manager translates wrongly, any
context it loses or any session state it does not carry from one command
to the next shows up as a failed command or a response that does not
verify. The flows here stand in for pytss's own suite: each opens its
ESAPI context(s) on /dev/tpmrm0, asserts real outcomes (a signature
verifies, the unsealed data is what was sealed, a policy digest is the
trial one and the one computed here, a wrong password fails with the TPM
error it must), flushes what it made and closes its contexts, so that the
flows are independent. Two of them only mean something through the
resource manager, and skip on any other TCTI: more loaded keys in one
file than the TPM has slots, and two files whose sessions stay apart.

After each flow the TPM itself (/dev/tpm0 when the flows run on
/dev/tpmrmN, else the same TCTI) must hold no transient object, no loaded
session and no more saved sessions than before the flow.

TPM2_PYTSS_FLOWS_TCTI sets the TCTI (default device:/dev/tpmrm0), e.g.
swtpm:port=2321 for a swtpm socket; TPM2_PYTSS_FLOWS_TPM_TCTI the one
the census after each flow uses. tpm2-tss's own log is off unless
TSS2_LOG is set: the failures the flows provoke would clutter the output.
Prints KTAP, one test per flow; exits 1 when a flow failed, 4 (skip)
when tpm2-pytss or the device is missing.
"""

import hashlib
import hmac
import os
import sys
import time
import traceback

KSFT_PASS = 0
KSFT_FAIL = 1
KSFT_SKIP = 4

TCTI = os.environ.get("TPM2_PYTSS_FLOWS_TCTI", "device:/dev/tpmrm0")
IS_RM = TCTI.startswith("device:/dev/tpmrm")
if "TPM2_PYTSS_FLOWS_TPM_TCTI" in os.environ:
    CENSUS_TCTI = os.environ["TPM2_PYTSS_FLOWS_TPM_TCTI"]
elif IS_RM:
    CENSUS_TCTI = "device:/dev/tpm" + TCTI[len("device:/dev/tpmrm"):]
else:
    CENSUS_TCTI = TCTI
os.environ.setdefault("TSS2_LOG", "all+none")


def skip_all(reason):
    print("TAP version 13")
    print("1..0 # SKIP " + reason)
    sys.exit(KSFT_SKIP)


try:
    from tpm2_pytss import ESAPI, TSS2_Exception
    from tpm2_pytss.constants import (ESYS_TR, TPM2_ALG, TPM2_CAP, TPM2_HC,
                                      TPM2_PT_PCR, TPM2_RC, TPM2_RH, TPM2_SE,
                                      TPM2_ST, TPMA_NV, TPMA_OBJECT,
                                      TPMA_SESSION)
    from tpm2_pytss.types import (TPM2B_NV_PUBLIC, TPM2B_PUBLIC,
                                  TPM2B_SENSITIVE_CREATE, TPML_DIGEST_VALUES,
                                  TPMS_CONTEXT, TPMS_NV_PUBLIC,
                                  TPMS_SENSITIVE_CREATE, TPMT_HA,
                                  TPMT_SIG_SCHEME, TPMT_SYM_DEF,
                                  TPMT_TK_HASHCHECK, TPMU_HA,
                                  TPMU_SYM_KEY_BITS, TPMU_SYM_MODE)
except ImportError as err:
    # A python3 ahead of Debian's in PATH (pyenv, a venv) does not see the
    # python3-tpm2-pytss package: try Debian's own interpreter once.
    DEBIAN_PYTHON = "/usr/bin/python3"
    if (os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PYTHON)
            and os.access(DEBIAN_PYTHON, os.X_OK)
            and "TPM2_PYTSS_FLOWS_REEXEC" not in os.environ):
        os.environ["TPM2_PYTSS_FLOWS_REEXEC"] = "1"
        os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON] + sys.argv)
    skip_all("tpm2-pytss is not available: %s" % err)


PCR = 16                        # the debug PCR, resettable at locality 0
PCR_TR = ESYS_TR.PCR16
CC_POLICY_PCR = 0x0000017F
CC_POLICY_AUTH_VALUE = 0x0000016B

# Attributes: storage primaries as tpm2-tools makes them; children without
# DA protection, so that a wrong password fails with TPM_RC_BAD_AUTH and
# does not count towards a lockout.
PRIMARY_ATTRS = TPMA_OBJECT.DEFAULT_TPM2_TOOLS_CREATEPRIMARY_ATTRS
SIGN_ATTRS = ("fixedtpm|fixedparent|sensitivedataorigin|userwithauth|"
              "noda|sign")
HMAC_KEY_ATTRS = "fixedtpm|fixedparent|userwithauth|noda|sign"
SEAL_ATTRS = "fixedtpm|fixedparent|userwithauth|noda"


class FlowFailed(Exception):
    pass


def log(msg):
    for line in str(msg).splitlines() or [""]:
        print("# " + line)
    sys.stdout.flush()


def check(cond, msg):
    if not cond:
        raise FlowFailed(msg)


def expect_rc(what, want, fn, *args, **kwargs):
    """fn(*args) must fail; with the TPM error want when that is given."""
    try:
        fn(*args, **kwargs)
    except TSS2_Exception as e:
        if want is not None and e.error != want:
            raise FlowFailed("%s: failed with %s (0x%x), expected %s"
                             % (what, e, e.rc, want))
        log("%s: refused as it must be: %s (0x%x)" % (what, e, e.rc))
        return e
    raise FlowFailed("%s: succeeded, but must fail" % what)


def sym_aes128_cfb():
    return TPMT_SYM_DEF(algorithm=TPM2_ALG.AES,
                        keyBits=TPMU_SYM_KEY_BITS(aes=128),
                        mode=TPMU_SYM_MODE(aes=TPM2_ALG.CFB))


def sym_null():
    return TPMT_SYM_DEF(algorithm=TPM2_ALG.NULL)


def sensitive(auth=b"", data=b""):
    return TPM2B_SENSITIVE_CREATE(TPMS_SENSITIVE_CREATE(userAuth=auth,
                                                        data=data))


def null_ticket():
    return TPMT_TK_HASHCHECK(tag=TPM2_ST.HASHCHECK, hierarchy=TPM2_RH.NULL)


def null_scheme():
    return TPMT_SIG_SCHEME(scheme=TPM2_ALG.NULL)


class Client:
    """One ESAPI context (one open file of the RM) and what it made.

    Whatever a flow leaves in track is flushed by close(), and so are
    the sessions it saved and did not load again, so that a failed flow
    does not leave objects or sessions to the next one.
    """

    def __init__(self, tcti=TCTI):
        self.esys = ESAPI(tcti)
        self.track = []
        self.saved = {}

    def save_session(self, session):
        """context_save of a session; ESAPI closes its ESYS_TR."""
        handle = self.handle(session)
        ctx = self.esys.context_save(session)
        self.forget(session)
        self.saved[handle] = ctx
        return ctx

    def load_session(self, ctx):
        session = self.keep(self.esys.context_load(ctx))
        self.saved.pop(int(ctx.savedHandle), None)
        return session

    def keep(self, handle):
        self.track.append(handle)
        return handle

    def forget(self, handle):
        if handle in self.track:
            self.track.remove(handle)

    def flush(self, handle):
        self.esys.flush_context(handle)
        self.forget(handle)

    def close(self):
        for handle in reversed(self.track):
            try:
                self.esys.flush_context(handle)
            except Exception as e:      # pylint: disable=broad-except
                log("cleanup: flush of 0x%x failed: %s" % (handle, e))
        self.track = []
        for handle in self.saved:
            try:
                self.esys.flush_context(self.esys.tr_from_tpmpublic(handle))
            except Exception as e:      # pylint: disable=broad-except
                log("cleanup: flush of saved 0x%x failed: %s" % (handle, e))
        self.saved = {}
        self.esys.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def handle(self, tr):
        return int(self.esys.tr_get_tpm_handle(tr))

    def primary(self, alg="ecc256", hierarchy=ESYS_TR.OWNER):
        tmpl = TPM2B_PUBLIC.parse(alg, objectAttributes=PRIMARY_ATTRS)
        out = self.esys.create_primary(None, tmpl, primary_handle=hierarchy)
        self.keep(out[0])
        return out

    def signing_key(self, parent, auth=b"", alg="ecc256:ecdsa-sha256",
                    session=ESYS_TR.PASSWORD):
        """A signing child of parent: (loaded handle, public, private)."""
        tmpl = TPM2B_PUBLIC.parse(alg, objectAttributes=SIGN_ATTRS)
        priv, pub = self.esys.create(parent, sensitive(auth), tmpl,
                                     session1=session)[:2]
        key = self.keep(self.esys.load(parent, priv, pub, session1=session))
        self.esys.tr_set_auth(key, auth)
        return key, pub, priv

    def sign(self, key, message, session=ESYS_TR.PASSWORD):
        digest = hashlib.sha256(message).digest()
        return self.esys.sign(key, digest, null_scheme(), null_ticket(),
                              session1=session)

    def verify(self, key, message, signature):
        digest = hashlib.sha256(message).digest()
        tk = self.esys.verify_signature(key, digest, signature)
        check(tk.tag == TPM2_ST.VERIFIED,
              "verify_signature gave a ticket of tag %s" % tk.tag)

    def session(self, kind=TPM2_SE.HMAC, salt=ESYS_TR.NONE, bind=ESYS_TR.NONE,
                sym=None, attrs=None):
        s = self.esys.start_auth_session(salt, bind, kind,
                                         sym if sym else sym_null(),
                                         TPM2_ALG.SHA256)
        self.keep(s)
        if attrs is not None:
            self.esys.trsess_set_attributes(s, attrs)
        return s

    def handles(self, first, count=64):
        """Every handle GetCapability(TPM_CAP_HANDLES) lists from first,
        paged as long as moreData is set. The session lists (loaded
        0x02000000, saved 0x03000000) hold HMAC and policy sessions
        alike, in the order of their low 24 bits: the next page starts
        past the last one's. swtpm (libtpms) lists a saved session as
        0x02000000 | its low 24 bits, a policy session too."""
        out = []
        prop = first
        while True:
            more, data = self.esys.get_capability(TPM2_CAP.HANDLES, prop,
                                                  count)
            got = [int(h) for h in data.data.handles]
            out += got
            if not more or not got:
                return out
            prop = (first & 0xFF000000) | ((got[-1] & 0xFFFFFF) + 1)


def hexs(handles):
    return "[" + ", ".join("0x%08x" % h for h in handles) + "]"


def session_handles(c):
    return c.handles(TPM2_HC.LOADED_SESSION_FIRST), \
        c.handles(TPM2_HC.ACTIVE_SESSION_FIRST)


def ecc_point(pub):
    ecc = pub.publicArea.unique.ecc
    return bytes(ecc.x) + bytes(ecc.y)


def extend_digest(old, new):
    return hashlib.sha256(old + new).digest()


def pcr_value(c):
    counter, _, digests = c.esys.pcr_read("sha256:%d" % PCR)
    check(digests.count == 1, "pcr_read gave %d digests" % digests.count)
    return counter, bytes(digests.digests[0])


def pcr_no_increment(c):
    """Whether the TPM lists PCR in TPM_PT_PCR_NO_INCREMENT: its extends
    and resets leave pcrUpdateCounter alone."""
    data = c.esys.get_capability(TPM2_CAP.PCR_PROPERTIES,
                                 TPM2_PT_PCR.NO_INCREMENT, 1)[1]
    for prop in data.data.pcrProperties.pcrProperty:
        if prop.tag == TPM2_PT_PCR.NO_INCREMENT:
            select = bytes(prop.pcrSelect)[:prop.sizeofSelect]
            return (len(select) > PCR // 8 and
                    bool(select[PCR // 8] & (1 << (PCR % 8))))
    return False


def pcr_extend(c, data):
    d = hashlib.sha256(data).digest()
    c.esys.pcr_extend(PCR_TR, TPML_DIGEST_VALUES([
        TPMT_HA(hashAlg=TPM2_ALG.SHA256, digest=TPMU_HA(sha256=d))]))
    return d


def policy_pcr_password_digest(pcr):
    """PolicyPCR(sha256:16, its value) then PolicyPassword, by hand."""
    # TPML_PCR_SELECTION: count 1, TPM_ALG_SHA256, 3 bytes of select
    select = bytearray(3)
    select[PCR // 8] |= 1 << (PCR % 8)
    pcrs = (1).to_bytes(4, "big") + TPM2_ALG.SHA256.to_bytes(2, "big") + \
        bytes([3]) + bytes(select)
    d = hashlib.sha256(bytes(32) + CC_POLICY_PCR.to_bytes(4, "big") + pcrs +
                       hashlib.sha256(pcr).digest()).digest()
    return hashlib.sha256(d + CC_POLICY_AUTH_VALUE.to_bytes(4, "big")).digest()


FLOWS = []


def flow(rm_only=False):
    def register(fn):
        FLOWS.append((fn.__name__[len("flow_"):], fn, rm_only))
        return fn
    return register


def primaries(alg, twice_null):
    with Client() as c:
        o1, pub_o1, _, _, tk_o1 = c.primary(alg, ESYS_TR.OWNER)
        o2, pub_o2 = c.primary(alg, ESYS_TR.OWNER)[:2]
        check(c.handle(o1) != c.handle(o2), "two primaries, one handle")
        check(bytes(c.esys.tr_get_name(o2)) == bytes(pub_o2.get_name()),
              "the TPM's name of the second primary is not its public's")
        c.flush(o2)
        n1, pub_n1, _, _, tk_n1 = c.primary(alg, ESYS_TR.NULL)
        t = pub_o1.publicArea
        if alg.startswith("ecc"):
            check(t.type == TPM2_ALG.ECC and
                  t.parameters.eccDetail.curveID == 0x0003,
                  "not an ECC NIST P-256 key: %s" % t.type)
            key = ecc_point
        else:
            check(t.type == TPM2_ALG.RSA and
                  t.parameters.rsaDetail.keyBits == 2048,
                  "not an RSA 2048 key: %s" % t.type)

            def key(pub):
                return bytes(pub.publicArea.unique.rsa)
            check(len(key(pub_o1)) == 256, "modulus of %d bytes"
                  % len(key(pub_o1)))
        check(PRIMARY_ATTRS == t.objectAttributes,
              "attributes %s" % t.objectAttributes)
        check(key(pub_o1) == key(pub_o2),
              "two primaries of one template under the owner differ")
        check(key(pub_o1) != key(pub_n1),
              "the owner's and the null hierarchy's primaries are the same")
        check(tk_o1.hierarchy == TPM2_RH.OWNER and
              tk_n1.hierarchy == TPM2_RH.NULL,
              "creation tickets of hierarchies %s, %s"
              % (tk_o1.hierarchy, tk_n1.hierarchy))
        for h, pub in ((o1, pub_o1), (n1, pub_n1)):
            check(bytes(c.esys.tr_get_name(h)) == bytes(pub.get_name()),
                  "the TPM's name of 0x%x is not the public's" % c.handle(h))
            pub_read = c.esys.read_public(h)[0]
            check(key(pub_read) == key(pub), "read_public gives another key")
        if twice_null:
            n2, pub_n2 = c.primary(alg, ESYS_TR.NULL)[:2]
            check(key(pub_n1) == key(pub_n2),
                  "two primaries of one template under null differ")
            c.flush(n2)
        # each is a working parent
        for parent in (o1, n1):
            key_h = c.signing_key(parent)[0]
            c.verify(key_h, b"parent", c.sign(key_h, b"parent"))
            c.flush(key_h)
        for h in (o1, n1):
            c.flush(h)


@flow()
def flow_primary_ecc_owner_null():
    primaries("ecc256", True)


@flow()
def flow_primary_rsa_owner_null():
    primaries("rsa2048", False)


@flow()
def flow_hmac_session_salted_bound():
    with Client() as c:
        ecc_p = c.primary("ecc256")[0]
        key, pub = c.signing_key(ecc_p, b"bind-pw")[:2]
        other = c.signing_key(ecc_p, b"other-pw")[0]

        # salted (ECDH with the ECC primary) and bound to key
        s = c.session(salt=ecc_p, bind=key, sym=sym_aes128_cfb())
        check(c.handle(s) >> 24 == 0x02,
              "an HMAC session of handle 0x%x" % c.handle(s))
        nonce = bytes(c.esys.trsess_get_nonce_tpm(s))
        check(len(nonce) >= 16, "nonceTPM of %d bytes" % len(nonce))
        for i in range(3):
            msg = b"bound %d" % i
            sig = c.sign(key, msg, session=s)
            c.verify(key, msg, sig)
            sig.verify_signature(pub, msg)
        check(bytes(c.esys.trsess_get_nonce_tpm(s)) != nonce,
              "nonceTPM did not roll")
        # the bound session for another entity: its password counts
        c.verify(other, b"x", c.sign(other, b"x", session=s))
        c.esys.tr_set_auth(other, b"wrong")
        expect_rc("sign, another entity, wrong password", TPM2_RC.BAD_AUTH,
                  c.sign, other, b"x", session=s)
        c.flush(s)
        c.flush(other)

        # salted (RSA-OAEP with an RSA primary), unbound
        rsa_p = c.primary("rsa2048")[0]
        s = c.session(salt=rsa_p, sym=sym_aes128_cfb())
        sig = c.sign(key, b"rsa-salted", session=s)
        c.verify(key, b"rsa-salted", sig)
        c.esys.tr_set_auth(key, b"bind-pw!")
        expect_rc("sign with a wrong password", TPM2_RC.BAD_AUTH,
                  c.sign, key, b"rsa-salted", session=s)
        # a failed authorization flushes no session
        c.esys.tr_set_auth(key, b"bind-pw")
        c.verify(key, b"again", c.sign(key, b"again", session=s))
        c.flush(s)
        for h in (key, rsa_p, ecc_p):
            c.flush(h)


@flow()
def flow_param_encryption_seal_unseal():
    secret = b"tpm2-space sealed " + os.urandom(16)
    cont = TPMA_SESSION.CONTINUESESSION
    with Client() as c:
        p = c.primary("ecc256")[0]
        s = c.session(salt=p, sym=sym_aes128_cfb(),
                      attrs=cont | TPMA_SESSION.DECRYPT | TPMA_SESSION.ENCRYPT)
        tmpl = TPM2B_PUBLIC.parse("keyedhash", objectAttributes=SEAL_ATTRS)
        priv, pub = c.esys.create(p, sensitive(b"seal-pw", secret), tmpl,
                                  session1=s)[:2]
        check(pub.publicArea.type == TPM2_ALG.KEYEDHASH,
              "sealed object of type %s" % pub.publicArea.type)
        sealed = c.keep(c.esys.load(p, priv, pub, session1=s))
        c.esys.tr_set_auth(sealed, b"seal-pw")
        # Unseal has no command parameter: the response only is encrypted
        c.esys.trsess_set_attributes(s, cont | TPMA_SESSION.ENCRYPT)
        got = bytes(c.esys.unseal(sealed, session1=s))
        check(got == secret, "unsealed %r, sealed %r" % (got, secret))
        got = bytes(c.esys.unseal(sealed))
        check(got == secret, "unsealed with a password %r" % got)
        c.esys.tr_set_auth(sealed, b"seal-pw?")
        expect_rc("unseal with a wrong password", TPM2_RC.BAD_AUTH,
                  c.esys.unseal, sealed, session1=s)
        c.esys.tr_set_auth(sealed, b"seal-pw")
        got = bytes(c.esys.unseal(sealed, session1=s))
        check(got == secret, "unsealed again %r" % got)
        for h in (s, sealed, p):
            c.flush(h)


@flow()
def flow_child_key_sign_verify():
    with Client() as c:
        p = c.primary("ecc256")[0]
        for alg in ("ecc256:ecdsa-sha256", "rsa2048:rsassa-sha256"):
            key, pub, priv = c.signing_key(p, b"child-pw", alg)
            msg = b"tpm2-space pytss " + alg.encode()
            sig = c.sign(key, msg)
            c.verify(key, msg, sig)
            sig.verify_signature(pub, msg)      # outside the TPM too
            expect_rc("verify of another message", TPM2_RC.SIGNATURE,
                      c.verify, key, msg + b"!", sig)
            c.esys.tr_set_auth(key, b"child-pw-wrong")
            expect_rc("sign with a wrong password", TPM2_RC.BAD_AUTH,
                      c.sign, key, msg)
            c.flush(key)
            # loaded again from its blobs: the same key
            key = c.keep(c.esys.load(p, priv, pub))
            c.esys.tr_set_auth(key, b"child-pw")
            c.verify(key, msg, sig)
            c.verify(key, b"2", c.sign(key, b"2"))
            c.flush(key)
        c.flush(p)


@flow()
def flow_hash_sequence():
    data = os.urandom(5000)
    with Client() as c:
        seq256 = c.keep(c.esys.hash_sequence_start(b"seq-pw", TPM2_ALG.SHA256))
        seq1 = c.keep(c.esys.hash_sequence_start(b"", TPM2_ALG.SHA1))
        # ESAPI keeps no sequence's auth by itself
        c.esys.tr_set_auth(seq256, b"seq-pw")
        # interleaved: two sequences of one file, each its own state
        for off in range(0, 4096, 1024):
            c.esys.sequence_update(seq256, data[off:off + 1024])
            c.esys.sequence_update(seq1, data[off:off + 1024])
        d256, tk = c.esys.sequence_complete(seq256, data[4096:],
                                            hierarchy=ESYS_TR.OWNER)
        c.forget(seq256)
        d1 = c.esys.sequence_complete(seq1, data[4096:],
                                      hierarchy=ESYS_TR.NULL)[0]
        c.forget(seq1)
        check(bytes(d256) == hashlib.sha256(data).digest(),
              "SHA-256 sequence gave %s" % bytes(d256).hex())
        check(bytes(d1) == hashlib.sha1(data).digest(),
              "SHA-1 sequence gave %s" % bytes(d1).hex())
        check(tk.tag == TPM2_ST.HASHCHECK and tk.hierarchy == TPM2_RH.OWNER,
              "hash ticket %s/%s" % (tk.tag, tk.hierarchy))
        d = c.esys.hash(data[:1024], TPM2_ALG.SHA256)[0]
        check(bytes(d) == hashlib.sha256(data[:1024]).digest(),
              "TPM2_Hash gave %s" % bytes(d).hex())
        # a finished sequence is gone
        check(c.handles(TPM2_HC.TRANSIENT_FIRST) == [],
              "transient handles left: %s"
              % hexs(c.handles(TPM2_HC.TRANSIENT_FIRST)))


@flow()
def flow_hmac_sequence():
    secret = os.urandom(32)
    data = os.urandom(3000)
    with Client() as c:
        p = c.primary("ecc256")[0]
        tmpl = TPM2B_PUBLIC.parse("hmac:sha256",
                                  objectAttributes=HMAC_KEY_ATTRS)
        priv, pub = c.esys.create(p, sensitive(b"hmac-pw", secret), tmpl)[:2]
        key = c.keep(c.esys.load(p, priv, pub))
        c.esys.tr_set_auth(key, b"hmac-pw")
        want = hmac.new(secret, data, hashlib.sha256).digest()
        seq = c.keep(c.esys.hmac_start(key, b"seq-pw", TPM2_ALG.SHA256))
        c.esys.tr_set_auth(seq, b"seq-pw")
        for off in range(0, 2048, 1024):
            c.esys.sequence_update(seq, data[off:off + 1024])
        got = bytes(c.esys.sequence_complete(seq, data[2048:])[0])
        c.forget(seq)
        check(got == want, "HMAC sequence gave %s, want %s"
              % (got.hex(), want.hex()))
        got = bytes(c.esys.hmac(key, data[:1000], TPM2_ALG.SHA256))
        check(got == hmac.new(secret, data[:1000], hashlib.sha256).digest(),
              "TPM2_HMAC gave %s" % got.hex())
        c.esys.tr_set_auth(key, b"hmac-pw-wrong")
        expect_rc("HMAC start with a wrong password", TPM2_RC.BAD_AUTH,
                  c.esys.hmac_start, key, b"", TPM2_ALG.SHA256)
        c.flush(key)
        c.flush(p)


@flow()
def flow_policy_pcr_password():
    secret = b"sealed to PCR 16 " + os.urandom(8)
    with Client() as c:
        c.esys.pcr_reset(PCR_TR)
        pcr = pcr_value(c)[1]
        want = policy_pcr_password_digest(pcr)

        trial = c.session(TPM2_SE.TRIAL)
        c.esys.policy_pcr(trial, b"", "sha256:%d" % PCR)
        c.esys.policy_password(trial)
        digest = bytes(c.esys.policy_get_digest(trial))
        c.flush(trial)
        check(digest == want, "trial digest %s, computed %s"
              % (digest.hex(), want.hex()))

        p = c.primary("ecc256")[0]
        tmpl = TPM2B_PUBLIC.parse("keyedhash", objectAttributes=
                                  "fixedtpm|fixedparent|noda",
                                  authPolicy=digest)
        priv, pub = c.esys.create(p, sensitive(b"pol-pw", secret), tmpl)[:2]
        sealed = c.keep(c.esys.load(p, priv, pub))

        def satisfy(password):
            s = c.session(TPM2_SE.POLICY, salt=p, sym=sym_aes128_cfb())
            c.esys.policy_pcr(s, b"", "sha256:%d" % PCR)
            c.esys.policy_password(s)
            c.esys.tr_set_auth(sealed, password)
            return s

        s = satisfy(b"pol-pw")
        got = bytes(c.esys.policy_get_digest(s))
        check(got == digest, "policy session digest %s, trial %s"
              % (got.hex(), digest.hex()))
        check(bytes(c.esys.unseal(sealed, session1=s)) == secret,
              "unsealed data differs")
        c.flush(s)
        # no user auth: a password alone is refused
        c.esys.tr_set_auth(sealed, b"pol-pw")
        expect_rc("unseal with a password, no policy",
                  TPM2_RC.AUTH_UNAVAILABLE, c.esys.unseal, sealed)
        s = satisfy(b"pol-pw-wrong")
        expect_rc("unseal, policy with a wrong password", TPM2_RC.BAD_AUTH,
                  c.esys.unseal, sealed, session1=s)
        c.flush(s)
        pcr_extend(c, b"tpm2-space: changes PCR 16")
        s = satisfy(b"pol-pw")
        got = bytes(c.esys.policy_get_digest(s))
        check(got != digest, "the policy digest ignores PCR 16")
        expect_rc("unseal after PCR 16 changed", TPM2_RC.POLICY_FAIL,
                  c.esys.unseal, sealed, session1=s)
        c.flush(s)
        c.esys.pcr_reset(PCR_TR)
        s = satisfy(b"pol-pw")
        check(bytes(c.esys.unseal(sealed, session1=s)) == secret,
              "unsealed data after pcr_reset differs")
        c.flush(s)
        c.flush(sealed)
        c.flush(p)


def free_nv_index(c):
    used = set(c.handles(TPM2_HC.NV_INDEX_FIRST))
    for index in range(0x01500100, 0x01500200):
        if index not in used:
            return index
    raise FlowFailed("no free NV index in 0x01500100..0x015001ff")


@flow()
def flow_nv_define_write_read_undefine():
    data = b"tpm2-space NV " + os.urandom(18)
    with Client() as c:
        index = free_nv_index(c)
        log("NV index 0x%08x" % index)
        attrs = TPMA_NV.OWNERWRITE | TPMA_NV.OWNERREAD | TPMA_NV.AUTHWRITE | \
            TPMA_NV.AUTHREAD | TPMA_NV.NO_DA
        info = TPM2B_NV_PUBLIC(nvPublic=TPMS_NV_PUBLIC(
            nvIndex=index, nameAlg=TPM2_ALG.SHA256, attributes=attrs,
            dataSize=len(data)))
        nv = c.esys.nv_define_space(b"nv-pw", info)
        try:
            check(index in c.handles(TPM2_HC.NV_INDEX_FIRST),
                  "the new index is not listed")
            pub = c.esys.nv_read_public(nv)[0]
            check(not pub.nvPublic.attributes & TPMA_NV.WRITTEN,
                  "written before the first write")
            c.esys.nv_write(nv, data[:16])                  # its own auth
            c.esys.nv_write(nv, data[16:], offset=16,
                            auth_handle=ESYS_TR.OWNER)      # the owner's
            pub, name = c.esys.nv_read_public(nv)
            check(pub.nvPublic.attributes & TPMA_NV.WRITTEN,
                  "not written after a write")
            check(pub.nvPublic.dataSize == len(data),
                  "size %d" % pub.nvPublic.dataSize)
            check(bytes(name) == bytes(pub.get_name()) ==
                  bytes(c.esys.tr_get_name(nv)), "names differ")
            got = bytes(c.esys.nv_read(nv, len(data),
                                       auth_handle=ESYS_TR.OWNER))
            check(got == data, "read %r, wrote %r" % (got, data))
            got = bytes(c.esys.nv_read(nv, 8, offset=10))
            check(got == data[10:18], "read at 10: %r" % got)
            c.esys.tr_set_auth(nv, b"nv-pw-wrong")
            expect_rc("NV read with a wrong password", TPM2_RC.BAD_AUTH,
                      c.esys.nv_read, nv, 8)
            # another file sees the index and its data
            with Client() as c2:
                nv2 = c2.esys.tr_from_tpmpublic(index)
                got = bytes(c2.esys.nv_read(nv2, len(data),
                                            auth_handle=ESYS_TR.OWNER))
                check(got == data, "another file read %r" % got)
        finally:
            c.esys.nv_undefine_space(nv)
        check(index not in c.handles(TPM2_HC.NV_INDEX_FIRST),
              "still listed after nv_undefine_space")
        expect_rc("tr_from_tpmpublic of the undefined index", TPM2_RC.HANDLE,
                  c.esys.tr_from_tpmpublic, index)


@flow()
def flow_pcr_read_extend_reset():
    with Client() as c:
        c.esys.pcr_reset(PCR_TR)
        counter0, value = pcr_value(c)
        check(value == bytes(32), "PCR 16 after reset: %s" % value.hex())
        want = value
        for i in range(3):
            want = extend_digest(want, pcr_extend(c, b"event %d" % i))
            counter, value = pcr_value(c)
            check(value == want, "PCR 16 is %s, want %s"
                  % (value.hex(), want.hex()))
        # PCR 16 is in TPM_PT_PCR_NO_INCREMENT in the PC Client profile
        # (swtpm: 16, 21-23): its extends leave pcrUpdateCounter as it
        # was, as long as no other client extends a PCR meanwhile. A PCR
        # not listed there counts each of the three extends.
        no_increment = pcr_no_increment(c)
        log("pcrUpdateCounter %d, was %d; PCR %d is%s in "
            "TPM_PT_PCR_NO_INCREMENT" % (counter, counter0, PCR,
                                         "" if no_increment else " not"))
        if no_increment:
            check(counter == counter0, "pcrUpdateCounter %d, was %d: PCR %d"
                  " is in TPM_PT_PCR_NO_INCREMENT" % (counter, counter0, PCR))
        else:
            check(counter >= counter0 + 3, "pcrUpdateCounter %d, was %d,"
                  " after 3 extends" % (counter, counter0))
        # pcr_event: the TPM hashes the event itself
        d = c.esys.pcr_event(PCR_TR, b"tpm2-space event")
        sha256 = [bytes(x) for x in d if x.hashAlg == TPM2_ALG.SHA256]
        check(sha256 == [hashlib.sha256(b"tpm2-space event").digest()],
              "pcr_event digests %s" % [x.hex() for x in sha256])
        want = extend_digest(want, sha256[0])
        check(pcr_value(c)[1] == want, "PCR 16 after pcr_event")
        with Client() as c2:        # another file reads the same PCR
            check(pcr_value(c2)[1] == want,
                  "another file reads another PCR 16")
        expect_rc("pcr_reset of PCR 0", TPM2_RC.LOCALITY,
                  c.esys.pcr_reset, ESYS_TR.PCR0)
        c.esys.pcr_reset(PCR_TR)
        check(pcr_value(c)[1] == bytes(32), "PCR 16 not reset")


@flow()
def flow_context_save_load_key():
    with Client() as c:
        p = c.primary("ecc256")[0]
        key, pub = c.signing_key(p, b"ctx-pw")[:2]
        name = bytes(c.esys.tr_get_name(key))
        sig = c.sign(key, b"before")
        ctx = c.esys.context_save(key)
        check(ctx.hierarchy == TPM2_RH.OWNER, "context of hierarchy %s"
              % ctx.hierarchy)
        # through bytes, as a client keeps it in a file
        blob = ctx.marshal()
        ctx2, used = TPMS_CONTEXT.unmarshal(blob)
        check(used == len(blob), "unmarshal used %d of %d" % (used, len(blob)))
        c.flush(key)
        c.flush(p)          # the parent need not be loaded for a context
        k1 = c.keep(c.esys.context_load(ctx2))
        k2 = c.keep(c.esys.context_load(ctx2))
        check(c.handle(k1) != c.handle(k2), "two loads, one handle 0x%x"
              % c.handle(k1))
        for k in (k1, k2):
            check(bytes(c.esys.tr_get_name(k)) == name, "a loaded key's name")
            c.esys.tr_set_auth(k, b"ctx-pw")
            c.verify(k, b"before", sig)
        # a signature of one copy verifies with the other
        c.verify(k2, b"k1", c.sign(k1, b"k1"))
        c.verify(k1, b"k2", c.sign(k2, b"k2"))
        # another file loads the same context
        with Client() as c2:
            k3 = c2.keep(c2.esys.context_load(TPMS_CONTEXT.unmarshal(blob)[0]))
            c2.esys.tr_set_auth(k3, b"ctx-pw")
            sig = c2.sign(k3, b"c2")
            sig.verify_signature(pub, b"c2")
            c2.flush(k3)
        c.verify(k1, b"c2", sig)
        c.flush(k1)
        c.flush(k2)


@flow()
def flow_context_save_load_session():
    with Client() as c:
        p = c.primary("ecc256")[0]
        key, pub = c.signing_key(p, b"sess-pw")[:2]
        s = c.session(salt=p, sym=sym_aes128_cfb())
        handle = c.handle(s)
        c.verify(key, b"1", c.sign(key, b"1", session=s))
        ctx = c.save_session(s)
        check(ctx.savedHandle == handle, "saved 0x%x as 0x%x"
              % (handle, ctx.savedHandle))
        loaded, saved = session_handles(c)
        check(handle in saved and handle not in loaded,
              "saved session 0x%x: loaded %s, saved %s"
              % (handle, hexs(loaded), hexs(saved)))
        s = c.load_session(ctx)
        check(c.handle(s) == handle, "loaded as 0x%x" % c.handle(s))
        # its session key and nonces survived: the HMACs still verify
        for i in range(2):
            msg = b"after load %d" % i
            sig = c.sign(key, msg, session=s)
            c.verify(key, msg, sig)
            sig.verify_signature(pub, msg)
        c.flush(s)

        # a policy session saved half way keeps its digest
        pol = c.session(TPM2_SE.POLICY)
        c.esys.policy_pcr(pol, b"", "sha256:%d" % PCR)
        mid = bytes(c.esys.policy_get_digest(pol))
        ctx = c.save_session(pol)
        pol = c.load_session(ctx)
        check(bytes(c.esys.policy_get_digest(pol)) == mid,
              "policy digest changed by save and load")
        c.esys.policy_password(pol)
        want = policy_pcr_password_digest(pcr_value(c)[1])
        got = bytes(c.esys.policy_get_digest(pol))
        check(got == want, "policy digest %s, want %s"
              % (got.hex(), want.hex()))
        c.flush(pol)
        c.flush(key)
        c.flush(p)


@flow(rm_only=True)
def flow_many_objects():
    n = 10
    with Client() as c:
        p = c.primary("ecc256")[0]
        keys = []
        for i in range(n):
            auth = b"key-%d" % i
            keys.append(c.signing_key(p, auth)[:2])
        held = c.handles(TPM2_HC.TRANSIENT_FIRST)
        want = sorted([c.handle(p)] + [c.handle(k) for k, _ in keys])
        check(sorted(held) == want, "listed %s, holds %s"
              % (hexs(held), hexs(want)))
        log("%d objects loaded in one file: %s" % (len(held), hexs(held)))
        sigs = []
        for i, (k, pub) in enumerate(keys):
            msg = b"key %d" % i
            sig = c.sign(k, msg)
            sig.verify_signature(pub, msg)
            sigs.append(sig)
        # each handle still names its own key, not another one's
        for i, (k, _) in enumerate(keys):
            c.verify(k, b"key %d" % i, sigs[i])
            other = keys[(i + 1) % n][0]
            expect_rc("key %d's signature with key %d" % (i, (i + 1) % n),
                      TPM2_RC.SIGNATURE, c.verify, other, b"key %d" % i,
                      sigs[i])
        for k, _ in keys:
            c.flush(k)
        c.flush(p)
        check(c.handles(TPM2_HC.TRANSIENT_FIRST) == [], "handles left")


@flow(rm_only=True)
def flow_two_contexts_isolated():
    # What one file can see of the other's is noted and the flow goes
    # on, so that a failure shows every leak, not only the first.
    leaks = []

    def isolated(cond, msg):
        if not cond:
            log("LEAK: " + msg)
            leaks.append(msg)

    def refused(what, fn, *args):
        try:
            expect_rc(what, None, fn, *args)
        except FlowFailed as e:
            isolated(False, str(e))

    with Client() as a, Client() as b:
        sa = a.session()
        sb = b.session()
        ha, hb = a.handle(sa), b.handle(sb)
        log("session of A 0x%08x, of B 0x%08x" % (ha, hb))
        check(ha != hb, "two files, one session handle")
        pa = a.primary("ecc256")[0]
        isolated(b.handles(TPM2_HC.TRANSIENT_FIRST) == [],
                 "B lists A's objects: %s"
                 % hexs(b.handles(TPM2_HC.TRANSIENT_FIRST)))
        for who, c, mine, theirs in (("A", a, ha, hb), ("B", b, hb, ha)):
            loaded, saved = session_handles(c)
            log("%s lists loaded %s, saved %s" % (who, hexs(loaded),
                                                  hexs(saved)))
            check(mine in loaded + saved, "%s does not list its session"
                  % who)
            isolated(theirs not in loaded + saved,
                     "%s lists the other file's session" % who)

        # B names A's session: refused, and A's session lives on
        tr = b.esys.tr_from_tpmpublic(ha)
        refused("B flushes A's session", b.esys.flush_context, tr)
        b.esys.tr_close(tr)
        key = a.signing_key(pa, b"a-pw", session=sa)[0]
        a.verify(key, b"A", a.sign(key, b"A", session=sa))

        # A's saved session context: only A may load it again
        ctx = a.save_session(sa)
        with Client() as c:
            refused("another file loads A's session context",
                    c.esys.context_load, ctx)
        sa = a.load_session(ctx)
        check(a.handle(sa) == ha, "A's session came back as 0x%x"
              % a.handle(sa))
        a.verify(key, b"A2", a.sign(key, b"A2", session=sa))
        # and B's session still authorizes B's commands
        tmpl = TPM2B_PUBLIC.parse("ecc256", objectAttributes=PRIMARY_ATTRS)
        pb = b.keep(b.esys.create_primary(None, tmpl, session1=sb)[0])
        for h in (sa, key, pa):
            a.flush(h)
        b.flush(pb)
        b.flush(sb)
    check(not leaks, "; ".join(leaks))


@flow()
def flow_getcap_handles():
    with Client() as c:
        check(c.handles(TPM2_HC.TRANSIENT_FIRST) == [],
              "a new file lists objects: %s"
              % hexs(c.handles(TPM2_HC.TRANSIENT_FIRST)))
        check(session_handles(c) == ([], []), "a new file lists sessions: %s"
              % str(session_handles(c)))
        p = c.primary("ecc256")[0]
        k1 = c.signing_key(p)[0]
        k2 = c.signing_key(p)[0]
        want = sorted(c.handle(h) for h in (p, k1, k2))
        got = sorted(c.handles(TPM2_HC.TRANSIENT_FIRST))
        check(got == want, "listed %s, holds %s" % (hexs(got), hexs(want)))
        # one at a time, as pytss's users page through it
        paged = c.handles(TPM2_HC.TRANSIENT_FIRST, count=1)
        check(sorted(paged) == want, "paged one by one: %s" % hexs(paged))
        hs = c.session()
        ps = c.session(TPM2_SE.POLICY)
        sessions = sorted([c.handle(hs), c.handle(ps)])
        check(c.handle(ps) >> 24 == 0x03, "a policy session 0x%x"
              % c.handle(ps))
        loaded, saved = session_handles(c)
        check(sorted(loaded) == sessions and saved == [],
              "sessions %s listed as loaded %s, saved %s"
              % (hexs(sessions), hexs(loaded), hexs(saved)))
        ctx = c.save_session(hs)
        loaded, saved = session_handles(c)
        check(loaded == [c.handle(ps)] and saved == [sessions[0]],
              "after context_save: loaded %s, saved %s"
              % (hexs(loaded), hexs(saved)))
        hs = c.load_session(ctx)
        for h in (hs, ps, k2):
            c.flush(h)
        got = c.handles(TPM2_HC.TRANSIENT_FIRST)
        check(sorted(got) == sorted([c.handle(p), c.handle(k1)]),
              "after flushes: %s" % hexs(got))
        check(session_handles(c) == ([], []), "sessions left: %s"
              % str(session_handles(c)))
        # commands and properties
        # TPM_PT_FAMILY_INDICATOR: "2.0"
        data = c.esys.get_capability(TPM2_CAP.TPM_PROPERTIES, 0x100, 1)[1]
        prop = data.data.tpmProperties.tpmProperty[0]
        check(prop.property == 0x100 and prop.value == 0x322e3000,
              "TPM_PT_FAMILY_INDICATOR %x = %x" % (prop.property, prop.value))
        c.flush(k1)
        c.flush(p)


@flow()
def flow_get_random():
    with Client() as c:
        seen = set()
        for n in (1, 16, 32):
            r = bytes(c.esys.get_random(n))
            check(len(r) == n, "asked %d bytes, got %d" % (n, len(r)))
            seen.add(r)
        r = bytes(c.esys.get_random(32))
        check(r not in seen and r != bytes(32), "random repeats")
        r = bytes(c.esys.get_random(64))
        check(1 <= len(r) <= 64, "asked 64 bytes, got %d" % len(r))
        # the response encrypted with a salted session
        p = c.primary("ecc256")[0]
        s = c.session(salt=p, sym=sym_aes128_cfb(),
                      attrs=(TPMA_SESSION.CONTINUESESSION |
                             TPMA_SESSION.ENCRYPT))
        r1 = bytes(c.esys.get_random(32, session1=s))
        r2 = bytes(c.esys.get_random(32, session1=s))
        check(len(r1) == len(r2) == 32 and r1 != r2,
              "encrypted get_random: %s, %s" % (r1.hex(), r2.hex()))
        c.esys.stir_random(os.urandom(32))
        c.flush(s)
        c.flush(p)


def census():
    """(transient, loaded sessions, saved sessions) in the TPM itself."""
    c = Client(CENSUS_TCTI)
    try:
        return (c.handles(TPM2_HC.TRANSIENT_FIRST),) + session_handles(c)
    finally:
        c.close()


def main():
    if TCTI.startswith("device:"):
        dev = TCTI[len("device:"):]
        if not os.path.exists(dev):
            skip_all("no %s" % dev)
    print("TAP version 13")
    print("1..%d" % len(FLOWS))
    log("TCTI %s, census through %s" % (TCTI, CENSUS_TCTI))
    counts = {"pass": 0, "fail": 0, "skip": 0}
    for num, (name, fn, rm_only) in enumerate(FLOWS, 1):
        log("=== %s" % name)
        if rm_only and not IS_RM:
            print("ok %d %s # SKIP only through /dev/tpmrmN" % (num, name))
            counts["skip"] += 1
            continue
        ok = True
        saved_before = []
        start = time.monotonic()
        try:
            saved_before = census()[2]
            fn()
        except FlowFailed as e:
            log("FAIL: %s" % e)
            ok = False
        except Exception:       # pylint: disable=broad-except
            log(traceback.format_exc())
            ok = False
        try:
            transient, loaded, saved = census()
            log("%.1f s; TPM: transient %s, loaded sessions %s, "
                "saved sessions %s" % (time.monotonic() - start,
                                       hexs(transient), hexs(loaded),
                                       hexs(saved)))
            if transient or loaded or len(saved) > len(saved_before):
                log("FAIL: the flow left something in the TPM")
                ok = False
        except Exception:       # pylint: disable=broad-except
            log(traceback.format_exc())
            ok = False
        print("%s %d %s" % ("ok" if ok else "not ok", num, name))
        sys.stdout.flush()
        counts["pass" if ok else "fail"] += 1
    print("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0"
          % (counts["pass"], counts["fail"], counts["skip"]))
    return KSFT_FAIL if counts["fail"] else KSFT_PASS


if __name__ == "__main__":
    sys.exit(main())
