import { isAllowedFalsePositive } from './allowed-false-positive.ts';
import type { JobRecord } from './job-record.ts';
import type { Translate } from './i18n.ts';

/** The slice of `browser.notifications` used. */
export interface NotificationsApiLike {
  create(notificationId: string, options: { type: 'basic'; iconUrl: string; title: string; message: string }): Promise<string>;
}

/** Notification id per download, so a repeated update replaces rather than stacks. */
export function threatNotificationId(downloadId: number): string {
  return `sandgate-threat-${downloadId}`;
}

/** Title and text naming the file, the threat and what was done about it. */
export function threatMessage(record: JobRecord, t: Translate): { title: string; message: string } {
  const threat = record.threat ?? t('unnamedThreat');
  const quarantine = record.actions?.find((a) => a.type === 'quarantine');
  const key = isAllowedFalsePositive(record)
    ? 'notifyAllowedFalsePositive'
    : quarantine?.status === 'done'
      ? 'notifyQuarantined'
      : quarantine?.status === 'failed'
        ? 'notifyQuarantineFailed'
        : 'notifyNotQuarantined';
  return { title: t('notifyThreatTitle', [threat]), message: t(key, [record.fileName, threat]) };
}

export async function notifyThreat(notifications: NotificationsApiLike, t: Translate, record: JobRecord, iconUrl: string): Promise<void> {
  const { title, message } = threatMessage(record, t);
  await notifications.create(threatNotificationId(record.downloadId), { type: 'basic', iconUrl, title, message });
}

/** A notification about something done for the person (a held download released, a restore done or passed on). */
export async function notifyNotice(
  notifications: NotificationsApiLike,
  id: string,
  content: { title: string; message: string },
  iconUrl: string,
): Promise<void> {
  await notifications.create(id, { type: 'basic', iconUrl, ...content });
}
