import type { JobRecord } from './job-record.ts';
import { ACTIVE_STATES } from './job-record.ts';
import type { Translate } from './i18n.ts';

export const BADGE_NEUTRAL_COLOR = '#5F6368';
export const BADGE_THREAT_COLOR = '#D93025';

/** The slice of `browser.action` used. */
export interface ActionApiLike {
  setBadgeText(details: { text: string }): Promise<void>;
  setBadgeBackgroundColor(details: { color: string }): Promise<void>;
  setTitle(details: { title: string }): Promise<void>;
}

export interface BadgeState {
  text: string;
  color: string;
  title: string;
}

/**
 * The count of downloads still being analysed, in a neutral colour; red once a threat was found that the person has
 * not seen in the popup yet ("!" when nothing else is pending).
 */
export function computeBadge(records: readonly JobRecord[], threatsSeenAt: string | undefined, t: Translate): BadgeState {
  const active = records.filter((r) => ACTIVE_STATES.has(r.state)).length;
  const unseenThreat = records.some((r) => r.threatAt !== undefined && (threatsSeenAt === undefined || r.threatAt > threatsSeenAt));
  const text = active > 0 ? String(Math.min(active, 99)) : unseenThreat ? '!' : '';
  const color = unseenThreat ? BADGE_THREAT_COLOR : BADGE_NEUTRAL_COLOR;
  const title = unseenThreat ? t('badgeTitleThreat') : active > 0 ? t('badgeTitleAnalysing', [String(active)]) : t('badgeTitleIdle');
  return { text, color, title };
}

export async function renderBadge(action: ActionApiLike, badge: BadgeState): Promise<void> {
  await Promise.all([
    action.setBadgeText({ text: badge.text }),
    action.setBadgeBackgroundColor({ color: badge.color }),
    action.setTitle({ title: badge.title }),
  ]);
}
