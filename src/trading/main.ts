/** The trading daemon PM2 runs: the composition (daemon.ts) with nothing wrapped. */
import '../shared/config/zod-jitless';
import { runService } from '../shared/lifecycle/service';
import { startTrading } from './daemon';

void runService('trading', (ctx) => startTrading(ctx));
