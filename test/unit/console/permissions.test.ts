import { describe, expect, it } from 'vitest';
import { can, permissionsOf, requirePermission, ROLE_NAMES } from '#console/users/permissions.ts';

describe('console roles and permissions', () => {
  it.each([
    ['admin', ['view', 'manage-ioc-tasks', 'manage-policy', 'manage-users']],
    ['policy-admin', ['view', 'manage-policy']],
    ['ioc-operator', ['view', 'manage-ioc-tasks']],
    ['viewer', ['view']],
  ])('%s may do exactly %j', (role, perms) => {
    expect([...permissionsOf(role)].sort()).toEqual([...perms].sort());
  });

  it('only admins manage users, and only ioc operators and admins manage IOC scan tasks', () => {
    expect(ROLE_NAMES.filter((r) => can(r, 'manage-users'))).toEqual(['admin']);
    expect(ROLE_NAMES.filter((r) => can(r, 'manage-ioc-tasks')).sort()).toEqual(['admin', 'ioc-operator']);
  });

  it('an unknown role may do nothing', () => {
    expect(permissionsOf('root')).toEqual([]);
    expect(can('constructor', 'view')).toBe(false);
  });

  it('a refusal names the missing permission with CONSOLE_FORBIDDEN', () => {
    expect(() => requirePermission({ name: 'vera', role: 'viewer' }, 'manage-policy')).toThrowError(
      expect.objectContaining({ code: 'CONSOLE_FORBIDDEN', params: { permission: 'manage-policy' } }),
    );
    expect(() => requirePermission({ name: 'ada', role: 'admin' }, 'manage-policy')).not.toThrow();
  });
});
