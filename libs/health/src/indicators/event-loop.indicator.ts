import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { CHECK, EVENT_LOOP_WINDOW_MS } from '../health.constants';

const NS_PER_MS = 1e6;

/**
 * Event-loop delay (p99) over the last full window and the current one, from Node's
 * `monitorEventLoopDelay`: a process whose loop lags this much answers every request late.
 */
@Injectable()
export class EventLoopHealthIndicator implements OnModuleInit, OnModuleDestroy {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  private lastWindowP99Ms = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly indicators: HealthIndicatorService) {}

  onModuleInit(): void {
    this.histogram.enable();
    this.timer = setInterval(() => {
      this.lastWindowP99Ms = this.histogram.percentile(99) / NS_PER_MS;
      this.histogram.reset();
    }, EVENT_LOOP_WINDOW_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  /** Recent p99 delay in milliseconds. */
  delayMs(): number {
    const current = this.histogram.count > 0 ? this.histogram.percentile(99) / NS_PER_MS : 0;
    return Math.max(this.lastWindowP99Ms, current);
  }

  check(maxDelayMs: number) {
    const indicator = this.indicators.check(CHECK.eventLoop);
    const delayMs = Math.round(this.delayMs());
    return delayMs > maxDelayMs
      ? indicator.down({ delayMs, maxDelayMs, message: `event-loop delay ${delayMs} ms` })
      : indicator.up({ delayMs });
  }
}
