// Run one Node.js Lambda@Edge handler in this process, kept warm between invocations.
//
// Runs inside the child; Node's standard library only, never anything from edgesim. Frames arrive
// on the control-in fd and go out on the control-out fd (see edgesim/lambda_edge/protocol.py);
// the handler's stdout and stderr (fds 1 and 2) are its log, read by the parent. Writes to them are
// synchronous (fs.writeSync), so the log is in the pipe before the result frame.
//
//     node node_worker.js CTL_IN_FD CTL_OUT_FD HANDLER_FILE FUNCTION
'use strict';

const fs = require('fs');
const { StringDecoder } = require('string_decoder');
const util = require('util');
const { pathToFileURL } = require('url');

const started = process.hrtime.bigint();

// The runtime's own tools, taken before the handler loads: a handler that replaces JSON.stringify,
// fs.writeSync, setImmediate or console.error (on purpose or by a careless polyfill) must not take
// the worker's protocol down with it, leaving its invocation to time out or the worker to exit.
const { stringify, parse } = JSON;
const { writeSync, readSync } = fs;
const { format } = util;
const bufferFrom = Buffer.from.bind(Buffer);
const byteLength = Buffer.byteLength.bind(Buffer);
const later = setImmediate;
const exit = process.exit.bind(process);
const [ctlIn, ctlOut, handlerFile, functionName] = [
  Number(process.argv[2]), Number(process.argv[3]), process.argv[4], process.argv[5],
];

// The text goes to writeSync as a string: a blocking pipe takes the whole line in that one write.
// Only a short write (a signal, or an fd made non-blocking) pays for a Buffer and a loop. Buffer.from
// on every frame and log line was a chain of JavaScript (pool, FastBuffer, offsets) that V8 ran
// unoptimised for the first thousands of invocations (issue 6).
function writeAll(fd, text) {
  let off = 0;
  try {
    off = writeSync(fd, text);
  } catch (e) {
    if (e.code !== 'EAGAIN') throw e;
  }
  if (off === byteLength(text)) return;
  const data = bufferFrom(text, 'utf8');
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
    }
  }
}

function sendFrame(frame) {
  writeAll(ctlOut, stringify(frame) + '\n');
}

// Lambda's Node runtime prefixes console lines with time, request id and level.
let currentRequestId = 'undefined';
function logger(fd, level, quiet = false) {
  return (...args) => {
    const text = format(...args).replace(/\n/g, '\r');
    try {
      writeAll(fd, `${new Date().toISOString()}\t${currentRequestId}\t${level}\t${text}\n`);
    } catch (e) {
      if (!quiet) throw e;
    }
  };
}
// The runtime's own lines, whatever the handler makes of console.error and console.warn; quiet
// when the handler closed fd 2: a lost log line must not lose the invocation's answer.
const runtimeError = logger(2, 'ERROR', true);
const runtimeWarn = logger(2, 'WARN', true);
function patchConsole() {
  const levels = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE' };
  for (const [name, level] of Object.entries(levels)) {
    console[name] = logger(level === 'ERROR' || level === 'WARN' ? 2 : 1, level);
  }
}

// process.stdout and process.stderr write to the log pipe without blocking: what does not fit in the
// pipe waits in Node's memory for the event loop, which is parked in a read between invocations, so
// the rest of a large write came out in later invocations' logs (a bit per invocation). Blocking
// writes, like console's above, keep each invocation's output in its own log. Made so when a
// handler first touches the stream: the getter stays lazy, and a handler that never does pays nothing.
function blockingStdio() {
  for (const name of ['stdout', 'stderr']) {
    const desc = Object.getOwnPropertyDescriptor(process, name);
    if (!desc || typeof desc.get !== 'function' || !desc.configurable) continue;
    Object.defineProperty(process, name, {
      configurable: true,
      enumerable: desc.enumerable,
      get() {
        const stream = desc.get.call(process);
        if (stream && stream._handle && typeof stream._handle.setBlocking === 'function') stream._handle.setBlocking(true);
        Object.defineProperty(process, name, { configurable: true, enumerable: desc.enumerable, writable: true, value: stream });
        return stream;
      },
    });
  }
}

