/**
 * socketpair-child: the child half of socketpair. On the socket it inherited as descriptor 3 it sends
 * `I am a child!!!` COUNT times, INTERVAL milliseconds apart, and at the same time prints each message
 * of the parent (`child get message from parent : …`) until the parent's end of file
 * (`parent is done!!!`).
 */
import { parseCommand, runMain } from "@linux-ipc/programs";
import { inheritedFds, MAX_TIMER_MS, SHUT_WR, sleep, UnixSocket } from "@linux-ipc/core";

await runMain("socketpair-child", async () => {
  const { values } = parseCommand({
    name: "socketpair-child",
    summary: "socketpair's child: exchange messages with the parent over the socket inherited as fd 3",
    options: {
      count: { type: "integer", value: "N", description: "how many messages", default: 5, min: 0 },
      interval: { type: "integer", value: "MS", description: "pause between messages", default: 1000, min: 0, max: MAX_TIMER_MS },
    },
  });
  const [fd] = inheritedFds();
  if (fd === undefined) throw new Error("no socket to talk on: run it through socketpair, which passes one as fd 3");
  const socket = new UnixSocket(fd);
  try {
    const sendAll = async (): Promise<void> => {
      for (let i = 0; i < values.count; i++) {
        if (i > 0 && values.interval > 0) await sleep(values.interval);
        await socket.send("I am a child!!!");
      }
      socket.shutdown(SHUT_WR);
    };
    const printAll = async (): Promise<void> => {
      for (let message = await socket.receive(); message.data.length > 0; message = await socket.receive()) {
        console.log(`child get message from parent : ${message.data.toString()}`);
      }
      console.log("parent is done!!!");
    };
    await Promise.all([sendAll(), printAll()]);
  } finally {
    socket.close();
  }
});
