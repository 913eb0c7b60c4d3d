import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DatabaseService } from '@app/database';
import { CHECK } from '../health.constants';

/**
 * Reports how the application's pool and every dedicated pool (the posts export's) are used.
 * Always up: a busy pool is load, not an outage, and taking an instance out of rotation
 * because clients hold its exports would let them take every instance out the same way.
 * What it shows is that the application's pool is not the one they hold.
 */
@Injectable()
export class DatabasePoolsHealthIndicator {
  constructor(
    private readonly database: DatabaseService,
    private readonly indicators: HealthIndicatorService,
  ) {}

  check() {
    const dedicated = this.database
      .dedicatedPoolStats()
      .map(({ name, inUse, max }) => [name, { inUse, max }]);
    return this.indicators
      .check(CHECK.databasePools)
      .up({ application: this.database.poolStats(), ...Object.fromEntries(dedicated) });
  }
}