function errorInfo(err, errorType) {
  try {
    const isError = err instanceof Error;
    const stack = isError && typeof err.stack === 'string' ? err.stack.split('\n').slice(1).map((l) => l.trim()) : [];
    return {
      errorType: errorType || (isError ? String(err.name) : typeof err === 'string' ? 'string' : 'Error'),
      errorMessage: isError ? String(err.message) : String(err),
      stackTrace: stack,
    };
  } catch (e) {
    // What was thrown cannot even be read (a getter that throws, an object without toString): the
    // invocation still fails with an error, and the worker lives on.
    let text;
    try {
      text = Object.prototype.toString.call(err);
    } catch (e2) {
      text = 'unknown';
    }
    return { errorType: errorType || 'Error', errorMessage: `an unreadable ${text} was thrown`, stackTrace: [] };
  }
}

// The error as Lambda's Node.js runtime logs it after "Invoke Error": a tab, then JSON with
// errorType, errorMessage, the error's own enumerable fields and its stack as lines
// (aws-lambda-nodejs-runtime-interface-client, Errors.js toFormatted).
function formatted(err) {
  try {
    if (err instanceof Error) {
      const out = Object.assign({ errorType: err.name, errorMessage: err.message, code: err.code }, err);
      if (typeof err.stack === 'string') out.stack = err.stack.split('\n');
      return '\t' + stringify(out);
    }
    return '\t' + stringify(err);
  } catch (e) {
    const info = errorInfo(err);
    return '\t' + stringify({ errorType: info.errorType, errorMessage: info.errorMessage, trace: [] });
  }
}

async function load() {
  // As Lambda's Node.js runtime loads a handler (aws-lambda-nodejs-runtime-interface-client,
  // UserFunction.js): .mjs by import(), .js and .cjs by require() unless the file is an ES module
  // (.js under "type": "module"), then by import(). An ES module with top-level await must go
  // through import(): require() refuses it (ERR_REQUIRE_ASYNC_MODULE, where Node can require ES
  // modules at all), and Lambda runs such handlers.
  let mod;
  if (handlerFile.endsWith('.mjs')) {
    mod = await import(pathToFileURL(handlerFile).href);
  } else {
    try {
      mod = require(handlerFile);
    } catch (e) {
      if (e && (e.code === 'ERR_REQUIRE_ESM' || e.code === 'ERR_REQUIRE_ASYNC_MODULE')) {
        mod = await import(pathToFileURL(handlerFile).href);
      } else {
        throw e;
      }
    }
  }
  // A nested path ('handlers.viewer') as the runtime resolves one; an ES module's default export is
  // not looked into, as the runtime does not (`export default { handler }` is HandlerNotFound).
  const handler = functionName.split('.').reduce((nested, key) => nested && nested[key], mod);
  if (typeof handler !== 'function') {
    const err = new Error(`${handlerFile} is undefined or not exported: ${functionName}`);
    err.name = 'Runtime.HandlerNotFound';
    throw err;
  }
  // Lambda's Node.js 24 runtime and later refuse a handler that takes a callback, at init
  // (aws-lambda-nodejs-runtime-interface-client, callback-deprecation.ts).
  const version = /^AWS_Lambda_nodejs(\d+)\.x$/.exec(process.env.AWS_EXECUTION_ENV || '');
  if (version && Number(version[1]) >= 24 && handler.length >= 3) {
    const err = new Error('ERROR: AWS Lambda has removed support for callback-based function handlers starting '
      + 'with Node.js 24. You need to modify this function to use a supported handler signature to use Node.js 24 '
      + 'or later. For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.');
    err.name = 'Runtime.CallbackHandlerDeprecated';
    throw err;
  }
  return handler;
}

function makeContext(info) {
  return {
    functionName: info.functionName,
    functionVersion: info.functionVersion,
    invokedFunctionArn: info.invokedFunctionArn,
    // Lambda's Node runtime hands memoryLimitInMB over as a string.
    memoryLimitInMB: String(info.memoryLimitInMB),
    awsRequestId: info.awsRequestId,
    logGroupName: info.logGroupName,
    logStreamName: info.logStreamName,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, Math.floor(info.deadlineMs - Date.now())),
  };
}

let finishCurrent = null;
let loadedHandler = null;
let handlerIsAsync = false;
// What to do when Node's event loop runs empty during an invocation ('beforeExit'), as Lambda's
// Node.js runtime does (spec §2.1, the normal Lambda programming model; aws-lambda-nodejs-runtime-
// interface-client, Runtime.js and CallbackContext.js): answer a callback made while callbackWaitsForEmptyEventLoop was true, or end
// an invocation nothing answered. Between invocations the worker blocks in a read and the loop is
// never empty, so this fires only while a handler runs.
let onEmptyLoop = null;

