import { Logger } from '@nestjs/common';
import { ConfigValidationError, parseEnvironment } from '@app/config';
import { createHttpApp } from '@app/http';
import { AppModule } from './app.module';

async function bootstrap(): Promise<void> {
  const config = parseEnvironment();
  const app = await createHttpApp(AppModule.forRoot(config), config);
  await app.listen({ port: config.http.port, host: config.http.host });
  new Logger('Bootstrap').log(`loadstar listening on ${await app.getUrl()}`);
}

bootstrap().catch((error: unknown) => {
  if (error instanceof ConfigValidationError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    new Logger('Bootstrap').error(error);
  }
  process.exit(1);
});
