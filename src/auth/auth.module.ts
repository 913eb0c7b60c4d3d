import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtModule } from '@nestjs/jwt';
import type { LoadstarConfigService } from '@app/config';
import { WorkerService } from '@app/worker';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { PasswordHasher } from './password-hasher';

/**
 * Registration, login and access tokens. `JwtModule` is global so that `@Authenticated()`
 * works in any feature module without importing this one (which would be circular).
 */
@Module({
  imports: [
    UsersModule,
    JwtModule.registerAsync({
      global: true,
      inject: [ConfigService],
      useFactory: (config: LoadstarConfigService) => {
        const auth = config.get('auth', { infer: true });
        return {
          secret: auth.jwtSecret,
          signOptions: {
            algorithm: 'HS256',
            expiresIn: auth.jwtTtlS,
            issuer: auth.jwtIssuer,
            audience: auth.jwtAudience,
          },
          // a token older than the lifetime this app gives is refused, whatever its `exp`
          verifyOptions: {
            algorithms: ['HS256'],
            issuer: auth.jwtIssuer,
            audience: auth.jwtAudience,
            clockTolerance: auth.jwtClockToleranceS,
            maxAge: auth.jwtTtlS,
          },
        };
      },
    }),
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    {
      provide: PasswordHasher,
      inject: [ConfigService, { token: WorkerService, optional: true }],
      useFactory: (config: LoadstarConfigService, worker?: WorkerService) =>
        new PasswordHasher(config.get('auth', { infer: true }).passwordCostLog2, worker),
    },
  ],
})
export class AuthModule {}