// An async handler whose promise is still pending when nothing is left to run (our reading of the
// runtime's NodeJsExit error; the message is not documented).
function nodeJsExit() {
  const err = new Error('Error: Runtime exited without providing a reason');
  err.name = 'Runtime.NodeJsExit';
  return err;
}

function invoke(handler, frame) {
  const context = makeContext(frame.context);
  currentRequestId = frame.context.awsRequestId;
  let done = false;
  const finish = (err, result) => {
    if (done) return;
    done = true;
    finishCurrent = null;
    onEmptyLoop = null;
    let data;
    if (err !== null && err !== undefined) {
      const info = errorInfo(err);
      runtimeError('Invoke Error', formatted(err));
      data = { type: 'result', ok: false, error: info };
    } else {
      data = { type: 'result', ok: true, result: result === undefined ? null : result };
    }
    let text;
    try {
      text = stringify(data);
    } catch (e) {
      const info = errorInfo(e, 'Runtime.MarshalError');
      e.name = 'Runtime.MarshalError';
      runtimeError('Invoke Error', formatted(e));
      text = stringify({ type: 'result', ok: false, error: info });
    }
    writeAll(ctlOut, text + '\n');
    later(nextFrame);
  };
  finishCurrent = finish;
  // Only the first of callback, context.succeed/fail/done and the returned promise counts. Each
  // goes straight to finish, with the arguments Lambda's runtime gives them: wrappers of wrappers
  // (and their rest arguments) were more JavaScript per invocation for V8 to warm up (issue 6).
  let answered = false;
  context.done = (err, result) => {
    if (answered) return;
    answered = true;
    finish(err === undefined ? null : err, result);
  };
  context.succeed = (result) => {
    if (answered) return;
    answered = true;
    finish(null, result);
  };
  context.fail = (err) => {
    if (answered) return;
    answered = true;
    finish(err === undefined || err === null ? 'handled' : err, null);
  };
  const callback = (err, result) => {
    if (answered) return;
    answered = true;
    if ((err !== undefined && err !== null) || !context.callbackWaitsForEmptyEventLoop) {
      finish(err === undefined ? null : err, result);
    } else {
      // Lambda answers a callback only once the event loop is empty (a timer or an open socket
      // keeps the invocation running, up to its timeout).
      onEmptyLoop = () => later(() => finish(null, result));
    }
  };
  // Nothing answered when the loop runs empty: an async handler fails, any other answers null.
  onEmptyLoop = () => (handlerIsAsync ? finish(nodeJsExit()) : finish(null, null));
  try {
    const out = handler(frame.event, context, callback);
    if (out && typeof out.then === 'function') {
      out.then(context.succeed, context.fail);
    } else if (handler.length < 3 && out !== undefined) {
      // A sync handler without a callback: Lambda's Node.js runtime answers null once the event
      // loop is empty, whatever it returned (CloudFront then fails it). Say so.
      runtimeWarn('The handler returned a value without a callback or Promise; Lambda discards it. '
        + 'Make the handler async or call callback(null, value).');
    }
  } catch (err) {
    callback(err);
  }
}

