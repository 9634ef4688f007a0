import { allowed, api } from './api.ts';
import { $, button, errorText, say } from './dom.ts';
import { patchRows } from './keyed-rows.ts';
import { timeCell } from './time.ts';

// Employees' restore requests (issue 17): what people asked for with "Ask for restore" in their popup, answered here
// once. Approve restores the file on that workstation (confirmed first); Decline needs a reason, which the person
// reads in their popup.

interface InboxRow {
  id: string;
  hostname: string | null;
  agentId: string;
  sha256: string;
  fileName: string | null;
  path: string | null;
  threat: string | null;
  askedBy: string | null;
  askedAt: string;
  state: 'open' | 'approved' | 'declined';
  answeredBy: string | null;
  answeredAt: string | null;
  reason: string | null;
  restore: { state: string; items: Array<{ path: string; outcome: string; code?: string }> } | null;
  delivered: boolean;
}

interface InboxPage {
  requests: InboxRow[];
  total: number;
  counts: Record<'open' | 'approved' | 'declined', number>;
}

const PAGE = 50;
let offset = 0;

const host = (r: InboxRow) => r.hostname ?? r.agentId.slice(0, 8);
const fileOf = (r: InboxRow) => r.fileName ?? r.sha256.slice(0, 12) + '…';

/** What an answered request came to, in words: the restore's outcome on the workstation, or the decline's reason. */
function outcomeText(r: InboxRow): string {
  if (r.state === 'declined') return 'declined by ' + (r.answeredBy ?? '?') + ': ' + (r.reason ?? '');
  if (r.state === 'open') return 'waiting for an answer';
  const by = 'approved by ' + (r.answeredBy ?? '?');
  if (!r.restore || r.restore.state === 'pending') return by + '; restore on its way';
  if (r.restore.state !== 'done') return by + '; restore ' + r.restore.state;
  const refused = r.restore.items.filter((i) => i.outcome !== 'restored');
  if (!r.restore.items.length) return by + '; nothing left to restore there';
  return refused.length ? by + '; refused there: ' + refused.map((i) => i.code ?? i.outcome).join(', ') : by + '; restored';
}

function answerControls(r: InboxRow): Node | string {
  if (r.state !== 'open') return r.delivered ? 'the person has been told' : 'not yet delivered to the workstation';
  if (!allowed('manage-ioc-tasks')) return '';
  const box = document.createElement('div');
  box.className = 'bar';
  // Declaring a false positive changes the group's policy: offered only to those who may (manage-policy).
  const allow = document.createElement('input');
  allow.type = 'checkbox';
  allow.className = 'approve-allow';
  const allowLabel = document.createElement('label');
  allowLabel.append(allow, ' also allow it in the group');
  allowLabel.title = "declares a false positive: its SHA-256 joins the group's allow list, so no member quarantines it again";
  const approve = button('Approve…', () => void approveRequest(r, allow.checked));
  approve.className = 'approve';
  const reason = document.createElement('input');
  reason.className = 'decline-reason';
  reason.maxLength = 500;
  reason.placeholder = 'reason shown to the person';
  reason.setAttribute('aria-label', 'reason for declining ' + fileOf(r) + ' on ' + host(r));
  const decline = button('Decline', () => void declineRequest(r, reason));
  decline.className = 'decline';
  box.append(approve);
  if (allowed('manage-policy')) box.append(allowLabel);
  box.append(reason, decline);
  return box;
}

async function approveRequest(r: InboxRow, allow: boolean): Promise<void> {
  // Puts a file judged malicious back in front of a person: said in words and confirmed, never one click.
  const sure = confirm(
    'Restore ' +
      fileOf(r) +
      (r.threat ? ' (' + r.threat + ')' : '') +
      ' on ' +
      host(r) +
      ' for ' +
      (r.askedBy ?? 'the person who asked') +
      '?' +
      (allow ? "\nIt is also allowed in the workstation's group: no member quarantines it again." : ''),
  );
  if (!sure) return;
  try {
    await api('POST', 'restore-requests/' + encodeURIComponent(r.id) + '/approve', allow ? { allow: true } : {});
    say(
      '#requests-message',
      'approved: ' + fileOf(r) + ' is being restored on ' + host(r) + (allow ? ', and allowed in its group' : ''),
      true,
    );
  } catch (err) {
    say('#requests-message', errorText(err));
  }
  await loadRequests();
}

async function declineRequest(r: InboxRow, input: HTMLInputElement): Promise<void> {
  const reason = input.value.trim();
  if (!reason) {
    say('#requests-message', 'say why you decline: the person reads it in their browser');
    input.focus();
    return;
  }
  try {
    await api('POST', 'restore-requests/' + encodeURIComponent(r.id) + '/decline', { reason });
    say('#requests-message', 'declined: ' + fileOf(r) + ' on ' + host(r), true);
    input.blur();
  } catch (err) {
    say('#requests-message', errorText(err));
  }
  await loadRequests();
}

export async function loadRequests(): Promise<void> {
  const state = $<HTMLSelectElement>('#requests-state').value || 'open';
  const page = await api<InboxPage>('GET', 'restore-requests?state=' + encodeURIComponent(state) + '&limit=' + PAGE + '&offset=' + offset);
  $('#requests-counts').textContent =
    page.counts.open + ' waiting for an answer, ' + page.counts.approved + ' approved, ' + page.counts.declined + ' declined';
  const last = Math.min(offset + page.requests.length, page.total);
  $('#requests-page').textContent = page.total ? offset + 1 + '–' + last + ' of ' + page.total : 'none';
  $<HTMLButtonElement>('#requests-prev').disabled = offset === 0;
  $<HTMLButtonElement>('#requests-next').disabled = offset + PAGE >= page.total;
  patchRows(
    $<HTMLTableSectionElement>('#requests tbody'),
    page.requests.map((r) => ({
      key: r.id,
      cells: [fileOf(r), r.threat ?? '', host(r), r.askedBy ?? '', timeCell(r.askedAt), outcomeText(r), answerControls(r)],
      // The controls depend on the user's permission, which does not change within a page.
      signature: JSON.stringify(r),
    })),
  );
}

export function wireRequests(): void {
  $<HTMLSelectElement>('#requests-state').addEventListener('change', () => {
    offset = 0;
    void loadRequests().catch((err: unknown) => say('#requests-message', errorText(err)));
  });
  $('#requests-prev').addEventListener('click', () => {
    offset = Math.max(0, offset - PAGE);
    void loadRequests();
  });
  $('#requests-next').addEventListener('click', () => {
    offset += PAGE;
    void loadRequests();
  });
}
