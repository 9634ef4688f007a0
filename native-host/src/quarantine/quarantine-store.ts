import { list, listItems, show } from './list-items.ts';
import { restore } from './restore-item.ts';
import { remove } from './delete-item.ts';

export { quarantineObject, type QuarantineObjectOptions } from './quarantine-object.ts';
export { list, listItems, show, toListItem, type QuarantineListing } from './list-items.ts';
export { restore, type RestoreOptions } from './restore-item.ts';
export { remove, type DeleteOptions } from './delete-item.ts';
export type { ItemMetadata } from './item-metadata.ts';
export { fileKeySource, type KeySource } from './key-source.ts';

/** The store's operations under the names the CLI uses (`delete` is a reserved word as a function name). */
export const quarantineStore = { list, listItems, show, restore, delete: remove };
