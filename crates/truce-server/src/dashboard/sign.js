// Signing requests in the browser, as `truce submit` signs them (the truce-auth crate):
// the canonical text of a request is eight lines, each ended by "\n" —
//
//   truce-request/1
//   METHOD (upper case)
//   the path with its query, exactly as sent
//   the key's name
//   the key id, 8 lower-case hex digits
//   the time, decimal Unix milliseconds
//   the nonce, 32 lower-case hex digits
//   the lower-case hex SHA-256 of the body (of nothing when there is none)
//
// and its Ed25519 signature goes in `Authorization: Truce-Ed25519 key=…, id=…, ts=…,
// nonce=…, sig=…` (standard padded base64). The private key is read from the text
// `truce key new` writes (`PRIVATE+KEY+<name>+<key id>+base64(0x01 ‖ 32-byte seed)`) and
// imported into Web Crypto as a key that cannot be exported again; the text itself is not
// kept. It lives in this page's memory, or, when the user asks, in this browser's IndexedDB
// as that same non-exportable key.

import { fromBase64, toHex } from './verify.js';

const encoder = new TextEncoder();

/** The first line of every canonical request text. */
export const CANONICAL_VERSION_LINE = 'truce-request/1';

/** DER of a PKCS #8 Ed25519 private key, up to its 32-byte seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Uint8Array.of(
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
);

/** Why a key text cannot be used; `key` is a translation key. */
export class KeyFileError extends Error {
  constructor(key) {
    super(key);
    this.key = key;
  }
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

/** Lower-case hex SHA-256 of `text` (UTF-8) or of bytes. */
export async function sha256Hex(body) {
  return toHex(await sha256(typeof body === 'string' ? encoder.encode(body) : body));
}

/** Standard padded base64 of bytes. */
export function toBase64(bytes) {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64Url(text) {
  const standard = text.replaceAll('-', '+').replaceAll('_', '/');
  return fromBase64(standard + '='.repeat((4 - (standard.length % 4)) % 4));
}

/** A fresh random nonce: 16 bytes as 32 lower-case hex digits. */
export function newNonce() {
  return toHex(crypto.getRandomValues(new Uint8Array(16)));
}

/** Whether `name` can be carried in the header unquoted: printable ASCII without , " \ or +. */
export function headerKeyName(name) {
  return /^[!#-*\-.-[\]-~]+$/.test(name);
}

/**
 * The canonical text of a request (see the top of this file). `path` is the path with its
 * query as the request line carries it.
 */
export async function canonicalRequest({ method, path, name, keyId, timestampMs, nonce, body }) {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(method)) throw new Error(`method ${method} is not an HTTP token`);
  if (!path.startsWith('/') || /[\u0000-\u0020\u007f]/.test(path)) throw new Error(`path ${path} cannot be signed`);
  if (!/^[0-9a-f]{8}$/.test(keyId) || !/^[0-9a-f]{32}$/.test(nonce)) throw new Error('bad key id or nonce');
  if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) throw new Error('bad timestamp');
  const digest = await sha256Hex(body ?? '');
  return `${CANONICAL_VERSION_LINE}\n${method.toUpperCase()}\n${path}\n${name}\n${keyId}\n${timestampMs}\n${nonce}\n${digest}\n`;
}

/**
 * Reads a private key text as `truce key new` writes it and imports it: resolves with a
 * signer `{name, keyId, key, vkey}` (`key` a non-exportable Web Crypto key; `vkey` the
 * public key text, `<name>+<key id>+<base64>`). Throws KeyFileError when the text is not a
 * key, is a public key, or its key id does not match its key (a damaged file).
 */
export async function importKeyText(text) {
  const trimmed = String(text).trim();
  if (!trimmed.startsWith('PRIVATE+KEY+')) {
    throw new KeyFileError(/^[^+\s]+\+[0-9a-f]{8}\+/.test(trimmed) ? 'signin.error.public_key' : 'signin.error.not_a_key');
  }
  const found = trimmed.match(/^PRIVATE\+KEY\+([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/);
  if (!found) throw new KeyFileError('signin.error.not_a_key');
  const [, name, keyId, encoded] = found;
  if (!headerKeyName(name)) throw new KeyFileError('signin.error.name');
  let bytes;
  try {
    bytes = fromBase64(encoded);
  } catch {
    throw new KeyFileError('signin.error.not_a_key');
  }
  if (bytes.length !== 33 || bytes[0] !== 0x01) throw new KeyFileError('signin.error.not_ed25519');
  const der = new Uint8Array(PKCS8_ED25519_PREFIX.length + 32);
  der.set(PKCS8_ED25519_PREFIX);
  der.set(bytes.subarray(1), PKCS8_ED25519_PREFIX.length);
  let publicKey;
  let key;
  try {
    // Imported once to learn the public key, then again as a key that cannot be exported.
    const open = await crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, true, ['sign']);
    publicKey = fromBase64Url((await crypto.subtle.exportKey('jwk', open)).x);
    key = await crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, false, ['sign']);
  } catch {
    throw new KeyFileError('signin.error.no_ed25519');
  } finally {
    der.fill(0);
    bytes.fill(0);
  }
  const typed = new Uint8Array(33);
  typed[0] = 0x01;
  typed.set(publicKey, 1);
  const digest = await sha256(new Uint8Array([...encoder.encode(name), 0x0a, ...typed]));
  if (toHex(digest.subarray(0, 4)) !== keyId) throw new KeyFileError('signin.error.key_id');
  return { name, keyId, key, vkey: `${name}+${keyId}+${toBase64(typed)}` };
}

/**
 * The `Authorization` header value for a request signed by `signer`, at `timestampMs` with
 * `nonce` (both default to now and a fresh nonce).
 */
export async function authorization(signer, { method, path, body = '', timestampMs = Date.now(), nonce = newNonce() }) {
  const text = await canonicalRequest({ method, path, name: signer.name, keyId: signer.keyId, timestampMs, nonce, body });
  const signature = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, signer.key, encoder.encode(text)));
  return `Truce-Ed25519 key=${signer.name}, id=${signer.keyId}, ts=${timestampMs}, nonce=${nonce}, sig=${toBase64(signature)}`;
}

