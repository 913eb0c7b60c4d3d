import { Lease } from './throttler-lease';

describe(Lease.name, () => {
  const spendAll = (lease: Lease) => {
    const counts: number[] = [];
    while (lease.spend()) counts.push(lease.spent);
    return counts;
  };

  it('hands out its block in order, then the spare taken before it ran out', () => {
    const lease = new Lease(3, 6, Date.now() + 1_000);
    expect(lease.spend()).toBe(true);
    lease.add(11, 13);
    expect(spendAll(lease)).toEqual([4, 5, 6, 11, 12, 13]);
  });

  it('asks for another block once half of one is left, and not again while it is on its way', () => {
    const lease = new Lease(1, 10, Date.now() + 1_000);
    const asked: number[] = [];
    for (let i = 0; i < 10 && lease.spend(); i++) {
      if (lease.wantsRefill(10)) {
        asked.push(lease.spent);
        lease.refilling = true;
      }
    }
    expect(asked).toEqual([5]);
  });

  it('a block that arrives after the last one ran out is spent at once', () => {
    const lease = new Lease(1, 1, Date.now() + 1_000);
    expect(spendAll(lease)).toEqual([1]);
    lease.add(20, 21);
    expect(spendAll(lease)).toEqual([20, 21]);
    expect(lease.refilling).toBe(false);
  });
});
