import { z } from 'zod';

const userAgentDataSchema = z.object({ brands: z.array(z.object({ brand: z.string() })) });

/** Which browser captured a download, for provenance: chromium, chrome, edge, brave, opera or firefox. */
export function detectBrowserFamily(nav: object, isFirefox: boolean): string {
  if (isFirefox) return 'firefox';
  if ('brave' in nav) return 'brave';
  const uaData = userAgentDataSchema.safeParse(Reflect.get(nav, 'userAgentData'));
  const brands = uaData.success ? uaData.data.brands.map((b) => b.brand) : [];
  if (brands.includes('Microsoft Edge')) return 'edge';
  if (brands.includes('Brave')) return 'brave';
  if (brands.includes('Opera')) return 'opera';
  if (brands.includes('Google Chrome')) return 'chrome';
  return 'chromium';
}
