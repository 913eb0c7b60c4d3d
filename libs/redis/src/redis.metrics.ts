import { Counter, register } from 'prom-client';
import { REDIS_PRIMARY_CHANGES_METRIC, REDIS_UNAVAILABLE_METRIC } from './redis.constants';

/**
 * Process-wide, like prom-client's default registry that holds them (and so served by
 * `/metrics` without wiring): every connection of every app in the process adds to the same
 * counters, labelled by the connection's name.
 */
function counter(name: string, help: string): Counter<'client'> {
  const existing = register.getSingleMetric(name) as Counter<'client'> | undefined;
  return existing ?? new Counter({ name, help, labelNames: ['client'] });
}

export function countUnavailable(client: string): void {
  counter(
    REDIS_UNAVAILABLE_METRIC,
    'Times a Redis connection lost its server or primary (once per outage, not per command)',
  ).inc({ client });
}

export function countPrimaryChange(client: string): void {
  counter(
    REDIS_PRIMARY_CHANGES_METRIC,
    'Primaries a Sentinel-backed Redis connection moved to after a failover',
  ).inc({ client });
}
