import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { FastifyRequest } from 'fastify';
import { AccessTokenClaims, AuthenticatedUser } from './authenticated-user';

/** Only HS256: a token claiming `alg: none` or another algorithm is rejected. */
const ALGORITHMS = ['HS256' as const];

/** Where the guard leaves the caller on the request. */
export type RequestWithUser = FastifyRequest & { user?: AuthenticatedUser };

/** Requires `Authorization: Bearer <access token>`; sets `request.user`. */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  constructor(private readonly jwt: JwtService) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<RequestWithUser>();
    const header = request.headers.authorization;
    if (!header?.startsWith('Bearer ')) {
      throw new UnauthorizedException('a Bearer access token is required');
    }
    let claims: AccessTokenClaims;
    try {
      claims = this.jwt.verify<AccessTokenClaims>(header.slice(7), { algorithms: ALGORITHMS });
    } catch {
      throw new UnauthorizedException('the access token is invalid or expired');
    }
    const id = Number(claims.sub);
    if (!Number.isSafeInteger(id) || id < 1) {
      throw new UnauthorizedException('the access token is invalid or expired');
    }
    request.user = { id };
    return true;
  }
}
