/** Builds the configured built-in strategy, already wrapped in SafeStrategy. */
import type { Config } from '../../shared/config/schema';
import { SafeStrategy } from './safe-strategy';
import type { Strategy } from './strategy';
import { RsiMeanReversionStrategy } from './strategies/rsi-mean-reversion';
import { SmaCrossoverStrategy } from './strategies/sma-crossover';

export function createStrategy(config: Config['trading']['strategy']): Strategy {
  switch (config.name) {
    case 'sma-crossover':
      return new SafeStrategy(new SmaCrossoverStrategy(config.smaCrossover));
    case 'rsi-mean-reversion':
      return new SafeStrategy(new RsiMeanReversionStrategy(config.rsiMeanReversion));
  }
}
