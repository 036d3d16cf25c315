// Moving bytes: SHA-256 with WebCrypto, PUTs straight to S3 with upload progress, and the
// small tools for doing several at once and trying again.

// Headers the browser sets itself and refuses from scripts; the URL signs them and the browser
// sends the right values (Content-Length is the body's length).
const BROWSER_SET_HEADERS = new Set(['content-length', 'host']);

export function hashingAvailable() {
  return Boolean(globalThis.crypto && globalThis.crypto.subtle);
}

export async function sha256Hex(buffer) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', buffer));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export class StorageError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'StorageError';
    this.status = status;
    this.code = code;
  }
}

export class Aborted extends Error {
  constructor() {
    super('Cancelled.');
    this.name = 'Aborted';
  }
}

function storageRefusal(xhr) {
  // S3 answers errors as XML: <Error><Code>BadDigest</Code><Message>…</Message></Error>.
  const text = xhr.responseText || '';
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] || `HTTP ${xhr.status}`;
  const detail = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] || '';
  const explained = {
    BadDigest: 'the bytes that arrived do not match their checksum',
    InvalidDigest: 'the bytes that arrived do not match their checksum',
    XAmzContentSHA256Mismatch: 'the bytes that arrived do not match their SHA-256',
    AccessDenied: 'the upload URL was refused (expired or not valid)',
    SignatureDoesNotMatch: 'the upload URL was refused (its signature does not match)',
    RequestTimeout: 'the object store timed out waiting for the bytes',
    NoSuchUpload: 'the object store no longer knows this upload',
  }[code];
  const why = explained || detail || 'refused';
  return new StorageError(xhr.status, code, `the object store refused it: ${code}, ${why}`);
}

// PUT `body` to a presigned URL. Resolves with the ETag; rejects with StorageError (status 0:
// the connection failed) or Aborted.
export function putToStorage({ url, headers, body, signal, onProgress }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    for (const [name, value] of Object.entries(headers || {})) {
      if (!BROWSER_SET_HEADERS.has(name.toLowerCase())) xhr.setRequestHeader(name, value);
    }
    const abort = () => xhr.abort();
    if (signal) {
      if (signal.aborted) {
        reject(new Aborted());
        return;
      }
      signal.addEventListener('abort', abort, { once: true });
    }
    const done = () => signal && signal.removeEventListener('abort', abort);
    xhr.upload.onprogress = (event) => onProgress && onProgress(event.loaded);
    xhr.onload = () => {
      done();
      if (xhr.status >= 200 && xhr.status < 300) {
        const etag = (xhr.getResponseHeader('ETag') || '').replaceAll('"', '');
        if (!etag) {
          reject(new StorageError(xhr.status, 'NoETag',
            'the object store accepted the part but did not expose its ETag header (its CORS '
            + 'configuration must expose ETag: run `manage.py setup_bucket`)'));
          return;
        }
        resolve(etag);
      } else {
        reject(storageRefusal(xhr));
      }
    };
    xhr.onerror = () => {
      done();
      reject(new StorageError(0, 'NetworkError', 'the connection to the object store failed'));
    };
    xhr.ontimeout = xhr.onerror;
    xhr.onabort = () => {
      done();
      reject(new Aborted());
    };
    xhr.send(body);
  });
}

export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    if (signal) {
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new Aborted());
      }, { once: true });
    }
  });
}

// 1 s, 2 s, 4 s … up to 30 s, with some jitter so that parts do not retry in lockstep.
export function backoff(attempt) {
  const base = Math.min(30000, 1000 * 2 ** Math.max(0, attempt - 1));
  return base * (0.8 + Math.random() * 0.4);
}

// Resolves when the browser believes it is online (at once if it already does).
export function whenOnline(signal) {
  if (navigator.onLine) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const online = () => resolve();
    window.addEventListener('online', online, { once: true });
    if (signal) {
      signal.addEventListener('abort', () => {
        window.removeEventListener('online', online);
        reject(new Aborted());
      }, { once: true });
    }
  });
}

// A counting semaphore handing out slots in the order they were asked for.
export class Slots {
  constructor(count) {
    this.free = count;
    this.waiting = [];
  }

  acquire(signal) {
    if (this.free > 0) {
      this.free -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      this.waiting.push(waiter);
      if (signal) {
        signal.addEventListener('abort', () => {
          const index = this.waiting.indexOf(waiter);
          if (index >= 0) {
            this.waiting.splice(index, 1);
            reject(new Aborted());
          }
        }, { once: true });
      }
    });
  }

  release() {
    const next = this.waiting.shift();
    if (next) next.resolve();
    else this.free += 1;
  }
}
