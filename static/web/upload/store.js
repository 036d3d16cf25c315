// What this browser remembers about unfinished multipart uploads, so that a reload or a lost
// connection resumes them. Only identities are kept here (which file, which upload); the parts
// already sent are always asked of the server, which asks S3.

const PREFIX = 'seqvault.upload.v1:';

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: uploads still work, they just cannot resume
  }
}

// A local file is recognised by its name, size and modification time.
export function fileKey(groupId, file) {
  return `${PREFIX}${groupId}:${file.size}:${file.lastModified}:${file.name}`;
}

export function load(key) {
  const store = storage();
  if (!store) return null;
  try {
    return JSON.parse(store.getItem(key) || 'null');
  } catch {
    return null;
  }
}

export function save(key, record) {
  const store = storage();
  if (!store) return;
  try {
    store.setItem(key, JSON.stringify({ ...record, savedAt: new Date().toISOString() }));
  } catch {
    // Full or disabled: this upload will not resume after a reload, but it goes on.
  }
}

export function forget(key) {
  const store = storage();
  if (store) store.removeItem(key);
}

export function unfinished(groupId) {
  const store = storage();
  if (!store) return [];
  const records = [];
  for (let i = 0; i < store.length; i += 1) {
    const key = store.key(i);
    if (key && key.startsWith(`${PREFIX}${groupId}:`)) {
      const record = load(key);
      if (record) records.push({ key, ...record });
    }
  }
  return records.sort((a, b) => (a.savedAt || '').localeCompare(b.savedAt || ''));
}
