// The upload of one file, and the queue that runs several.
//
// Small files go in one PUT whose SHA-256 S3 checks. Larger ones use the multipart API: each
// part is read, hashed, and its URL asked for with that digest, so the URL signs it and S3
// refuses any other bytes (SHA-256 with WebCrypto; where S3 checks no SHA-256 the server
// records the upload as MD5, and the part's MD5 is signed as Content-MD5 instead, md5.js);
// several parts are in flight at once over all files;
// a refused or lost part is sent again with a fresh URL. What S3 already holds is asked of the
// server before sending, so a reload or a crash costs only the parts that were in flight.

import { ApiError } from './api.js';
import { md5HexOfBlob } from './md5.js';
import * as store from './store.js';
import {
  Aborted, Slots, StorageError, backoff, putToStorage, sha256Hex, sleep, whenOnline,
} from './transfer.js';

const TICKET_BATCH = 100; // files asked for in one request-uploads call
const FORBIDDEN = /[<>:"/\\|?*\s\p{Cc}\p{Cf}]/gu;

// seqvault's file-name rules (no whitespace, none of <>:"/\|?*, no control characters).
export function storedName(name) {
  const cleaned = name.replace(FORBIDDEN, '_').slice(-255);
  return cleaned === '.' || cleaned === '..' || cleaned === '' ? `file_${cleaned}` : cleaned;
}

class Failed extends Error {}

function describe(error) {
  if (error instanceof StorageError || error instanceof ApiError) return error.message;
  if (error && error.name === 'NotReadableError') {
    return 'the file can no longer be read (was it moved or changed?)';
  }
  return (error && error.message) || String(error);
}

export class FileUpload extends EventTarget {
  constructor({ file, path, name, uploader }) {
    super();
    this.file = file;
    this.path = path || file.name;
    this.name = name;
    this.uploader = uploader;
    this.size = file.size;
    this.key = store.fileKey(uploader.groupId, file);
    this.state = 'queued';
    this.message = '';
    this.notes = []; // recent retries, newest last
    this.retries = 0;
    this.ticket = null;
    this.fileId = null;
    this.uploadId = null;
    this.partSize = 0;
    this.partCount = 0;
    this.checksumAlgorithm = 'SHA256'; // as the server recorded the upload: SHA256 or MD5
    this.etags = {};
    this.partsDone = 0;
    this.bytesDone = 0;
    this.resumedBytes = 0;
    this.inFlight = new Map(); // part number → bytes sent so far
    this.result = null; // the file as the API describes it once settled
    this.controller = new AbortController();
    this.resumable = Boolean(store.load(this.key));
  }

  get single() {
    return this.size <= this.uploader.config.singlePutMaxBytes;
  }

  get settled() {
    return ['verified', 'failed', 'cancelled'].includes(this.state);
  }

  get sent() {
    let inFlight = 0;
    for (const loaded of this.inFlight.values()) inFlight += loaded;
    return Math.min(this.size, this.bytesDone + inFlight);
  }

  set(state, message = '') {
    this.state = state;
    this.message = message;
    this.dispatchEvent(new Event('change'));
  }

  note(text) {
    this.notes.push(text);
    if (this.notes.length > 5) this.notes.shift();
    this.dispatchEvent(new Event('change'));
  }

  cancel() {
    if (this.settled) return;
    this.controller.abort();
    this.set('cancelled', 'Cancelled.');
    // An upload an earlier page left is cancelled too, so that S3 frees its parts now.
    const uploadId = this.uploadId || (store.load(this.key) || {}).uploadId;
    store.forget(this.key);
    if (uploadId) this.uploader.api.cancel(uploadId).catch(() => {});
  }

  retry() {
    if (this.state !== 'failed') return;
    this.controller = new AbortController();
    this.notes = [];
    this.inFlight.clear();
    // A multipart upload still pending resumes; anything else starts again with a new file.
    this.resumable = Boolean(store.load(this.key));
    if (!this.resumable) Object.assign(this, { ticket: null, fileId: null, uploadId: null });
    this.set('queued');
    this.uploader.pump();
  }

  async run() {
    const { signal } = this.controller;
    try {
      if (this.single || !store.load(this.key)) await this.uploader.ticketFor(this);
      if (this.ticket && this.ticket.deduplicated) {
        this.fileId = this.ticket.fileId;
        this.bytesDone = this.size;
        this.note('The group already holds a verified file with these exact bytes; it is reused.');
      } else if (this.single) {
        await this.sendWhole(signal);
      } else {
        await this.sendParts(signal);
      }
      await this.awaitVerification(signal);
    } catch (error) {
      if (error instanceof Aborted || signal.aborted) {
        if (this.state !== 'cancelled') this.set('cancelled', 'Cancelled.');
        return;
      }
      this.inFlight.clear();
      this.set('failed', describe(error));
    }
  }

  // --- one PUT --------------------------------------------------------------------------

  async sendWhole(signal) {
    const { ticket } = this;
    this.fileId = ticket.fileId;
    this.set('uploading');
    const body = await this.file.arrayBuffer();
    await this.withAttempts('The file', signal, async () => {
      try {
        await putToStorage({
          url: ticket.url,
          headers: ticket.headers,
          body,
          signal,
          onProgress: (loaded) => this.inFlight.set(1, loaded),
        });
      } catch (error) {
        // If-None-Match: an earlier attempt stored the object and only its answer was lost.
        if (!(error instanceof StorageError && error.status === 412)) throw error;
      }
    });
    this.inFlight.clear();
    this.bytesDone = this.size;
    this.set('verifying');
    await this.withAttempts('Confirming the upload', signal, () => this.uploader.api.confirm(this.fileId));
  }

  // --- multipart ------------------------------------------------------------------------

  async sendParts(signal) {
    const { api } = this.uploader;
    if (await this.adoptOrStart(signal) === 'completed') {
      store.forget(this.key);
      this.bytesDone = this.size;
      this.note('This file was already complete; the server is verifying it.');
      return;
    }
    store.save(this.key, this.record());
    this.set('uploading');
    for (let round = 1; ; round += 1) {
      const missing = [];
      for (let n = 1; n <= this.partCount; n += 1) if (!this.etags[n]) missing.push(n);
      await this.sendMissing(missing, signal);
      this.set('completing');
      try {
        await this.withAttempts('Completing the upload', signal, () => api.complete(this.uploadId, this.etags));
        break;
      } catch (error) {
        if (error instanceof ApiError && error.code === 'multipart_upload_not_pending'
            && ['uploaded', 'accepted'].includes(error.details.status)) {
          break; // an earlier attempt completed it; only its answer was lost
        }
        if (!(error instanceof ApiError) || error.code !== 'multipart_parts_missing' || round > 2) {
          throw error;
        }
        await this.adoptHeld(signal); // S3 lost parts we sent: send them again
        this.set('uploading');
      }
    }
    store.forget(this.key);
    this.set('verifying');
  }

  record() {
    return {
      name: this.name,
      size: this.size,
      lastModified: this.file.lastModified,
      fileId: this.fileId,
      uploadId: this.uploadId,
      partSize: this.partSize,
      partCount: this.partCount,
      partsDone: this.partsDone,
    };
  }

  // Resume the upload this browser remembers, or start one. Answers 'completed' when the
  // remembered upload was already completed (only its answer was lost).
  async adoptOrStart(signal) {
    const { api } = this.uploader;
    const saved = store.load(this.key);
    if (saved && saved.uploadId && !this.uploadId) {
      Object.assign(this, { fileId: saved.fileId, uploadId: saved.uploadId });
    }
    if (this.uploadId) {
      this.set('resuming');
      try {
        await this.adoptHeld(signal);
        if (this.resumedBytes) {
          this.note(`Resumed: ${this.partsDone} of ${this.partCount} parts were already stored.`);
        }
        return 'resumed';
      } catch (error) {
        if (!(error instanceof ApiError) || error.transient) throw error;
        if (error.code === 'multipart_upload_not_pending'
            && ['uploaded', 'accepted'].includes(error.details.status)) {
          return 'completed';
        }
        // That upload ended (cancelled, or abandoned and cleaned up): start over.
        this.note(`The earlier upload cannot be resumed (${error.message}); starting again.`);
        Object.assign(this, { uploadId: null, etags: {}, partsDone: 0, bytesDone: 0, resumedBytes: 0 });
        const file = this.fileId ? await api.file(this.fileId).catch(() => null) : null;
        if (!file || file.status !== 'requested') this.fileId = null;
      }
    }
    if (!this.fileId && this.ticket) this.fileId = this.ticket.fileId;
    if (!this.fileId) {
      this.ticket = null;
      this.fileId = (await this.uploader.ticketFor(this)).fileId;
    }
    this.set('starting');
    let started;
    try {
      // Waits (429 with Retry-After) while the group has too many uploads open.
      started = await this.withAttempts('Starting the upload', signal, () => api.startMultipart(this.fileId));
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== 'multipart_upload_exists') throw error;
      this.uploadId = error.details.uploadId; // left pending by an earlier page: take it over
      if (error.details.status !== 'pending') return 'completed';
      await this.adoptHeld(signal);
      return 'resumed';
    }
    Object.assign(this, {
      uploadId: started.uploadId,
      partSize: started.partSize,
      partCount: started.partCount,
      checksumAlgorithm: started.checksumAlgorithm,
    });
    return 'started';
  }

  // Take the parts S3 holds as sent, with S3's ETags.
  async adoptHeld(signal) {
    if (signal.aborted) throw new Aborted();
    const held = await this.withAttempts(
      'Asking which parts are stored', signal, () => this.uploader.api.heldParts(this.uploadId),
    );
    Object.assign(this, {
      partSize: held.partSize, partCount: held.partCount, checksumAlgorithm: held.checksumAlgorithm,
    });
    this.etags = {};
    let bytes = 0;
    for (const part of held.parts) {
      this.etags[part.partNumber] = part.etag;
      bytes += part.size;
    }
    this.partsDone = held.parts.length;
    this.bytesDone = bytes;
    this.resumedBytes = bytes;
  }

  async sendMissing(numbers, signal) {
    const queue = [...numbers];
    const { slots } = this.uploader;
    const lane = async () => {
      while (queue.length) {
        const number = queue.shift();
        await slots.acquire(signal);
        try {
          await this.sendPart(number, signal);
        } catch (error) {
          queue.length = 0; // this file has failed: its other lanes stop taking parts
          throw error;
        } finally {
          slots.release();
        }
      }
    };
    const lanes = Math.min(this.uploader.config.partsInFlight, queue.length);
    const running = Array.from({ length: lanes }, lane);
    // One lane failing for good stops the others: the file has failed.
    const results = await Promise.allSettled(running);
    const failure = results.find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
  }

  async sendPart(number, signal) {
    const { api } = this.uploader;
    const start = (number - 1) * this.partSize;
    const end = Math.min(this.size, start + this.partSize);
    await this.withAttempts(`Part ${number}`, signal, async () => {
      const slice = this.file.slice(start, end);
      // The PUT streams the slice from disk. For its SHA-256 the part is in memory while it is
      // hashed (WebCrypto hashes nothing piecewise); its MD5 is taken a few MiB at a time.
      // Should the file change in between, S3 refuses the bytes and the part is hashed again.
      const digest = this.checksumAlgorithm === 'MD5'
        ? { md5: await md5HexOfBlob(slice) }
        : { sha256: await sha256Hex(await slice.arrayBuffer()) };
      const answer = await api.partUrls(this.uploadId, [{ partNumber: number, ...digest }]);
      const [url] = answer.parts;
      this.etags[number] = await putToStorage({
        url: url.url,
        headers: url.headers,
        body: slice,
        signal,
        onProgress: (loaded) => {
          this.inFlight.set(number, loaded);
          this.uploader.sampled();
        },
      });
    }, () => this.inFlight.delete(number));
    this.inFlight.delete(number);
    this.partsDone += 1;
    this.bytesDone += end - start;
    store.save(this.key, this.record());
    this.dispatchEvent(new Event('change'));
  }

  // Run `action` until it succeeds; transient failures and refused parts are tried again
  // with a backoff, and a lost connection waits for its return without using up attempts.
  async withAttempts(what, signal, action, onFailure = () => {}) {
    const { maxAttempts } = this.uploader.config;
    for (let attempt = 1; ; attempt += 1) {
      await whenOnline(signal);
      try {
        return await action();
      } catch (error) {
        onFailure();
        if (error instanceof Aborted || signal.aborted) throw new Aborted();
        if (error instanceof ApiError && !error.transient) throw error;
        if (error instanceof Failed || (error && error.name === 'NotReadableError')) throw error;
        if (!navigator.onLine) {
          this.note(`${what}: the connection was lost; waiting for it to come back.`);
          attempt -= 1;
          continue;
        }
        if (attempt >= maxAttempts) {
          throw new Failed(`${what} failed ${attempt} times; the last time ${describe(error)}.`);
        }
        this.retries += 1;
        const wait = error instanceof ApiError && error.retryAfter
          ? error.retryAfter * 1000 : backoff(attempt);
        this.note(`${what}: ${describe(error)}. Trying again (attempt ${attempt + 1} of ${maxAttempts}).`);
        await sleep(wait, signal);
      }
    }
  }

  // --- verification ---------------------------------------------------------------------

  async awaitVerification(signal) {
    const { api } = this.uploader;
    this.set('verifying');
    for (let wait = 300; ; wait = Math.min(5000, wait * 1.5)) {
      const file = await this.withAttempts('Checking the file', signal, () => api.file(this.fileId));
      if (file.status === 'verified') {
        this.result = file;
        this.set('verified', 'Verified by the server.');
        return;
      }
      if (file.status === 'failed' || file.status === 'expired') {
        throw new Failed(`The server found a problem: ${file.failureReason || file.status}.`);
      }
      await sleep(wait, signal);
    }
  }
}

