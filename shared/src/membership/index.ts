export * from './replica';
export * from './refusals';
