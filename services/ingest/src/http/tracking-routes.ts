import { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { AppError, isPlainObject, type Clock } from '@tinycdp/common';
import {
  EVENT_TYPES,
  eventKey,
  jsonByteLength,
  normalizeMessage,
  validateMessage,
  type CdpEvent,
  type EventType,
  type FieldError,
} from '@tinycdp/events';
import { jsonBody, requireScope, type KeyVerifier } from '@tinycdp/http';
import type { EventSink, SinkRecord } from '../ports';
import { appendDuration, eventsCounter } from '../metrics';

export interface IngestLimits {
  readonly maxMessageBytes: number;
  readonly maxBatchBytes: number;
  readonly maxBatchItems: number;
}

export interface TrackingRoutesDeps {
  readonly sink: EventSink;
  readonly keys: KeyVerifier;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly newId: () => string;
  readonly limits: IngestLimits;
}

/** One rejected batch item in a 200/400 answer to /v1/batch. */
export interface RejectedItem {
  readonly index: number;
  readonly errors: readonly FieldError[];
}

const SHORT_FORM_TYPES: ReadonlySet<EventType> = new Set(['track', 'identify']);
const MAX_ERRORS_IN_MESSAGE = 5;

function summarize(errors: readonly FieldError[]): string {
  const shown = errors.slice(0, MAX_ERRORS_IN_MESSAGE).map((e) => (e.path === '' ? e.message : `${e.path}: ${e.message}`));
  const more = errors.length > MAX_ERRORS_IN_MESSAGE ? ` (and ${errors.length - MAX_ERRORS_IN_MESSAGE} more)` : '';
  return shown.join('; ') + more;
}

/**
 * The Segment HTTP Tracking API: POST /v1/{track,identify,alias,page,screen,group} and /v1/batch.
 *
 * Answers 200 only once the sink acknowledged every accepted event. /v1/batch with some invalid items:
 * the valid ones are appended and the answer is 200 `{success, accepted, rejected: [{index, errors}]}`;
 * only when no item is valid is it 400 (413 if every item was over the size limit). Why: Segment SDKs
 * retry 5xx and drop the whole batch on 4xx, so a 400 for a mixed batch would either lose the good
 * events (SDK drops) or, if we also kept them, make the client's view disagree with ours; and a retry
 * could never fix the bad items. The valid events are durable, the rest are reported per index.
 */
export function trackingRoutes(deps: TrackingRoutesDeps): Router {
  const router = Router();
  const auth = requireScope(deps.keys, 'write', { allowBasic: true, allowBodyWriteKey: true });

  const append = async (records: SinkRecord[]): Promise<void> => {
    const end = appendDuration.startTimer();
    try {
      await deps.sink.append(records);
      end({ outcome: 'ok' });
    } catch (err) {
      end({ outcome: 'error' });
      deps.logger.warn({ err, events: records.length }, 'ingest_append_failed');
      throw err;
    }
  };

  for (const type of EVENT_TYPES) {
    router.post(
      `/v1/${type}`,
      jsonBody({ limit: deps.limits.maxMessageBytes, what: 'message' }),
      auth,
      async (req: Request, res: Response) => {
        const body: unknown = req.body;
        if (!isPlainObject(body)) {
          throw new AppError('validation_failed', 'body: must be a JSON object (a Segment message)', {
            details: { errors: [{ path: 'body', message: 'must be a JSON object' }] },
          });
        }
        const v = validateMessage(body, '', {
          type,
          shortForm: SHORT_FORM_TYPES.has(type),
          maxBytes: deps.limits.maxMessageBytes,
        });
        if (!v.ok) {
          eventsCounter.inc({ type, outcome: 'rejected' });
          throw new AppError('validation_failed', `invalid ${type} message: ${summarize(v.errors)}`, { details: { errors: v.errors } });
        }
        const event = normalizeMessage(v.message, { receivedAt: deps.clock.now(), newId: deps.newId, type });
        await append([{ key: eventKey(event), value: event }]);
        eventsCounter.inc({ type, outcome: 'accepted' });
        res.status(200).json({ success: true });
      },
    );
  }

  router.post('/v1/batch', jsonBody({ limit: deps.limits.maxBatchBytes, what: 'batch' }), auth, async (req: Request, res: Response) => {
    const body: unknown = req.body;
    if (!isPlainObject(body) || !Array.isArray(body['batch'])) {
      throw new AppError('validation_failed', 'batch: is required and must be an array of messages', {
        details: { errors: [{ path: 'batch', message: 'is required and must be an array of messages' }] },
      });
    }
    const items: unknown[] = body['batch'];
    if (items.length > deps.limits.maxBatchItems) {
      throw new AppError('payload_too_large', `batch has ${items.length} items; the limit is ${deps.limits.maxBatchItems} items per batch`, {
        details: { limit: deps.limits.maxBatchItems, length: items.length },
      });
    }
    const envelope = readEnvelope(body);

    const receivedAt = deps.clock.now();
    const accepted: CdpEvent[] = [];
    const rejected: RejectedItem[] = [];
    let tooLarge = 0;
    items.forEach((item, index) => {
      const path = `batch[${index}]`;
      if (isPlainObject(item)) {
        const bytes = jsonByteLength(item);
        if (bytes > deps.limits.maxMessageBytes) {
          tooLarge++;
          rejected.push({
            index,
            errors: [{ path, message: `message is ${bytes} bytes of JSON; the limit is ${deps.limits.maxMessageBytes} bytes per message` }],
          });
          return;
        }
      }
      const v = validateMessage(withEnvelope(item, envelope), path, { maxBytes: Number.POSITIVE_INFINITY });
      if (v.ok) accepted.push(normalizeMessage(v.message, { receivedAt, newId: deps.newId }));
      else rejected.push({ index, errors: v.errors });
    });

    for (const r of rejected) {
      const t = isPlainObject(items[r.index]) ? (items[r.index] as Record<string, unknown>)['type'] : undefined;
      eventsCounter.inc({ type: typeof t === 'string' && (EVENT_TYPES as readonly string[]).includes(t) ? t : 'unknown', outcome: 'rejected' });
    }
    if (accepted.length === 0 && rejected.length > 0) {
      const allTooLarge = tooLarge === rejected.length;
      const errors = rejected.flatMap((r) => r.errors);
      throw new AppError(
        allTooLarge ? 'payload_too_large' : 'validation_failed',
        `no valid message in the batch: ${summarize(errors)}`,
        { details: { accepted: 0, rejected } },
      );
    }

    if (accepted.length > 0) await append(accepted.map((e) => ({ key: eventKey(e), value: e })));
    for (const e of accepted) eventsCounter.inc({ type: e.type, outcome: 'accepted' });
    if (rejected.length > 0) {
      deps.logger.info(
        { accepted: accepted.length, rejected: rejected.length, firstErrors: rejected[0]?.errors },
        'ingest_batch_partially_rejected',
      );
    }
    res.status(200).json({ success: true, accepted: accepted.length, rejected });
  });

  return router;
}

interface Envelope {
  readonly context?: Record<string, unknown>;
  readonly sentAt?: string;
}

/** Batch-level `context` and `sentAt` (analytics-node sends sentAt on the envelope). */
function readEnvelope(body: Record<string, unknown>): Envelope {
  const errors: FieldError[] = [];
  const context = body['context'];
  const sentAt = body['sentAt'];
  if (context !== undefined && context !== null && !isPlainObject(context)) errors.push({ path: 'context', message: 'must be an object' });
  if (sentAt !== undefined && sentAt !== null && (typeof sentAt !== 'string' || Number.isNaN(Date.parse(sentAt)))) {
    errors.push({ path: 'sentAt', message: 'must be an ISO-8601 date-time with a timezone (e.g. 2024-05-01T12:00:00.000Z)' });
  }
  if (errors.length > 0) {
    throw new AppError('validation_failed', `invalid batch: ${summarize(errors)}`, { details: { errors } });
  }
  return {
    ...(isPlainObject(context) ? { context } : {}),
    ...(typeof sentAt === 'string' ? { sentAt } : {}),
  };
}

/** Batch-level context is merged under each item's own (the item wins per key); sentAt fills in if absent. */
function withEnvelope(item: unknown, env: Envelope): unknown {
  if (!isPlainObject(item)) return item;
  let out = item;
  if (env.context !== undefined) {
    const own = item['context'];
    if (own === undefined || own === null) out = { ...out, context: env.context };
    else if (isPlainObject(own)) out = { ...out, context: { ...env.context, ...own } };
  }
  if (env.sentAt !== undefined && (item['sentAt'] === undefined || item['sentAt'] === null)) out = { ...out, sentAt: env.sentAt };
  return out;
}
