import { Provider } from '@nestjs/common';
import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Cache, createCache } from 'cache-manager';
import { Keyv } from 'keyv';
import { CACHE_MANAGER_NAMESPACE } from '../cache.constants';
import { CacheService } from '../cache.service';
import { TieredKeyvStore } from './tiered-keyv.store';

/**
 * `CACHE_MANAGER` of `@nestjs/cache-manager` on loadstar's tiers: what `@Inject(CACHE_MANAGER)`
 * and Nest's `CacheInterceptor` get. Keys live under `nest:` (`loadstar:v2:{nest:<key>}` in
 * Redis), apart from the response entries of loadstar's decorators.
 */
export const cacheManagerProvider: Provider<Cache> = {
  provide: CACHE_MANAGER,
  inject: [CacheService],
  useFactory: (cache: CacheService) => {
    const keyv = new Keyv({
      store: new TieredKeyvStore(cache),
      namespace: CACHE_MANAGER_NAMESPACE,
    });
    // The tiers keep values as they are; Redis serializes what it stores.
    keyv.serialize = undefined;
    keyv.deserialize = undefined;
    return createCache({ stores: [keyv] });
  },
};
