/**
 * Test helper: Python processes the widget's tests talk to (an owner of a contact address, a
 * bot), started from the repository's .venv and ready once their output matches.
 */

import { spawn, type ChildProcess } from "node:child_process";

import { REPO_ROOT } from "./vectors.js";

export const PYTHON = REPO_ROOT + ".venv/bin/python";
export const HUSHWIRE = REPO_ROOT + ".venv/bin/hushwire";

export interface Proc {
  proc: ChildProcess;
  out: string;
}

/** Start `cmd args`; resolves once its output matches `ready`. */
export function start(args: string[], ready: RegExp, what: string, cmd = HUSHWIRE): Promise<Proc & { match: RegExpExecArray }> {
  const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PYTHONUNBUFFERED: "1" } });
  const p: Proc = { proc, out: "" };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`${what} did not start: ${p.out}`));
    }, 30000);
    proc.stdout!.setEncoding("utf8");
    proc.stderr!.setEncoding("utf8");
    proc.stderr!.on("data", (c: string) => {
      p.out += c;
    });
    proc.stdout!.on("data", (c: string) => {
      p.out += c;
      const m = ready.exec(p.out);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ ...p, match: m, proc });
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${p.out}`));
    });
  });
}

/** SIGTERM (SIGKILL after 20 s); resolves with the exit code. */
export function stop(p: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (p.exitCode !== null) return resolve(p.exitCode);
    const kill = setTimeout(() => p.kill("SIGKILL"), 20000);
    p.once("exit", (code) => {
      clearTimeout(kill);
      resolve(code);
    });
    p.kill("SIGTERM");
  });
}

/**
 * A Python echo peer: `PYTHON -c SLOW_OWNER DATA SMP_ADDRESS WS_URL [short]` prints a contact
 * address whose reply queues are in contact mode (a visitor must take the slow path), or with
 * `short` a short one-time invitation (opened with LKEY); then echoes every text.
 */
export const SLOW_OWNER = String.raw`
import asyncio, sys
from pathlib import Path
from hushwire.agent.agent import Agent, MessageReceived
from hushwire.bot.common import chat_events, profile_info, text_message
from hushwire.chat.messages import XMsgNew
from hushwire.smp.address import SMPServer

async def main():
    agent = Agent(Path(sys.argv[1]), SMPServer.parse(sys.argv[2]), ws_url=sys.argv[3])
    short = sys.argv[4:] == ["short"]
    if not short:
        agent._reply_mode = "C"  # the owner's reply queue cannot be secured by the visitor: 'K' + HELLO
    await agent.start()
    if short:
        _, _, link = await agent.create_short_invitation(profile_info("Short inviter"))
    else:
        _, link = await agent.create_address(profile_info("Slow owner"))
    print(link, flush=True)
    while True:
        ev = await agent.events.get()
        if isinstance(ev, MessageReceived):
            for chat in chat_events(ev):
                if isinstance(chat, XMsgNew) and chat.text:
                    await agent.send(ev.conn_id, text_message(chat.text))
            await agent.ack_message(ev.msg_id, receipt=True)

asyncio.run(main())
`;
