-- Replays requests prepared by bench/harness.py: one per line,
-- METHOD \t PATH \t BODY-or-- \t BEARER-TOKEN-or-- \t EXTRA-HEADER-or--
-- An extra header whose value is "*" (Idempotency-Key: *) gets a fresh value per request; the
-- same value replaces "@FRESH@" in the body (a till receipt's new reference).
-- In "chain" mode a 201 answer that carries an "id" is followed by POST <then> (its "{id}"
-- replaced, default /v1/reservations/{id}/cancel) with body <then-body> (default {}) and the
-- same token: create+cancel (or create+pay) pairs back to back. Each wrk thread then signs every
-- request with its own shopper's token (the "token" thread global).
-- In "walk" mode (third argument: the number of wrk threads) the requests go in file order,
-- thread k taking lines k, k+T, k+2T, ...: no line is sent twice until the file is used up.
local requests_file, chain, walk, stride = nil, false, false, 1
local walked = 0
local then_path, then_body = "/v1/reservations/{id}/cancel", "{}"
-- counts is global: done() reads it from each thread with thread:get.
counts = {}
local reqs, pending = {}, {}
local threads = {}
local sent = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_no", #threads)
end

function init(args)
  requests_file = args[1]
  chain = args[2] == "chain"
  walk = args[2] == "walk"
  if walk then stride = tonumber(args[3]) end
  if args[4] then then_path = args[4] end
  if args[5] then then_body = args[5] end
  if chain then
    local n = 0
    for line in io.lines(args[3]) do
      n = n + 1
      if n == thread_no then chain_token = line end
    end
  end
  for line in io.lines(requests_file) do
    local m, p, b, t, h = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
    local headers = {["Accept"] = "application/json"}
    if b ~= "-" then headers["Content-Type"] = "application/json" else b = nil end
    if t ~= "-" then headers["Authorization"] = "Bearer " .. t end
    if h ~= "-" then
      local k, v = h:match("^([^:]+):%s*(.*)$")
      headers[k] = v
    end
    local fresh = nil
    if h ~= "-" and headers[h:match("^([^:]+)")] == "*" then fresh = h:match("^([^:]+)") end
    table.insert(reqs, {m, p, headers, b, fresh})
  end
  math.randomseed(os.time() * 100 + thread_no)
end

function request()
  if #pending > 0 then
    return table.remove(pending, 1)
  end
  local r
  if walk then
    r = reqs[((thread_no - 1) + stride * walked) % #reqs + 1]
    walked = walked + 1
  else
    r = reqs[math.random(#reqs)]
  end
  if chain then
    r[3]["Authorization"] = "Bearer " .. chain_token
  end
  local body = r[4]
  if r[5] then
    sent = sent + 1
    local fresh = string.format("bench-%d-%d-%d", thread_no, sent, math.random(1e9))
    r[3][r[5]] = fresh
    if body then body = body:gsub("@FRESH@", fresh) end
  end
  return wrk.format(r[1], r[2], r[3], body)
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  if chain and status == 201 then
    local id = body:match('"id"%s*:%s*"([^"]+)"')
    if id then
      table.insert(pending, wrk.format("POST", (then_path:gsub("{id}", id)),
        {["Authorization"] = "Bearer " .. chain_token, ["Content-Type"] = "application/json"},
        then_body))
    end
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("counts")) do
      total[status] = (total[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(total) do table.insert(parts, string.format('"%d": %d', status, n)) end
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p90_ms": %.3f, ' ..
    '"p99_ms": %.3f, "socket_errors": %d, "status": {%s}}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    table.concat(parts, ", ")))
end
