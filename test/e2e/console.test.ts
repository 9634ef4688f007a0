import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { pollFor, startStack, type Stack } from '#test-helpers/stack.ts';
import { launchPlainBrowser, type PlainBrowser } from '#test-helpers/browser.ts';
import { loginAs, runConsoleCli, startConsoleProcess, type ConsoleProcess } from '../integration/console/console-process.ts';
import { CHROMIUM_EXTENSION_ID, type RestoreAnswerView } from '@sandgate/shared';
import { spawnHost, type HostProcess } from '#test-helpers/spawn-host.ts';

// Assembled from pieces so this file is not itself the test string.
const EICAR = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-', 'ANTIVIRUS-TEST-FILE!$H+H*'].join('');
const EICAR_SHA256 = createHash('sha256').update(EICAR).digest('hex');
const ADMIN_PASSWORD = 'admin-password-for-tests';

type Workstation = Stack & { agentId: string; downloads: string };

/**
 * With SANDGATE_CONSOLE_SCREENSHOTS=DIR, each view is photographed as the scenario reaches it, light at desktop width
 * and dark at phone width (docs/console-screens/ holds the set console/README.md shows). Off by default.
 */
const SHOTS = process.env.SANDGATE_CONSOLE_SCREENSHOTS;
const shoot = async (page: Page, name: string) => {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}-light.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: join(SHOTS, `${name}-dark-phone.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 800 });
};

/** Opens one of the console's views from its navigation bar. */
const open = (page: Page, view: string) => page.click(`nav a[href="#${view}"]`);

/** Waits until a row of the table holds all these texts (the page refreshes on its own; nothing is reloaded here). */
const rowWith = (page: Page, table: string, ...texts: string[]) => {
  let rows = page.locator(`${table} tbody tr`);
  for (const t of texts) rows = rows.filter({ hasText: t });
  return rows.first().waitFor({ timeout: 30_000 });
};

describe('the web console in a real browser', () => {
  let dataDir: string;
  const env = { DATABASE_URL: undefined, SANDGATE_CONSOLE_DATA: undefined };
  let console_: ConsoleProcess;
  let browser: PlainBrowser;
  let admin: Awaited<ReturnType<typeof loginAs>>;
  const ws: Workstation[] = [];

  const cli = (args: string[], stdin?: string) => runConsoleCli([...args, '--data', dataDir], env, stdin);

  const workstation = async (): Promise<Workstation> => {
    const s = await startStack({ startAgent: false });
    ws.push(s as Workstation);
    s.env.SANDGATE_CONSOLE_HEARTBEAT_MS = '1000';
    s.env.SANDGATE_CONSOLE_RETRY_MAX_MS = '1000';
    s.env.HOME = join(s.root, 'user');
    const downloads = join(s.env.HOME, 'Downloads');
    mkdirSync(downloads, { recursive: true });
    const t = await cli(['token', 'create', '--json', '--group', 'office']);
    expect(t.code, t.stderr).toBe(0);
    const r = await s.sandgate([
      'enroll',
      console_.info.agentUrl,
      JSON.parse(t.stdout).token,
      '--ca-fingerprint',
      console_.info.caFingerprint,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    await s.startAgent();
    return Object.assign(s, { agentId: JSON.parse(r.stdout).agentId as string, downloads });
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sandgate-console-e2e-'));
    console_ = await startConsoleProcess(['--data', dataDir, '--port', '0', '--admin-port', '0'], env);
    expect((await cli(['user', 'add', 'admin', '--role', 'admin', '--password-stdin'], ADMIN_PASSWORD + '\n')).code).toBe(0);
    // The group and its actions are set through the API (the group-actions integration test covers that path); the
    // browser is for what a person watches and clicks.
    admin = await loginAs(console_.info.adminUrl, readFileSync(join(dataDir, 'ca', 'ca-cert.pem'), 'utf8'), 'admin', ADMIN_PASSWORD);
    expect((await admin('POST', 'groups', { name: 'office' })).status).toBe(200);
    const groupId = (await admin('GET', 'groups')).body.groups.find((g: { name: string }) => g.name === 'office').id;
    const actions = { onThreat: { scan: true, quarantineOnMatch: true, scope: ['~/Downloads'] }, taskExpiresHours: 1 };
    expect((await admin('PUT', `groups/${groupId}/actions`, { groupActions: actions })).status).toBe(200);
    await Promise.all([workstation(), workstation()]);
    browser = await launchPlainBrowser({ ignoreHTTPSErrors: true });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    for (const w of ws) await w.close();
    await console_?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('log in, see the workstations and their events, watch a group task quarantine the threat elsewhere, restore it from the page', async () => {
    const { page } = browser;
    const scriptErrors: string[] = [];
    page.on('pageerror', (err) => scriptErrors.push(err.message));
    const [catcher, other] = [ws[0]!, ws[1]!];
    const planted = join(other.downloads, 'eicar.com');
    writeFileSync(planted, EICAR);

    await page.goto(console_.info.adminUrl);
    await page.fill('#login-form input[name=name]', 'admin');
    await page.fill('#login-form input[name=password]', ADMIN_PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.locator('#app').waitFor({ state: 'visible' });
    expect(await page.textContent('#who')).toContain('admin');
    // Both workstations, online, in their group.
    await page.locator('#agents tbody tr', { hasText: 'online' }).nth(1).waitFor({ timeout: 30_000 });
    expect(await page.locator('#agents tbody tr').count()).toBe(2);
    // Two workstations on one machine share a host name: each row also shows its id, and when its certificate ends.
    for (const w of ws) await rowWith(page, '#agents', w.agentId.slice(0, 8), 'in 36'); // "in 364 days"
    // The filter narrows the list as one types, and the page's own refresh keeps it narrowed.
    await page.fill('#agents-filter', other.agentId.slice(0, 8));
    await page.waitForTimeout(5_500);
    expect(await page.locator('#agents tbody tr').count()).toBe(1);
    await page.fill('#agents-filter', '');
    // Moving a group drop-down changes nothing until "move" is pressed, and the page's refresh neither steals the
    // focus from it nor undoes the choice in progress.
    const picker = page.locator('#agents tbody tr', { hasText: catcher.agentId.slice(0, 8) }).locator('select');
    await picker.selectOption({ label: '(none)' });
    await picker.focus();
    await page.waitForTimeout(5_500);
    expect(
      await picker.evaluate((el) => el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement),
    ).toBe(true);
    expect(await picker.inputValue()).toBe('');
    const listed = (await admin('GET', 'agents')).body.agents.find((a: { id: string }) => a.id === catcher.agentId);
    expect(listed.group_name).toBe('office');
    await picker.selectOption({ label: 'office' });
    await picker.blur();
    await shoot(page, 'workstations');

    // The first workstation catches EICAR; the group task appears and, opened, shows the other one quarantining it.
    const dl = join(catcher.root, 'first.com');
    writeFileSync(dl, EICAR);
    const submitted = await catcher.sandgate(['submit', dl, '--wait', '--json']);
    expect(submitted.code, submitted.stderr).toBe(1);
    await open(page, 'tasks');
    await rowWith(page, '#tasks', 'first.com');
    await page.locator('#tasks tbody tr', { hasText: 'first.com' }).getByRole('button', { name: 'open' }).click();
    // One workstation's word is not enough to quarantine elsewhere (issue 14): the page says why the task waits, the
    // other workstation has found the copy and holds it, and the administrator's approval is the second witness.
    await page.locator('#task-witness', { hasText: 'second witness' }).waitFor({ timeout: 30_000 });
    await page.locator('#task-approve').waitFor({ state: 'visible' });
    expect(existsSync(planted)).toBe(true);
    page.once('dialog', (d) => void d.accept());
    await page.click('#task-approve');
    await rowWith(page, '#task-shares', 'matched', `${planted} → quarantined`);
    await page.locator('#task-progress', { hasText: /^1 workstations: 1 \w+/ }).waitFor({ timeout: 10_000 });
    // When it was witnessed reads as a relative time, the exact local time on hover, not a raw UTC stamp.
    await page.locator('#task-witness time').waitFor({ timeout: 10_000 });
    expect(await page.textContent('#task-witness')).toMatch(/^witnessed: approved by user:admin, (now|\d+ seconds? ago)/);
    expect(await page.textContent('#task-witness')).not.toMatch(/\d{4}-\d{2}-\d{2}T/);
    await shoot(page, 'tasks');
    expect(existsSync(planted)).toBe(false);
    await open(page, 'audit');
    await rowWith(page, '#audit', 'group-task.approve');

    // The events the agents shipped: both quarantines appear in the events view, refreshed in place.
    await page.reload();
    await page.locator('#app').waitFor({ state: 'visible' });
    await open(page, 'events');
    await rowWith(page, '#events', 'quarantined', planted);
    await rowWith(page, '#events', 'verdict');
    // Threats only: the quarantines stay, marked as threats; the service's own comings and goings leave the list.
    const infoRows = () => page.locator('#events tbody tr.sev-row-info').count();
    await expect.poll(infoRows, { timeout: 10_000 }).toBeGreaterThan(0);
    // The console filters, not the page: the request names the severity and the answer holds threats only.
    const asked = page.waitForResponse((r) => /\/api\/events\?.*severity=threat/.test(r.url()));
    await page.selectOption('#events-severity', 'threat');
    const answer = (await (await asked).json()) as { events: Array<{ severity: string; hostname: string; group_name: string }> };
    expect(answer.events.length).toBeGreaterThan(0);
    expect(answer.events.every((e) => e.severity === 'threat' && e.group_name === 'office')).toBe(true);
    await rowWith(page, '#events', 'threat', 'quarantined', planted, 'office');
    await expect.poll(infoRows, { timeout: 10_000 }).toBe(0);
    await shoot(page, 'events');

    // A false positive after all: the restore button next to the event fills the form for that workstation.
    await page
      .locator('#events tbody tr', { hasText: planted })
      .filter({ hasText: 'quarantined' })
      .getByRole('button', { name: 'restore…' })
      .click();
    expect(await page.inputValue('#restore-form input[name=sha256]')).toBe(EICAR_SHA256);
    await page.locator('#restore-where').waitFor({ state: 'visible' });
    await expect.poll(() => page.inputValue('#restore-where'), { timeout: 10_000 }).toBe(`agent:${other.agentId}`);
    // A restore puts a malicious file back: the page asks first, naming the object and the workstation.
    const confirmed = new Promise<string>((resolve) => page.once('dialog', (d) => (resolve(d.message()), void d.accept())));
    await page.click('#restore-form button[type=submit]');
    expect(await confirmed).toContain(EICAR_SHA256);
    await rowWith(page, '#restore-shares', 'done', `${planted} → restored`);
    expect(readFileSync(planted, 'utf8')).toBe(EICAR);
    await shoot(page, 'restores');
    await open(page, 'audit');
    await rowWith(page, '#audit', 'quarantine.restore', EICAR_SHA256);
    await shoot(page, 'audit');

    // A new workstation: the page makes a one-time token and shows the line to run there, with this console's address.
    await open(page, 'users');
    await page.selectOption('#token-group', 'office');
    await page.click('#token-form button[type=submit]');
    await page.locator('#token-line', { hasText: 'sandgate enroll' }).waitFor({ timeout: 10_000 });
    const line = (await page.textContent('#token-line')) ?? '';
    expect(line).toMatch(/^sandgate enroll https:\/\/\S+:\d+ sgt_\S+ --ca-fingerprint \S+$/);
    expect(line).toContain(`:${new URL(console_.info.agentUrl).port} `);
    expect(line).toContain(console_.info.caFingerprint);
    await shoot(page, 'users');

    // A policy change is shown key by key before it is saved, and only the confirmed save reaches the group.
    await open(page, 'groups');
    await page.locator('#groups tbody tr', { hasText: 'office' }).getByRole('button', { name: 'edit policy' }).click();
    const doc = JSON.parse(await page.inputValue('#policy-text'));
    expect(doc.groupActions.taskExpiresHours).toBe(1);
    await page.fill('#policy-text', JSON.stringify({ ...doc, groupActions: { ...doc.groupActions, taskExpiresHours: 2 } }, null, 2));
    await page.click('#policy-save');
    // Shown once the console has checked the document (the save button checks before it shows the changes).
    await page.locator('#policy-review').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await page.textContent('#policy-changes')).toBe('~ groupActions.taskExpiresHours: 1 → 2');
    await shoot(page, 'groups');
    const office = async () => (await admin('GET', 'groups')).body.groups.find((g: { name: string }) => g.name === 'office');
    expect((await office()).group_actions.taskExpiresHours).toBe(1);
    await page.click('#policy-confirm');
    await page.locator('#group-error', { hasText: 'saved' }).waitFor({ timeout: 10_000 });
    expect((await office()).group_actions.taskExpiresHours).toBe(2);

    // Typing a value the agents would refuse: the key and what is wrong with it appear beside the editor, with what
    // the key is for, and Save stays disabled until it is fixed.
    const saved = JSON.parse(await page.inputValue('#policy-text'));
    const typed = (hours: number) =>
      JSON.stringify({ ...saved, groupActions: { ...saved.groupActions, taskExpiresHours: hours } }, null, 2);
    await page.fill('#policy-text', typed(-5));
    const issue = page.locator('#policy-issues li', { hasText: 'groupActions.taskExpiresHours' });
    await issue.waitFor({ timeout: 10_000 });
    expect(await issue.textContent()).toMatch(/>\s*0|too small/i);
    expect(await issue.textContent()).toContain('Default: 168');
    expect(await page.isDisabled('#policy-save')).toBe(true);
    // The help lists every key with what it takes, its default and what it does, from the agents' own schema; a
    // problem's "about this key" opens it on that key.
    await issue.getByRole('button', { name: 'about this key' }).click();
    const help = page.locator('#policy-keys tbody tr:visible');
    await expect.poll(() => help.count(), { timeout: 10_000 }).toBe(1);
    expect(await help.locator('td').nth(0).textContent()).toBe('groupActions.taskExpiresHours');
    expect(await help.locator('td').nth(2).textContent()).toBe('168');
    await page.fill('#policy-help-filter', 'connectTimeoutMs');
    await expect.poll(() => help.count(), { timeout: 10_000 }).toBe(1);
    expect(await help.textContent()).toContain('sandbox.connectTimeoutMs');
    expect(await help.locator('td').nth(2).textContent()).toBe('500');
    expect(await help.textContent()).toContain('the next server is tried');
    await shoot(page, 'policy-editor');
    await page.fill('#policy-text', typed(3));
    await page.locator('#policy-valid', { hasText: /^valid$/ }).waitFor({ timeout: 10_000 });
    expect(await page.locator('#policy-issues li').count()).toBe(0);
    expect(await page.isEnabled('#policy-save')).toBe(true);

    // Logging out ends the session: a reload shows the login form again.
    await page.click('#logout');
    await page.locator('#login').waitFor({ state: 'visible' });
    await page.reload();
    await page.locator('#login').waitFor({ state: 'visible' });
    expect(await page.locator('#app').isHidden()).toBe(true);
    expect(scriptErrors).toEqual([]);
  });

  it("start a hunt with one's own YARA file from the page: the group's workstations report the file it finds (issue 18)", async () => {
    const { page } = browser;
    const scriptErrors: string[] = [];
    page.on('pageerror', (err) => scriptErrors.push(err.message));
    const marked = join(ws[1]!.downloads, 'build-tool.bin');
    writeFileSync(marked, 'prefix SANDGATE-E2E-HUNT-MARKER suffix');
    await page.goto(console_.info.adminUrl);
    await page.fill('#login-form input[name=name]', 'admin');
    await page.fill('#login-form input[name=password]', ADMIN_PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.locator('#app').waitFor({ state: 'visible' });
    await open(page, 'tasks');
    await page.locator('#hunt-group option', { hasText: 'office' }).waitFor({ state: 'attached' });
    await page.selectOption('#hunt-group', { label: 'office' });
    await page.setInputFiles('#hunt-form input[name=file]', {
      name: 'marker.yar',
      mimeType: 'text/plain',
      buffer: Buffer.from('rule e2e_marker {\n  strings: $a = "SANDGATE-E2E-HUNT-MARKER"\n  condition: $a\n}\n'),
    });
    await page.selectOption('#hunt-form select[name=scope]', 'paths');
    await page.fill('#hunt-form input[name=paths]', '~/Downloads');
    await page.click('#hunt-form button[type=submit]');
    await page.locator('#hunt-error', { hasText: 'yara, 1 indicator(s) or rule(s), 2 workstation(s)' }).waitFor({ timeout: 30_000 });
    await rowWith(page, '#tasks', 'marker.yar', 'hunt (yara)');
    await rowWith(page, '#task-shares', 'matched', `${marked} → reported`);
    expect(existsSync(marked)).toBe(true);
    await open(page, 'audit');
    await rowWith(page, '#audit', 'hunt.create');
    expect(scriptErrors).toEqual([]);
  });

  it("answer employees' restore requests from the page: approve one (the file comes back), decline one (the reason reaches them) (issue 17)", async () => {
    const { page } = browser;
    const scriptErrors: string[] = [];
    page.on('pageerror', (err) => scriptErrors.push(err.message));
    const origin = `chrome-extension://${CHROMIUM_EXTENSION_ID}/`;
    const hosts: HostProcess[] = [];
    let next = 0;
    /** What the browser side asks of a workstation's agent, through the real native host. */
    const ask = async (host: HostProcess, type: string, payload: object): Promise<any> => {
      const id = `e${++next}`;
      host.send({ v: 1, kind: 'request', id, type, payload });
      for (;;) {
        const f = (await host.nextFrame()) as { kind?: string; id?: string; ok?: boolean; data?: unknown; error?: unknown };
        if (f.kind === 'response' && f.id === id) {
          if (!f.ok) throw new Error(`${type}: ${JSON.stringify(f.error)}`);
          return f.data;
        }
      }
    };
    /** A person on workstation `w` downloads `name` (EICAR), it is quarantined, and they click "Ask for restore". */
    const askForRestore = async (w: Workstation, name: string) => {
      const host = spawnHost({
        home: w.home,
        args: ['--allow-origin', origin, '--', origin],
        env: { PATH: w.env.PATH!, HOME: w.env.HOME! },
      });
      hosts.push(host);
      const path = join(w.downloads, name);
      writeFileSync(path, EICAR);
      await ask(host, 'submit-download', { path, provenance: { source: 'browser', browser: 'chromium', downloadId: 7 } });
      const id = await pollFor(
        `${name} quarantined`,
        async () => {
          const r = (await ask(host, 'list-quarantine', { browser: 'chromium', limit: 50 })) as {
            items: Array<{ id: string; originalPath: string }>;
          };
          return r.items.find((i) => i.originalPath === path)?.id;
        },
        60_000,
      );
      expect(await ask(host, 'restore-quarantined', { id })).toEqual({ outcome: 'requested' });
      const answer = (ready: (a: RestoreAnswerView) => boolean) =>
        pollFor(
          `the answer about ${name}`,
          async () => {
            const r = (await ask(host, 'list-quarantine', { browser: 'chromium', limit: 50 })) as { answers?: RestoreAnswerView[] };
            const a = r.answers?.find((x) => x.quarantineId === id);
            return a && ready(a) ? a : undefined;
          },
          60_000,
        );
      return { path, answer };
    };
    try {
      const kept = await askForRestore(ws[0]!, 'keep-me.exe');
      const back = await askForRestore(ws[1]!, 'give-back.exe');

      // A fresh sign-in: the test before may have left a session (it does not log out).
      await page.context().clearCookies();
      await page.goto(console_.info.adminUrl);
      await page.fill('#login-form input[name=name]', 'admin');
      await page.fill('#login-form input[name=password]', ADMIN_PASSWORD);
      await page.click('#login-form button[type=submit]');
      await page.locator('#app').waitFor({ state: 'visible' });
      await open(page, 'requests');
      // Each request names the file, the threat and the workstation; the page refreshes them in by itself.
      await rowWith(page, '#requests', 'keep-me.exe', 'EICAR', 'waiting for an answer');
      await rowWith(page, '#requests', 'give-back.exe', 'EICAR');
      await shoot(page, 'restore-requests');

      // Decline: a reason is required, and it is what the person reads.
      const keepRow = page.locator('#requests tbody tr', { hasText: 'keep-me.exe' });
      await keepRow.getByRole('button', { name: 'Decline' }).click();
      await page.locator('#requests-message', { hasText: 'say why' }).waitFor({ timeout: 10_000 });
      await keepRow.locator('input.decline-reason').fill('This one really is malware: ask IT for a clean copy.');
      await keepRow.getByRole('button', { name: 'Decline' }).click();
      await page.locator('#requests-message', { hasText: 'declined: keep-me.exe' }).waitFor({ timeout: 10_000 });
      const declined = await kept.answer((a) => a.state === 'declined');
      expect(declined.reason).toBe('This one really is malware: ask IT for a clean copy.');
      expect(existsSync(kept.path)).toBe(false);

      // Approve: confirmed first, naming the file and the workstation; then the file is back where it was. The admin
      // also declares it a false positive ("also allow it in the group"): its SHA-256 joins the group's allow list.
      // The allow list is in the group's policy: the group gets one (this workstation's own) first.
      const officeId = (await admin('GET', 'groups')).body.groups.find((g: { name: string }) => g.name === 'office').id;
      const policy = JSON.parse(readFileSync(ws[1]!.policyPath, 'utf8'));
      expect((await admin('PUT', `groups/${officeId}/policy`, { policy })).status).toBe(200);
      const backRow = page.locator('#requests tbody tr', { hasText: 'give-back.exe' });
      const asked = new Promise<string>((resolve) => page.once('dialog', (d) => (resolve(d.message()), void d.accept())));
      await backRow.getByLabel('also allow it in the group').check();
      await backRow.getByRole('button', { name: 'Approve…' }).click();
      expect(await asked).toMatch(/give-back\.exe[\s\S]*also allowed in the workstation's group/);
      await page.locator('#requests-message', { hasText: 'and allowed in its group' }).waitFor({ timeout: 10_000 });
      const office = (await admin('GET', 'groups')).body.groups.find((g: { name: string }) => g.name === 'office');
      expect(office.policy.response.allowSha256).toContain(EICAR_SHA256);
      const restored = await back.answer((a) => a.state === 'restored' || a.state === 'refused');
      expect(restored).toMatchObject({ state: 'restored', path: back.path });
      expect(readFileSync(back.path, 'utf8')).toBe(EICAR);

      // Answered requests leave the open list and show what became of them.
      await page.selectOption('#requests-state', 'approved');
      await rowWith(page, '#requests', 'give-back.exe', 'approved by user:admin; restored').catch(async (err: Error) => {
        const shown = await page.textContent('#requests tbody');
        const api = (await admin('GET', 'restore-requests?state=approved')).body;
        throw new Error(`${err.message}\nshown: ${shown}\napi: ${JSON.stringify(api)}`);
      });
      await page.selectOption('#requests-state', 'declined');
      await rowWith(page, '#requests', 'keep-me.exe', 'declined by user:admin: This one really is malware');
      await open(page, 'audit');
      await rowWith(page, '#audit', 'restore-request.approve', 'give-back.exe');
      await rowWith(page, '#audit', 'restore-request.decline', 'keep-me.exe');
      expect(scriptErrors).toEqual([]);
    } finally {
      for (const h of hosts) h.end();
    }
  });
});
