import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, onSendHookHandler } from 'fastify';

const NOT_MODIFIED = Symbol('loadstar:cache:not-modified');

type MarkedReply = FastifyReply & { [NOT_MODIFIED]?: true };

/**
 * Makes the reply a `304 Not Modified`. Nest sets the route's status (200) after every
 * interceptor, so the status is changed where Fastify sends: in the hook below.
 */
export function markNotModified(reply: FastifyReply): void {
  (reply as MarkedReply)[NOT_MODIFIED] = true;
}

const notModifiedOnSend: onSendHookHandler = (_request, reply, payload, done) => {
  if ((reply as MarkedReply)[NOT_MODIFIED] !== true) return done(null, payload);
  void reply.code(304).removeHeader('content-type');
  done(null, '');
};

/** Installs the `onSend` hook that sends marked replies as 304s (Fastify only). */
@Injectable()
export class NotModifiedHook implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const instance = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (typeof instance?.addHook === 'function') instance.addHook('onSend', notModifiedOnSend);
  }
}
