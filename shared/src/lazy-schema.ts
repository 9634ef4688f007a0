/**
 * A schema built the first time it is used, not when its module loads (issue 15). Building a zod schema is not free
 * (each `z.…()` makes an instance, and the first ones compile zod's code): in CPU profiles of
 * `sandgate status`, much of its start-up went to protocol schemas that a run finding no agent never uses. The value stands for
 * the schema itself (same type, same methods, `instanceof` and zod's own checks see through it), so callers and the
 * schemas that embed it are unchanged, and every boundary validates exactly as before.
 *
 * Only for schemas that are not keys of a registry (`.describe()`, `.meta()`, `z.toJSONSchema`): a registry is keyed
 * by the built instance, never by this stand-in.
 */
export function lazySchema<T extends object>(build: () => T): T {
  let built: T | undefined;
  const schema = (): T => (built ??= build());
  // The target only anchors the proxy; every trap answers from the built schema. Descriptors are reported
  // configurable: the target lacks the schema's own non-configurable `_zod`, and a proxy may not claim one it lacks.
  return new Proxy(Object.create(null) as T, {
    get: (_, key) => Reflect.get(schema(), key),
    set: (_, key, value) => Reflect.set(schema(), key, value),
    has: (_, key) => Reflect.has(schema(), key),
    ownKeys: () => Reflect.ownKeys(schema()),
    getOwnPropertyDescriptor: (_, key) => {
      const d = Reflect.getOwnPropertyDescriptor(schema(), key);
      return d && { ...d, configurable: true };
    },
    defineProperty: (_, key, d) => Reflect.defineProperty(schema(), key, d),
    deleteProperty: (_, key) => Reflect.deleteProperty(schema(), key),
    getPrototypeOf: () => Reflect.getPrototypeOf(schema()),
  });
}
