// Checking a report's place in the log in the browser, with nothing but this origin's log
// endpoints and Web Crypto: the entry's leaf hash SHA-256(0x00 ‖ entry) is recomputed from
// its bytes, folded with the inclusion proof's hashes SHA-256(0x01 ‖ left ‖ right) as RFC 9162
// (section 2.1.3.2) says, and compared with the root of the latest signed checkpoint; the
// checkpoint's signature lines are listed and the log's is verified with Ed25519 when the
// browser can (docs/log-format.md, docs/notes.md). The same proof is then checked against the
// latest checkpoint the witnesses co-signed (`/v1/log/checkpoint/cosigned`), and each
// witness's cosignature/v1 line is verified with the keys `/v1/log/witnesses` publishes
// (c2sp.org/tlog-cosignature: Ed25519 over "cosignature/v1\ntime <seconds>\n" and the
// checkpoint body).
//
// Every value read from the server is untrusted: it is parsed strictly here and shown with
// textContent only by the caller.

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Bytes from padded standard base64; throws on anything else. */
export function fromBase64(text) {
  if (typeof text !== 'string' || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) {
    throw new Error(`not base64: ${String(text).slice(0, 40)}`);
  }
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let k = 0; k < binary.length; k += 1) bytes[k] = binary.charCodeAt(k);
  return bytes;
}

/** Lowercase hex of `bytes`. */
export function toHex(bytes) {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let k = 0; k < a.length; k += 1) diff |= a[k] ^ b[k];
  return diff === 0;
}

async function sha256(...parts) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', concat(...parts)));
}

/** RFC 9162 leaf hash: SHA-256(0x00 ‖ entry). */
export function leafHash(entry) {
  return sha256(Uint8Array.of(0), entry);
}

/** RFC 9162 interior node hash: SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left, right) {
  return sha256(Uint8Array.of(1), left, right);
}

/**
 * The root an inclusion proof leads to from `leaf` at `index` in a tree of `size` entries
 * (RFC 9162, 2.1.3.2), or null when the proof has the wrong length for that place.
 */
