import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';

/**
 * The IOC formats an IOC scan reads, told apart by content (never by file name): OpenIOC 1.0/1.1 XML, STIX 2.1 JSON
 * (a bundle or a single `indicator`), YARA rule source. @since issue 18.
 */
export const iocFormatSchema = lazySchema(() => z.enum(['openioc', 'stix', 'yara']));
export type IocFormat = z.infer<typeof iocFormatSchema>;
