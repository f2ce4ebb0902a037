#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# Capture the seed corpus of the parser fuzzer from real traffic: tpm2-tools
# run against a fresh swtpm on 127.0.0.1 through the swtpm TCTI, with a
# recording proxy on the command channel. Every distinct command becomes one
# file in corpus/, and swtpm's TPM_CAP_COMMANDS answer becomes
# swtpm-cc-attrs.h, the fake chip's command attribute table.
#
#   ./capture.py [--out DIR]
#
# Needs swtpm and tpm2-tools (Debian: swtpm, tpm2-tools,
# libtss2-tcti-swtpm0).

import argparse
import hashlib
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TPM2_CAP_COMMANDS = 2
TPM2_CC_GET_CAPABILITY = 0x17A

# One tpm2-tools flow per line, run with bash in a scratch folder. Failures
# are reported and tolerated: a failing command is still real traffic.
# Transient objects are flushed after each line, so a context file is
# loaded again by the next line, as clients of /dev/tpmrm0 do.
FLOWS = r"""
tpm2_startup -c || true
tpm2_selftest -f
tpm2_gettestresult
tpm2_getcap commands > /dev/null
tpm2_getcap properties-fixed > /dev/null
tpm2_getcap properties-variable > /dev/null
tpm2_getcap handles-transient
tpm2_getcap handles-persistent
tpm2_getcap handles-loaded-session
tpm2_getcap handles-saved-session
tpm2_getcap pcrs
tpm2_getcap algorithms > /dev/null
tpm2_getcap ecc-curves
tpm2_getrandom --hex 16
tpm2_getrandom --hex 48
head -c 32 /dev/urandom | tpm2_stirrandom
tpm2_readclock
tpm2_pcrread sha256:0,1,2,3
tpm2_pcrread sha1:all
tpm2_pcrextend 16:sha256=0000000000000000000000000000000000000000000000000000000000000001
tpm2_pcrevent 16 <<< "an event"
tpm2_pcrreset 16
echo hello > msg; tpm2_hash -g sha256 -o digest -t ticket msg
tpm2_createprimary -C o -g sha256 -G ecc -c prim.ctx
tpm2_createprimary -C o -g sha256 -G rsa -c rprim.ctx
tpm2_createprimary -C e -c eprim.ctx && tpm2_flushcontext eprim.ctx
tpm2_readpublic -c prim.ctx -o prim.pub
tpm2_create -C prim.ctx -G rsa2048 -u rsa.pub -r rsa.priv
tpm2_create -C prim.ctx -G ecc -u ecc.pub -r ecc.priv
tpm2_create -C prim.ctx -G hmac -u hmac.pub -r hmac.priv
tpm2_create -C prim.ctx -G aes128cfb -u aes.pub -r aes.priv
echo secret | tpm2_create -C prim.ctx -u seal.pub -r seal.priv -i- -p sealpass
tpm2_load -C prim.ctx -u rsa.pub -r rsa.priv -c rsa.ctx
tpm2_load -C prim.ctx -u ecc.pub -r ecc.priv -c ecc.ctx
tpm2_load -C prim.ctx -u hmac.pub -r hmac.priv -c hmac.ctx
tpm2_load -C prim.ctx -u aes.pub -r aes.priv -c aes.ctx
tpm2_load -C prim.ctx -u seal.pub -r seal.priv -c seal.ctx
tpm2_unseal -c seal.ctx -p sealpass
tpm2_sign -c ecc.ctx -g sha256 -o ecc.sig msg
tpm2_verifysignature -c ecc.ctx -g sha256 -m msg -s ecc.sig
tpm2_sign -c rsa.ctx -g sha256 -s rsassa -o rsa.sig msg
tpm2_verifysignature -c rsa.ctx -g sha256 -s rsa.sig -m msg
tpm2_rsaencrypt -c rsa.ctx -o msg.enc msg
tpm2_rsadecrypt -c rsa.ctx -o msg.dec msg.enc
tpm2_hmac -c hmac.ctx --hex msg
tpm2_encryptdecrypt -c aes.ctx -o msg.aes msg
tpm2_encryptdecrypt -d -c aes.ctx -o msg.clear msg.aes
tpm2_quote -c ecc.ctx -l sha256:0,1 -q 0011223344 -m quote.msg -s quote.sig -g sha256
tpm2_certify -C ecc.ctx -c rsa.ctx -g sha256 -o attest -s attest.sig
tpm2_makecredential -Q -u rsa.pub -s msg -n 000b$(printf '%064d' 0) -o cred -T none
tpm2_evictcontrol -C o -c prim.ctx 0x81000001
tpm2_readpublic -c 0x81000001
tpm2_evictcontrol -C o -c 0x81000001
tpm2_flushcontext -t
tpm2_startauthsession -S sess.ctx
tpm2_policypcr -S sess.ctx -l sha256:0 -L pcr.policy
tpm2_policypassword -S sess.ctx -L pw.policy
tpm2_flushcontext sess.ctx
tpm2_startauthsession --policy-session -S psess.ctx
tpm2_policyauthvalue -S psess.ctx
tpm2_policycommandcode -S psess.ctx TPM2_CC_Unseal
tpm2_flushcontext psess.ctx
tpm2_startauthsession --hmac-session -S hsess.ctx
tpm2_getrandom -S hsess.ctx --hex 8
tpm2_flushcontext hsess.ctx
tpm2_startauthsession --hmac-session -c prim.ctx -S esess.ctx
tpm2_getrandom -S esess.ctx --hex 8
tpm2_sessionconfig --enable-encrypt esess.ctx && tpm2_getrandom -S esess.ctx --hex 8
tpm2_flushcontext esess.ctx
tpm2_startauthsession --policy-session -S sealsess.ctx && tpm2_policypassword -S sealsess.ctx && tpm2_policycommandcode -S sealsess.ctx TPM2_CC_Unseal; tpm2_flushcontext sealsess.ctx
tpm2_nvdefine 0x1500016 -C o -s 32 -a "ownerread|ownerwrite|authread|authwrite"
echo nvdata | tpm2_nvwrite 0x1500016 -C o -i-
tpm2_nvread 0x1500016 -C o -s 7
tpm2_nvreadpublic 0x1500016
tpm2_nvundefine 0x1500016 -C o
tpm2_nvdefine 0x1500017 -C o -s 8 -a "ownerread|ownerwrite|nt=counter"
tpm2_nvincrement 0x1500017 -C o
tpm2_nvundefine 0x1500017 -C o
tpm2_changeauth -c o ownerpass
tpm2_changeauth -c o -p ownerpass
tpm2_dictionarylockout -s -n 5 -t 6 -l 7
tpm2_dictionarylockout -c
tpm2_setclock 99999999999 || true
tpm2_createek -c ek.ctx -G rsa -u ek.pub
tpm2_createak -C ek.ctx -c ak.ctx -G rsa -g sha256 -s rsassa -u ak.pub -n ak.name
tpm2_flushcontext -t; tpm2_flushcontext -s; tpm2_flushcontext -l
tpm2_clearcontrol
tpm2_shutdown -c
"""