export class Uploader extends EventTarget {
  constructor({ api, groupId, config }) {
    super();
    this.api = api;
    this.groupId = groupId;
    this.config = config;
    this.uploads = [];
    this.slots = new Slots(config.partsInFlight);
    this.pendingTickets = null;
    this.samples = []; // [time, bytes sent in this page] for the rate
  }

  add(entries) {
    const names = new Map();
    for (const { path } of entries) {
      const base = storedName(path.split('/').pop());
      names.set(base, (names.get(base) || 0) + 1);
    }
    const added = entries.map(({ file, path }) => {
      const base = storedName(path.split('/').pop());
      // Files of the same name from different folders keep their folders in the name.
      const name = names.get(base) > 1 ? storedName(path.replace(/^\/+/, '').replaceAll('/', '_')) : base;
      const upload = new FileUpload({ file, path, name, uploader: this });
      upload.addEventListener('change', () => this.changed(upload));
      return upload;
    });
    this.uploads.push(...added);
    this.dispatchEvent(new CustomEvent('added', { detail: added }));
    this.pump();
    return added;
  }

  changed(upload) {
    this.dispatchEvent(new CustomEvent('change', { detail: upload }));
    if (upload.settled) this.pump();
  }

  get active() {
    return this.uploads.filter((u) => !u.settled && u.state !== 'queued');
  }

