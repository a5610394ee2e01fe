import { binanceKit } from '../../harness/exchanges/exchange-kits';
import { livePm2Suite } from './live-exchanges-pm2.suite';

livePm2Suite(binanceKit);
