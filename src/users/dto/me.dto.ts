import { UserDto } from './user.dto';

/** The signed-in user's own view of themselves. */
export class MeDto extends UserDto {
  email!: string;
}
