import type { EventType } from '@taskflow/shared';
import { activityOf, visibleTo } from '../src/domain/activity';
import { type AnyEvent, describeEvent, type EventDescription } from '../src/domain/describe';
import { auditHandlers } from '../src/events/handlers';
import { envelope, newUser, summary } from './support';

const org = '7f1c9c1e-1a2b-4c3d-8e9f-0a1b2c3d4e5f';
const admin = newUser('admin');
const member = newUser('member');
const invite = { id: 'c0ffee00-0000-4000-8000-000000000001', email: 'a@b.c', role: 'member' as const, expires_at: '2026-12-04T00:00:00.000Z' };
const organization = { id: org, name: 'Acme' };
const project = { id: 'b0000000-0000-4000-8000-000000000002', name: 'X' };
const task = { id: 'a0000000-0000-4000-8000-000000000003', project_id: project.id, title: 'Write spec' };
const endpoint = { id: 'd0000000-0000-4000-8000-000000000004', host: 'hooks.example.com', description: 'CI', events: ['*'], enabled: true };

interface Case {
  event: AnyEvent;
  expected: EventDescription;
}

const cases: Record<EventType, Case[]> = {
  'identity.user.registered': [
    {
      event: envelope('identity.user.registered', null, { user: summary(member), date_joined: '2026-11-27T00:00:00.000Z' }, { actor: member }),
      expected: { verb: 'user.registered', action: 'Registered an account', memberAction: 'Registered an account', target: { type: 'user', id: member.id }, changes: {} },
    },
  ],
  'identity.user.updated': [
    {
      event: envelope('identity.user.updated', null, { user: summary(member), version: 2 }, { actor: member }),
      expected: { verb: 'user.updated', action: 'Updated their profile', memberAction: 'Updated their profile', target: { type: 'user', id: member.id }, changes: {} },
    },
  ],
  'tenancy.organization.created': [
    {
      event: envelope('tenancy.organization.created', org, { organization }, { actor: admin }),
      expected: { verb: 'organization.created', action: 'Created organization', memberAction: 'Created organization', target: { type: 'organization', id: org }, changes: {} },
    },
  ],
  'tenancy.organization.renamed': [
    {
      event: envelope('tenancy.organization.renamed', org, { organization: { id: org, name: 'Y' }, changes: { name: ['Acme', 'Y'] } }, { actor: admin }),
      expected: {
        verb: 'organization.renamed',
        action: "Renamed organization to 'Y'",
        memberAction: "Renamed organization to 'Y'",
        target: { type: 'organization', id: org },
        changes: { name: ['Acme', 'Y'] },
      },
    },
  ],
  'tenancy.organization.deleted': [
    {
      event: envelope('tenancy.organization.deleted', org, { organization }, { actor: admin }),
      expected: { verb: 'organization.deleted', action: 'Deleted organization', memberAction: 'Deleted organization', target: { type: 'organization', id: org }, changes: {} },
    },
  ],
  'tenancy.membership.added': [
    {
      event: envelope('tenancy.membership.added', org, { organization_id: org, user: summary(member), role: 'member', version: 1 }, { actor: member }),
      expected: { verb: 'membership.added', action: 'Joined organization as member', memberAction: 'Joined organization as member', target: { type: 'member', id: member.id }, changes: { role: [null, 'member'] } },
    },
    {
      event: envelope('tenancy.membership.added', org, { organization_id: org, user: summary(member), role: 'admin', version: 1 }, { actor: admin }),
      expected: {
        verb: 'membership.added',
        action: `Added ${member.email} to organization as admin`,
        memberAction: `Added ${member.email} to organization as admin`,
        target: { type: 'member', id: member.id },
        changes: { role: [null, 'admin'] },
      },
    },
  ],
  'tenancy.membership.role_changed': [
    {
      event: envelope(
        'tenancy.membership.role_changed',
        org,
        { organization_id: org, user: summary(member), role: 'admin', version: 2, changes: { role: ['member', 'admin'] } },
        { actor: admin },
      ),
      expected: {
        verb: 'membership.role_changed',
        action: `Changed role of ${member.email} from member to admin`,
        memberAction: `Changed role of ${member.email} from member to admin`,
        target: { type: 'member', id: member.id },
        changes: { role: ['member', 'admin'] },
      },
    },
  ],
  'tenancy.membership.removed': [
    {
      event: envelope('tenancy.membership.removed', org, { organization_id: org, user: summary(member), role: 'member', version: 3, reason: 'removed' }, { actor: admin }),
      expected: {
        verb: 'membership.removed',
        action: `Removed ${member.email} from organization`,
        memberAction: `Removed ${member.email} from organization`,
        target: { type: 'member', id: member.id },
        changes: { role: ['member', null] },
      },
    },
    {
      event: envelope('tenancy.membership.removed', org, { organization_id: org, user: summary(member), role: 'member', version: 3, reason: 'left' }, { actor: member }),
      expected: { verb: 'membership.removed', action: 'Left organization', memberAction: 'Left organization', target: { type: 'member', id: member.id }, changes: { role: ['member', null] } },
    },
    {
      event: envelope('tenancy.membership.removed', org, { organization_id: org, user: summary(member), role: 'admin', version: 4, reason: 'organization_deleted' }, { actor: admin }),
      expected: {
        verb: 'membership.removed',
        action: `Removed ${member.email} from organization (organization deleted)`,
        memberAction: `Removed ${member.email} from organization (organization deleted)`,
        target: { type: 'member', id: member.id },
        changes: { role: ['admin', null] },
      },
    },
  ],
  'tenancy.invite.sent': [
    {
      event: envelope('tenancy.invite.sent', org, { invite, organization }, { actor: admin }),
      expected: {
        verb: 'invite.sent',
        action: 'Invited a@b.c to organization',
        memberAction: 'Invited someone to organization',
        target: { type: 'invite', id: invite.id },
        changes: { email: [null, 'a@b.c'], role: [null, 'member'] },
      },
    },
  ],
  'tenancy.invite.revoked': [
    {
      event: envelope('tenancy.invite.revoked', org, { invite, organization }, { actor: admin }),
      expected: { verb: 'invite.revoked', action: 'Revoked invite for a@b.c', memberAction: 'Revoked invite for someone', target: { type: 'invite', id: invite.id }, changes: {} },
    },
  ],
  'tenancy.invite.accepted': [
    {
      event: envelope('tenancy.invite.accepted', org, { invite, organization }, { actor: member }),
      expected: { verb: 'invite.accepted', action: 'Accepted organization invite', memberAction: 'Accepted organization invite', target: { type: 'invite', id: invite.id }, changes: {} },
    },
  ],
  'work.project.created': [
    {
      event: envelope('work.project.created', org, { project }, { actor: admin }),
      expected: { verb: 'project.created', action: "Created project 'X'", memberAction: "Created project 'X'", target: { type: 'project', id: project.id }, changes: {} },
    },
  ],
  'work.project.updated': [
    {
      event: envelope('work.project.updated', org, { project, changes: { description: ['', 'New'] } }, { actor: admin }),
      expected: {
        verb: 'project.updated',
        action: "Updated project 'X'",
        memberAction: "Updated project 'X'",
        target: { type: 'project', id: project.id },
        changes: { description: ['', 'New'] },
      },
    },
  ],
  'work.project.deleted': [
    {
      event: envelope('work.project.deleted', org, { project }, { actor: admin }),
      expected: { verb: 'project.deleted', action: "Deleted project 'X'", memberAction: "Deleted project 'X'", target: { type: 'project', id: project.id }, changes: {} },
    },
  ],
  'work.task.created': [
    {
      event: envelope('work.task.created', org, { task }, { actor: admin }),
      expected: { verb: 'task.created', action: "Created task 'Write spec'", memberAction: "Created task 'Write spec'", target: { type: 'task', id: task.id }, changes: {} },
    },
  ],
  'work.task.updated': [
    {
      event: envelope('work.task.updated', org, { task, changes: { status: ['todo', 'done'], priority: ['medium', 'high'] } }, { actor: member }),
      expected: {
        verb: 'task.updated',
        action: "Updated task 'Write spec'",
        memberAction: "Updated task 'Write spec'",
        target: { type: 'task', id: task.id },
        changes: { status: ['todo', 'done'], priority: ['medium', 'high'] },
      },
    },
  ],
  'work.task.deleted': [
    {
      event: envelope('work.task.deleted', org, { task }, { actor: admin }),
      expected: { verb: 'task.deleted', action: "Deleted task 'Write spec'", memberAction: "Deleted task 'Write spec'", target: { type: 'task', id: task.id }, changes: {} },
    },
  ],
  'webhooks.endpoint.created': [
    {
      event: envelope('webhooks.endpoint.created', org, { endpoint }, { actor: admin }),
      expected: { verb: 'endpoint.created', action: 'Created webhook to hooks.example.com', memberAction: 'Created webhook to hooks.example.com', target: { type: 'webhook', id: endpoint.id }, changes: {} },
    },
  ],
  'webhooks.endpoint.updated': [
    {
      event: envelope('webhooks.endpoint.updated', org, { endpoint, changes: { description: ['', 'CI'] } }, { actor: admin }),
      expected: {
        verb: 'endpoint.updated',
        action: 'Updated webhook to hooks.example.com',
        memberAction: 'Updated webhook to hooks.example.com',
        target: { type: 'webhook', id: endpoint.id },
        changes: { description: ['', 'CI'] },
      },
    },
  ],
  'webhooks.endpoint.deleted': [
    {
      event: envelope('webhooks.endpoint.deleted', org, { endpoint }, { actor: admin }),
      expected: { verb: 'endpoint.deleted', action: 'Deleted webhook to hooks.example.com', memberAction: 'Deleted webhook to hooks.example.com', target: { type: 'webhook', id: endpoint.id }, changes: {} },
    },
  ],
  'webhooks.endpoint.secret_rotated': [
    {
      event: envelope('webhooks.endpoint.secret_rotated', org, { endpoint }, { actor: admin }),
      expected: {
        verb: 'endpoint.secret_rotated',
        action: 'Rotated the secret of webhook to hooks.example.com',
        memberAction: 'Rotated the secret of webhook to hooks.example.com',
        target: { type: 'webhook', id: endpoint.id },
        changes: {},
      },
    },
  ],
  'webhooks.endpoint.disabled': [
    {
      event: envelope('webhooks.endpoint.disabled', org, { endpoint, reason: 'gone' }),
      expected: {
        verb: 'endpoint.disabled',
        action: 'Disabled webhook to hooks.example.com: the receiver answered 410 Gone',
        memberAction: 'Disabled webhook to hooks.example.com: the receiver answered 410 Gone',
        target: { type: 'webhook', id: endpoint.id },
        changes: { enabled: [true, false] },
      },
    },
  ],
};

