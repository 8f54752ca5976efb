/** A tiny helper to build DOM nodes, so widgets read as the structure they render. */
import type { TranslationBundle } from '@jupyterlab/translation';

type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: { [name: string]: string | boolean | undefined } = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) {
      continue;
    }
    node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    node.appendChild(
      typeof child === 'string' ? document.createTextNode(child) : child
    );
  }
  return node;
}

/** A labelled form row: `<label><span>text</span> control</label>`. */
export function field(
  text: string,
  control: HTMLElement,
  hint?: string
): HTMLElement {
  return h(
    'label',
    { class: 'jp-JupyterRepo-field' },
    h('span', { class: 'jp-JupyterRepo-fieldLabel' }, text),
    control,
    hint ? h('small', { class: 'jp-JupyterRepo-hint' }, hint) : null
  );
}

/** A repository-friendly name from a file or folder name: lower case, no odd characters. */
export function slugify(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-._]+|[-._]+$/g, '')
    .slice(0, 100);
}

/** `1.5 MB`-style sizes (decimal units, as the CLI prints them). */
export function formatSize(bytes: number, trans: TranslationBundle): string {
  if (bytes < 1000) {
    return trans._n('%1 byte', '%1 bytes', bytes);
  }
  let value = bytes;
  for (const unit of ['kB', 'MB', 'GB']) {
    value /= 1000;
    if (value < 1000 || unit === 'GB') {
      return `${value.toFixed(1)} ${unit}`;
    }
  }
  return trans._n('%1 byte', '%1 bytes', bytes);
}
