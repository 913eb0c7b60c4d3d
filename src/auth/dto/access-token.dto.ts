export class AccessTokenDto {
  accessToken!: string;
  /** always `Bearer` */
  tokenType!: 'Bearer';
  /** seconds until the token expires */
  expiresIn!: number;
}