  pump() {
    const running = this.active.length;
    const queued = this.uploads.filter((u) => u.state === 'queued');
    for (const upload of queued.slice(0, Math.max(0, this.config.filesInFlight - running))) {
      upload.set('preparing');
      upload.run();
    }
    if (!this.uploads.some((u) => !u.settled)) this.dispatchEvent(new Event('idle'));
  }

  cancelAll() {
    for (const upload of this.uploads) upload.cancel();
  }

  // The ticket (file ID, and the PUT for small files) of an upload. Queued files are asked
  // for together, so a thousand small files cost ten requests, not a thousand.
  async ticketFor(upload) {
    if (upload.ticket) return upload.ticket;
    let pending = this.pendingTickets;
    if (!pending || pending.settled || !pending.batch.includes(upload)) {
      const batch = [upload, ...this.uploads.filter(
        (u) => u !== upload && !u.ticket && !u.resumable && ['queued', 'preparing'].includes(u.state),
      )].slice(0, TICKET_BATCH);
      batch.forEach((u) => { u.ticketError = null; });
      pending = { batch, settled: false };
      pending.done = this.requestTickets(batch).finally(() => { pending.settled = true; });
      this.pendingTickets = pending;
    }
    await pending.done;
    if (upload.ticket) return upload.ticket;
    throw upload.ticketError || new Failed('The server gave no upload for this file.');
  }

