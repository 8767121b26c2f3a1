/**
 * tools/check_package.py, shipped in every evidence package: the checks a
 * third party can run with Python 3's standard library alone (no bodyvault).
 * Signatures are left to openssl (VERIFY.md), which Python lacks for Ed25519.
 */
export const CHECK_PACKAGE_PY = String.raw`#!/usr/bin/env python3
"""Checks a bodyvault evidence package without bodyvault (Python 3 standard library only).

Run it in the unzipped package folder:  python3 tools/check_package.py [FOLDER]
It checks SHA256SUMS, the manifest hash named in package.body, every
recording's file hash and its ingested event, every event's hash, and every
inclusion proof against the checkpoint root. It does not check signatures:
use openssl as VERIFY.md says.
"""
import base64
import hashlib
import json
import os
import sys

failures = []


def fail(msg):
    failures.append(msg)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def leaf_hash(h):
    return hashlib.sha256(b'\x00' + h).digest()


def node_hash(left, right):
    return hashlib.sha256(b'\x01' + left + right).digest()


def root_from_proof(index, size, leaf, path):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


os.chdir(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

# Every file is listed in SHA256SUMS and unchanged; nothing was added.
listed = {}
with open('SHA256SUMS', encoding='utf-8') as f:
    for line in f:
        digest, name = line.rstrip('\n').split('  ', 1)
        listed[name] = digest
for name, digest in sorted(listed.items()):
    if not os.path.isfile(name):
        fail('missing file: ' + name)
    elif sha256_file(name) != digest:
        fail('changed file: ' + name)
present = set()
for d, _, files in os.walk('.'):
    for fn in files:
        present.add(os.path.relpath(os.path.join(d, fn), '.').replace(os.sep, '/'))
for name in sorted(present - set(listed) - {'SHA256SUMS'}):
    fail('file not in SHA256SUMS (added): ' + name)

# The manifest is the one package.body names (package.sig signs package.body).
with open('package.body', encoding='utf-8') as f:
    package_body = f.read().split('\n')
if sha256_file('manifest.json') != package_body[2]:
    fail('manifest.json is not the manifest that package.body names')
with open('manifest.json', encoding='utf-8') as f:
    manifest = json.load(f)

# The checkpoint: origin, tree size, base64 root (checkpoint.sig signs checkpoint.body).
with open('checkpoint.body', encoding='utf-8') as f:
    checkpoint = f.read().split('\n')
tree_size = int(checkpoint[1])
checkpoint_root = base64.b64decode(checkpoint[2])

events = {}
for e in manifest['events']:
    seq = e['seq']
    try:
        with open(e['file'], encoding='utf-8') as f:
            ev = json.load(f)
        with open(e['canonical'], 'rb') as f:
            canonical = f.read()
        with open(e['proof'], encoding='utf-8') as f:
            proof = json.load(f)
    except (OSError, ValueError) as err:
        fail('event %d: %s' % (seq, err))
        continue
    fields = {k: ev.get(k) for k in ('seq', 'type', 'at', 'actor', 'subject', 'payload')}
    if ev.get('seq') != seq or json.loads(canonical.decode('utf-8')) != fields:
        fail('event %d: its JSON and its canonical bytes disagree' % seq)
    digest = hashlib.sha256(bytes.fromhex(ev['prev_hash']) + canonical).hexdigest()
    if digest != ev['hash'] or digest != e['hash']:
        fail('event %d: hash does not match its content (edited)' % seq)
    root = root_from_proof(proof['leafIndex'], proof['treeSize'], leaf_hash(bytes.fromhex(ev['hash'])), [bytes.fromhex(x) for x in proof['path']])
    if proof['leafIndex'] != seq - 1 or proof['treeSize'] != tree_size or root != checkpoint_root:
        fail('event %d: inclusion proof does not lead to the signed checkpoint root' % seq)
    events[seq] = ev
for seq, ev in sorted(events.items()):
    if seq - 1 in events and events[seq - 1]['hash'] != ev['prev_hash']:
        fail('event %d: prev_hash does not link to event %d' % (seq, seq - 1))

for rec in manifest['recordings']:
    if not os.path.isfile(rec['file']) or sha256_file(rec['file']) != rec['sha256']:
        fail('recording %d: %s does not have SHA-256 %s' % (rec['id'], rec['file'], rec['sha256']))
    ev = events.get(rec['eventSeq'])
    if ev is None or ev['type'] != 'ingested' or ev['payload'].get('sha256') != rec['sha256']:
        fail('recording %d: its ingested event does not record SHA-256 %s' % (rec['id'], rec['sha256']))
    for seq in rec['events']:
        if seq not in events:
            fail('recording %d: event %d is missing' % (rec['id'], seq))

if failures:
    for f in failures:
        print('FAIL ' + f)
    sys.exit(1)
print('OK: %d files, %d recordings, %d events, each in the checkpoint of %d events '
      '(signatures: check them with openssl as VERIFY.md says)' % (len(listed), len(manifest['recordings']), len(events), tree_size))
`
