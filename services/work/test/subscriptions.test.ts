// The `work` queue receives exactly the events work handles: a handler whose events are never bound
// would silently never run, and a binding nobody handles only fills the queue.
import { Outbox, QUEUES, queueBindings } from '@taskflow/shared';
import { workEventHandlers } from '../src/events/handlers';

describe('work’s subscriptions', () => {
  it('binds the work queue to exactly the event types work handles', () => {
    expect(queueBindings(QUEUES.work).sort()).toEqual(Object.keys(workEventHandlers(new Outbox('work'))).sort());
  });
});
