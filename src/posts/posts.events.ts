/** Published once a post of `authorId` was created, changed or deleted. */
export class PostsChanged {
  constructor(readonly authorId: number) {}
}
