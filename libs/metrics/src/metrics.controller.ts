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
import { openMetricsContentType, prometheusContentType } from 'prom-client';
import { METRICS_PATH } from './metrics.constants';
import { MetricsService } from './metrics.service';

/**
 * Whether an `Accept` header names OpenMetrics with a non-zero weight. Prometheus lists it
 * first; any version is answered with 1.0.0, the one prom-client writes.
 */
function acceptsOpenMetrics(accept: string): boolean {
  return accept.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    return type === OPENMETRICS_MEDIA_TYPE && !params.some((param) => ZERO_WEIGHT.test(param));
  });
}

const OPENMETRICS_MEDIA_TYPE = 'application/openmetrics-text';
const ZERO_WEIGHT = /^q=0(?:\.0{0,3})?$/;

/**
 * `GET /metrics`: returns the text instead of writing to the raw reply, so Fastify's hooks
 * (compression included) see a normal string body, and sends `no-store` so no cache between
 * Prometheus and the app answers a scrape. Prometheus' text format unless the scraper accepts
 * OpenMetrics, the format that carries exemplars (`http_request_duration_seconds`' trace ids).
 */
@ApiTags('operations')
@Controller(METRICS_PATH)
export class MetricsController extends PrometheusController {
  constructor(private readonly metrics: MetricsService) {
    super();
  }

  @Get()
  @Header('Cache-Control', 'no-store')
  @ApiProduces(prometheusContentType, openMetricsContentType)
  @ApiBearerAuth()
  @ApiOkResponse({
    description:
      'Prometheus text format, or OpenMetrics with exemplars when `Accept` names it (all workers in cluster mode, always Prometheus text)',
  })
  @ApiUnauthorizedResponse({ description: 'METRICS_TOKEN is set and the bearer token differs' })
  override async index(
    // the same first parameter as PrometheusController's, whose route metadata this inherits
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('authorization') authorization?: string,
    @Headers('accept') accept?: string,
  ): Promise<string> {
    if (!this.metrics.enabled) throw new NotFoundException('metrics are switched off');
    if (!this.metrics.authorizes(authorization)) {
      void reply.header('www-authenticate', 'Bearer realm="metrics"');
      throw new UnauthorizedException('a valid bearer token is required for /metrics');
    }
    try {
      const { contentType, text } = await this.metrics.scrape(acceptsOpenMetrics(accept ?? ''));
      void reply.header('content-type', contentType);
      return text;
    } catch (error) {
      throw new ServiceUnavailableException((error as Error).message);
    }
  }
}
