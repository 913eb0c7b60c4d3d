import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { ClientDisconnectedException } from './worker.errors';

/**
 * Injects an `AbortSignal` that aborts (with a {@link ClientDisconnectedException}) when the
 * client goes away before its response is complete. Pass it to `WorkerService.run`, or any
 * abortable work, so that nothing is computed for a client that left.
 *
 * @example
 * @Post('import')
 * import(@DisconnectSignal() signal: AbortSignal) { return this.imports.run(…, signal); }
 */
export const DisconnectSignal = createParamDecorator(
  (_: unknown, context: ExecutionContext): AbortSignal => {
    const reply = context.switchToHttp().getResponse<{ raw?: ServerResponse } & ServerResponse>();
    const response = reply.raw ?? reply;
    const controller = new AbortController();
    response.once('close', () => {
      if (!response.writableFinished) controller.abort(new ClientDisconnectedException());
    });
    return controller.signal;
  },
);
