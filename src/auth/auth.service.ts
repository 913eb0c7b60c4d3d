import { ConflictException, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { DatabaseService } from '@app/database';
import { JobsService } from '@app/jobs';
import { LoadstarConfig } from '../config/loadstar-config';
import { WELCOME_NOTIFICATION_JOB } from '../notifications/welcome-notification.job';
import { MeDto } from '../users/dto';
import { EmailTakenError, UsersRepository } from '../users/users.repository';
import { AccessTokenClaims } from './authenticated-user';
import { AccessTokenDto, LoginDto, RegisterDto } from './dto';
import { PasswordHasher } from './password-hasher';

@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);
  private readonly tokenTtlS: number;

  constructor(
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
    private readonly jwt: JwtService,
    private readonly database: DatabaseService,
    private readonly jobs: JobsService,
    config: LoadstarConfig,
  ) {
    this.tokenTtlS = config.auth.jwtTtlS;
  }

  async register(input: RegisterDto): Promise<MeDto> {
    const passwordHash = await this.hasher.hash(input.password);
    try {
      return await this.database.transaction(async (manager) => {
        const user = await this.users.create(input.email, passwordHash, input.name, manager);
        await this.jobs.enqueue(
          WELCOME_NOTIFICATION_JOB,
          { userId: user.id },
          { ownerId: user.id },
          manager,
        );
        return user;
      });
    } catch (error) {
      if (error instanceof EmailTakenError)
        throw new ConflictException('email is already registered');
      throw error;
    }
  }

  async login(input: LoginDto): Promise<AccessTokenDto> {
    const credentials = await this.users.findCredentials(input.email);
    const valid = credentials
      ? await this.hasher.verify(input.password, credentials.passwordHash)
      : await this.hasher.verifyDecoy(input.password);
    if (!credentials || !valid) throw new UnauthorizedException('wrong email or password');
    if (this.hasher.needsRehash(credentials.passwordHash)) {
      // after the response, in the pool's normal lane: the login does not wait for it
      void this.rehash(credentials.id, credentials.passwordHash, input.password);
    }
    const claims: AccessTokenClaims = { sub: String(credentials.id) };
    return {
      accessToken: await this.jwt.signAsync(claims),
      tokenType: 'Bearer',
      expiresIn: this.tokenTtlS,
    };
  }

  /** Stores a hash of the password at today's cost; a failure leaves the old one for next time. */
  private async rehash(id: number, previous: string, password: string): Promise<void> {
    try {
      await this.users.replacePasswordHash(id, previous, await this.hasher.hash(password));
    } catch (error) {
      this.logger.warn(
        { err: error },
        `password of user ${id} not rehashed; retried at its next login`,
      );
    }
  }
}
