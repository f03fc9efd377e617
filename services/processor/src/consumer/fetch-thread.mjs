// Worker entry of the fetch thread: TypeScript is loaded through tsx, in whatever process started it.
import { register } from 'tsx/esm/api';

register();
await import('./fetch-thread.ts');
