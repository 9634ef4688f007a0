import { fillRow, type Cell } from './dom.ts';

// Lists update in place: a row is found again by its key and rewritten only when what it shows changed, so a
// refresh neither steals focus from a control in use nor closes an open drop-down, and 10,000 unchanged rows cost a
// comparison each rather than a rebuild. A row holding the focused element is left alone until the focus moves.

export interface KeyedRow {
  key: string;
  cells: readonly Cell[];
  /** What the row shows, as text: the row is rewritten when this changes. */
  signature: string;
  className?: string;
}

export function patchRows(tbody: HTMLTableSectionElement, rows: readonly KeyedRow[]): void {
  const existing = new Map<string, HTMLTableRowElement>();
  for (const tr of Array.from(tbody.rows)) existing.set(tr.dataset['key'] ?? '', tr);
  let previous: HTMLTableRowElement | null = null;
  for (const r of rows) {
    let tr = existing.get(r.key);
    existing.delete(r.key);
    if (!tr) {
      tr = document.createElement('tr');
      tr.dataset['key'] = r.key;
    }
    const busy = tr.contains(document.activeElement) && tr.isConnected;
    if (tr.dataset['signature'] !== r.signature && !busy) {
      fillRow(tr, r.cells);
      tr.dataset['signature'] = r.signature;
      tr.className = r.className ?? '';
    }
    const wanted: ChildNode | null = previous ? previous.nextSibling : tbody.firstChild;
    if (wanted !== tr) tbody.insertBefore(tr, wanted);
    previous = tr;
  }
  for (const gone of existing.values()) gone.remove();
}