  // Not tied to one file's cancel button: the batch serves every file in it.
  async requestTickets(batch) {
    let remaining = [...batch];
    const specs = new Map();
    for (const upload of remaining) {
      const spec = { name: upload.name, size: upload.size };
      if (upload.file.type) spec.contentType = upload.file.type;
      if (upload.single) {
        // The whole small file's digest: S3 checks it on the PUT, and the group's identical
        // files are found and reused instead of stored twice.
        spec.sha256 = await sha256Hex(await upload.file.arrayBuffer());
        // and its MD5, on record beside it; the URL signs it as Content-MD5, which is what S3
        // servers that check no SHA-256 (Ceph RGW) check instead
        spec.md5 = await md5HexOfBlob(upload.file);
      }
      specs.set(upload, spec);
    }
    while (remaining.length) {
      try {
        const tickets = await this.api.requestUploads(this.groupId, remaining.map((u) => specs.get(u)));
        remaining.forEach((upload, index) => { upload.ticket = tickets[index]; });
        return;
      } catch (error) {
        // A refusal that names one file (files[3]: …) fails that file; the others go on.
        const index = /files\[(\d+)\]/.exec(error.message || '');
        if (error instanceof ApiError && !error.transient && index && remaining.length > 1) {
          const [culprit] = remaining.splice(Number(index[1]), 1);
          culprit.ticketError = new Failed(error.message);
          continue;
        }
        if (error instanceof ApiError && error.transient) {
          await sleep((error.retryAfter || 2) * 1000);
          continue;
        }
        for (const upload of remaining) upload.ticketError = error;
        return;
      }
    }
  }

