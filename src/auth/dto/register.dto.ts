import { Transform } from 'class-transformer';
import { IsEmail, IsString, Length, MaxLength } from 'class-validator';
import { normaliseEmail } from './email.transform';

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
