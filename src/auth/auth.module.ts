import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { WorkerService } from '@app/worker';
import { LoadstarConfig } from '../config/loadstar-config';
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
      inject: [LoadstarConfig],
      useFactory: ({ auth }: LoadstarConfig) => {
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
      inject: [LoadstarConfig, { token: WorkerService, optional: true }],
      useFactory: (config: LoadstarConfig, worker?: WorkerService) =>
        new PasswordHasher(config.auth.passwordCostLog2, worker),
    },
  ],
})
export class AuthModule {}
