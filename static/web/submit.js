// The submission form, made quicker with JavaScript (it works without): add attachment rows,
// and offer files the moment the uploader on this page has verified them.

const form = document.getElementById('submission-form');
const rows = form && form.querySelector('#attachments tbody');
const template = document.getElementById('attachment-template');
const total = form && form.querySelector('input[name="att-TOTAL_FORMS"]');

function addRow() {
  const index = Number(total.value);
  const html = template.innerHTML
    .replaceAll('__prefix__', String(index))
    .replaceAll('__number__', String(index + 1));
  rows.insertAdjacentHTML('beforeend', html);
  total.value = String(index + 1);
  return rows.lastElementChild;
}

function fileLabel(file) {
  const size = file.size === null ? 'size unknown' : `${file.size.toLocaleString('en')} bytes`;
  return `${file.name} v${file.version} · ${size} · ${file.fileId}`;
}

function offer(file) {
  const selects = [...form.querySelectorAll('select[name$="-file"]')];
  const templateSelect = template.content.querySelector('select[name$="-file"]');
  for (const select of [...selects, templateSelect]) {
    if (select && ![...select.options].some((o) => o.value === file.fileId)) {
      select.add(new Option(fileLabel(file), file.fileId));
    }
  }
  const blank = selects.find((select) => !select.value);
  const row = blank ? blank.closest('tr') : addRow();
  const select = row.querySelector('select[name$="-file"]');
  select.value = file.fileId;
  select.dispatchEvent(new Event('change', { bubbles: true }));
}

if (form && rows && template && total) {
  const button = document.getElementById('add-row');
  button.hidden = false;
  button.addEventListener('click', () => {
    const row = addRow();
    row.querySelector('input, select').focus();
  });
  document.addEventListener('seqvault:file-verified', (event) => offer(event.detail));
  const summary = document.getElementById('error-summary');
  if (summary) summary.focus();
}
