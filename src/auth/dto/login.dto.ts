import { Transform } from 'class-transformer';
import { IsString, Length } from 'class-validator';
import { normaliseEmail } from './email.transform';

export class LoginDto {
  @Transform(normaliseEmail)
  @IsString()
  @Length(1, 254)
  email!: string;

  @IsString()
  @Length(1, 128)
  password!: string;
}
