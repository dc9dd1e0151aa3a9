import { ADMIN_ROLE } from '@emporium/platform';

/** A verified user, and the token that proved it, passed on to the services they call. */
export interface Identity {
  userId: string;
  roles: readonly string[];
  /** The bearer token as the client sent it: each service verifies it again itself. */
  token: string;
}

/** Whether the identity holds the admin role. */
export function isAdmin(identity: Identity): boolean {
  return identity.roles.includes(ADMIN_ROLE);
}
