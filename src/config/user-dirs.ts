/** The user's folders as the XDG base directories name them: where crypto-etl's files go by default. */
import { homedir } from 'node:os'
import { join } from 'node:path'

/** The home folder of `env` (cron gives only HOME), else the process's. */
function homeOf(env: Readonly<Record<string, string | undefined>>): string {
  return env.HOME?.trim() || homedir()
}

/** The user's home and XDG folders (`XDG_CONFIG_HOME`, `XDG_DATA_HOME`, `XDG_STATE_HOME`, else their defaults). */
export interface UserDirs {
  home: string
  config: string
  data: string
  state: string
}

/** The folders `env` names, each XDG variable falling back to its default under the home folder. */
export function userDirs(env: Readonly<Record<string, string | undefined>>): UserDirs {
  const home = homeOf(env)
  return {
    home,
    config: env.XDG_CONFIG_HOME?.trim() || join(home, '.config'),
    data: env.XDG_DATA_HOME?.trim() || join(home, '.local', 'share'),
    state: env.XDG_STATE_HOME?.trim() || join(home, '.local', 'state'),
  }
}
