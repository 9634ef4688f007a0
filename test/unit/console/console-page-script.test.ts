import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { CONSOLE_JS } from '../../../console/src/web/console-page.ts';

// The page's script is JavaScript inside a TypeScript template string: nothing else checks that it still parses
// (a `'\n'` written where `'\\n'` was meant breaks the whole page).
describe('the web console page', () => {
  it('serves a script that parses', () => {
    expect(() => new Script(CONSOLE_JS, { filename: 'console.js' })).not.toThrow();
  });
});
