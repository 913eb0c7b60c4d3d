import {
  Controller,
  Get,
  Header,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { METRICS_PATH } from './metrics.constants';
import { MetricsService } from './metrics.service';

/**
 * `GET /metrics`: returns the text instead of writing to the raw reply, so Fastify's hooks
 * (compression included) see a normal string body, and sends `no-store` so no cache between
 * Prometheus and the app answers a scrape.
 */
@ApiTags('operations')
@Controller(METRICS_PATH)
export class MetricsController extends PrometheusController {
  constructor(private readonly metrics: MetricsService) {
    super();
  }

  @Get()
  @Header('Content-Type', register.contentType)
  @Header('Cache-Control', 'no-store')
  @ApiProduces(register.contentType)
  @ApiOkResponse({ description: 'Prometheus text format (all workers in cluster mode)' })
  override async index(): Promise<string> {
    if (!this.metrics.enabled) throw new NotFoundException('metrics are switched off');
    try {
      return await this.metrics.scrape();
    } catch (error) {
      throw new ServiceUnavailableException((error as Error).message);
    }
  }
}
