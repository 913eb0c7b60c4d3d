import { redactDetails } from './health.details';

describe(redactDetails.name, () => {
  it.each([
    ['connect ECONNREFUSED 10.0.3.7:5432', 'connection refused'],
    ['getaddrinfo ENOTFOUND pg.internal.example', 'host not found'],
    ['password authentication failed for user "app"', 'authentication failed'],
    ['WRONGPASS invalid username-password pair or user is disabled.', 'authentication failed'],
    ['no answer within 1000 ms', 'timed out'],
    ['self-signed certificate in certificate chain', 'TLS handshake failed'],
    ['Connection terminated unexpectedly', 'unavailable'],
    [undefined, 'unavailable'],
  ])('turns %j into %j', (message, cause) => {
    expect(redactDetails({ database: { status: 'down', message } })).toEqual({
      database: { status: 'down', message: cause },
    });
  });

  it('leaves parts that are up and the non-dependency parts as they are', () => {
    const details = {
      database: { status: 'up' as const },
      redis: { status: 'down' as const, message: 'connect ECONNREFUSED 10.0.0.9:6379' },
      eventLoop: { status: 'down' as const, delayMs: 1500, message: 'event-loop delay 1500 ms' },
    };
    expect(redactDetails(details)).toEqual({
      database: { status: 'up' },
      redis: { status: 'down', message: 'connection refused' },
      eventLoop: details.eventLoop,
    });
  });
});
