/** The caller, as proven by a valid access token. */
export interface AuthenticatedUser {
  id: number;
}

/** Claims of loadstar's access tokens. */
export interface AccessTokenClaims {
  /** the user id, as a string (RFC 7519) */
  sub: string;
  /** expiry, seconds since the epoch; set when signing, required when verifying */
  exp?: number;
}
