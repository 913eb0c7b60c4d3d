import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiConflictResponse, ApiTags } from '@nestjs/swagger';
import { RateLimit, RateLimitFailures } from '@app/throttler';
import { MeDto } from '../users/dto';
import { AuthService } from './auth.service';
import { AccessTokenDto, LoginDto, RegisterDto } from './dto';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  /** Tier `register`, per address: bounds account creation, hashing and probing for emails. */
  @Post('register')
  @RateLimit('register', { by: ['address'] })
  @ApiConflictResponse({ description: 'the email is already registered' })
  register(@Body() input: RegisterDto): Promise<MeDto> {
    return this.auth.register(input);
  }

  /**
   * Failed logins are limited per address (`auth`) and per (address, account)
   * (`authAccountAddress`); an account failing from everywhere is slowed down (`authAccount`).
   */
  @Post('login')
  @HttpCode(200)
  @RateLimitFailures({
    subject: 'body.email',
    byAddress: 'auth',
    byAddressAndSubject: 'authAccountAddress',
    bySubject: 'authAccount',
  })
  login(@Body() input: LoginDto): Promise<AccessTokenDto> {
    return this.auth.login(input);
  }
}
