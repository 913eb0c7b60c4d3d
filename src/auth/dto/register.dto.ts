import { Transform } from 'class-transformer';
import { IsEmail, IsString, Length, MaxLength } from 'class-validator';

const normaliseEmail = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;

export class RegisterDto {
  /** stored lower-cased */
  @Transform(normaliseEmail)
  @IsEmail()
  @MaxLength(254)
  email!: string;

  /** 8–128 characters */
  @IsString()
  @Length(8, 128)
  password!: string;

  /** 1–100 characters */
  @IsString()
  @Length(1, 100)
  name!: string;
}

export class LoginDto {
  @Transform(normaliseEmail)
  @IsString()
  @Length(1, 254)
  email!: string;

  @IsString()
  @Length(1, 128)
  password!: string;
}

export class AccessTokenDto {
  accessToken!: string;
  /** always `Bearer` */
  tokenType!: 'Bearer';
  /** seconds until the token expires */
  expiresIn!: number;
}
