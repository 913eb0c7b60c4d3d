import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import type { FastifyRequest } from 'fastify';
import { AccessTokenClaims, AuthenticatedUser } from './authenticated-user';

/** Where the guard leaves the caller on the request. */
export type RequestWithUser = FastifyRequest & { user?: AuthenticatedUser };

const BEARER = 'Bearer ';

/**
 * The user a request's `Authorization: Bearer <access token>` proves, or `undefined` (no
 * header, not a Bearer, invalid or expired token). A proven user is kept on the request, so the
 * rate limiter (which runs before route guards) and {@link AccessTokenGuard} verify it once.
 * The token must be HS256 (the module's `verifyOptions`: `alg: none` and every other algorithm
 * are refused), carry this app's `iss` and `aud`, an `exp` and an `iat` no older than the token
 * lifetime, within the clock tolerance.
 */
export function verifyBearer(
  jwt: JwtService,
  request: RequestWithUser,
): AuthenticatedUser | undefined {
  if (request.user) return request.user;
  const header = request.headers.authorization;
  if (!header?.startsWith(BEARER)) return undefined;
  let claims: AccessTokenClaims;
  try {
    claims = jwt.verify<AccessTokenClaims>(header.slice(BEARER.length));
  } catch {
    return undefined;
  }
  // jsonwebtoken checks `exp` only when there is one: a token without it would never expire
  if (typeof claims.exp !== 'number') return undefined;
  const id = Number(claims.sub);
  if (!Number.isSafeInteger(id) || id < 1) return undefined;
  request.user = { id };
  return request.user;
}

/**
 * Requires `Authorization: Bearer <access token>`; sets `request.user`.
 *
 * `JwtService` is looked up on the first request rather than injected: `@Authenticated()` puts
 * this guard on a controller, and a unit test module of that controller (the spec `nest g
 * controller` writes) compiles without the app's global `JwtModule`.
 */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  private jwt?: JwtService;

  constructor(private readonly moduleRef: ModuleRef) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<RequestWithUser>();
    this.jwt ??= this.moduleRef.get(JwtService, { strict: false });
    if (verifyBearer(this.jwt, request)) return true;
    if (!request.headers.authorization?.startsWith(BEARER)) {
      throw new UnauthorizedException('a Bearer access token is required');
    }
    throw new UnauthorizedException('the access token is invalid or expired');
  }
}
