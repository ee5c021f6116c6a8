export * from './replica';
