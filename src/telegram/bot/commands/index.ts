/** The bot's commands, in the order /help and Telegram's menu show them. */
import type { BotCommand } from '../command';
import { balanceCommand } from './balance';
import { closeAllCommand } from './closeall';
import { helpCommand } from './help';
import { logsCommand } from './logs';
import { ordersCommand } from './orders';
import { pauseCommand } from './pause';
import { pnlCommand } from './pnl';
import { positionsCommand } from './positions';
import { restartCommand } from './restart';
import { settleCommand } from './settle';
import { resumeCommand } from './resume';
import { statusCommand } from './status';
import { versionCommand } from './version';
import { writeOffCommand } from './writeoff';

export function allCommands(): BotCommand[] {
  const list: BotCommand[] = [
    statusCommand,
    positionsCommand,
    ordersCommand,
    balanceCommand,
    pnlCommand,
    pauseCommand,
    resumeCommand,
    closeAllCommand,
    settleCommand,
    writeOffCommand,
    restartCommand,
    logsCommand,
    versionCommand,
  ];
  list.unshift(helpCommand(() => list));
  return list;
}
