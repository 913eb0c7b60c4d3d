import { Controller, Get, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Cached } from '@app/cache';
import { ParseIdPipe } from '@app/http';
import { RateLimit } from '@app/throttler';
import { DASHBOARD_CACHE_KEY, DASHBOARD_TTL_MS, dashboardTags } from './dashboard.cache';
import { DashboardService } from './dashboard.service';
import { DashboardDto } from './dto';

@ApiTags('users')
@Controller('users')
export class DashboardController {
  constructor(private readonly dashboards: DashboardService) {}

  @Get(':id/dashboard')
  @RateLimit('expensive', { by: ['user', 'address'] })
  @Cached({ key: DASHBOARD_CACHE_KEY, ttl: DASHBOARD_TTL_MS, tags: dashboardTags })
  dashboard(@Param('id', ParseIdPipe) id: number): Promise<DashboardDto> {
    return this.dashboards.dashboard(id);
  }
}
