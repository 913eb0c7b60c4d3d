/** Published once `followerId` followed or unfollowed `followeeId`. */
export class FollowsChanged {
  constructor(
    readonly followerId: number,
    readonly followeeId: number,
  ) {}
}
