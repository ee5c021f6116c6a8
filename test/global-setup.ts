import { provideTestInfra } from '../shared/src/testing/infra';

export default async function globalSetup(): Promise<void> {
  (globalThis as { __stopTestInfra?: () => Promise<void> }).__stopTestInfra = await provideTestInfra();
}
