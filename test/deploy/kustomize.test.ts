// The offline kustomize renderer: the merge rules and generators deploy/kubernetes relies on.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderKustomization, strategicMerge } from './kustomize';

describe('strategicMerge', () => {
  it('merges containers and env by name, the patched items first, like kustomize', () => {
    const target = { containers: [{ name: 'app', image: 'a', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }] };
    const patch = { containers: [{ name: 'app', env: [{ name: 'B', value: 'x' }, { name: 'C', value: '3' }] }] };
    expect(strategicMerge(target, patch)).toEqual({
      containers: [{ name: 'app', image: 'a', env: [{ name: 'B', value: 'x' }, { name: 'C', value: '3' }, { name: 'A', value: '1' }] }],
    });
  });

  it('replaces lists without a merge key and deletes keys set to null or items marked $patch: delete', () => {
    const target = { args: ['a', 'b'], keep: 1, drop: 2, volumes: [{ name: 'tmp', emptyDir: {} }, { name: 'old', emptyDir: {} }] };
    const patch = { args: ['c'], drop: null, volumes: [{ name: 'old', $patch: 'delete' }] };
    expect(strategicMerge(target, patch)).toEqual({ args: ['c'], keep: 1, volumes: [{ name: 'tmp', emptyDir: {} }] });
  });

  it('merges container ports by containerPort and Service ports by port', () => {
    expect(strategicMerge({ ports: [{ containerPort: 80, name: 'a' }] }, { ports: [{ containerPort: 80, protocol: 'TCP' }] })).toEqual({ ports: [{ containerPort: 80, name: 'a', protocol: 'TCP' }] });
    expect(strategicMerge({ ports: [{ port: 80, name: 'a' }] }, { ports: [{ port: 81, name: 'b' }] })).toEqual({ ports: [{ port: 81, name: 'b' }, { port: 80, name: 'a' }] });
  });
});

describe('renderKustomization', () => {
  let dir: string;
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  };
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kustomize-'));
    write('base/kustomization.yaml', 'resources: [app.yaml]\nconfigMapGenerator:\n  - name: app-config\n    literals: [A=1]\n');
    write('base/app.yaml', [
      'apiVersion: apps/v1', 'kind: Deployment', 'metadata: {name: app}', 'spec:', '  template:', '    spec:', '      containers:',
      '        - name: app', '          image: app-image', '          envFrom: [{configMapRef: {name: app-config}}]',
    ].join('\n'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('applies namespace, images, merged generator values and renames the ConfigMap references with a content hash', () => {
    write('overlay/kustomization.yaml', [
      'namespace: ns', 'resources: [../base]', 'images: [{name: app-image, newName: reg/app, newTag: "1.2"}]',
      'configMapGenerator:', '  - name: app-config', '    behavior: merge', '    literals: [B=2]',
    ].join('\n'));
    const objects = renderKustomization(path.join(dir, 'overlay'));
    const cm = objects.find((o) => o.kind === 'ConfigMap')!;
    expect(cm.metadata.name).toMatch(/^app-config-[a-z0-9]{10}$/);
    expect(cm.data).toEqual({ A: '1', B: '2' });
    const d = objects.find((o) => o.kind === 'Deployment') as unknown as { metadata: { namespace: string }; spec: { template: { spec: { containers: Array<{ image: string; envFrom: Array<{ configMapRef: { name: string } }> }> } } } };
    expect(d.metadata.namespace).toBe('ns');
    expect(d.spec.template.spec.containers[0].image).toBe('reg/app:1.2');
    expect(d.spec.template.spec.containers[0].envFrom[0].configMapRef.name).toBe(cm.metadata.name);
  });

  it('applies a targeted patch to every object of the kind, and a component on what it is given', () => {
    write('c/kustomization.yaml', 'kind: Component\npatches:\n  - path: p.yaml\n    target: {kind: Deployment}\n');
    write('c/p.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: whatever}\nspec: {revisionHistoryLimit: 3}\n');
    write('overlay/kustomization.yaml', 'resources: [../base]\ncomponents: [../c]\n');
    const d = renderKustomization(path.join(dir, 'overlay')).find((o) => o.kind === 'Deployment')!;
    expect(d.metadata.name).toBe('app');
    expect((d.spec as { revisionHistoryLimit: number }).revisionHistoryLimit).toBe(3);
  });

  it('refuses what it does not implement instead of rendering something else', () => {
    write('overlay/kustomization.yaml', 'resources: [../base]\nnamePrefix: x-\n');
    expect(() => renderKustomization(path.join(dir, 'overlay'))).toThrow(/namePrefix/);
  });

  it('refuses a patch that matches nothing', () => {
    write('overlay/kustomization.yaml', 'resources: [../base]\npatches: [{path: p.yaml}]\n');
    write('overlay/p.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: missing}\nspec: {}\n');
    expect(() => renderKustomization(path.join(dir, 'overlay'))).toThrow(/matches no object/);
  });
});
