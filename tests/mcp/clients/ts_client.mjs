// A session driven by the official TypeScript SDK client (@modelcontextprotocol/sdk), not by our code.
// Usage: node ts_client.mjs  with NPM_TOOLS (where the SDK is installed) and either
//   MCP_COMMAND (+ MCP_ARGS as a JSON list; the server's environment is inherited) or MCP_URL (+ MCP_TOKEN).
// It lists tools, reads a template, completes a template id, sends one message with progress and
// logging on, waits for the person's reply (wait_for_reply) and asks a question (ask), playing the
// person through the sandbox's control API (MCP_SANDBOX_URL, MCP_SANDBOX_KEY, MCP_DEVICE_ID), and prints
// one JSON object with what it saw.
import { createRequire } from "node:module";

const require = createRequire(`${process.env.NPM_TOOLS}/`);
const { Client } = require("@modelcontextprotocol/sdk/client/index.js");
const { StdioClientTransport } = require("@modelcontextprotocol/sdk/client/stdio.js");
const { StreamableHTTPClientTransport } = require("@modelcontextprotocol/sdk/client/streamableHttp.js");
const { LoggingMessageNotificationSchema } = require("@modelcontextprotocol/sdk/types.js");

const phone = process.env.MCP_PHONE;
const templateId = process.env.MCP_TEMPLATE_ID;
let transport;
if (process.env.MCP_URL) {
  const headers = process.env.MCP_TOKEN ? { Authorization: `Bearer ${process.env.MCP_TOKEN}` } : {};
  transport = new StreamableHTTPClientTransport(new URL(process.env.MCP_URL), { requestInit: { headers } });
} else {
  transport = new StdioClientTransport({
    command: process.env.MCP_COMMAND,
    args: JSON.parse(process.env.MCP_ARGS || "[]"),
    env: process.env,
    stderr: "inherit",
  });
}

const client = new Client({ name: "wacloud-ts-check", version: "1.0.0" });
const logs = [];
client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params));
await client.connect(transport);
const out = { server: client.getServerVersion(), capabilities: client.getServerCapabilities() };
out.tools = (await client.listTools()).tools.map((t) => t.name);
const read = await client.callTool({ name: "get_template", arguments: { template_id: templateId } });
out.read = { isError: read.isError ?? false, name: read.structuredContent?.name };
out.completion = (
  await client.complete({
    ref: { type: "ref/resource", uri: "wacloud://templates/{template_id}" },
    argument: { name: "template_id", value: templateId.slice(0, 4) },
  })
).completion.values;
await client.setLoggingLevel("info");
const sent = await client.callTool({ name: "send_message", arguments: { to: phone, text: process.env.MCP_TEXT } });
out.send = { isError: sent.isError ?? false, ...sent.structuredContent };

// The person plays their part through the sandbox's control API (as a phone would).
async function personWrites(body) {
  const answer = await fetch(`${process.env.MCP_SANDBOX_URL}/_sandbox/inbound`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Api-Key": process.env.MCP_SANDBOX_KEY },
    body: JSON.stringify({ device_id: process.env.MCP_DEVICE_ID, from: phone, body, message_type: "text" }),
  });
  if (!answer.ok) throw new Error(`sandbox inbound failed: ${answer.status}`);
}
await personWrites("my code is 402184");
const reply = await client.callTool({
  name: "wait_for_reply",
  arguments: { to: phone, message_id: sent.structuredContent?.message_id, timeout_seconds: 60 },
});
out.reply = { isError: reply.isError ?? false, ...reply.structuredContent };
const progress = [];
let answered = false;
const asked = await client.callTool(
  {
    name: "ask",
    arguments: { to: phone, text: "Deploy now?", choices: { approve: "Approve", reject: "Reject" } },
  },
  undefined,
  {
    timeout: 120000,
    resetTimeoutOnProgress: true,
    onprogress: async (p) => {
      progress.push(p);
      if (!answered) {
        answered = true;
        await personWrites("Approve");
      }
    },
  },
);
out.ask = { isError: asked.isError ?? false, ...asked.structuredContent, progress };
const bad = await client.callTool({ name: "verify_otp", arguments: { to: 402184, code: "402184" } });
out.bad = { isError: bad.isError ?? false, text: bad.content?.[0]?.text };
try {
  await client.getPrompt({ name: "no_such_prompt", arguments: {} });
  out.unknownPrompt = "accepted";
} catch (err) {
  out.unknownPrompt = err.code;
}
out.logs = logs;
await client.close();
process.stdout.write(JSON.stringify(out) + "\n");
