-- wrk script: replays pre-built raw HTTP requests and counts the answers by status.
-- BENCH_REQUESTS: a file of raw requests separated by NUL bytes (bench/run.py writes it);
-- each wrk thread takes every n-th request, so no two connections send the same one.
-- BENCH_RESULT: where done() writes a JSON summary (latency in microseconds).
local data = assert(io.open(os.getenv("BENCH_REQUESTS"), "rb")):read("*a")
local requests = {}
for r in data:gmatch("[^%z]+") do
  requests[#requests + 1] = r
end

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  step = tonumber(os.getenv("BENCH_THREADS") or "1")
  position = tid
  statuses = {}
end

function request()
  local r = requests[(position % #requests) + 1]
  position = position + step
  return r
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests_)
  local counts = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do
      counts[k] = (counts[k] or 0) + v
    end
  end
  local parts = {}
  for k, v in pairs(counts) do
    parts[#parts + 1] = string.format('"%s": %d', k, v)
  end
  local e = summary.errors
  local out = assert(io.open(os.getenv("BENCH_RESULT"), "w"))
  out:write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "p50": %d, "p95": %d, "p99": %d, "max": %d, "mean": %f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, "statuses": {%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout, table.concat(parts, ", ")))
  out:close()
end
