export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __stopTestInfra?: () => Promise<void> }).__stopTestInfra?.();
}
