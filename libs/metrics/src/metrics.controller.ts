import {
  Controller,
  Get,
  Header,
  Headers,
  NotFoundException,
  Res,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOkResponse,
  ApiProduces,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
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
  @ApiBearerAuth()
  @ApiOkResponse({ description: 'Prometheus text format (all workers in cluster mode)' })
  @ApiUnauthorizedResponse({ description: 'METRICS_TOKEN is set and the bearer token differs' })
  override async index(
    // the same first parameter as PrometheusController's, whose route metadata this inherits
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('authorization') authorization?: string,
  ): Promise<string> {
    if (!this.metrics.enabled) throw new NotFoundException('metrics are switched off');
    if (!this.metrics.authorizes(authorization)) {
      void reply.header('www-authenticate', 'Bearer realm="metrics"');
      throw new UnauthorizedException('a valid bearer token is required for /metrics');
    }
    try {
      return await this.metrics.scrape();
    } catch (error) {
      throw new ServiceUnavailableException((error as Error).message);
    }
  }
}