const table = Object.entries(cases).flatMap(([type, list]) => list.map((c, i) => [`${type}${list.length > 1 ? ` #${i + 1}` : ''}`, c] as const));

describe('describeEvent', () => {
  it.each(table)('describes %s', (_name, { event, expected }) => {
    expect(describeEvent(event)).toEqual(expected);
  });

  it('has a case for every event type audit handles, and a handler for every declared event type', () => {
    expect(Object.keys(cases).sort()).toEqual(Object.keys(auditHandlers).sort());
  });
});

describe('activityOf', () => {
  it('keeps the event id, actor, time and request id and skips events of no organization', () => {
    const event = cases['work.task.updated'][0]!.event;
    expect(activityOf(event)).toMatchObject({
      id: event.id,
      organization_id: org,
      actor_id: member.id,
      actor_email: member.email,
      created_at: new Date(event.occurred_at),
      request_id: event.request_id,
      target_type: 'task',
      target_id: task.id,
    });
    expect(activityOf(cases['identity.user.registered'][0]!.event)).toBeNull();
  });
});

describe('visibleTo', () => {
  const sent = activityOf(cases['tenancy.invite.sent'][0]!.event)!;
  const updated = activityOf(cases['work.task.updated'][0]!.event)!;

  it.each(['owner', 'admin'] as const)('shows the invitee email to an %s', (role) => {
    expect(visibleTo(sent, role)).toEqual({ action: 'Invited a@b.c to organization', changes: { email: [null, 'a@b.c'], role: [null, 'member'] } });
  });

  it('hides the invitee email from a member, in the sentence and in the changes', () => {
    expect(visibleTo(sent, 'member')).toEqual({ action: 'Invited someone to organization', changes: { role: [null, 'member'] } });
    expect(JSON.stringify(visibleTo(activityOf(cases['tenancy.invite.revoked'][0]!.event)!, 'member'))).not.toContain('a@b.c');
  });

  it('shows every other entry to a member unchanged', () => {
    expect(visibleTo(updated, 'member')).toEqual({ action: updated.action, changes: updated.changes });
  });
});
