import {
  adminRequired,
  invalidToken,
  jwksUnavailable,
  PlatformErrorCode,
  TokenRefusedError,
  tokenRequired,
  type TokenRefusal,
} from '@emporium/platform';

/**
 * The gateway's error codes, stable for clients: the platform's token errors, which every
 * service answers alike now that each verifies its callers itself.
 */
export const GatewayErrorCode = {
  TOKEN_REQUIRED: PlatformErrorCode.TOKEN_REQUIRED,
  INVALID_TOKEN: PlatformErrorCode.INVALID_TOKEN,
  ADMIN_REQUIRED: PlatformErrorCode.ADMIN_REQUIRED,
  JWKS_UNAVAILABLE: PlatformErrorCode.JWKS_UNAVAILABLE,
} as const;

export {
  adminRequired,
  invalidToken,
  jwksUnavailable,
  TokenRefusedError,
  tokenRequired,
  type TokenRefusal,
};