export async function rootFromInclusionProof(index, size, leaf, proof) {
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  if (fn > sn || fn < 0n) return null;
  let r = leaf;
  for (const p of proof) {
    if (p.length !== 32 || sn === 0n) return null;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

/**
 * A signed note split into its text (with its final newline) and its signature lines, each
 * `{name, keyId, signature}` (keyId the first four bytes, big-endian, as a number). Throws on
 * a note that breaks the format.
 */
export function parseNote(note) {
  if (typeof note !== 'string') throw new Error('the checkpoint is not text');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new Error('the checkpoint has no signature block');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) throw new Error('the last signature line has no final newline');
  const signatures = block
    .slice(0, -1)
    .split('\n')
    .map((line, n) => {
      const found = line.match(/^\u2014 (\S+) (\S+)$/u);
      if (!found || found[1].includes('+')) throw new Error(`signature line ${n + 1} is malformed`);
      const bytes = fromBase64(found[2]);
      if (bytes.length < 5) throw new Error(`signature line ${n + 1} is too short`);
      const keyId = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
      return { name: found[1], keyId, signature: bytes.subarray(4) };
    });
  if (signatures.length === 0) throw new Error('the checkpoint has no signature');
  return { text, signatures };
}

/** A checkpoint's body: `{origin, size (BigInt), root (bytes), extensions}`. */
export function parseCheckpoint(text) {
  const lines = text.split('\n');
  lines.pop(); // The text ends in a newline.
  if (lines.length < 3 || lines.some((line) => line === '')) throw new Error('the checkpoint body is malformed');
  if (!/^(0|[1-9][0-9]*)$/.test(lines[1])) throw new Error(`the checkpoint size ${lines[1].slice(0, 30)} is not a number`);
  const root = fromBase64(lines[2]);
  if (root.length !== 32) throw new Error('the checkpoint root is not 32 bytes');
  return { origin: lines[0], size: BigInt(lines[1]), root, extensions: lines.slice(3) };
}

/**
 * A verifier key (`name+keyid+base64(type ‖ key)`): `{name, keyId, type, key}`; the key id is
 * recomputed (first four bytes of SHA-256(name ‖ 0x0A ‖ type ‖ key)) and must match.
 */
export async function parseVkey(vkey) {
  // The name has no '+'; the base64 after the key id may.
  const found = String(vkey).trim().match(/^([^+]+)\+([0-9a-fA-F]{8})\+(.+)$/);
  if (!found) throw new Error('the log key is malformed');
  const [, name, id, encoded] = found;
  const bytes = fromBase64(encoded);
  if (bytes.length !== 33) throw new Error('the log key is not a type byte and 32 bytes');
  const digest = await sha256(encoder.encode(name), Uint8Array.of(0x0a), bytes);
  const keyId = new DataView(digest.buffer).getUint32(0);
  if (keyId !== Number.parseInt(id, 16)) throw new Error('the log key id does not match its key');
  return { name, keyId, type: bytes[0], key: bytes.subarray(1) };
}

/** Whether the browser's Web Crypto verifies Ed25519. */
async function ed25519Key(raw) {
  try {
    return await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
  } catch {
    return null;
  }
}

/**
 * Reads a report's entry of the log (`logIndex`, `reportId`) and checks it against the latest
 * checkpoint, with `fetchText(path)` reading this origin. The result says what was checked:
 *
 * - `included`: the proof leads from the entry's leaf hash to the checkpoint's root;
 * - `entryMatches`: the entry is a report entry with the report's id;
 * - `signature`: `verified`, `failed`, `unchecked` (no Ed25519 in this browser) or `missing`
 *   (no line of the log's key);
 * - `signers`: every signature line, `{name, keyId, role: 'log' | 'cosigner' | 'other',
 *   time}` (a cosignature's time in seconds, read from its timestamp, not verified);
 * - `cosign`: the check against the co-signed checkpoint, `{state, size, root, included,
 *   signature, witnesses}`: `state` is `none` (no witnesses, or nothing co-signed yet),
 *   `behind` (the co-signed checkpoint does not cover the entry yet), `checked` or `error`;
 *   `witnesses` holds, per published witness, `{name, keyId, status: 'verified' | 'failed' |
 *   'missing' | 'unchecked', time}`;
 * - `problems`: what failed, as translation keys with their parameters;
 * - `ok`: all of it holds (a signature the browser cannot check does not count against it;
 *   a report not yet co-signed does not either, but a cosignature that fails does).
 */
export async function verifyReport({ logIndex, reportId }, fetchText) {
  const result = {
    index: logIndex,
    size: null,
    root: '',
    origin: '',
    vkey: '',
    included: false,
    entryMatches: false,
    signature: 'missing',
    signers: [],
    cosign: { state: 'none', size: null, root: '', included: false, signature: 'missing', witnesses: [], published: 0 },
    problems: [],
    ok: false,
  };
  const [note, vkeyText, witnessText] = await Promise.all([
    fetchText('/v1/log/checkpoint'),
    fetchText('/v1/log/vkey'),
    fetchText('/v1/log/witnesses').catch(() => null),
  ]);
  // The co-signed checkpoint exists once every witness has co-signed: ask for it only then
  // (a service without witnesses, or before their first round, answers 404).
  let cosignedText = null;
  if (everyWitnessCosigned(witnessText)) {
    cosignedText = await fetchText('/v1/log/checkpoint/cosigned').catch((error) =>
      /HTTP 404\b/.test(String(error?.message)) ? null : error,
    );
  }
  const { text, signatures } = parseNote(note);
  const checkpoint = parseCheckpoint(text);
  result.size = checkpoint.size;
  result.root = toHex(checkpoint.root);
  result.origin = checkpoint.origin;
  const vkey = await parseVkey(vkeyText);
  result.vkey = vkeyText.trim();
  const publicKey = vkey.type === 0x01 ? await ed25519Key(vkey.key) : null;
  let logLines = 0;
  let logVerified = 0;
  for (const line of signatures) {
    const isLog = line.name === vkey.name && line.keyId === vkey.keyId;
    const signer = { name: line.name, keyId: line.keyId.toString(16).padStart(8, '0'), role: 'other', time: null };
    if (isLog) {
      signer.role = 'log';
      logLines += 1;
      if (publicKey && line.signature.length === 64) {
        const good = await crypto.subtle.verify({ name: 'Ed25519' }, publicKey, line.signature, encoder.encode(text));
        if (good) logVerified += 1;
      }
    } else if (line.signature.length === 72) {
      // A cosignature/v1 line: an 8-byte timestamp, then the signature.
      signer.role = 'cosigner';
      const seconds = new DataView(line.signature.buffer, line.signature.byteOffset, 8).getBigUint64(0);
      signer.time = Number(seconds);
    }
    result.signers.push(signer);
  }
  if (logLines === 0) {
    result.signature = 'missing';
    result.problems.push({ key: 'verify.problem.no_signature' });
  } else if (!publicKey) {
    result.signature = 'unchecked';
  } else if (logVerified === logLines) {
    result.signature = 'verified';
  } else {
    result.signature = 'failed';
    result.problems.push({ key: 'verify.problem.signature' });
  }

  if (BigInt(logIndex) >= checkpoint.size) {
    result.problems.push({ key: 'verify.problem.not_in_checkpoint', params: { index: logIndex, size: String(checkpoint.size) } });
    return result;
  }
  const size = checkpoint.size.toString();
  const [entries, proof] = await Promise.all([
    fetchText(`/v1/log/entries?start=${logIndex}&end=${logIndex + 1}`).then(JSON.parse),
    fetchText(`/v1/log/proof/inclusion?index=${logIndex}&size=${size}`).then(JSON.parse),
  ]);
  const entry = fromBase64(entries?.entries?.[0]?.entry);
  result.entryMatches = reportIdOf(entry) === reportId;
  if (!result.entryMatches) result.problems.push({ key: 'verify.problem.entry', params: { index: logIndex, report: reportId } });
  if (String(proof?.index) !== String(logIndex) || String(proof?.size) !== size || !Array.isArray(proof?.proof)) {
    result.problems.push({ key: 'verify.problem.proof_shape' });
    return result;
  }
  const path = proof.proof.map(fromBase64);
  const root = await rootFromInclusionProof(logIndex, checkpoint.size, await leafHash(entry), path);
  result.included = root !== null && equalBytes(root, checkpoint.root);
  if (!result.included) result.problems.push({ key: 'verify.problem.root' });
  result.ok = result.included && result.entryMatches && (result.signature === 'verified' || result.signature === 'unchecked');
  await checkCosigned(result, { logIndex, entry, vkey, publicKey, witnessText, cosignedText }, fetchText);
  if (result.cosign.state === 'checked' || result.cosign.state === 'error') {
    const cosignOk =
      result.cosign.state === 'checked' &&
      result.cosign.included &&
      result.cosign.signature !== 'failed' &&
      result.cosign.signature !== 'missing' &&
      result.cosign.witnesses.every((w) => w.status === 'verified' || w.status === 'unchecked');
    if (!cosignOk) result.ok = false;
  }
  return result;
}

/** Whether `/v1/log/witnesses` lists witnesses that have all co-signed some size. */
function everyWitnessCosigned(witnessText) {
  try {
    const listed = JSON.parse(witnessText)?.witnesses;
    return Array.isArray(listed) && listed.length > 0 && listed.every((w) => Number.isSafeInteger(w?.cosigned_size));
  } catch {
    return false;
  }
}

/** The witnesses `/v1/log/witnesses` publishes, their keys parsed: `[{name, keyId, key}]`. */
async function publishedWitnesses(witnessText) {
  if (typeof witnessText !== 'string') return [];
  const listed = JSON.parse(witnessText)?.witnesses;
  if (!Array.isArray(listed)) throw new Error('the witness list is malformed');
  const out = [];
  for (const witness of listed) {
    const parsed = await parseVkey(witness?.vkey);
    if (parsed.type !== 0x04) throw new Error(`the key of witness ${parsed.name} is not a cosignature/v1 key`);
    out.push(parsed);
  }
  return out;
}

/** The exact bytes a cosignature/v1 signs: the header, the time line, the checkpoint body. */
export function cosignedMessage(seconds, checkpointText) {
  return encoder.encode(`cosignature/v1\ntime ${BigInt(seconds).toString()}\n${checkpointText}`);
}

/**
 * Checks the entry against the latest co-signed checkpoint when it covers it: the inclusion
 * proof at that size, the log's signature on it and each published witness's cosignature.
 * Fills `result.cosign` and adds problems.
 */
async function checkCosigned(result, { logIndex, entry, vkey, publicKey, witnessText, cosignedText }, fetchText) {
  const cosign = result.cosign;
  let witnesses;
  try {
    witnesses = await publishedWitnesses(witnessText);
  } catch {
    cosign.state = 'error';
    result.problems.push({ key: 'verify.problem.witness_list' });
    return;
  }
  cosign.published = witnesses.length;
  if (cosignedText instanceof Error) {
    cosign.state = 'error';
    result.problems.push({ key: 'verify.problem.cosigned_unreadable' });
    return;
  }
  if (typeof cosignedText !== 'string') return; // Nothing co-signed yet.
  let text;
  let signatures;
  let checkpoint;
  try {
    ({ text, signatures } = parseNote(cosignedText));
    checkpoint = parseCheckpoint(text);
  } catch {
    cosign.state = 'error';
    result.problems.push({ key: 'verify.problem.cosigned_unreadable' });
    return;
  }
  cosign.size = checkpoint.size;
  cosign.root = toHex(checkpoint.root);
  if (checkpoint.size <= BigInt(logIndex)) {
    cosign.state = 'behind';
    return;
  }
  cosign.state = 'checked';
  // The log's own signature on the co-signed checkpoint.
  const logLines = signatures.filter((line) => line.name === vkey.name && line.keyId === vkey.keyId);
  if (logLines.length === 0) {
    cosign.signature = 'missing';
    result.problems.push({ key: 'verify.problem.cosigned_no_signature' });
  } else if (!publicKey) {
    cosign.signature = 'unchecked';
  } else {
    let good = 0;
    for (const line of logLines) {
      if (line.signature.length === 64 && (await crypto.subtle.verify({ name: 'Ed25519' }, publicKey, line.signature, encoder.encode(text)))) {
        good += 1;
      }
    }
    cosign.signature = good === logLines.length ? 'verified' : 'failed';
    if (cosign.signature === 'failed') result.problems.push({ key: 'verify.problem.cosigned_signature' });
  }
  // The report's entry in the co-signed tree.
  const size = checkpoint.size.toString();
  const proof = JSON.parse(await fetchText(`/v1/log/proof/inclusion?index=${logIndex}&size=${size}`));
  if (String(proof?.index) !== String(logIndex) || String(proof?.size) !== size || !Array.isArray(proof?.proof)) {
    result.problems.push({ key: 'verify.problem.proof_shape' });
  } else {
    const root = await rootFromInclusionProof(logIndex, checkpoint.size, await leafHash(entry), proof.proof.map(fromBase64));
    cosign.included = root !== null && equalBytes(root, checkpoint.root);
    if (!cosign.included) result.problems.push({ key: 'verify.problem.cosigned_root', params: { size } });
  }
  // Each published witness's cosignature.
  for (const witness of witnesses) {
    const entryOut = { name: witness.name, keyId: witness.keyId.toString(16).padStart(8, '0'), status: 'missing', time: null };
    const lines = signatures.filter((line) => line.name === witness.name && line.keyId === witness.keyId);
    const key = lines.length > 0 ? await ed25519Key(witness.key) : null;
    for (const line of lines) {
      if (line.signature.length !== 72) {
        entryOut.status = 'failed';
        break;
      }
      const seconds = new DataView(line.signature.buffer, line.signature.byteOffset, 8).getBigUint64(0);
      entryOut.time = Number(seconds);
      if (!key) {
        entryOut.status = 'unchecked';
        continue;
      }
      const good = await crypto.subtle.verify({ name: 'Ed25519' }, key, line.signature.subarray(8), cosignedMessage(seconds, text));
      entryOut.status = good ? 'verified' : 'failed';
      if (!good) break;
    }
    if (entryOut.status === 'failed') result.problems.push({ key: 'verify.problem.cosignature', params: { name: witness.name } });
    if (entryOut.status === 'missing') result.problems.push({ key: 'verify.problem.cosignature_missing', params: { name: witness.name } });
    cosign.witnesses.push(entryOut);
  }
}

/**
 * The report id of a report entry (kind 3, format 1 or 2: a filed report adds its filing
 * after the same fields), or null (docs/log-format.md).
 */
export function reportIdOf(entry) {
  if (entry.length < 4 || (entry[0] !== 1 && entry[0] !== 2) || entry[1] !== 3) return null;
  const length = (entry[2] << 8) | entry[3];
  if (entry.length < 4 + length) return null;
  try {
    return decoder.decode(entry.subarray(4, 4 + length));
  } catch {
    return null;
  }
}
