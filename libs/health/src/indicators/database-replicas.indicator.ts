import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DatabaseService } from '@app/database';
import { CHECK } from '../health.constants';

/**
 * Reports each read replica (in `DATABASE_REPLICA_URLS` order, unnamed: names are hosts) with
 * its state and replay lag. Always up: reads go to the primary while no replica can serve, so
 * an instance is ready on the primary alone.
 */
@Injectable()
export class DatabaseReplicasHealthIndicator {
  constructor(
    private readonly database: DatabaseService,
    private readonly indicators: HealthIndicatorService,
  ) {}

  /** Whether any replica is configured. */
  get enabled(): boolean {
    return this.database.replicaStats().length > 0;
  }

  check() {
    const replicas = this.database.replicaStats().map(({ state, lagMs }) => ({ state, lagMs }));
    const inRotation = replicas.filter(({ state }) => state === 'in rotation').length;
    return this.indicators.check(CHECK.databaseReplicas).up({ inRotation, replicas });
  }
}
