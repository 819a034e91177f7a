// A small SMSC for the SMPP tests and bench, on npm's `smpp` package (server side).
//
//   node smsc.js '{"system_id": "texting", "password": "secret", ...}'
//
// Listens on 127.0.0.1, port 0, and prints `LISTENING <port>` once ready. Then one JSON line
// per event on stdout: bind, submit (every submit_sm it took, with the id it gave), drop,
// resp (a submit_sm_resp it sent), deliver (a deliver_sm it sent). Commands arrive as JSON lines on stdin:
//   {"cmd": "deliver", "source_addr": ..., "destination_addr": ..., "esm_class": 0|4,
//    "data_coding": 0|8, "hex": "<short_message bytes>", "tlvs": {"receipted_message_id": ..},
//    "payload_hex": "<message_payload bytes>"}
//   {"cmd": "receipt", "id": "<message id>", "stat": "DELIVRD"}   a receipt for a part
//   {"cmd": "set", ...options}                                     change behaviour
// Options:
//   delay_ms        answer each submit_sm after this long (a slow SMSC: makes the window matter)
//   drop_after      after this many submit_sm, close the connection without answering the
//                   last `unanswered` ones (a server that drops mid-window)
//   unanswered      how many of the submits before the drop go unanswered (default 3)
//   throttle_first  answer the first N submit_sm with ESME_RTHROTTLED
//   receipts        send a DELIVRD receipt for every part
//   receipt_first   send that receipt *before* the submit_sm_resp carrying its id
//   hex_ids         receipts give the id in hex while submit_sm_resp gave it in decimal
//   refuse_bind     answer every bind with ESME_RBINDFAIL
"use strict";
const smpp = require("smpp");
const readline = require("readline");

const options = Object.assign(
  { system_id: "texting", password: "secret", delay_ms: 0, unanswered: 3 },
  JSON.parse(process.argv[2] || "{}"),
);
let nextId = 1000;
let submits = 0;
let throttled = 0;
const sessions = new Set();

function log(event) {
  process.stdout.write(JSON.stringify(event) + "\n");
}

function receipt(session, id, stat, dest) {
  const shown = options.hex_ids ? Number(id).toString(16) : String(id);
  const text = `id:${shown} sub:001 dlvrd:001 submit date:2612011200 done date:2612011201 stat:${stat} err:000 text:`;
  const states = { DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8 };
  const pdu = {
    source_addr: dest || "",
    destination_addr: "TEXTING",
    esm_class: 4,
    short_message: Buffer.from(text, "ascii"),
  };
  if (!options.text_only_receipts) {
    pdu.receipted_message_id = shown;
    pdu.message_state = states[stat] || 7;
  }
  session.deliver_sm(pdu);
  log({ event: "deliver", kind: "receipt", id: String(id), stat });
}

const server = smpp.createServer({ debug: false }, (session) => {
  sessions.add(session);
  session.on("error", () => {});
  session.on("close", () => sessions.delete(session));
  session.on("bind_transceiver", (pdu) => {
    const ok =
      !options.refuse_bind && pdu.system_id === options.system_id && pdu.password === options.password;
    log({ event: "bind", ok, system_id: pdu.system_id, system_type: pdu.system_type });
    session.send(pdu.response({ command_status: ok ? 0 : smpp.ESME_RBINDFAIL, system_id: "smsc" }));
    if (!ok) session.close();
  });
  session.on("enquire_link", (pdu) => {
    log({ event: "enquire_link" });
    session.send(pdu.response());
  });
  session.on("unbind", (pdu) => {
    session.send(pdu.response());
    session.close();
  });
  session.on("deliver_sm_resp", () => {});
  session.on("submit_sm", (pdu) => {
    if (options.throttle_first && throttled < options.throttle_first) {
      throttled += 1;
      log({ event: "throttled" });
      session.send(pdu.response({ command_status: smpp.ESME_RTHROTTLED }));
      return;
    }
    submits += 1;
    const id = String(nextId++);
    const sm = pdu.short_message || {};
    const udh = (sm.udh || []).map((b) => b.toString("hex"));
    const dropping = options.drop_after && submits >= options.drop_after;
    const answered = !(options.drop_after && submits > options.drop_after - options.unanswered);
    log({
      event: "submit",
      id,
      answered,
      destination_addr: pdu.destination_addr,
      source_addr: pdu.source_addr,
      data_coding: pdu.data_coding,
      esm_class: pdu.esm_class,
      registered_delivery: pdu.registered_delivery,
      udh,
      message: typeof sm.message === "string" ? sm.message : "",
    });
    if (dropping) {
      options.drop_after = 0; // once: the next connection is served normally
      session.dropped = true;
      log({ event: "drop" });
      session.destroy();
      return;
    }
    if (!answered) return;
    const respond = () => {
      if (session.dropped) return; // a delayed answer to a connection dropped since
      if (options.receipts && options.receipt_first) receipt(session, id, "DELIVRD", pdu.destination_addr);
      session.send(pdu.response({ message_id: id }));
      log({ event: "resp", id, destination_addr: pdu.destination_addr });
      if (options.receipts && !options.receipt_first) receipt(session, id, "DELIVRD", pdu.destination_addr);
    };
    if (options.delay_ms) setTimeout(respond, options.delay_ms);
    else respond();
  });
});

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  if (!line.trim()) return;
  const command = JSON.parse(line);
  if (command.cmd === "set") {
    Object.assign(options, command);
    return;
  }
  for (const session of sessions) {
    if (command.cmd === "receipt") {
      receipt(session, command.id, command.stat || "DELIVRD", command.destination_addr);
    } else if (command.cmd === "deliver") {
      const pdu = {
        source_addr: command.source_addr,
        destination_addr: command.destination_addr || "",
        esm_class: command.esm_class || 0,
        data_coding: command.data_coding || 0,
        short_message: Buffer.from(command.hex || "", "hex"),
      };
      Object.assign(pdu, command.tlvs || {});
      if (command.payload_hex) pdu.message_payload = Buffer.from(command.payload_hex, "hex");
      session.deliver_sm(pdu);
      log({ event: "deliver", kind: command.esm_class & 4 ? "receipt" : "text" });
    }
  }
});
process.stdin.on("end", () => process.exit(0));

server.listen(0, "127.0.0.1", () => log({ event: "listening", port: server.address().port }));
