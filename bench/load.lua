-- wrk script for bench/load.ts: one kind of read of the mixed load. Every request draws a path
-- uniformly at random from the list in the file named by LOAD_PATHS (one path per line), with
-- Accept-Encoding: gzip and, when LOAD_TOKEN is set, the bearer token of a staff account, after
-- the client's pause (LOAD_THINK_MS; wrk does not count it in the latency). Answers
-- are counted by status; at the end, one JSON line with the figures the benchmark reports:
-- requests, duration, latency percentiles (µs), the answers by status and the socket errors.
local paths = {}
for line in io.lines(os.getenv("LOAD_PATHS")) do
  if line ~= "" then paths[#paths + 1] = line end
end
local token = os.getenv("LOAD_TOKEN")
local seed = tonumber(os.getenv("LOAD_SEED") or "2015")
-- A client's pause between an answer and its next request (ms, exponentially distributed around
-- LOAD_THINK_MS): a person at a map, not a loop. 0: no pause (the capacity run).
-- A pause is cut at 4 s, under the service's keep-alive (5 s by default): a longer one would race
-- the server closing the idle connection, a socket error a browser retries and wrk counts.
local think = tonumber(os.getenv("LOAD_THINK_MS") or "0")
local maxThink = 4000
local threads = {}

setup = function(thread)
  threads[#threads + 1] = thread
end

init = function(args)
  math.randomseed(seed)
  statuses = {}
end

request = function()
  local headers = { ["Accept-Encoding"] = "gzip" }
  if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

if think > 0 then
  delay = function()
    return math.min(maxThink, math.floor(-think * math.log(1 - math.random())))
  end
end

response = function(status, headers, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
end

done = function(summary, latency, requests)
  local byStatus = {}
  for _, t in ipairs(threads) do
    for k, n in pairs(t:get("statuses") or {}) do byStatus[k] = (byStatus[k] or 0) + n end
  end
  local parts = {}
  for k, n in pairs(byStatus) do parts[#parts + 1] = string.format('"%s":%d', k, n) end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,"statuses":{%s},"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    table.concat(parts, ","), e.connect, e.read, e.write, e.timeout))
end
