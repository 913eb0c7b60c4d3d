import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { jobsMetricProviders } from './jobs.metrics';
import { JobsOptionsModule } from './jobs.module-definition';
import { JobsRepository } from './jobs.repository';
import { JobsService } from './jobs.service';

/**
 * Durable background jobs on pg-boss ({@link JobsService}); handlers are providers marked
 * with `@JobHandler`, found wherever they are declared. Metrics: `jobs_total`,
 * `job_duration_seconds`, and the queue gauges `jobs_queued` and
 * `jobs_oldest_queued_age_seconds`, read by one grouped query per scrape. Needs `DatabaseModule`, and a
 * migration that created pg-boss's schema.
 *
 * @example
 * JobsModule.forRootAsync({
 *   isGlobal: true,
 *   inject: [ConfigService],
 *   useFactory: (config: LoadstarConfigService) => config.get('jobs', { infer: true }),
 * })
 */
@Module({
  imports: [DiscoveryModule],
  providers: [JobsRepository, JobsService, ...jobsMetricProviders],
  exports: [JobsService],
})
export class JobsModule extends JobsOptionsModule {}
