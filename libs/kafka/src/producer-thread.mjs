// Worker entry of ThreadedProducer's thread: TypeScript is loaded through tsx, in whatever process started it.
import { register } from 'tsx/esm/api';

register();
await import('./producer-thread.ts');
