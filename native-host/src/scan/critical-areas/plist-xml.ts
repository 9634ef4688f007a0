import { SaxesParser } from 'saxes';

export type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

/**
 * An XML property list (launchd plists) as plain values. No DTD is read (saxes does not process one), so the
 * `<!DOCTYPE plist …>` every Apple plist carries is harmless. Binary plists (`bplist00`) are not parsed here: on macOS
 * the collector would convert them with `plutil -convert xml1 -o - FILE` first.
 * Why not the `plist` package: it parses with @xmldom/xmldom (a second XML parser in the agent, with its own history
 * of advisories) for what is 60 lines over the saxes parser the IOC reader already uses.
 */
export function parsePlistXml(text: string): PlistValue | undefined {
  const parser = new SaxesParser();
  const stack: Array<{ name: string; value: PlistValue[] | Record<string, PlistValue>; key?: string }> = [];
  let text_ = '';
  let result: PlistValue | undefined;
  const put = (v: PlistValue) => {
    const top = stack[stack.length - 1];
    if (!top) result = v;
    else if (Array.isArray(top.value)) top.value.push(v);
    else if (top.key !== undefined) {
      top.value[top.key] = v;
      top.key = undefined;
    }
  };
  parser.on('error', (e) => {
    throw e;
  });
  parser.on('opentag', (t) => {
    text_ = '';
    if (t.name === 'dict') stack.push({ name: 'dict', value: {} });
    else if (t.name === 'array') stack.push({ name: 'array', value: [] });
  });
  parser.on('text', (t) => (text_ += t));
  parser.on('closetag', (t) => {
    switch (t.name) {
      case 'dict':
      case 'array':
        put(stack.pop()!.value);
        break;
      case 'key': {
        const top = stack[stack.length - 1];
        if (top && !Array.isArray(top.value)) top.key = text_;
        break;
      }
      case 'string':
      case 'date':
      case 'data':
        put(text_);
        break;
      case 'integer':
      case 'real':
        put(Number(text_));
        break;
      case 'true':
      case 'false':
        put(t.name === 'true');
        break;
    }
    text_ = '';
  });
  parser.write(text).close();
  return result;
}
