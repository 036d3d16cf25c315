// "Copy" buttons: data-copy names the element whose value or text is copied.
for (const button of document.querySelectorAll('[data-copy]')) {
  button.addEventListener('click', async () => {
    const source = document.querySelector(button.dataset.copy);
    if (!source) return;
    const text = 'value' in source && source.value !== undefined ? source.value : source.textContent;
    const label = button.textContent;
    try {
      await navigator.clipboard.writeText(text.trim());
      button.textContent = 'Copied';
    } catch {
      if (source.select) source.select();
      button.textContent = 'Press Ctrl+C';
    }
    setTimeout(() => { button.textContent = label; }, 1500);
  });
}