/**
 * Sends a request signed by `signer` to this origin and resolves with the fetch Response.
 * `body` is the exact text signed and sent (JSON for writes). Rejects as fetch does when
 * there is no connection.
 */
export async function signedFetch(signer, { method = 'GET', path, body = '', nonce, timestampMs }) {
  const headers = {
    accept: 'application/json, application/problem+json',
    authorization: await authorization(signer, { method, path, body, nonce, timestampMs }),
  };
  const init = { method, headers, cache: 'no-store' };
  if (method !== 'GET' && method !== 'HEAD') {
    headers['content-type'] = 'application/json';
    init.body = body;
  }
  return fetch(path, init);
}

// ---- the key kept on this device (only when asked) --------------------------------------

const DATABASE = 'truce-dashboard';
const DATABASE_VERSION = 1;

/** Opens the page's IndexedDB database (stores `keys` and `outbox`). */
export function openDatabase() {
  return new Promise((done, fail) => {
    const request = indexedDB.open(DATABASE, DATABASE_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains('keys')) db.createObjectStore('keys');
      if (!db.objectStoreNames.contains('outbox')) db.createObjectStore('outbox', { keyPath: 'id' });
    };
    request.onsuccess = () => done(request.result);
    request.onerror = () => fail(request.error);
  });
}

/** Runs `work(store)` in a transaction on `storeName` and resolves with its request's result. */
export async function inStore(storeName, mode, work) {
  const db = await openDatabase();
  try {
    return await new Promise((done, fail) => {
      const transaction = db.transaction(storeName, mode);
      const request = work(transaction.objectStore(storeName));
      let result;
      if (request) request.onsuccess = () => (result = request.result);
      transaction.oncomplete = () => done(result);
      transaction.onerror = () => fail(transaction.error);
      transaction.onabort = () => fail(transaction.error);
    });
  } finally {
    db.close();
  }
}

/** Keeps `signer` (its non-exportable key) in this browser. */
export function rememberSigner(signer) {
  const { name, keyId, key, vkey } = signer;
  return inStore('keys', 'readwrite', (store) => store.put({ name, keyId, key, vkey }, 'monitor'));
}

/** The signer kept in this browser, or null. */
export async function rememberedSigner() {
  try {
    const kept = await inStore('keys', 'readonly', (store) => store.get('monitor'));
    return kept && kept.key && kept.name && kept.keyId ? kept : null;
  } catch {
    return null;
  }
}

/** Forgets the signer kept in this browser. */
export function forgetSigner() {
  return inStore('keys', 'readwrite', (store) => store.delete('monitor'));
}