  // Sent bytes over the last seconds, for the rate and the time left.
  sampled() {
    const now = performance.now();
    const last = this.samples[this.samples.length - 1];
    if (last && now - last[0] < 200) return;
    this.samples.push([now, this.sentThisPage()]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 8000) this.samples.shift();
  }

  sentThisPage() {
    return this.uploads.reduce((sum, u) => sum + Math.max(0, u.sent - u.resumedBytes), 0);
  }

  totals() {
    const live = this.uploads.filter((u) => u.state !== 'cancelled');
    const size = live.reduce((sum, u) => sum + u.size, 0);
    const sent = live.reduce((sum, u) => sum + (u.state === 'verified' ? u.size : u.sent), 0);
    this.sampled();
    const [first, last] = [this.samples[0], this.samples[this.samples.length - 1]];
    const seconds = first && last ? (last[0] - first[0]) / 1000 : 0;
    const rate = seconds > 0.5 ? (last[1] - first[1]) / seconds : 0;
    const busy = this.uploads.some((u) => !u.settled);
    return {
      size,
      sent,
      rate: busy ? rate : 0,
      eta: busy && rate > 0 ? (size - sent) / rate : null,
      busy,
      files: live.length,
      verified: live.filter((u) => u.state === 'verified').length,
      failed: live.filter((u) => u.state === 'failed').length,
    };
  }
}
