import { readFileSync } from 'node:fs';
import type { Translate } from '../../../../extension/utils/i18n.ts';

const messagesUrl = new URL('../../../../extension/public/_locales/en/messages.json', import.meta.url);

export interface MessageEntry {
  message: string;
  placeholders?: Record<string, { content: string }>;
}

export function loadMessages(): Record<string, MessageEntry> {
  return JSON.parse(readFileSync(messagesUrl, 'utf8')) as Record<string, MessageEntry>;
}

/** `i18n.getMessage` over the real English message file, with Chrome's named-placeholder rules. */
export function englishTranslate(): Translate {
  const messages = loadMessages();
  return (key, substitutions = []) => {
    const entry = messages[key];
    if (!entry) throw new Error(`missing message ${key}`);
    return entry.message.replace(/\$([A-Za-z0-9_]+)\$/g, (_, name: string) => {
      const content = entry.placeholders?.[name.toLowerCase()]?.content ?? '';
      return content.replace(/\$(\d)/g, (__, n: string) => substitutions[Number(n) - 1] ?? '');
    });
  };
}
