// The `tenancy` queue receives exactly the events tenancy handles: a handler whose events are never
// bound would silently never run, and a binding nobody handles only fills the queue.
import { QUEUES, queueBindings } from '@taskflow/shared';
import { eventHandlers } from '../src/events/handlers';

describe('tenancy’s subscriptions', () => {
  it('binds the tenancy queue to exactly the event types tenancy handles', () => {
    expect(queueBindings(QUEUES.tenancy).sort()).toEqual(Object.keys(eventHandlers).sort());
  });
});
