import { applyDecorators, createParamDecorator, ExecutionContext, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { AccessTokenGuard, RequestWithUser } from './access-token.guard';
import { AuthenticatedUser } from './authenticated-user';

/** The route needs a valid Bearer access token (`401` otherwise). */
export function Authenticated(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    UseGuards(AccessTokenGuard),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ description: 'missing, invalid or expired access token' }),
  );
}

/** The caller of an {@link Authenticated} route. */
export const CurrentUser = createParamDecorator(
  (_: unknown, context: ExecutionContext): AuthenticatedUser => {
    const { user } = context.switchToHttp().getRequest<RequestWithUser>();
    if (!user) throw new Error('@CurrentUser() used on a route without @Authenticated()');
    return user;
  },
);
