import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { RateLimit } from '@app/throttler';
import { MeDto } from '../users/dto';
import { AuthService } from './auth.service';
import { AccessTokenDto, LoginDto, RegisterDto } from './dto/register.dto';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('register')
  register(@Body() input: RegisterDto): Promise<MeDto> {
    return this.auth.register(input);
  }

  @Post('login')
  @HttpCode(200)
  @RateLimit('auth', { by: ['address', 'body.email'] })
  login(@Body() input: LoginDto): Promise<AccessTokenDto> {
    return this.auth.login(input);
  }
}