def read_exact(sock, n):
    data = b''
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_message(sock):
    head = read_exact(sock, 10)
    if head is None:
        return None
    length = struct.unpack('>I', head[2:6])[0]
    rest = read_exact(sock, max(length - 10, 0))
    return None if rest is None else head + rest


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.commands = []
        self.cc_attrs = []

    def exchange(self, cmd, rsp):
        with self.lock:
            self.commands.append(cmd)
            cc = struct.unpack('>I', cmd[6:10])[0]
            if cc == TPM2_CC_GET_CAPABILITY and len(cmd) >= 14 and \
               struct.unpack('>I', cmd[10:14])[0] == TPM2_CAP_COMMANDS and \
               len(rsp) >= 19 and struct.unpack('>I', rsp[6:10])[0] == 0:
                count = struct.unpack('>I', rsp[15:19])[0]
                for i in range(count):
                    self.cc_attrs.append(struct.unpack(
                        '>I', rsp[19 + 4 * i:23 + 4 * i])[0])


def relay(client, upstream_port, rec):
    up = socket.create_connection(('127.0.0.1', upstream_port))
    try:
        while True:
            cmd = read_message(client)
            if cmd is None:
                break
            up.sendall(cmd)
            rsp = read_message(up)
            if rsp is None:
                break
            rec.exchange(cmd, rsp)
            client.sendall(rsp)
    finally:
        up.close()
        client.close()


def serve(listener, upstream_port, rec):
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=relay, args=(client, upstream_port, rec),
                         daemon=True).start()


