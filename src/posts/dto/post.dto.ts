/** A post as served. */
export class PostDto {
  id!: number;
  authorId!: number;
  title!: string;
  body!: string;
  /** grows on every change; the `ETag` is derived from it */
  version!: number;
  /** ISO 8601 */
  createdAt!: string;
  /** ISO 8601 */
  updatedAt!: string;
}
