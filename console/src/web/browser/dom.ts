// Everything the page shows is inserted as text (textContent, Option), never as HTML: what a workstation reports
// (host names, paths, threat names) cannot become markup.

/** The element the page's markup guarantees; a missing one is a bug in the page, reported as such. */
export function $<T extends Element = HTMLElement>(selector: string): T {
  const el = document.querySelector<T>(selector);
  if (!el) throw new Error(`the console page has no ${selector}`);
  return el;
}

export type Cell = string | number | boolean | null | undefined | Node;

/** Replaces a row's cells. */
export function fillRow(tr: HTMLTableRowElement, cells: readonly Cell[]): void {
  const tds = cells.map((c) => {
    const td = document.createElement('td');
    if (c instanceof Node) td.append(c);
    else td.textContent = c == null ? '' : String(c);
    return td;
  });
  tr.replaceChildren(...tds);
}

/** Shows an outcome under a form: a success in the success style, a failure in the error style. */
export function say(selector: string, text: string, ok = false): void {
  const el = $(selector);
  el.textContent = text;
  el.className = ok ? 'ok' : 'error';
}

export function button(text: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.textContent = text;
  b.addEventListener('click', onClick);
  return b;
}

export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