def free_port_pair():
    """A port P for the proxy with P + 1 free for swtpm's control channel."""
    for _ in range(100):
        port = random.randrange(20000, 60000)
        socks = []
        try:
            for p in (port, port + 1, port + 2):
                s = socket.socket()
                s.bind(('127.0.0.1', p))
                socks.append(s)
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    sys.exit('capture: no free ports')


def wait_port(port, deadline):
    while time.time() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port)).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit('capture: swtpm did not come up')


def cc_name(cc):
    names = {0x17A: 'getcap', 0x17B: 'getrandom', 0x176: 'startauth',
             0x131: 'createprimary', 0x153: 'create', 0x157: 'load',
             0x161: 'contextload', 0x162: 'contextsave',
             0x165: 'flushcontext', 0x173: 'readpublic', 0x15D: 'sign',
             0x177: 'verifysig'}
    return names.get(cc, 'cc')


def write_corpus(commands, outdir):
    for f in os.listdir(outdir):
        if f.startswith('cap-'):
            os.unlink(os.path.join(outdir, f))
    seen = set()
    for cmd in commands:
        digest = hashlib.sha1(cmd).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        cc = struct.unpack('>I', cmd[6:10])[0]
        name = 'cap-%04x-%s-%s' % (cc, cc_name(cc), digest[:10])
        with open(os.path.join(outdir, name), 'wb') as f:
            f.write(cmd)
    return len(seen)


def write_attrs(attrs, path, version):
    with open(path, 'w') as f:
        f.write('/* SPDX-License-Identifier: GPL-2.0-only */\n')
        f.write('/*\n * TPMA_CC of every command %s lists in TPM_CAP_COMMANDS,\n'
                ' * as captured by capture.py. Do not edit.\n */\n\n'
                % version)
        f.write('static const u32 swtpm_cc_attrs[] = {\n')
        for a in sorted(set(attrs), key=lambda a: (a >> 29 & 1, a & 0xFFFF)):
            f.write('\t0x%08x,\n' % a)
        f.write('};\n')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=os.path.join(HERE, 'corpus'))
    ap.add_argument('--attrs', default=os.path.join(HERE, 'swtpm-cc-attrs.h'))
    args = ap.parse_args()
    for tool in ('swtpm', 'tpm2_getrandom'):
        if not shutil.which(tool):
            sys.exit('capture: %s missing (apt-get install swtpm tpm2-tools)'
                     % tool)

    tmp = tempfile.mkdtemp(prefix='tpm2-fuzz-capture.')
    port = free_port_pair()
    data_port = port + 2
    swtpm = subprocess.Popen(
        ['swtpm', 'socket', '--tpm2', '--tpmstate', 'dir=' + tmp,
         '--server', 'type=tcp,port=%d,bindaddr=127.0.0.1' % data_port,
         '--ctrl', 'type=tcp,port=%d,bindaddr=127.0.0.1' % (port + 1),
         '--flags', 'not-need-init,startup-clear'],
        stdout=subprocess.DEVNULL)
    try:
        wait_port(data_port, time.time() + 10)
        rec = Recorder()
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(('127.0.0.1', port))
        listener.listen(4)
        threading.Thread(target=serve, args=(listener, data_port, rec),
                         daemon=True).start()

        env = dict(os.environ,
                   TPM2TOOLS_TCTI='swtpm:host=127.0.0.1,port=%d' % port)
        work = os.path.join(tmp, 'work')
        os.mkdir(work)
        failed = 0
        for flow in FLOWS.strip().splitlines():
            r = subprocess.run(['bash', '-c', flow], cwd=work, env=env,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=60)
            if r.returncode:
                failed += 1
                print('capture: flow failed (kept): %s: %s' %
                      (flow, r.stderr.decode(errors='replace').strip()
                       .splitlines()[-1:]), file=sys.stderr)
            # no resource manager here: free the object slots for the next
            subprocess.run(['tpm2_flushcontext', '-t'], cwd=work, env=env,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
        listener.close()
        version = subprocess.run(['swtpm', '--version'], capture_output=True,
                                 text=True).stdout.split(',')[0].strip()
        n = write_corpus(rec.commands, args.out)
        if not rec.cc_attrs:
            sys.exit('capture: no TPM_CAP_COMMANDS answer seen')
        write_attrs(rec.cc_attrs, args.attrs, version)
        print('capture: %d commands, %d distinct, %d flows failed, '
              '%d command attributes' %
              (len(rec.commands), n, failed, len(rec.cc_attrs)))
    finally:
        swtpm.kill()
        swtpm.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
