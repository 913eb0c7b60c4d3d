/** A user as anyone may see it: no email, no password hash. */
export class UserDto {
  id!: number;
  name!: string;
  bio!: string;
  /** ISO 8601 */
  createdAt!: string;
  /** ISO 8601 */
  updatedAt!: string;
}
