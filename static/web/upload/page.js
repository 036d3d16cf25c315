// The upload page: a drop zone and file pickers feeding the Uploader, a row per file with its
// progress, the overall rate and time left, interrupted uploads to resume, and the results.

import { Api } from './api.js';
import * as store from './store.js';
import { hashingAvailable } from './transfer.js';
import { Uploader } from './uploader.js';

const STATE_LABELS = {
  queued: 'waiting',
  preparing: 'preparing',
  resuming: 'asking the server which parts it holds',
  starting: 'starting',
  uploading: 'uploading',
  completing: 'assembling the parts',
  verifying: 'verifying (the server checks the whole file)',
  verified: 'verified',
  failed: 'failed',
  cancelled: 'cancelled',
};

export function formatBytes(bytes) {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(seconds) {
  if (seconds === null || !Number.isFinite(seconds)) return '';
  const s = Math.max(1, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const h = Math.floor(s / 3600);
  return h < 48 ? `${h} h ${Math.floor((s % 3600) / 60)} min` : `${Math.round(h / 24)} days`;
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'class') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

// Files of a drop, folders walked (webkitGetAsEntry), each with its path inside the drop.
async function droppedFiles(dataTransfer) {
  const entries = [...dataTransfer.items]
    .map((item) => (item.webkitGetAsEntry ? item.webkitGetAsEntry() : null))
    .filter(Boolean);
  if (!entries.length) return [...dataTransfer.files].map((file) => ({ file, path: file.name }));
  const found = [];
  const walk = async (entry) => {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      found.push({ file, path: entry.fullPath.replace(/^\//, '') });
      return;
    }
    const reader = entry.createReader();
    for (;;) {
      // readEntries answers in batches; an empty batch means the folder is done.
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (!batch.length) break;
      for (const child of batch) await walk(child);
    }
  };
  for (const entry of entries) await walk(entry);
  return found;
}

class UploadPage {
  constructor(root, config) {
    this.root = root;
    this.config = config;
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    this.uploader = new Uploader({ api: new Api(config.api, csrf), groupId: config.groupId, config });
    this.rows = new Map();
    this.results = new Set();
    this.$ = (selector) => root.querySelector(selector);
    this.wire();
    this.showInterrupted();
    // Files chosen before this script ran are taken too.
    for (const input of [this.$('#pick-files'), this.$('#pick-folder')]) {
      if (input.files.length) input.dispatchEvent(new Event('change'));
    }
    root.dataset.ready = 'true';
  }

  wire() {
    const zone = this.$('#dropzone');
    for (const input of [this.$('#pick-files'), this.$('#pick-folder')]) {
      input.addEventListener('change', () => {
        const files = [...input.files].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
        input.value = '';
        this.add(files);
      });
    }
    zone.addEventListener('dragover', (event) => {
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
      zone.classList.add('over');
    });
    zone.addEventListener('dragleave', () => zone.classList.remove('over'));
    zone.addEventListener('drop', async (event) => {
      event.preventDefault();
      zone.classList.remove('over');
      this.add(await droppedFiles(event.dataTransfer));
    });
    this.$('#cancel-all').addEventListener('click', () => this.uploader.cancelAll());
    this.uploader.addEventListener('added', (event) => event.detail.forEach((u) => this.addRow(u)));
    this.uploader.addEventListener('change', (event) => this.update(event.detail));
    window.addEventListener('beforeunload', (event) => {
      if (this.uploader.uploads.some((u) => !u.settled)) {
        event.preventDefault(); // uploads resume after a reload, but in-flight parts are lost
      }
    });
    window.addEventListener('offline', () => this.announce('The connection was lost; uploads continue when it comes back.'));
    window.addEventListener('online', () => this.announce('The connection is back; uploads continue.'));
    setInterval(() => this.tick(), 250);
  }

  add(files) {
    if (!files.length) return;
    this.$('#progress-panel').hidden = false;
    const added = this.uploader.add(files);
    this.showInterrupted();
    this.announce(`${added.length} file${added.length === 1 ? '' : 's'} added.`);
  }

  announce(text) {
    this.$('#announcer').textContent = text;
  }

  // --- interrupted uploads of earlier pages ------------------------------------------------

  showInterrupted() {
    // Uploads this page is running are shown in their rows, not here.
    const running = new Set(this.uploader.uploads.filter((u) => u.state !== 'cancelled').map((u) => u.key));
    const records = store.unfinished(this.config.groupId).filter((r) => !running.has(r.key));
    const list = this.$('#interrupted-list');
    list.replaceChildren();
    this.$('#interrupted').hidden = records.length === 0;
    for (const record of records) {
      const done = record.partCount ? `${record.partsDone || 0} of ${record.partCount} parts stored` : '';
      const discard = element('button', {
        type: 'button',
        class: 'secondary small',
        'aria-label': `Discard the upload of ${record.name}`,
        onclick: async () => {
          store.forget(record.key);
          if (record.uploadId) await this.uploader.api.cancel(record.uploadId).catch(() => {});
          this.showInterrupted();
        },
      }, 'Discard');
      list.append(element('li', { 'data-name': record.name },
        element('strong', {}, record.name), ` — ${formatBytes(record.size)}`,
        done ? `, ${done}` : '', ' ', discard));
    }
  }

  // --- one row per file ----------------------------------------------------------------

  addRow(upload) {
    const progress = element('progress', { max: '100', value: '0', 'aria-label': `Progress of ${upload.name}` });
    const status = element('span', { class: 'state' });
    const detail = element('span', { class: 'detail muted' });
    const notes = element('ul', { class: 'notes' });
    const cancel = element('button', {
      type: 'button', class: 'secondary small', 'aria-label': `Cancel ${upload.name}`, onclick: () => upload.cancel(),
    }, 'Cancel');
    const retry = element('button', {
      type: 'button', class: 'small', hidden: '', 'aria-label': `Try ${upload.name} again`, onclick: () => upload.retry(),
    }, 'Try again');
    const nameCell = element('th', { scope: 'row' }, element('span', { class: 'name' }, upload.name));
    if (upload.path !== upload.name) nameCell.append(element('small', { class: 'muted path' }, ` from ${upload.path}`));
    nameCell.append(notes);
    const row = element('tr', { 'data-name': upload.name, 'data-state': upload.state },
      nameCell,
      element('td', { class: 'num' }, formatBytes(upload.size)),
      element('td', { class: 'progress-cell' }, progress, detail),
      element('td', {}, status),
      element('td', { class: 'row-actions' }, cancel, retry));
    this.$('#upload-rows').append(row);
    this.rows.set(upload, { row, progress, status, detail, notes, cancel, retry, shownNotes: 0 });
    this.update(upload);
  }

  update(upload) {
    const parts = this.rows.get(upload);
    if (!parts) return;
    const { row, progress, status, detail, notes, cancel, retry } = parts;
    row.dataset.state = upload.state;
    const fraction = upload.size ? upload.sent / upload.size : (upload.state === 'verified' ? 1 : 0);
    progress.value = Math.round((upload.state === 'verified' ? 1 : fraction) * 100);
    let text = STATE_LABELS[upload.state] || upload.state;
    if (upload.partCount && ['uploading', 'completing', 'resuming'].includes(upload.state)) {
      text += ` — part ${Math.min(upload.partsDone + 1, upload.partCount)} of ${upload.partCount}`;
      row.dataset.partsDone = String(upload.partsDone);
    }
    status.textContent = text;
    status.className = `state badge ${{ verified: 'ok', failed: 'bad', cancelled: 'bad' }[upload.state] || 'busy'}`;
    detail.textContent = upload.state === 'verified'
      ? `${formatBytes(upload.size)}`
      : `${formatBytes(upload.sent)} of ${formatBytes(upload.size)}`;
    if (upload.notes.length !== parts.shownNotes || upload.message) {
      const lines = [...upload.notes];
      if (upload.state === 'failed' && upload.message) lines.push(upload.message);
      notes.replaceChildren(...lines.map((line) => element('li', {}, line)));
      parts.shownNotes = upload.notes.length;
    }
    cancel.hidden = upload.settled;
    retry.hidden = upload.state !== 'failed';
    if (upload.state === 'verified' && !this.results.has(upload)) this.addResult(upload);
    if (upload.state === 'failed') row.classList.add('row-error');
    else row.classList.remove('row-error');
    if (upload.settled && !parts.announced) {
      parts.announced = true;
      this.showInterrupted();
      this.announce(`${upload.name}: ${STATE_LABELS[upload.state]}. ${upload.state === 'failed' ? upload.message : ''}`);
    }
  }

  tick() {
    for (const upload of this.uploader.active) this.update(upload);
    if (!this.uploader.uploads.length) return;
    const totals = this.uploader.totals();
    if (!totals.files) {
      this.$('#overall-progress').value = 0;
      this.$('#overall-label').textContent = 'Every upload was cancelled.';
      this.$('#cancel-all').hidden = true;
      return;
    }
    const overall = this.$('#overall-progress');
    overall.value = totals.size ? Math.round((100 * totals.sent) / totals.size) : 100;
    const parts = [`${formatBytes(totals.sent)} of ${formatBytes(totals.size)}`,
      `${totals.verified} of ${totals.files} file${totals.files === 1 ? '' : 's'} verified`];
    if (totals.failed) parts.push(`${totals.failed} failed`);
    if (totals.busy && totals.rate > 0) parts.push(`${formatBytes(totals.rate)}/s`);
    if (totals.eta !== null) parts.push(`about ${formatDuration(totals.eta)} left`);
    this.$('#overall-label').textContent = parts.join(' · ');
    this.$('#cancel-all').hidden = !totals.busy;
  }

  // --- results ---------------------------------------------------------------------------

  addResult(upload) {
    this.results.add(upload);
    const file = upload.result;
    // Other parts of the page (the submission form) offer the new file at once.
    this.root.dispatchEvent(new CustomEvent('seqvault:file-verified', { detail: file, bubbles: true }));
    if (!this.$('#results')) return;
    this.$('#results').hidden = false;
    const fileUrl = this.config.fileUrl.replace('00000000-0000-0000-0000-000000000000', file.fileId);
    this.$('#result-rows').append(element('tr', { 'data-name': file.name },
      element('td', {}, element('input', {
        type: 'checkbox', name: 'file', value: file.fileId, checked: '', 'aria-label': `Select ${file.name}`,
      })),
      element('th', { scope: 'row' }, element('a', { href: fileUrl }, file.name), ` v${file.version}`),
      element('td', { class: 'mono file-id' }, file.fileId),
      element('td', { class: 'num' }, formatBytes(file.size)),
      element('td', { class: 'mono break', title: file.sha256 }, file.sha256)));
    const cells = this.$('#tsv-cells');
    cells.value = [...this.results].map((u) => `${u.result.name}:${u.result.fileId}`).join(' ');
  }
}

const root = document.querySelector('[data-uploader]');
if (root) {
  const config = JSON.parse(document.getElementById('uploader-config').textContent);
  if (!hashingAvailable()) {
    root.querySelector('#dropzone').classList.add('disabled');
    root.querySelector('#no-crypto').hidden = false;
    for (const input of root.querySelectorAll('input[type=file]')) input.disabled = true;
  } else {
    root.uploadPage = new UploadPage(root, config);
  }
}
