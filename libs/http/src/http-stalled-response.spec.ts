import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { endStalledResponse } from './http-stalled-response';

/** What the watchdog reads of a response: back-pressure, `drain`, `close` and `destroy()`. */
class FakeResponse extends EventEmitter {
  writableNeedDrain = false;
  destroyed = false;

  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

describe(endStalledResponse.name, () => {
  let response: FakeResponse;
  let onStall: jest.Mock;

  beforeEach(() => {
    jest.useFakeTimers();
    response = new FakeResponse();
    onStall = jest.fn();
    endStalledResponse(response as unknown as ServerResponse, 1_000, onStall);
  });
  afterEach(() => jest.useRealTimers());

  it('destroys a response that waits on back-pressure for the stall time', () => {
    response.writableNeedDrain = true;
    jest.advanceTimersByTime(1_000);
    expect(response.destroyed).toBe(false);
    jest.advanceTimersByTime(100);
    expect(onStall).toHaveBeenCalledTimes(1);
    expect(response.destroyed).toBe(true);
  });

  it('leaves alone a slow reader whose writes drain now and then', () => {
    response.writableNeedDrain = true;
    for (let i = 0; i < 10; i++) {
      jest.advanceTimersByTime(800);
      response.emit('drain');
    }
    expect(response.destroyed).toBe(false);
  });

  it('leaves alone a response that waits for its source, not its client', () => {
    jest.advanceTimersByTime(10_000);
    expect(response.destroyed).toBe(false);
  });

  it('stops watching once the response closed', () => {
    response.emit('close');
    response.writableNeedDrain = true;
    jest.advanceTimersByTime(10_000);
    expect(onStall).not.toHaveBeenCalled();
    expect(jest.getTimerCount()).toBe(0);
  });
});
