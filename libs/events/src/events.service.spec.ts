import { DomainEvents } from './events.service';

class PostsChanged {
  constructor(readonly authorId: number) {}
}
class FollowsChanged {
  constructor(readonly followerId: number) {}
}

describe(DomainEvents.name, () => {
  describe('#publish', () => {
    it('calls the handlers of the event class in order and waits for each', async () => {
      const events = new DomainEvents();
      const seen: string[] = [];
      events.on(PostsChanged, async ({ authorId }) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        seen.push(`first ${authorId}`);
      });
      events.on(PostsChanged, ({ authorId }) => {
        seen.push(`second ${authorId}`);
      });

      await events.publish(new PostsChanged(7));

      expect(seen).toEqual(['first 7', 'second 7']);
    });

    it('calls no handler of another class', async () => {
      const events = new DomainEvents();
      const handler = jest.fn();
      events.on(FollowsChanged, handler);

      await events.publish(new PostsChanged(1));

      expect(handler).not.toHaveBeenCalled();
    });

    it('rejects with the error of a handler that throws', async () => {
      const events = new DomainEvents();
      events.on(PostsChanged, () => {
        throw new Error('eviction failed');
      });

      await expect(events.publish(new PostsChanged(1))).rejects.toThrow('eviction failed');
    });
  });
});
