import { SandgateError } from '@sandgate/shared';

/** What a console user may do. Append only: stored role names map onto these. */
export const PERMISSIONS = ['view', 'manage-ioc-tasks', 'manage-policy', 'manage-users'] as const;
export type Permission = (typeof PERMISSIONS)[number];

/**
 * Built-in roles. `manage-ioc-tasks` is what group actions and group tasks need (issue 8); `manage-policy` covers
 * groups, their policies, membership and revoking agents.
 */
export const ROLES = {
  admin: ['view', 'manage-ioc-tasks', 'manage-policy', 'manage-users'],
  'policy-admin': ['view', 'manage-policy'],
  'ioc-operator': ['view', 'manage-ioc-tasks'],
  viewer: ['view'],
} as const satisfies Record<string, readonly Permission[]>;
export type Role = keyof typeof ROLES;
export const ROLE_NAMES = Object.keys(ROLES) as Role[];

export function isRole(name: string): name is Role {
  return Object.hasOwn(ROLES, name);
}

export function permissionsOf(role: string): readonly Permission[] {
  return isRole(role) ? ROLES[role] : [];
}

export function can(role: string, permission: Permission): boolean {
  return permissionsOf(role).includes(permission);
}

/** Throws CONSOLE_FORBIDDEN naming the missing permission. */
export function requirePermission(user: { name: string; role: string }, permission: Permission): void {
  if (!can(user.role, permission)) {
    throw new SandgateError('CONSOLE_FORBIDDEN', `${user.name} (role ${user.role}) lacks the ${permission} permission`, {
      params: { permission },
    });
  }
}