async function main() {
  patchConsole();
  blockingStdio();
  let handler;
  try {
    handler = await load();
  } catch (e) {
    let kind = 'Runtime.ImportModuleError';
    if (e && (e.name === 'Runtime.HandlerNotFound' || e.name === 'Runtime.CallbackHandlerDeprecated')) kind = e.name;
    else if (e instanceof SyntaxError) kind = 'Runtime.UserCodeSyntaxError';
    const info = errorInfo(e, kind);
    if (e instanceof Error && kind !== 'Runtime.HandlerNotFound' && kind !== 'Runtime.CallbackHandlerDeprecated') {
      // Node puts "file:line" of a syntax error as the stack's first line; keep it in the message.
      const where = typeof e.stack === 'string' ? e.stack.split('\n')[0] : '';
      const located = /:\d+$/.test(where) ? ` (${where})` : '';
      info.errorMessage = `${e.name}: ${e.message}${located}`;
    }
    runtimeError(`${kind}: ${info.errorMessage}`);
    sendFrame({ type: 'initError', error: info });
    exit(1);
  }
  // An exception or rejection nobody awaited fails the invocation in flight, and then ends the
  // process, as Lambda's runtime does (exit 129 / 128): the next invocation starts a new one, cold,
  // without the module state this one had.
  const failCurrent = (err, code) => {
    if (finishCurrent) {
      finishCurrent(err);
      exit(code);
    }
    runtimeError('Uncaught', err);
  };
  process.on('uncaughtException', (err) => failCurrent(err, 129));
  // Lambda's runtime reports a rejection nobody handled as Runtime.UnhandledPromiseRejection, with
  // the reason as text for its message.
  process.on('unhandledRejection', (reason) => {
    const err = new Error(reason === undefined || reason === null ? String(reason) : reason.toString());
    err.name = 'Runtime.UnhandledPromiseRejection';
    if (reason instanceof Error && typeof reason.stack === 'string') err.stack = reason.stack;
    failCurrent(err, 128);
  });
  process.on('beforeExit', () => {
    const act = onEmptyLoop;
    onEmptyLoop = null;
    if (act) act();
  });
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  loadedHandler = handler;
  handlerIsAsync = handler.constructor !== undefined && handler.constructor.name === 'AsyncFunction';
  sendFrame({ type: 'ready', initMs: elapsedMs });
  // Between invocations the worker blocks in a read of the control pipe, so it is frozen as Lambda
  // freezes an execution environment: what a handler left running (a timer, a request it did not
  // await) waits for the next invocation. It also spares every invocation a pass through Node's
  // streams and event loop just to read its frame (issue 6).
  later(nextFrame);
}

const frameBuf = Buffer.allocUnsafe(1 << 16);
const decoder = new StringDecoder('utf8');
let pending = ''; // text read and not yet taken as a frame
let searched = 0; // how far `pending` is known to hold no newline
let decoderIdle = true; // the decoder holds no bytes of a character cut by a read

// The next frame's line from what was read so far, or null. Only new text is searched for the
// newline, so a frame of several MB (an IncludeBody event) arriving in 64 KB reads is not searched
// again from its start every read.
function takeFrame() {
  for (;;) {
    const nl = pending.indexOf('\n', searched);
    if (nl < 0) {
      searched = pending.length;
      return null;
    }
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    searched = 0;
    if (nl > 0) return line; // else an empty line: skip it
  }
}

// n bytes just read into frameBuf.
function took(n) {
  if (n === 0) exit(0); // the parent closed the control pipe: nothing more will come
  // A read ending in a newline ends no character halfway, so with nothing held in the decoder it
  // decodes alone, as the decoder would: the usual read, one whole frame, needs no Buffer view.
  // (toString's default encoding is UTF-8; naming none skips its lookup of the encoding's name.)
  const whole = decoderIdle && frameBuf[n - 1] === 10;
  pending += whole ? frameBuf.toString(undefined, 0, n) : decoder.write(frameBuf.subarray(0, n));
  decoderIdle = frameBuf[n - 1] === 10;
}

function readFrame() {
  for (;;) {
    const line = takeFrame();
    if (line !== null) return line;
    let n;
    try {
      n = readSync(ctlIn, frameBuf, 0, frameBuf.length, null);
    } catch (e) {
      if (e.code === 'EAGAIN' || e.code === 'EINTR') continue;
      throw e;
    }
    took(n);
  }
}

function next() {
  invoke(loadedHandler, parse(readFrame()));
}

// Under `serve --inspect` (a debugger attached): the wait for the next frame is a read in libuv's
// thread pool, so Node's event loop stays free between invocations. The inspector's messages are
// handled on that loop: blocked in readSync, the worker left a debugger's Debugger.enable and its
// breakpoints unanswered until a request came, and a breakpoint could be set too late for it.
// Timers a handler left running then fire between invocations, unlike Lambda's freeze; the
// inspected worker is for debugging, the frozen one above is the faithful one.
function nextInspected() {
  const line = takeFrame();
  if (line !== null) {
    invoke(loadedHandler, parse(line));
    return;
  }
  fs.read(ctlIn, frameBuf, 0, frameBuf.length, null, (err, n) => {
    if (err && err.code !== 'EAGAIN' && err.code !== 'EINTR') throw err;
    if (!err) took(n);
    nextInspected();
  });
}

// --inspect is in execArgv when edgesim starts the worker for a debugger (inspector.debugger_argv).
const nextFrame = process.execArgv.some((arg) => arg.startsWith('--inspect')) ? nextInspected : next;

main();
