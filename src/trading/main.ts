/** The trading daemon PM2 runs: the composition (daemon.ts) with nothing wrapped. */
import '../shared/config/zod-jitless';
import { systemClock } from '../shared/clock';
import { runService } from '../shared/lifecycle/service';
import { startTrading } from './daemon';

// the composition root: the one place the real clock comes from (ctx.clock below it)
void runService('trading', (ctx) => startTrading(ctx), { clock: systemClock });
