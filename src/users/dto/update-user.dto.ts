import { IsOptional, IsString, Length, MaxLength } from 'class-validator';

export class UpdateUserDto {
  /** 1–100 characters */
  @IsOptional()
  @IsString()
  @Length(1, 100)
  name?: string;

  /** at most 1000 characters */
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  bio?: string;
}
