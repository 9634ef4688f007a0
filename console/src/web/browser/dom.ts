// Everything the page shows is inserted as text (textContent, Option), never as HTML: what a workstation reports
// (host names, paths, threat names) cannot become markup.

/** The element the page's markup guarantees; a missing one is a bug in the page, reported as such. */
export function $<T extends Element = HTMLElement>(selector: string): T {
  const el = document.querySelector<T>(selector);
  if (!el) throw new Error(`the console page has no ${selector}`);
  return el;
}

export type Cell = string | number | boolean | null | undefined | Node;

/** Appends a row of cells: nodes as they are, anything else as text. */
export function row(tbody: Element, cells: readonly Cell[]): HTMLTableRowElement {
  const tr = document.createElement('tr');
  fillRow(tr, cells);
  tbody.append(tr);
  return tr;
}

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

/** The tbody of a table, emptied for new rows. */
export function emptyBody(table: string): HTMLTableSectionElement {
  const tbody = $<HTMLTableSectionElement>(`${table} tbody`);
  tbody.replaceChildren();
  return tbody;
}

export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
