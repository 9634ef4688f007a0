import { api } from './api.ts';
import { $, errorText } from './dom.ts';
import { pageState } from './page-state.ts';
import { loadTasks, showTask } from './tasks-view.ts';

// An operator's own hunt for a group (issue 18): the file as it is on disk, base64 in JSON, and the threat tasks'
// controls. The console checks everything again; the size here only spares an upload it would refuse.

/** HUNT_MAX_FILE_BYTES of shared/src/console/hunt.ts (the page imports nothing outside this folder). */
const MAX_FILE_BYTES = 256 * 1024;

export function fillHuntGroups(): void {
  const sel = $<HTMLSelectElement>('#hunt-group');
  const keep = sel.value;
  sel.replaceChildren();
  for (const g of pageState.groups) sel.append(new Option(g.name, String(g.id)));
  if (keep) sel.value = keep;
}

function base64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

interface HuntAnswer {
  id: string;
  workstations: number;
  awaitingApproval: boolean;
  file: { format: string; indicators: number };
}

export function wireHunts(): void {
  $<HTMLFormElement>('#hunt-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const f = new FormData(form);
    const file = f.get('file');
    const out = $('#hunt-error');
    if (!(file instanceof File)) return;
    if (file.size > MAX_FILE_BYTES) {
      out.textContent =
        'CONSOLE_HUNT_FILE_TOO_LARGE: ' + file.name + ' has ' + file.size + ' bytes; a hunt file may have at most ' + MAX_FILE_BYTES;
      return;
    }
    const scope = String(f.get('scope'));
    const options: Record<string, unknown> = {
      scope:
        scope === 'paths'
          ? String(f.get('paths') ?? '')
              .split(/\s+/)
              .filter(Boolean)
          : scope,
      runMode: String(f.get('runMode')),
      quarantineOnMatch: f.get('quarantine') !== null,
      dryRun: f.get('dryRun') !== null,
    };
    const canary = String(f.get('canaryPercent') ?? '');
    const max = String(f.get('maxWorkstations') ?? '');
    if (canary) options['canaryPercent'] = Number(canary);
    if (max) options['maxWorkstations'] = Number(max);
    try {
      const r = await api<HuntAnswer>('POST', 'hunts', {
        groupId: Number(f.get('group')),
        fileName: file.name,
        contentBase64: base64(new Uint8Array(await file.arrayBuffer())),
        options,
      });
      out.textContent =
        r.file.format +
        ', ' +
        r.file.indicators +
        ' indicator(s) or rule(s), ' +
        r.workstations +
        ' workstation(s)' +
        (r.awaitingApproval ? '; it quarantines nothing until another operator approves it' : '');
      await loadTasks();
      await showTask(r.id);
    } catch (err) {
      out.textContent = errorText(err);
    }
  });
}
