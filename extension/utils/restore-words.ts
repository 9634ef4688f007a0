import type { Translate } from './i18n.ts';
import type { JobRecord } from './job-record.ts';

/** The administrator's answer in plain words (issue 17), or what became of the person's own restore. */
export function restoreText(r: NonNullable<JobRecord['restore']>, t: Translate): string {
  const admin = r.by === 'administrator';
  switch (r.outcome) {
    case 'restored':
      return t(admin ? 'restoreDoneByAdmin' : 'restoreDone');
    case 'requested':
      return t('restoreRequested');
    case 'declined':
      return t('restoreDeclined', [r.reason ?? '']);
    case 'approved':
      return t('restoreApproved');
    case 'failed':
      return admin ? t('restoreRefused', [r.message ?? '']) : t('restoreFailed');
  }
}
