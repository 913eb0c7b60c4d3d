import { Controller, Get, Module, Patch, Type } from '@nestjs/common';
import { RouterModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { Cached, CacheEvict, CachePut } from './cache.decorators';
import { CacheModule } from './cache.module';
import { CacheRouteCheck } from './cache.route-check';

@Controller('orders')
class OrdersController {
  @Get(':id')
  @Cached({ key: 'order:{id}' })
  get() {}

  @Patch(':id')
  @CachePut({ key: 'order:{id}' })
  @CacheEvict({ keys: ['my-orders:{user}'], tags: ['order:{id}'] })
  update() {}
}

@Controller('shops/:shop/orders')
class ShopOrdersController {
  @Get()
  @Cached({ key: 'shop-orders:{shop}' })
  list() {}
}

/** A controller under a `RouterModule` path with a parameter of its own. */
@Controller('orders')
class RoutedController {
  @Get()
  @Cached({ key: 'tenant-orders:{tenant}' })
  list() {}
}

@Module({ controllers: [RoutedController] })
class RoutedModule {}

/** Starts an app of `controllers` on loadstar's cache. */
async function start(...controllers: Type[]) {
  const moduleRef = await Test.createTestingModule({
    imports: [CacheModule.forRoot({})],
    controllers,
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  try {
    await app.init();
  } finally {
    await app.close();
  }
}

describe(CacheRouteCheck.name, () => {
  describe('#onModuleInit', () => {
    it('lets routes start whose parameters fill every placeholder ({user} aside)', async () => {
      await expect(start(OrdersController, ShopOrdersController)).resolves.toBeUndefined();
    });

    it('counts the parameters of a RouterModule path', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          CacheModule.forRoot({}),
          RoutedModule,
          RouterModule.register([{ path: 'tenants/:tenant', module: RoutedModule }]),
        ],
      }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      await expect(app.init()).resolves.toBe(app);
      await app.close();
    });

    it('refuses to start on a placeholder the route lacks, naming the route and the placeholder', async () => {
      @Controller('orders')
      class EvictWithoutId {
        @Patch('current')
        @CacheEvict({ keys: ['order:{id}'] })
        update() {}
      }
      await expect(start(EvictWithoutId)).rejects.toThrow(
        'EvictWithoutId.update (PATCH /orders/current): cache key template "order:{id}" has {id}, but the route has no :id parameter',
      );
    });

    it('checks @Cached keys, @CachePut keys and @CacheEvict tags alike, and reserved segments', async () => {
      @Controller('things')
      class Broken {
        @Get(':id')
        @Cached({ key: 'thing:{thingId}' })
        get() {}

        @Patch(':id')
        @CachePut({ key: 'lock:{id}' })
        @CacheEvict({ tags: ['owner:{owner}'] })
        update() {}
      }
      const failure = start(Broken);
      await expect(failure).rejects.toThrow(/Broken\.get \(GET \/things\/:id\).*\{thingId\}/);
      await expect(failure).rejects.toThrow(/Broken\.update .*reserved "lock:"/);
      await expect(failure).rejects.toThrow(/Broken\.update .*\{owner\}/);
    });
  });
});
